package io.switchboard.maglev;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The slots that differ between the table a map holds and the one that should replace it, so that an update
 * writes only those (DESIGN invariant 3: update cost is O(what changed)). The results go into arrays or
 * segments the caller allocated once, so a steady-state diff allocates nothing.
 * <p>
 * Diff against what the target map really holds: with double-buffered tables that is the table from two
 * builds ago, not the live one.
 */
public final class MaglevTableDiff
{
    private static final long SLOT_BYTES = ValueLayout.JAVA_INT.byteSize();

    private MaglevTableDiff()
    {
    }

    /**
     * Writes the index of every slot of {@code next} that differs from {@code previous}, ascending, to
     * {@code changedIndexesOut}; the new values are {@code next[index]}. When the sizes differ (or there is no
     * previous table) every slot of {@code next} counts as changed: a slot index means nothing across sizes.
     *
     * @param previous          the slots the target holds now, or null if it holds nothing
     * @param next              the slots it should hold
     * @param changedIndexesOut receives the changed indexes; at least {@code next.length} long
     * @return how many indexes were written
     */
    public static int diff(final int[] previous, final int[] next, final int[] changedIndexesOut)
    {
        if (changedIndexesOut.length < next.length)
        {
            throw new IllegalArgumentException("changedIndexesOut holds " + changedIndexesOut.length
                + " indexes, a table of " + next.length + " slots may need them all");
        }
        final boolean sameSize = previous != null && previous.length == next.length;
        int count = 0;
        for (int index = 0; index < next.length; index++)
        {
            if (!sameSize || previous[index] != next[index])
            {
                changedIndexesOut[count++] = index;
            }
        }
        return count;
    }

    /** {@link #diff(int[], int[], int[])} of two built tables; {@code previous} may be null. */
    public static int diff(final MaglevTable previous, final MaglevTable next, final int[] changedIndexesOut)
    {
        return diff(previous == null ? null : previous.slotsView(), next.slotsView(), changedIndexesOut);
    }

    /**
     * As {@link #diff(int[], int[], int[])}, writing each changed slot as a native-order 32-bit key (the slot
     * index) to {@code keysOut} and 32-bit value (the backend id) to {@code valuesOut}, at the same position:
     * the shape {@code bpf_map_update_batch} takes for an array map of slots.
     *
     * @param keysOut   at least {@code 4 × next.length} bytes
     * @param valuesOut at least {@code 4 × next.length} bytes
     * @return how many key/value pairs were written
     */
    public static int diff(final int[] previous, final int[] next, final MemorySegment keysOut,
        final MemorySegment valuesOut)
    {
        final long needed = SLOT_BYTES * next.length;
        if (keysOut.byteSize() < needed || valuesOut.byteSize() < needed)
        {
            throw new IllegalArgumentException("key and value segments must hold " + next.length
                + " slots (" + needed + " bytes each): " + keysOut.byteSize() + " and " + valuesOut.byteSize());
        }
        final boolean sameSize = previous != null && previous.length == next.length;
        int count = 0;
        for (int index = 0; index < next.length; index++)
        {
            if (!sameSize || previous[index] != next[index])
            {
                keysOut.setAtIndex(ValueLayout.JAVA_INT, count, index);
                valuesOut.setAtIndex(ValueLayout.JAVA_INT, count, next[index]);
                count++;
            }
        }
        return count;
    }
}
