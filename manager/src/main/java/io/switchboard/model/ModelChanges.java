package io.switchboard.model;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The service ports an update touched; the caller rewrites only these.
 *
 * @param added   ports that now exist and did not before
 * @param changed ports whose resolved state differs
 * @param removed ports that no longer get dataplane entries
 */
public record ModelChanges(Set<ServicePortKey> added, Set<ServicePortKey> changed, Set<ServicePortKey> removed)
{
    /** Nothing changed. */
    public static final ModelChanges NONE = new ModelChanges(Set.of(), Set.of(), Set.of());

    /** Copies the sets so the changes are immutable. */
    public ModelChanges
    {
        added = Set.copyOf(added);
        changed = Set.copyOf(changed);
        removed = Set.copyOf(removed);
    }

    /** The difference between two resolutions of the same objects. */
    static ModelChanges between(final Map<ServicePortKey, ServicePortState> before, final Map<ServicePortKey, ServicePortState> after)
    {
        final Set<ServicePortKey> added = new HashSet<>();
        final Set<ServicePortKey> changed = new HashSet<>();
        final Set<ServicePortKey> removed = new HashSet<>(before.keySet());
        removed.removeAll(after.keySet());
        for (final Map.Entry<ServicePortKey, ServicePortState> entry : after.entrySet())
        {
            final ServicePortState previous = before.get(entry.getKey());
            if (null == previous)
            {
                added.add(entry.getKey());
            }
            else if (!previous.equals(entry.getValue()))
            {
                changed.add(entry.getKey());
            }
        }
        return added.isEmpty() && changed.isEmpty() && removed.isEmpty() ? NONE : new ModelChanges(added, changed, removed);
    }

    /** These changes together with those of other Services (the key sets are disjoint). */
    ModelChanges and(final ModelChanges others)
    {
        if (others.isEmpty())
        {
            return this;
        }
        if (isEmpty())
        {
            return others;
        }
        return new ModelChanges(union(added, others.added), union(changed, others.changed), union(removed, others.removed));
    }

    private static Set<ServicePortKey> union(final Set<ServicePortKey> first, final Set<ServicePortKey> second)
    {
        final Set<ServicePortKey> union = new HashSet<>(first);
        union.addAll(second);
        return union;
    }

    /** Whether nothing changed. */
    public boolean isEmpty()
    {
        return added.isEmpty() && changed.isEmpty() && removed.isEmpty();
    }
}
