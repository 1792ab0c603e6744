package io.switchboard.datapath;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdAllocatorTest
{
    @Test
    void idZeroIsNeverHandedOutAndFreshIdsComeFirst()
    {
        final IdAllocator ids = new IdAllocator("backend", 5);

        assertThat(List.of(ids.allocate(), ids.allocate(), ids.allocate())).containsExactly(1, 2, 3);
        ids.free(2);
        assertThat(ids.allocate()).as("a fresh id before the freed one").isEqualTo(4);
        assertThat(ids.allocate()).isEqualTo(5);
        assertThat(ids.allocate()).as("freed ids only once the fresh ones are gone").isEqualTo(2);
    }

    @Test
    void freedIdsAreReusedLongestFreedFirst()
    {
        final IdAllocator ids = new IdAllocator("service", 3);
        ids.allocate();
        ids.allocate();
        ids.allocate();
        ids.free(3);
        ids.free(1);

        assertThat(List.of(ids.allocate(), ids.allocate())).containsExactly(3, 1);
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
}
