package io.switchboard.datapath;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdAllocatorTest
{
    @Test
    void idZeroIsNeverHandedOutAndIdsGoRoundTheWholeSpaceBeforeOneIsReused()
    {
        final IdAllocator ids = new IdAllocator("backend", 5);

        assertThat(List.of(ids.allocate(), ids.allocate(), ids.allocate())).containsExactly(1, 2, 3);
        ids.free(2);
        assertThat(ids.allocate()).as("a fresh id before the freed one").isEqualTo(4);
        assertThat(ids.allocate()).isEqualTo(5);
        assertThat(ids.allocate()).as("freed ids only once the fresh ones are gone").isEqualTo(2);
        assertThatThrownBy(ids::allocate).hasMessageContaining("all 5 backend ids are in use");
    }

    @Test
    void withASpaceLargerThanTheCapacityAFreedIdIsNotReusedUntilTheSpaceWrapsAndTheCapacityStillHolds()
    {
        final IdAllocator ids = new IdAllocator("backend", 3, 1000);
        final List<Integer> handedOut = new ArrayList<>();
        for (int i = 0; i < 300; i++)
        {
            final int id = ids.allocate();
            handedOut.add(id);
            ids.free(id);
        }
        assertThat(handedOut).as("300 allocate/free cycles: no id twice").doesNotHaveDuplicates();
        ids.allocate();
        ids.allocate();
        ids.allocate();
        assertThatThrownBy(ids::allocate).as("at most 3 live").hasMessageContaining("all 3 backend ids are in use");
    }

    @Test
    void afterTheLastIdItWrapsToTheFirstFreeOne()
    {
        final IdAllocator ids = new IdAllocator("service", 3);
        ids.allocate();
        ids.allocate();
        ids.allocate();
        ids.free(3);
        ids.free(1);

        assertThat(List.of(ids.allocate(), ids.allocate())).containsExactly(1, 3);
        assertThatThrownBy(ids::allocate).hasMessageContaining("all 3 service ids are in use");
    }

    @Test
    void reservedIdsAreNotHandedOutAgain()
    {
        final IdAllocator ids = new IdAllocator("backend", 10);
        ids.reserve(4);
        ids.reserve(2);

        final List<Integer> handedOut = new ArrayList<>();
        for (int i = 0; i < 8; i++)
        {
            handedOut.add(ids.allocate());
        }
        assertThat(handedOut).doesNotContain(2, 4, 0).doesNotHaveDuplicates().hasSize(8);
    }

    @Test
    void afterAdoptingALargeIdTheNextOnesFollowIt()
    {
        final IdAllocator ids = new IdAllocator("backend", 10, Integer.MAX_VALUE);
        ids.reserve(1_000_000);

        assertThat(ids.allocate()).isEqualTo(1_000_001);
    }
}
