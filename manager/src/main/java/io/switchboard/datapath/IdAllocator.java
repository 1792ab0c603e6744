package io.switchboard.datapath;

import org.agrona.collections.IntHashSet;

/**
 * Hands out ids 1..maxId (0 is reserved: it never routes), at most {@code capacity} of them live at once.
 * Ids are handed out in turn, round the whole space, skipping live ones, so an id is reused as late as
 * possible: after {@code maxId} allocations. Where entries in maps the datapath writes name ids (conntrack
 * and affinity name backend ids), a space much larger than the capacity means those entries have expired
 * long before their id comes round again, and nothing needs to find and delete them when an id is freed.
 */
public final class IdAllocator
{
    private final String name;
    private final int capacity;
    private final int maxId;
    private final IntHashSet live;
    private int next = 1;

    /** Ids 1..{@code max}, all of which may be live. */
    public IdAllocator(final String name, final int max)
    {
        this(name, max, max);
    }

    public IdAllocator(final String name, final int capacity, final int maxId)
    {
        if (capacity < 1 || maxId < capacity)
        {
            throw new IllegalArgumentException(name + " ids: capacity " + capacity + " in 1.." + maxId);
        }
        this.name = name;
        this.capacity = capacity;
        this.maxId = maxId;
        this.live = new IntHashSet(Math.min(capacity, 1 << 16));
    }

    /**
     * @throws IllegalStateException naming the id space when {@code capacity} ids are live.
     */
    public int allocate()
    {
        if (live.size() >= capacity)
        {
            throw new IllegalStateException("all " + capacity + " " + name + " ids are in use; raise the map size");
        }
        while (true)
        {
            final int id = next;
            next = id == maxId ? 1 : id + 1;
            if (live.add(id))
            {
                return id;
            }
        }
    }

    /** Takes a specific id (adopting state a previous agent left); later ids are handed out after it. */
    public void reserve(final int id)
    {
        if (id < 1 || id > maxId)
        {
            throw new IllegalArgumentException(name + " id " + id + " outside 1.." + maxId);
        }
        live.add(id);
        if (id >= next)
        {
            next = id == maxId ? 1 : id + 1;
        }
    }

    public void free(final int id)
    {
        live.remove(id);
    }

    public int max()
    {
        return capacity;
    }
}
