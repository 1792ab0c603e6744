package io.switchboard.datapath;

import io.switchboard.bpf.BpfMap;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.switchboard.datapath.DatapathAbi.NET_PORT;
import static io.switchboard.datapath.DatapathAbi.offset;

/**
 * Reads the datapath's maps as they are now, for the CLI ({@code switchboard get}, {@code explain}) and
 * for the agent's metrics. It never writes; it works while no agent runs, from the pins under
 * {@code <bpffs-dir>/maps}.
 */
public final class DatapathReader implements AutoCloseable
{
    /** One {@code sb_services} entry. */
    public record ServiceEntry(InetAddress address, int port, int protocol, int svcId, int flags,
        int affinityTimeoutSeconds, int backendCount, int tableSize, int generation)
    {
    }

    /** One {@code sb_backends} entry. */
    public record BackendEntry(int id, InetAddress address, int port, int family, boolean local)
    {
    }

    /** One {@code sb_ct} entry. */
    public record ConntrackEntry(InetAddress source, int sourcePort, InetAddress destination, int destinationPort,
        int protocol, int direction, long lastSeenNs, InetAddress natAddress, int natPort, int flags, int backendId,
        int svcId, int remapPort)
    {
    }

    /** One {@code sb_affinity} entry; {@code client} is null for a network-namespace cookie. */
    public record AffinityEntry(int svcId, int kind, InetAddress client, long netnsCookie, long lastUsedNs,
        int backendId)
    {
    }

    private final DatapathMaps maps;
    private final boolean owned;

    private DatapathReader(final DatapathMaps maps, final boolean owned)
    {
        this.maps = maps;
        this.owned = owned;
    }

    /** Opens the maps an agent pinned under {@code <bpffsDirectory>/maps}. */
    public static DatapathReader pinned(final Path bpffsDirectory)
    {
        return new DatapathReader(DatapathMaps.pinned(bpffsDirectory.resolve("maps")), true);
    }

    /** Reads maps someone else owns (the agent's own, for metrics); closing the reader leaves them open. */
    public static DatapathReader of(final DatapathMaps maps)
    {
        return new DatapathReader(maps, false);
    }

    /** Every frontend. */
    public List<ServiceEntry> services()
    {
        final List<ServiceEntry> entries = new ArrayList<>();
        forEach(maps.services(), DatapathAbi.SVC_KEY, DatapathAbi.SVC_VALUE, (key, value) ->
            entries.add(new ServiceEntry(
                DatapathAbi.readAddress(key, offset(DatapathAbi.SVC_KEY, "addr")),
                Short.toUnsignedInt(key.get(NET_PORT, offset(DatapathAbi.SVC_KEY, "port"))),
                Byte.toUnsignedInt(key.get(ValueLayout.JAVA_BYTE, offset(DatapathAbi.SVC_KEY, "proto"))),
                intAt(value, DatapathAbi.SVC_VALUE, "svc_id"),
                intAt(value, DatapathAbi.SVC_VALUE, "flags"),
                intAt(value, DatapathAbi.SVC_VALUE, "affinity_timeout_s"),
                intAt(value, DatapathAbi.SVC_VALUE, "backend_count"),
                intAt(value, DatapathAbi.SVC_VALUE, "table_size"),
                intAt(value, DatapathAbi.SVC_VALUE, "generation"))));
        return entries;
    }

    /** The addresses answered for by ARP / NDP ({@code sb_neigh}), on any interface. */
    public java.util.Set<InetAddress> announced()
    {
        final java.util.Set<InetAddress> addresses = new java.util.HashSet<>();
        forEach(maps.neigh(), DatapathAbi.NEIGH_KEY, DatapathAbi.NEIGH_VALUE, (key, value) ->
            addresses.add(DatapathAbi.readAddress(key, offset(DatapathAbi.NEIGH_KEY, "addr"))));
        return addresses;
    }

    /** An interface {@code sb_xdp} runs on ({@code sb_ifaces}) and how the replies it generates there leave. */
    public record InterfaceEntry(int ifindex, String name, ReplyPath replyPath)
    {
    }

    /** The interfaces of {@code sb_ifaces}, by ifindex. */
    public List<InterfaceEntry> interfaces()
    {
        final List<InterfaceEntry> entries = new ArrayList<>();
        forEach(maps.ifaces(), ValueLayout.JAVA_INT, DatapathAbi.IFACE_VALUE, (key, value) -> entries.add(
            new InterfaceEntry(key.get(ValueLayout.JAVA_INT, 0),
                value.getString(offset(DatapathAbi.IFACE_VALUE, "name")),
                (intAt(value, DatapathAbi.IFACE_VALUE, "flags") & DatapathAbi.IFACE_F_XDP_TX) != 0 ?
                    ReplyPath.XDP : ReplyPath.TC)));
        entries.sort(java.util.Comparator.comparingInt(InterfaceEntry::ifindex));
        return entries;
    }

    /** Every backend, by id. */
    public Map<Integer, BackendEntry> backends()
    {
        final Map<Integer, BackendEntry> entries = new LinkedHashMap<>();
        forEach(maps.backends(), ValueLayout.JAVA_INT, DatapathAbi.BACKEND, (key, value) ->
        {
            final int id = key.get(ValueLayout.JAVA_INT, 0);
            entries.put(id, new BackendEntry(id,
                DatapathAbi.readAddress(value, offset(DatapathAbi.BACKEND, "addr")),
                Short.toUnsignedInt(value.get(NET_PORT, offset(DatapathAbi.BACKEND, "port"))),
                Byte.toUnsignedInt(value.get(ValueLayout.JAVA_BYTE, offset(DatapathAbi.BACKEND, "family"))),
                (value.get(ValueLayout.JAVA_BYTE, offset(DatapathAbi.BACKEND, "flags")) &
                    DatapathAbi.BACKEND_F_LOCAL) != 0));
        });
        return entries;
    }

    /**
     * The live Maglev table of {@code svcId} (slot i holds a backend id, 0 = none); empty when there is none. The
     * live half is the one its frontends name ({@code SVC_F_TABLE_B}).
     */
    public int[] maglevTable(final int svcId)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment innerId = scratch.allocate(ValueLayout.JAVA_INT);
            if (!maps.maglev().lookup(scratch.allocateFrom(ValueLayout.JAVA_INT, svcId), innerId))
            {
                return new int[0];
            }
            try (BpfMap inner = BpfMap.openById(innerId.get(ValueLayout.JAVA_INT, 0), DatapathAbi.MAGLEV_TABLE_SPEC))
            {
                final MemorySegment slotKey = scratch.allocate(ValueLayout.JAVA_INT);
                final MemorySegment slotValue = scratch.allocate(ValueLayout.JAVA_INT);
                slotKey.set(ValueLayout.JAVA_INT, 0, DatapathAbi.MAGLEV_SLOT_SIZE);
                if (!inner.lookup(slotKey, slotValue))
                {
                    return new int[0];
                }
                final int[] slots = new int[slotValue.get(ValueLayout.JAVA_INT, 0)];
                final boolean halfB = inner.maxEntries() >= 2 * slots.length + 1 && liveHalfIsB(svcId);
                final int first = DatapathAbi.MAGLEV_SLOT_FIRST + (halfB ? slots.length : 0);
                for (int i = 0; i < slots.length; i++)
                {
                    slotKey.set(ValueLayout.JAVA_INT, 0, first + i);
                    slots[i] = inner.lookup(slotKey, slotValue) ? slotValue.get(ValueLayout.JAVA_INT, 0) : 0;
                }
                return slots;
            }
        }
    }

    private boolean liveHalfIsB(final int svcId)
    {
        for (final ServiceEntry entry : services())
        {
            if (entry.svcId() == svcId)
            {
                return (entry.flags() & DatapathAbi.SVC_F_TABLE_B) != 0;
            }
        }
        return false;
    }

    /** Every conntrack entry, both directions. */
    public List<ConntrackEntry> conntrack()
    {
        final List<ConntrackEntry> entries = new ArrayList<>();
        final StructLayout k = DatapathAbi.CT_KEY;
        final StructLayout v = DatapathAbi.CT_VALUE;
        forEach(maps.conntrack(), k, v, (key, value) -> entries.add(new ConntrackEntry(
            DatapathAbi.readAddress(key, offset(k, "src")),
            Short.toUnsignedInt(key.get(NET_PORT, offset(k, "sport"))),
            DatapathAbi.readAddress(key, offset(k, "dst")),
            Short.toUnsignedInt(key.get(NET_PORT, offset(k, "dport"))),
            Byte.toUnsignedInt(key.get(ValueLayout.JAVA_BYTE, offset(k, "proto"))),
            Byte.toUnsignedInt(key.get(ValueLayout.JAVA_BYTE, offset(k, "dir"))),
            value.get(ValueLayout.JAVA_LONG, offset(v, "last_seen_ns")),
            DatapathAbi.readAddress(value, offset(v, "nat_addr")),
            Short.toUnsignedInt(value.get(NET_PORT, offset(v, "nat_port"))),
            Byte.toUnsignedInt(value.get(ValueLayout.JAVA_BYTE, offset(v, "flags"))),
            intAt(value, v, "backend_id"),
            intAt(value, v, "svc_id"),
            Short.toUnsignedInt(value.get(NET_PORT, offset(v, "remap_port"))))));
        return entries;
    }

    /** Every ClientIP affinity entry. */
    public List<AffinityEntry> affinity()
    {
        final List<AffinityEntry> entries = new ArrayList<>();
        final StructLayout k = DatapathAbi.AFFINITY_KEY;
        final StructLayout v = DatapathAbi.AFFINITY_VALUE;
        forEach(maps.affinity(), k, v, (key, value) ->
        {
            final int kind = Byte.toUnsignedInt(key.get(ValueLayout.JAVA_BYTE, offset(k, "kind")));
            final boolean byAddress = kind == DatapathAbi.AFFINITY_CLIENT_ADDR;
            entries.add(new AffinityEntry(intAt(key, k, "svc_id"), kind,
                byAddress ? DatapathAbi.readAddress(key, offset(k, "client")) : null,
                byAddress ? 0 : key.get(ValueLayout.JAVA_LONG_UNALIGNED, offset(k, "client")),
                value.get(ValueLayout.JAVA_LONG, offset(v, "last_used_ns")),
                intAt(value, v, "backend_id")));
        });
        return entries;
    }

    /** The counters of {@code svcId} summed over CPUs, in {@link DatapathAbi#SERVICE_COUNTERS} order. */
    public long[] serviceCounters(final int svcId)
    {
        final long[] sums = new long[DatapathAbi.SERVICE_COUNTERS.length];
        final BpfMap stats = maps.serviceStats();
        if (svcId < 0 || svcId >= stats.maxEntries())
        {
            return sums;
        }
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment value = scratch.allocate(stats.valueBufferSize(), 8);
            if (stats.lookup(scratch.allocateFrom(ValueLayout.JAVA_INT, svcId), value))
            {
                for (long cpu = 0; cpu < value.byteSize(); cpu += stats.perCpuStride())
                {
                    for (int i = 0; i < sums.length; i++)
                    {
                        sums[i] += value.get(ValueLayout.JAVA_LONG, cpu + 8L * i);
                    }
                }
            }
        }
        return sums;
    }

    /** The global counters summed over CPUs, in {@link DatapathAbi#GLOBAL_COUNTERS} order. */
    public long[] globalCounters()
    {
        final long[] sums = new long[DatapathAbi.GLOBAL_COUNTERS.length];
        final BpfMap stats = maps.stats();
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment key = scratch.allocate(ValueLayout.JAVA_INT);
            final MemorySegment value = scratch.allocate(stats.valueBufferSize(), 8);
            for (int i = 0; i < sums.length; i++)
            {
                key.set(ValueLayout.JAVA_INT, 0, i);
                if (stats.lookup(key, value))
                {
                    for (long cpu = 0; cpu < value.byteSize(); cpu += stats.perCpuStride())
                    {
                        sums[i] += value.get(ValueLayout.JAVA_LONG, cpu);
                    }
                }
            }
        }
        return sums;
    }

    /** {@code sb_config.maglev_seed}: the seed of the flow hash. */
    public int maglevSeed()
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment value = scratch.allocate(DatapathAbi.CONFIG_VALUE);
            maps.config().lookup(scratch.allocateFrom(ValueLayout.JAVA_INT, 0), value);
            return intAt(value, DatapathAbi.CONFIG_VALUE, "maglev_seed");
        }
    }

    private interface EntryConsumer
    {
        void accept(MemorySegment key, MemorySegment value);
    }

    private static void forEach(final BpfMap map, final java.lang.foreign.MemoryLayout keyLayout,
        final java.lang.foreign.MemoryLayout valueLayout, final EntryConsumer consumer)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment key = scratch.allocate(keyLayout);
            final MemorySegment next = scratch.allocate(keyLayout);
            final MemorySegment value = scratch.allocate(valueLayout);
            MemorySegment previous = null;
            while (map.nextKey(previous, next))
            {
                key.copyFrom(next);
                previous = key;
                if (map.lookup(key, value))
                {
                    consumer.accept(key, value);
                }
            }
        }
    }

    private static int intAt(final MemorySegment segment, final StructLayout layout, final String field)
    {
        return segment.get(ValueLayout.JAVA_INT, offset(layout, field));
    }

    /** The names of the flags set in {@code flags} ({@code sb_svc_value.flags}), affinity with its timeout. */
    public static List<String> flagNames(final int flags, final int affinityTimeoutSeconds)
    {
        final List<String> names = new ArrayList<>();
        if ((flags & DatapathAbi.SVC_F_EXTERNAL) != 0)
        {
            names.add("EXTERNAL");
        }
        if ((flags & DatapathAbi.SVC_F_LOCAL_ONLY) != 0)
        {
            names.add("LOCAL_ONLY");
        }
        if ((flags & DatapathAbi.SVC_F_ANY_ENDPOINTS) != 0)
        {
            names.add("ANY_ENDPOINTS");
        }
        if ((flags & DatapathAbi.SVC_F_AFFINITY) != 0)
        {
            names.add("AFFINITY(" + affinityTimeoutSeconds + "s)");
        }
        if ((flags & DatapathAbi.SVC_F_SOURCE_RANGES) != 0)
        {
            names.add("SOURCE_RANGES");
        }
        if ((flags & DatapathAbi.SVC_F_NODEPORT) != 0)
        {
            names.add("NODEPORT");
        }
        if ((flags & DatapathAbi.SVC_F_LOADBALANCER) != 0)
        {
            names.add("LB");
        }
        return names;
    }

    /** "TCP", "UDP" or the number. */
    public static String protocolName(final int protocol)
    {
        return switch (protocol)
        {
            case DatapathAbi.PROTO_TCP -> "TCP";
            case DatapathAbi.PROTO_UDP -> "UDP";
            default -> Integer.toString(protocol);
        };
    }


    @Override
    public void close()
    {
        if (owned)
        {
            maps.close();
        }
    }
}
