package io.switchboard.bench;

import io.switchboard.maglev.Backend;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.MaglevTableDiff;
import io.switchboard.maglev.TableSizes;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Maglev table build time for M slots and N equal-weight backends ({@code populate} into a reused array: the
 * agent's steady state), and the slot diff after one backend is replaced. 65537 is not prime-listed: the
 * builder's nearest size is 65521.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MaglevBenchmark
{
    @Param({"251", "4093", "16381", "65521"})
    public int tableSize;

    @Param({"2", "10", "100", "1000"})
    public int backends;

    private final MaglevTableBuilder builder = new MaglevTableBuilder(new MaglevHash(0), TableSizes.defaults());
    private List<Backend> before;
    private List<Backend> after;
    private int[] slots;
    private int[] previous;
    private int[] next;
    private Arena arena;
    private MemorySegment keys;
    private MemorySegment values;

    @Setup(Level.Trial)
    public void setUp()
    {
        before = new ArrayList<>();
        for (int i = 0; i < backends; i++)
        {
            before.add(new Backend(i + 1, new byte[] {10, (byte)(i >>> 16), (byte)(i >>> 8), (byte)i}, 8080, 1));
        }
        after = new ArrayList<>(before);
        after.set(0, new Backend(backends + 1, new byte[] {11, 0, 0, 1}, 8080, 1));
        slots = new int[tableSize];
        previous = new int[tableSize];
        next = new int[tableSize];
        builder.populate(before, previous);
        builder.populate(after, next);
        arena = Arena.ofShared();
        keys = arena.allocate(ValueLayout.JAVA_INT, tableSize);
        values = arena.allocate(ValueLayout.JAVA_INT, tableSize);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        arena.close();
    }

    @Benchmark
    public int[] build()
    {
        builder.populate(before, slots);
        return slots;
    }

    /** Slots to write after one backend changed: the diff alone, into batch-shaped segments. */
    @Benchmark
    public int diffAfterOneChange()
    {
        return MaglevTableDiff.diff(previous, next, keys, values);
    }

    /** What the agent does per change: rebuild, then diff against what the map holds. */
    @Benchmark
    public int rebuildAndDiff()
    {
        builder.populate(after, slots);
        return MaglevTableDiff.diff(previous, slots, keys, values);
    }
}
