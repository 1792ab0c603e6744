package io.switchboard.datapath;

import org.agrona.collections.IntArrayQueue;

/**
 * Hands out ids 1..max (0 is reserved: it never routes). Fresh ids come first; a freed id is reused
 * only when no fresh one is left, and then the longest-freed first, so an id is reused as late as
 * possible and stale references to it (in conntrack, in affinity) have aged out or been purged.
 */
public final class IdAllocator
{
    private final String name;
    private final int max;
    private final IntArrayQueue freed = new IntArrayQueue();
    private int nextFresh = 1;

    public IdAllocator(final String name, final int max)
    {
        this.name = name;
        this.max = max;
    }

    /**
     * @throws IllegalStateException naming the id space when every id is taken.
     */
    public int allocate()
    {
        if (nextFresh <= max)
        {
            return nextFresh++;
        }
        if (freed.isEmpty())
        {
            throw new IllegalStateException("all " + max + " " + name + " ids are in use; raise the map size");
        }
        return freed.pollInt();
    }

    /** Takes a specific id out of the fresh range (adopting state a previous agent left). */
    public void reserve(final int id)
    {
        while (nextFresh <= id)
        {
            if (nextFresh != id)
            {
                freed.addInt(nextFresh);
            }
            nextFresh++;
        }
        // rare (adoption at start-up): rebuild the queue without the id
        final int count = freed.size();
        for (int i = 0; i < count; i++)
        {
            final int candidate = freed.pollInt();
            if (candidate != id)
            {
                freed.addInt(candidate);
            }
        }
    }

    public void free(final int id)
    {
        freed.addInt(id);
    }

    public int max()
    {
        return max;
    }
}
