package io.switchboard.bench;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.MapSpec;
import io.switchboard.datapath.DatapathAbi;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

/**
 * Writing {@value #ENTRIES} entries to a BPF map: one {@code bpf_map_update_elem} per entry against one
 * {@code BPF_MAP_UPDATE_BATCH}, in entries per second, for maps shaped like {@code sb_services},
 * {@code sb_backends} and a Maglev inner table. The entries exist after the first invocation, so this is the
 * steady-state replace cost (a NO_PREALLOC hash still allocates a new element per update).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class MapWriteBenchmark
{
    static final int ENTRIES = 1024;

    public enum Shape
    {
        SERVICES(DatapathAbi.SERVICES_SPEC, BpfMap.BPF_F_NO_PREALLOC),
        BACKENDS(DatapathAbi.BACKENDS_SPEC, BpfMap.BPF_F_NO_PREALLOC),
        MAGLEV_TABLE(DatapathAbi.MAGLEV_TABLE_SPEC, BpfMap.BPF_F_INNER_MAP);

        final MapSpec spec;
        final int flags;

        Shape(final MapSpec spec, final int flags)
        {
            this.spec = spec;
            this.flags = flags;
        }
    }

    @Param
    public Shape shape;

    private Arena arena;
    private BpfMap map;
    private MemorySegment keys;
    private MemorySegment values;

    @Setup(Level.Trial)
    public void setUp()
    {
        arena = Arena.ofShared();
        map = BpfMap.create("sb_bench_" + shape.ordinal(), shape.spec, ENTRIES, shape.flags);
        final int keySize = shape.spec.keySize();
        keys = arena.allocate((long)keySize * ENTRIES, 8);
        values = arena.allocate((long)shape.spec.valueSize() * ENTRIES, 8);
        for (int i = 0; i < ENTRIES; i++)
        {
            // distinct keys: the entry number in the key's last four bytes (for an array: the index itself)
            keys.set(ValueLayout.JAVA_INT_UNALIGNED, (long)i * keySize + keySize - 4, i);
            values.set(ValueLayout.JAVA_INT_UNALIGNED, (long)i * shape.spec.valueSize(), i + 1);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        map.close();
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(ENTRIES)
    public int perElement()
    {
        final int keySize = shape.spec.keySize();
        final int valueSize = shape.spec.valueSize();
        for (int i = 0; i < ENTRIES; i++)
        {
            map.update(keys.asSlice((long)i * keySize, keySize), values.asSlice((long)i * valueSize, valueSize),
                BpfMap.BPF_ANY);
        }
        return ENTRIES;
    }

    @Benchmark
    @OperationsPerInvocation(ENTRIES)
    public int batch()
    {
        return map.updateBatch(keys, values, ENTRIES, BpfMap.BPF_ANY);
    }
}
