package io.switchboard.maglev;

import java.util.Arrays;
import java.util.List;

/**
 * Builds Maglev lookup tables (Maglev paper §3.4, Pseudocode 1) with weights honoured in proportion.
 * <p>
 * Backends take turns in a fixed order, each claiming the next free slot of its own permutation
 * {@code (offset + j × skip) mod M}. Weights set how often a backend gets a turn, as Katran's "Maglev V2"
 * does: every round each backend adds its weight to a credit, and claims a slot each time that credit
 * reaches the largest weight (which is then subtracted). On top of that, each backend stops claiming once
 * it holds its quota: M × weight / Σweight rounded by largest remainder (ties to the earlier turn). V2's
 * rounds alone can leave a heavy backend several slots over its share when many light ones stop on a
 * fraction; the quota bounds every backend within one slot of its share. With equal weights the quotas are
 * exactly what the round-robin gives anyway (⌊M/N⌋ or ⌈M/N⌉, the extra slots to the earliest turns), so the
 * table is the paper's.
 * <p>
 * The table depends only on the hash seed, M and the set of (address, port, weight, id): backends take their
 * turns in order of their hashes, then address and port, so input order does not matter.
 * <p>
 * Cost: O(N log N) to order the backends, then O(M log M) expected probing plus O(N) per round. Scratch
 * arrays are kept between builds and grow only with the backend count, so {@link #populate} into a caller's
 * array allocates nothing in steady state. Not thread-safe: one builder per writer thread (DESIGN invariant 7).
 */
public final class MaglevTableBuilder
{
    private static final int INITIAL_CAPACITY = 16;

    private final MaglevHash hash;
    private final TableSizes sizes;

    // Per backend, indexed by input position.
    private Backend[] backends;
    private long[] offsetHashes;
    private long[] skipHashes;
    // Input positions in hash order, then in id order (to find duplicate ids).
    private int[] hashOrder;
    private int[] idOrder;
    // Per weighted backend, indexed by turn (hash order, weight-0 backends left out).
    private int[] ids;
    private int[] cursors;
    private int[] skips;
    private int[] weights;
    private long[] credits;
    private int[] quotas;
    private long[] remainders;
    // Turns by descending quota remainder, then ascending turn: who gets the slots that rounding down left.
    private int[] remainderOrder;

    // Created once: a capturing lambda made per build would allocate.
    private final PositionOrder byHash = this::compareByHash;
    private final PositionOrder byId = (a, b) -> Integer.compare(backends[a].id(), backends[b].id());
    private final PositionOrder byRemainder = this::compareByRemainder;

    /**
     * @param hash  the cluster's backend hash (its seed must match every other node's)
     * @param sizes how {@link #build} chooses M
     */
    public MaglevTableBuilder(final MaglevHash hash, final TableSizes sizes)
    {
        this.hash = hash;
        this.sizes = sizes;
        allocateScratch(INITIAL_CAPACITY);
    }

    /** The backend hash this builder places backends with. */
    public MaglevHash hash()
    {
        return hash;
    }

    /** The table size policy {@link #build} uses. */
    public TableSizes sizes()
    {
        return sizes;
    }

    /**
     * Builds a new table of the size {@link TableSizes#sizeFor} chooses for these backends (all of them are
     * counted, weight 0 or not, so that M does not flap when a weight toggles).
     *
     * @throws IllegalArgumentException if two backends share an address and port, or an id
     */
    public MaglevTable build(final List<Backend> backends)
    {
        final int[] slots = new int[sizes.sizeFor(backends.size())];
        populate(backends, slots);
        return new MaglevTable(slots);
    }

    /**
     * Fills {@code slots} (M = its length, a prime) with the table for {@code backends}; every slot is
     * overwritten. No backend with weight above 0 leaves every slot 0. Allocates nothing unless there are more
     * backends than any earlier build had.
     *
     * @throws IllegalArgumentException if M is not prime, or two backends share an address and port, or an id;
     *                                  {@code slots} is then left as it was
     */
    public void populate(final List<Backend> backends, final int[] slots)
    {
        final int tableSize = slots.length;
        if (!TableSizes.isPrime(tableSize))
        {
            throw new IllegalArgumentException("Maglev table size must be prime: " + tableSize);
        }
        final int count = backends.size();
        ensureCapacity(count);
        try
        {
            for (int position = 0; position < count; position++)
            {
                final Backend backend = backends.get(position);
                this.backends[position] = backend;
                offsetHashes[position] = hash.offsetHash(backend);
                skipHashes[position] = hash.skipHash(backend);
                hashOrder[position] = position;
                idOrder[position] = position;
            }
            heapSort(hashOrder, count, byHash);
            heapSort(idOrder, count, byId);
            rejectDuplicates(count);

            int turns = 0;
            for (int rank = 0; rank < count; rank++)
            {
                final int position = hashOrder[rank];
                final Backend backend = this.backends[position];
                if (backend.weight() > 0)
                {
                    ids[turns] = backend.id();
                    cursors[turns] = MaglevHash.offset(offsetHashes[position], tableSize);
                    skips[turns] = MaglevHash.skip(skipHashes[position], tableSize);
                    weights[turns] = backend.weight();
                    turns++;
                }
            }
            fill(turns, slots);
        }
        finally
        {
            // Do not keep removed backends reachable until the next build.
            Arrays.fill(this.backends, 0, count, null);
        }
    }

    /**
     * Fills {@code slots} from backends given directly in turn order by their ids, offsets, skips and weights,
     * without hashing: for checking the fill against hand-worked examples.
     */
    void fill(final int[] ids, final int[] offsets, final int[] skips, final int[] weights, final int[] slots)
    {
        final int turns = ids.length;
        ensureCapacity(turns);
        System.arraycopy(ids, 0, this.ids, 0, turns);
        System.arraycopy(offsets, 0, this.cursors, 0, turns);
        System.arraycopy(skips, 0, this.skips, 0, turns);
        System.arraycopy(weights, 0, this.weights, 0, turns);
        fill(turns, slots);
    }

    /**
     * Pseudocode 1 with weighted turns and quotas, on the first {@code turns} entries of the turn arrays.
     * {@code cursors} holds each backend's offset on entry and is advanced as it claims slots, so that its
     * probe resumes where it stopped instead of restarting its permutation: this is the paper's
     * {@code next[]}, kept as a slot position so that no {@code offset + j × skip} product is needed.
     */
    private void fill(final int turns, final int[] slots)
    {
        Arrays.fill(slots, 0);
        if (turns == 0)
        {
            return;
        }
        final int tableSize = slots.length;
        assignQuotas(turns, tableSize);
        int maxWeight = largestWeightWithQuota(turns);
        int filled = 0;
        while (true)
        {
            boolean quotaReached = false;
            for (int turn = 0; turn < turns; turn++)
            {
                if (quotas[turn] == 0)
                {
                    continue;
                }
                credits[turn] += weights[turn];
                if (credits[turn] < maxWeight)
                {
                    continue;
                }
                credits[turn] -= maxWeight;
                final int skip = skips[turn];
                int slot = cursors[turn];
                while (slots[slot] != 0)
                {
                    slot = advance(slot, skip, tableSize);
                }
                slots[slot] = ids[turn];
                cursors[turn] = advance(slot, skip, tableSize);
                quotaReached |= --quotas[turn] == 0;
                if (++filled == tableSize)
                {
                    return;
                }
            }
            if (quotaReached)
            {
                // Measure credit against the heaviest backend still claiming, so that when the heavy ones are
                // done the light ones claim every round instead of idling through rounds nobody uses.
                maxWeight = largestWeightWithQuota(turns);
            }
        }
    }

    /**
     * Quota = ⌊M × w / Σw⌋, then one more slot each to the backends with the largest remainders (earlier turn
     * first on a tie) until the quotas add up to M. Each ends within one slot of M × w / Σw.
     */
    private void assignQuotas(final int turns, final int tableSize)
    {
        long totalWeight = 0;
        for (int turn = 0; turn < turns; turn++)
        {
            totalWeight += weights[turn];
        }
        int assigned = 0;
        for (int turn = 0; turn < turns; turn++)
        {
            // At most 2^31 × 2^31: fits a long.
            final long share = (long)tableSize * weights[turn];
            quotas[turn] = (int)(share / totalWeight);
            remainders[turn] = share % totalWeight;
            remainderOrder[turn] = turn;
            credits[turn] = 0;
            assigned += quotas[turn];
        }
        heapSort(remainderOrder, turns, byRemainder);
        // Rounding down loses less than one slot per backend, so fewer than `turns` slots are left over.
        for (int rank = 0; assigned < tableSize; rank++, assigned++)
        {
            quotas[remainderOrder[rank]]++;
        }
    }

    private int largestWeightWithQuota(final int turns)
    {
        int largest = 0;
        for (int turn = 0; turn < turns; turn++)
        {
            if (quotas[turn] > 0)
            {
                largest = Math.max(largest, weights[turn]);
            }
        }
        return largest;
    }

    private static int advance(final int slot, final int skip, final int tableSize)
    {
        // slot and skip are both below tableSize, so one subtraction wraps and nothing overflows.
        final int next = slot + skip;
        return next >= tableSize ? next - tableSize : next;
    }

    private int compareByHash(final int a, final int b)
    {
        final int byOffset = Long.compareUnsigned(offsetHashes[a], offsetHashes[b]);
        if (byOffset != 0)
        {
            return byOffset;
        }
        final int bySkip = Long.compareUnsigned(skipHashes[a], skipHashes[b]);
        return bySkip != 0 ? bySkip : Backend.compareIdentity(backends[a], backends[b]);
    }

    private int compareByRemainder(final int a, final int b)
    {
        final int byRemainderDescending = Long.compare(remainders[b], remainders[a]);
        return byRemainderDescending != 0 ? byRemainderDescending : Integer.compare(a, b);
    }

    private void rejectDuplicates(final int count)
    {
        // Equal identities hash alike, so after sorting they are neighbours; likewise equal ids.
        for (int rank = 1; rank < count; rank++)
        {
            final Backend previous = backends[hashOrder[rank - 1]];
            final Backend current = backends[hashOrder[rank]];
            if (Backend.compareIdentity(previous, current) == 0)
            {
                throw new IllegalArgumentException("two backends share an address and port: " + previous
                    + " and " + current);
            }
        }
        for (int rank = 1; rank < count; rank++)
        {
            final Backend previous = backends[idOrder[rank - 1]];
            final Backend current = backends[idOrder[rank]];
            if (previous.id() == current.id())
            {
                throw new IllegalArgumentException("two backends share an id: " + previous + " and " + current);
            }
        }
    }

    private void ensureCapacity(final int count)
    {
        if (count > ids.length)
        {
            // Grow to a power of two so that a service growing one endpoint at a time reallocates rarely.
            allocateScratch(Integer.highestOneBit(count - 1) << 1);
        }
    }

    private void allocateScratch(final int capacity)
    {
        backends = new Backend[capacity];
        offsetHashes = new long[capacity];
        skipHashes = new long[capacity];
        hashOrder = new int[capacity];
        idOrder = new int[capacity];
        ids = new int[capacity];
        cursors = new int[capacity];
        skips = new int[capacity];
        weights = new int[capacity];
        credits = new long[capacity];
        quotas = new int[capacity];
        remainders = new long[capacity];
        remainderOrder = new int[capacity];
    }

    /** Orders positions in the scratch arrays. */
    @FunctionalInterface
    private interface PositionOrder
    {
        int compare(int a, int b);
    }

    // Heapsort: in place, O(n log n) worst case, and unlike Arrays.sort with a comparator it needs no boxing
    // and no merge buffer. It is not stable, which does not matter: both orders are total (ties are the
    // duplicates rejected above).
    private static void heapSort(final int[] items, final int count, final PositionOrder order)
    {
        for (int root = count / 2 - 1; root >= 0; root--)
        {
            siftDown(items, root, count, order);
        }
        for (int end = count - 1; end > 0; end--)
        {
            swap(items, 0, end);
            siftDown(items, 0, end, order);
        }
    }

    private static void siftDown(final int[] items, final int start, final int end, final PositionOrder order)
    {
        int root = start;
        while (true)
        {
            int child = 2 * root + 1;
            if (child >= end)
            {
                return;
            }
            if (child + 1 < end && order.compare(items[child], items[child + 1]) < 0)
            {
                child++;
            }
            if (order.compare(items[root], items[child]) >= 0)
            {
                return;
            }
            swap(items, root, child);
            root = child;
        }
    }

    private static void swap(final int[] items, final int i, final int j)
    {
        final int held = items[i];
        items[i] = items[j];
        items[j] = held;
    }
}
