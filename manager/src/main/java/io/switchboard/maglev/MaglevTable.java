package io.switchboard.maglev;

import java.util.Arrays;

/**
 * A built Maglev lookup table: M slots, each holding the id of the backend that a flow hashing to that slot
 * goes to, or 0 where there is no backend (an empty service). Immutable.
 */
public final class MaglevTable
{
    private final int[] slots;

    // Takes ownership of the array: only the builder, which never keeps it, constructs tables.
    MaglevTable(final int[] slots)
    {
        this.slots = slots;
    }

    /** M, the number of slots. */
    public int size()
    {
        return slots.length;
    }

    /** The backend id in slot {@code index}, 0 if none. */
    public int slot(final int index)
    {
        return slots[index];
    }

    /** A copy of all slots, index order. */
    public int[] slots()
    {
        return slots.clone();
    }

    /** How many slots hold {@code backendId}. */
    public int slotCount(final int backendId)
    {
        int count = 0;
        for (final int slot : slots)
        {
            if (slot == backendId)
            {
                count++;
            }
        }
        return count;
    }

    /** The slots without a copy, for the diff. */
    int[] slotsView()
    {
        return slots;
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof final MaglevTable that && Arrays.equals(slots, that.slots);
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(slots);
    }

    @Override
    public String toString()
    {
        return "MaglevTable{size=" + slots.length + "}";
    }
}
