package io.switchboard.maglev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class MaglevTableDiffTest
{
    @Test
    void reportsExactlyTheChangedSlotsInOrder()
    {
        final int[] previous = {1, 2, 3, 4, 5, 6, 7};
        final int[] next = {1, 9, 3, 4, 0, 6, 8};
        final int[] changed = new int[7];
        Arrays.fill(changed, -1);

        final int count = MaglevTableDiff.diff(previous, next, changed);

        assertThat(count).isEqualTo(3);
        assertThat(Arrays.copyOf(changed, count)).containsExactly(1, 4, 6);
        assertThat(changed[count]).as("nothing written past the count").isEqualTo(-1);
    }

    @Test
    void identicalTablesHaveNoChanges()
    {
        final int[] table = {3, 1, 2, 3, 1, 2, 3};

        assertThat(MaglevTableDiff.diff(table, table.clone(), new int[7])).isZero();
    }

    @Test
    void aNewSizeOrNoPreviousTableChangesEverything()
    {
        final int[] next = {1, 1, 2, 2, 1, 2, 1};
        final int[] changed = new int[7];

        assertThat(MaglevTableDiff.diff(new int[] {1, 1, 2, 2, 1}, next, changed)).isEqualTo(7);
        assertThat(changed).containsExactly(0, 1, 2, 3, 4, 5, 6);
        assertThat(MaglevTableDiff.diff((int[])null, next, changed)).isEqualTo(7);
    }

    @Test
    void matchesASlotBySlotComparisonOfRealTables()
    {
        final MaglevTableBuilder builder = new MaglevTableBuilder(new MaglevHash(1), TableSizes.defaults());
        final List<Backend> backends = new ArrayList<>(TestBackends.ipv4(30, 1));
        final MaglevTable before = builder.build(backends);
        backends.remove(new Random(3).nextInt(backends.size()));
        backends.add(TestBackends.ipv4Backend(99, 999, 1));
        final MaglevTable after = builder.build(backends);
        final int[] changed = new int[after.size()];

        final int count = MaglevTableDiff.diff(before, after, changed);

        final List<Integer> expected = new ArrayList<>();
        for (int slot = 0; slot < after.size(); slot++)
        {
            if (before.slot(slot) != after.slot(slot))
            {
                expected.add(slot);
            }
        }
        assertThat(count).isPositive().isLessThan(after.size());
        assertThat(Arrays.stream(changed, 0, count).boxed().toList()).isEqualTo(expected);
    }

    @Test
    void fillsKeyAndValueSegmentsForABatchUpdate()
    {
        final int[] previous = {5, 5, 6, 6, 7};
        final int[] next = {5, 8, 6, 9, 7};
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment keys = arena.allocate(ValueLayout.JAVA_INT, next.length);
            final MemorySegment values = arena.allocate(ValueLayout.JAVA_INT, next.length);

            final int count = MaglevTableDiff.diff(previous, next, keys, values);

            assertThat(count).isEqualTo(2);
            assertThat(keys.asSlice(0, 8).toArray(ValueLayout.JAVA_INT)).containsExactly(1, 3);
            assertThat(values.asSlice(0, 8).toArray(ValueLayout.JAVA_INT)).containsExactly(8, 9);
            assertThatThrownBy(() -> MaglevTableDiff.diff(previous, next, keys.asSlice(0, 16), values))
                .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void refusesAnOutputTooSmallForAFullRewrite()
    {
        assertThatThrownBy(() -> MaglevTableDiff.diff(new int[7], new int[7], new int[6]))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("7 slots");
    }
}
