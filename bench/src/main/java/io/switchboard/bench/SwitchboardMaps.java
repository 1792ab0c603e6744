package io.switchboard.bench;

import io.switchboard.bpf.BpfException;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathLoadOptions;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The shipped datapath object, loaded with its maps sized for a benchmark, and the writes an agent makes to
 * them, laid out with {@link DatapathAbi} (no hand-coded offsets).
 */
final class SwitchboardMaps implements AutoCloseable
{
    static final long SVC_ADDR = DatapathAbi.offset(DatapathAbi.SVC_KEY, "addr");
    static final long SVC_PORT = DatapathAbi.offset(DatapathAbi.SVC_KEY, "port");
    static final long SVC_PROTO = DatapathAbi.offset(DatapathAbi.SVC_KEY, "proto");
    static final long SVC_ID = DatapathAbi.offset(DatapathAbi.SVC_VALUE, "svc_id");
    static final long SVC_FLAGS = DatapathAbi.offset(DatapathAbi.SVC_VALUE, "flags");
    static final long SVC_AFFINITY_TIMEOUT = DatapathAbi.offset(DatapathAbi.SVC_VALUE, "affinity_timeout_s");
    static final long SVC_BACKEND_COUNT = DatapathAbi.offset(DatapathAbi.SVC_VALUE, "backend_count");
    static final long SVC_TABLE_SIZE = DatapathAbi.offset(DatapathAbi.SVC_VALUE, "table_size");
    static final long BACKEND_ADDR = DatapathAbi.offset(DatapathAbi.BACKEND, "addr");
    static final long BACKEND_PORT = DatapathAbi.offset(DatapathAbi.BACKEND, "port");
    static final long BACKEND_FAMILY = DatapathAbi.offset(DatapathAbi.BACKEND, "family");
    static final long BACKEND_FLAGS = DatapathAbi.offset(DatapathAbi.BACKEND, "flags");
    static final long SVC_KEY_SIZE = DatapathAbi.SVC_KEY.byteSize();
    static final long SVC_VALUE_SIZE = DatapathAbi.SVC_VALUE.byteSize();
    static final long BACKEND_SIZE = DatapathAbi.BACKEND.byteSize();

    final BpfObject object;
    final BpfMap services;
    final BpfMap backends;
    final BpfMap maglev;
    final BpfMap serviceStats;
    final Arena arena = Arena.ofShared();

    private SwitchboardMaps(final BpfObject object)
    {
        this.object = object;
        this.services = object.map(DatapathAbi.SERVICES, DatapathAbi.SERVICES_SPEC);
        this.backends = object.map(DatapathAbi.BACKENDS, DatapathAbi.BACKENDS_SPEC);
        this.maglev = object.map(DatapathAbi.MAGLEV, DatapathAbi.MAGLEV_SPEC);
        this.serviceStats = object.map(DatapathAbi.SERVICE_STATS, DatapathAbi.SERVICE_STATS_SPEC);
    }

    /** Opens the shipped object, sizes the maps for svc ids 1..{@code maxSvcId} and that many backend ids. */
    static SwitchboardMaps load(final int maxSvcId, final int backendIds)
    {
        return load(maxSvcId, backendIds, 0);
    }

    /** The same, with {@code sb_ct} sized to {@code conntrackEntries} (0: the object's default). */
    static SwitchboardMaps load(final int maxSvcId, final int backendIds, final int conntrackEntries)
    {
        // bench.datapath.object: another build of the datapath with the same ABI (e.g. before and after a change)
        final String other = System.getProperty("bench.datapath.object", "");
        final BpfObject object = other.isBlank() ? BpfObject.openResource(DatapathAbi.OBJECT_RESOURCE)
            : BpfObject.open(java.nio.file.Path.of(other));
        try
        {
            DatapathLoadOptions.thisKernel().applyTo(object); // either build: the options are set once, here
            if (conntrackEntries > 0)
            {
                object.maxEntries(DatapathAbi.CONNTRACK, conntrackEntries);
            }
            object.maxEntries(DatapathAbi.SERVICES, maxSvcId + 1)
                .maxEntries(DatapathAbi.BACKENDS, backendIds + 1)
                .maxEntries(DatapathAbi.MAGLEV, maxSvcId + 1)
                .maxEntries(DatapathAbi.SERVICE_STATS, maxSvcId + 1)
                .load();
            DatapathAbi.verify(object);
            return new SwitchboardMaps(object);
        }
        catch (final RuntimeException ex)
        {
            object.close();
            throw ex;
        }
    }

    static void putServiceKey(final MemorySegment keys, final long index, final byte[] ip4, final int port)
    {
        final MemorySegment key = keys.asSlice(index * SVC_KEY_SIZE, SVC_KEY_SIZE);
        key.fill((byte)0);
        DatapathAbi.writeAddress(key, SVC_ADDR, ip4);
        key.set(DatapathAbi.NET_PORT, SVC_PORT, (short)port);
        key.set(ValueLayout.JAVA_BYTE, SVC_PROTO, (byte)DatapathAbi.PROTO_TCP);
    }

    static void putServiceValue(final MemorySegment values, final long index, final int svcId, final int flags,
        final int backendCount, final int tableSize)
    {
        final MemorySegment value = values.asSlice(index * SVC_VALUE_SIZE, SVC_VALUE_SIZE);
        value.fill((byte)0);
        value.set(ValueLayout.JAVA_INT, SVC_ID, svcId);
        value.set(ValueLayout.JAVA_INT, SVC_FLAGS, flags);
        value.set(ValueLayout.JAVA_INT, SVC_AFFINITY_TIMEOUT, (flags & DatapathAbi.SVC_F_AFFINITY) != 0 ? 10800 : 0);
        value.set(ValueLayout.JAVA_INT, SVC_BACKEND_COUNT, backendCount);
        value.set(ValueLayout.JAVA_INT, SVC_TABLE_SIZE, tableSize);
    }

    static void putBackend(final MemorySegment values, final long index, final byte[] ip4, final int port)
    {
        final MemorySegment value = values.asSlice(index * BACKEND_SIZE, BACKEND_SIZE);
        value.fill((byte)0);
        DatapathAbi.writeAddress(value, BACKEND_ADDR, ip4);
        value.set(DatapathAbi.NET_PORT, BACKEND_PORT, (short)port);
        value.set(ValueLayout.JAVA_BYTE, BACKEND_FAMILY, (byte)DatapathAbi.AF_INET);
        value.set(ValueLayout.JAVA_BYTE, BACKEND_FLAGS, (byte)DatapathAbi.BACKEND_F_LOCAL);
    }

    /** A new inner Maglev map of both halves holding {@code slots} (slot 0 = M, then A, then B), one batch. */
    BpfMap createTable(final String name, final int[] slots)
    {
        final int m = slots.length;
        final BpfMap table = BpfMap.create(name, DatapathAbi.MAGLEV_TABLE_SPEC, 2 * m + 1, BpfMap.BPF_F_INNER_MAP);
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment keys = scratch.allocate(ValueLayout.JAVA_INT, 2L * m + 1);
            final MemorySegment values = scratch.allocate(ValueLayout.JAVA_INT, 2L * m + 1);
            values.setAtIndex(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_SIZE, m);
            for (int i = 0; i <= 2 * m; i++)
            {
                keys.setAtIndex(ValueLayout.JAVA_INT, i, i);
            }
            MemorySegment.copy(slots, 0, values, ValueLayout.JAVA_INT, 4L * DatapathAbi.MAGLEV_SLOT_FIRST, m);
            MemorySegment.copy(slots, 0, values, ValueLayout.JAVA_INT, 4L * (DatapathAbi.MAGLEV_SLOT_FIRST + m), m);
            table.updateBatch(keys, values, 2 * m + 1, BpfMap.BPF_ANY);
        }
        catch (final RuntimeException ex)
        {
            table.close();
            throw ex;
        }
        return table;
    }

    /**
     * Points {@code count} svc ids at inner map descriptors with one batch; the kernel refuses batches on
     * map-of-maps types (no {@code map_update_batch}), then this falls back to one update per element.
     */
    void pointTables(final MemorySegment svcIds, final MemorySegment fds, final int count)
    {
        try
        {
            maglev.updateBatch(svcIds, fds, count, BpfMap.BPF_ANY);
        }
        catch (final BpfException ex)
        {
            for (int i = 0; i < count; i++)
            {
                maglev.update(svcIds.asSlice(4L * i, 4), fds.asSlice(4L * i, 4), BpfMap.BPF_ANY);
            }
        }
    }

    /** The sum over CPUs of counter {@code field} of svc id {@code svcId}'s {@code sb_svc_stats} entry. */
    long serviceCounter(final int svcId, final String field)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment key = scratch.allocateFrom(ValueLayout.JAVA_INT, svcId);
            final MemorySegment value = scratch.allocate(serviceStats.valueBufferSize(), 8);
            if (!serviceStats.lookup(key, value))
            {
                return 0;
            }
            final long offset = DatapathAbi.offset(DatapathAbi.SERVICE_COUNTERS_VALUE, field);
            long sum = 0;
            for (long cpu = 0; cpu < value.byteSize(); cpu += serviceStats.perCpuStride())
            {
                sum += value.get(ValueLayout.JAVA_LONG, cpu + offset);
            }
            return sum;
        }
    }

    @Override
    public void close()
    {
        services.close();
        backends.close();
        maglev.close();
        serviceStats.close();
        object.close();
        arena.close();
    }
}
