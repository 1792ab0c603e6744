package io.switchboard.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Java mirror of {@code bpf/include/probe.h}, for the tests that run probe.bpf.o. */
final class ProbeMaps
{
    static final String OBJECT = "bpf/probe.bpf.o";
    static final String PROGRAM = "probe_xdp";
    static final String COUNTERS = "probe_counters";
    static final String DROP_PORTS = "probe_drop_ports";
    /** {@code struct probe_counter { __u64 packets; __u64 bytes; }} */
    static final MapSpec COUNTERS_SPEC = new MapSpec(MapType.PERCPU_ARRAY, 4, 16);
    static final MapSpec DROP_PORTS_SPEC = new MapSpec(MapType.HASH, 2, 1);

    static final int SLOT_TCP = 0;
    static final int SLOT_UDP = 1;
    static final int SLOT_ICMP = 2;
    static final int SLOT_OTHER = 3;
    static final int SLOT_DROPPED = 4;
    static final int SLOT_TC = 5;
    static final int SLOT_CONNECT = 6;

    private ProbeMaps()
    {
    }

    /** Packets counted in {@code slot}, summed over every CPU. */
    static long packets(final BpfMap counters, final int slot)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocateFrom(ValueLayout.JAVA_INT, slot);
            final MemorySegment values = arena.allocate(counters.valueBufferSize(), 8);
            if (!counters.lookup(key, values))
            {
                throw new AssertionError("no counter slot " + slot);
            }
            long total = 0;
            for (long offset = 0; offset < values.byteSize(); offset += counters.perCpuStride())
            {
                total += values.get(ValueLayout.JAVA_LONG, offset);
            }
            return total;
        }
    }

    /**
     * Packets counted in {@code slot} once at least {@code expected} arrived, or after 2 s: XDP on a veth
     * runs in the receiver's NAPI poll, which may finish after the sender returns.
     */
    static long awaitPackets(final BpfMap counters, final int slot, final long expected)
    {
        final long deadline = System.nanoTime() + 2_000_000_000L;
        long seen = packets(counters, slot);
        while (seen < expected && System.nanoTime() < deadline)
        {
            Thread.onSpinWait();
            seen = packets(counters, slot);
        }
        return seen;
    }

    static void dropUdpPort(final BpfMap dropPorts, final int port)
    {
        try (Arena arena = Arena.ofConfined())
        {
            dropPorts.update(arena.allocateFrom(ValueLayout.JAVA_SHORT, (short)port),
                arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte)1), BpfMap.BPF_ANY);
        }
    }
}
