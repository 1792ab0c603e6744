package io.switchboard.datapath;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.MapSpec;
import io.switchboard.testing.Packet;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.switchboard.datapath.DatapathAbi.offset;

/**
 * Test-only: the shipped datapath object loaded with small maps, and readable helpers that fill its maps
 * the way the agent will (frontends, backends, Maglev tables, source ranges) and read its counters.
 * Every offset comes from {@link DatapathAbi}; nothing here is the production map programmer.
 * <pre>
 *   fixture.backend(11, pod0, 8080, true);
 *   fixture.maglevTable(1, DatapathFixture.spread(7, 11));
 *   fixture.service(clusterIp, 80, TCP, 1, 0, 0);
 * </pre>
 */
final class DatapathFixture implements AutoCloseable
{
    /** The cluster-wide Maglev seed the fixtures write to {@code sb_config}. */
    static final int MAGLEV_SEED = 0x5EED_0001;
    /** Capacity of the svc_id-indexed maps: svc_ids in tests stay below it. */
    static final int MAX_SERVICES = 64;
    private static final long NS_PER_S = 1_000_000_000L;

    private final BpfObject object;
    private final DatapathLoadOptions options;
    private final BpfMap services;
    private final BpfMap backends;
    private final BpfMap maglev;
    private final BpfMap conntrack;
    private final BpfMap affinity;
    private final BpfMap sourceRanges;
    private final BpfMap serviceStats;
    private final BpfMap stats;
    private final List<BpfMap> tables = new ArrayList<>();
    /** Frontends written so far, so a later Maglev table can update their backend_count. */
    private final List<Frontend> frontends = new ArrayList<>();
    private final Map<Integer, int[]> liveTables = new HashMap<>();

    private record Frontend(InetAddress address, int port, int protocol, int svcId, int flags, int affinityTimeout)
    {
    }

    private DatapathFixture(final BpfObject object, final DatapathLoadOptions options)
    {
        this.object = object;
        this.options = options;
        services = object.map(DatapathAbi.SERVICES, DatapathAbi.SERVICES_SPEC);
        backends = object.map(DatapathAbi.BACKENDS, DatapathAbi.BACKENDS_SPEC);
        maglev = object.map(DatapathAbi.MAGLEV, DatapathAbi.MAGLEV_SPEC);
        conntrack = object.map(DatapathAbi.CONNTRACK, DatapathAbi.CONNTRACK_SPEC);
        affinity = object.map(DatapathAbi.AFFINITY, DatapathAbi.AFFINITY_SPEC);
        sourceRanges = object.map(DatapathAbi.SOURCE_RANGES, DatapathAbi.SOURCE_RANGES_SPEC);
        serviceStats = object.map(DatapathAbi.SERVICE_STATS, DatapathAbi.SERVICE_STATS_SPEC);
        stats = object.map(DatapathAbi.STATS, DatapathAbi.STATS_SPEC);
        configFlags(0);
    }

    /** The test object: the shipped datapath plus {@code sb_test_tc_reply} (bpf/tests/tc_reply.bpf.c). */
    static final String TC_REPLY_TEST_OBJECT = "bpf/tests/tc_reply.bpf.o";
    /** {@code BPF_PROG_TEST_RUN}'s ingress interface: the loopback device. */
    static final int TEST_RUN_IFINDEX = 1;

    /** Loads {@code bpf/switchboard.bpf.o} with small maps and writes the config (seed, default timeouts). */
    static DatapathFixture load()
    {
        return load(DatapathAbi.OBJECT_RESOURCE);
    }

    /**
     * Loads {@code resource} (the shipped object, or {@link #TC_REPLY_TEST_OBJECT}, which is it with one
     * entry point more) with small maps and writes the config.
     */
    static DatapathFixture load(final String resource)
    {
        return load(resource, DatapathLoadOptions.thisKernel());
    }

    /** The same, built with {@code options} (e.g. without XDP metadata, which any kernel can run). */
    static DatapathFixture load(final String resource, final DatapathLoadOptions options)
    {
        final BpfObject object = options.applyTo(BpfObject.openResource(resource))
            .maxEntries(DatapathAbi.SERVICES, 256)
            .maxEntries(DatapathAbi.BACKENDS, 256)
            .maxEntries(DatapathAbi.MAGLEV, MAX_SERVICES)
            .maxEntries(DatapathAbi.SERVICE_STATS, MAX_SERVICES)
            .maxEntries(DatapathAbi.CONNTRACK, 16384)
            .maxEntries(DatapathAbi.SNAT, 16384)
            .maxEntries(DatapathAbi.AFFINITY, 1024)
            .maxEntries(DatapathAbi.SOURCE_RANGES, 64)
            .maxEntries(DatapathAbi.SOCK_REVNAT, 1024)
            .load();
        try
        {
            return new DatapathFixture(object, options);
        }
        catch (final RuntimeException ex)
        {
            object.close();
            throw ex;
        }
    }

    /** Writes the config: the seed, default timeouts and {@code flags} ({@code CFG_F_*}); no source translation. */
    void configFlags(final int flags)
    {
        writeConfig(flags, 0, null, null, 0, 0);
    }

    /**
     * Writes the config with source translation: the node addresses translated flows leave with, their
     * port range and the TCP timeout after FIN/RST (0 = the default 10 s).
     */
    void sourceTranslation(final InetAddress node4, final InetAddress node6, final int portMin, final int portMax,
        final int tcpClosingSeconds)
    {
        writeConfig(0, tcpClosingSeconds, node4, node6, portMin, portMax);
    }

    private void writeConfig(final int flags, final int tcpClosingSeconds, final InetAddress node4,
        final InetAddress node6, final int portMin, final int portMax)
    {
        try (BpfMap config = object.map(DatapathAbi.CONFIG, DatapathAbi.CONFIG_SPEC); Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(DatapathAbi.CONFIG_VALUE);
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "maglev_seed"), MAGLEV_SEED);
            // other timeouts stay 0: the datapath's defaults (TCP 60 s / 6 h / 10 s, UDP 30 s)
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "ct_tcp_closing_s"), tcpClosingSeconds);
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "flags"), flags);
            value.set(ValueLayout.JAVA_SHORT, offset(DatapathAbi.CONFIG_VALUE, "snat_port_min"), (short)portMin);
            value.set(ValueLayout.JAVA_SHORT, offset(DatapathAbi.CONFIG_VALUE, "snat_port_max"), (short)portMax);
            if (null != node4)
            {
                DatapathAbi.writeAddress(value, offset(DatapathAbi.CONFIG_VALUE, "node_addr4"), node4);
            }
            if (null != node6)
            {
                DatapathAbi.writeAddress(value, offset(DatapathAbi.CONFIG_VALUE, "node_addr6"), node6);
            }
            config.update(arena.allocateFrom(ValueLayout.JAVA_INT, 0), value, BpfMap.BPF_ANY);
        }
    }

    /** The source ports held in {@code sb_snat}, one per entry, host order. */
    List<Integer> snatPorts()
    {
        final List<Integer> ports = new ArrayList<>();
        try (BpfMap snat = object.map(DatapathAbi.SNAT, DatapathAbi.SNAT_SPEC); Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(DatapathAbi.SNAT_KEY);
            MemorySegment previous = null;
            while (snat.nextKey(previous, key))
            {
                ports.add(Short.toUnsignedInt(key.get(DatapathAbi.NET_PORT, offset(DatapathAbi.SNAT_KEY, "nat_port"))));
                previous = arena.allocate(DatapathAbi.SNAT_KEY).copyFrom(key);
            }
        }
        return ports;
    }

    BpfObject object()
    {
        return object;
    }

    BpfProgram program(final String name)
    {
        return object.program(name);
    }

    BpfProgram xdp()
    {
        return object.program(DatapathAbi.PROGRAM_XDP);
    }

    BpfProgram tcFromPod()
    {
        return object.program(DatapathAbi.PROGRAM_TC_FROM_POD);
    }

    BpfProgram tcToClient()
    {
        return object.program(DatapathAbi.PROGRAM_TC_TO_CLIENT);
    }

    /** {@code sb_test_tc_reply} of {@link #TC_REPLY_TEST_OBJECT}: what {@code sb_tc_from_ext} does with a marked frame. */
    BpfProgram tcReply()
    {
        return object.program("sb_test_tc_reply");
    }

    /** Writes {@code sb_ifaces} for {@code ifindex}: generated replies by {@code XDP_TX} or, without, by tc. */
    void replies(final int ifindex, final boolean xdpTx)
    {
        try (Arena arena = Arena.ofConfined();
            BpfMap ifaces = object.map(DatapathAbi.IFACES, DatapathAbi.IFACES_SPEC))
        {
            final MemorySegment value = arena.allocate(DatapathAbi.IFACE_VALUE);
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.IFACE_VALUE, "flags"),
                xdpTx ? DatapathAbi.IFACE_F_XDP_TX : 0);
            ifaces.update(arena.allocateFrom(ValueLayout.JAVA_INT, ifindex), value, BpfMap.BPF_ANY);
        }
    }

    /** What this fixture's object was built with. */
    DatapathLoadOptions options()
    {
        return options;
    }

    /**
     * What {@code sb_xdp} passes of a frame it hands to tc to answer: the frame with {@code SB_REPLY_MARK} in front
     * (its metadata), or, built without XDP metadata, the frame untouched.
     */
    byte[] handedOver(final byte[] frame)
    {
        return options.xdpMetadata() ? DatapathPacketTest.marked(frame) : frame;
    }

    BpfProgram tcFromExt()
    {
        return object.program(DatapathAbi.PROGRAM_TC_FROM_EXT);
    }

    /**
     * Writes the frontend (address, port, protocol) of service {@code svcId}. Its backend_count and
     * table_size follow the table written by {@link #maglevTable} for that id (0 until then).
     */
    void service(final InetAddress frontend, final int port, final int protocol, final int svcId, final int flags,
        final int affinityTimeoutSeconds)
    {
        final Frontend written = new Frontend(frontend, port, protocol, svcId, flags, affinityTimeoutSeconds);
        frontends.removeIf(f -> f.address().equals(frontend) && f.port() == port && f.protocol() == protocol);
        frontends.add(written);
        writeFrontend(written);
    }

    private void writeFrontend(final Frontend frontend)
    {
        final int[] slots = liveTables.get(frontend.svcId());
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(DatapathAbi.SVC_KEY);
            DatapathAbi.writeAddress(key, offset(DatapathAbi.SVC_KEY, "addr"), frontend.address());
            key.set(DatapathAbi.NET_PORT, offset(DatapathAbi.SVC_KEY, "port"), (short)frontend.port());
            key.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.SVC_KEY, "proto"), (byte)frontend.protocol());
            final MemorySegment value = arena.allocate(DatapathAbi.SVC_VALUE);
            final StructLayout layout = DatapathAbi.SVC_VALUE;
            value.set(ValueLayout.JAVA_INT, offset(layout, "svc_id"), frontend.svcId());
            value.set(ValueLayout.JAVA_INT, offset(layout, "flags"), frontend.flags());
            value.set(ValueLayout.JAVA_INT, offset(layout, "affinity_timeout_s"), frontend.affinityTimeout());
            value.set(ValueLayout.JAVA_INT, offset(layout, "backend_count"), null == slots ? 0 : distinctIds(slots));
            value.set(ValueLayout.JAVA_INT, offset(layout, "table_size"), null == slots ? 0 : slots.length);
            value.set(ValueLayout.JAVA_INT, offset(layout, "generation"), 1);
            services.update(key, value, BpfMap.BPF_ANY);
        }
    }

    private static int distinctIds(final int[] slots)
    {
        return (int)Arrays.stream(slots).filter(id -> id != 0).distinct().count();
    }

    /** Writes backend {@code id}: the endpoint's address and target port. */
    void backend(final int id, final InetAddress address, final int port, final boolean local)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(DatapathAbi.BACKEND);
            DatapathAbi.writeAddress(value, offset(DatapathAbi.BACKEND, "addr"), address);
            value.set(DatapathAbi.NET_PORT, offset(DatapathAbi.BACKEND, "port"), (short)port);
            value.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.BACKEND, "family"),
                (byte)(address instanceof Inet4Address ? DatapathAbi.AF_INET : DatapathAbi.AF_INET6));
            value.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.BACKEND, "flags"),
                (byte)(local ? DatapathAbi.BACKEND_F_LOCAL : 0));
            backends.update(arena.allocateFrom(ValueLayout.JAVA_INT, id), value, BpfMap.BPF_ANY);
        }
    }

    /** Removes backend {@code id}, as the agent does when an endpoint leaves the service. */
    void removeBackend(final int id)
    {
        try (Arena arena = Arena.ofConfined())
        {
            backends.delete(arena.allocateFrom(ValueLayout.JAVA_INT, id));
        }
    }

    /** {@code m} slots filled round robin with {@code ids}: a table where every id gets an equal share. */
    static int[] spread(final int m, final int... ids)
    {
        final int[] slots = new int[m];
        for (int i = 0; i < m; i++)
        {
            slots[i] = ids[i % ids.length];
        }
        return slots;
    }

    /**
     * Makes {@code slots} (backend id per Maglev entry, M = its length) the live table of {@code svcId}:
     * a new inner ARRAY of M + 1 u32 (slot 0 = M) switched in by one update of {@code sb_maglev[svcId]},
     * then the frontends of that id get the new backend_count.
     */
    void maglevTable(final int svcId, final int... slots)
    {
        final BpfMap table = BpfMap.create("sb_test_table", DatapathAbi.MAGLEV_TABLE_SPEC, slots.length + 1,
            BpfMap.BPF_F_INNER_MAP);
        tables.add(table);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment keys = arena.allocate(ValueLayout.JAVA_INT, slots.length + 1);
            final MemorySegment values = arena.allocate(ValueLayout.JAVA_INT, slots.length + 1);
            keys.setAtIndex(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_SIZE, DatapathAbi.MAGLEV_SLOT_SIZE);
            values.setAtIndex(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_SIZE, slots.length);
            for (int i = 0; i < slots.length; i++)
            {
                keys.setAtIndex(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_FIRST + i, DatapathAbi.MAGLEV_SLOT_FIRST + i);
                values.setAtIndex(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_FIRST + i, slots[i]);
            }
            table.updateBatch(keys, values, slots.length + 1, BpfMap.BPF_ANY);
            // the value of a map-of-maps element is the inner map's descriptor
            maglev.update(arena.allocateFrom(ValueLayout.JAVA_INT, svcId),
                arena.allocateFrom(ValueLayout.JAVA_INT, table.fd()), BpfMap.BPF_ANY);
        }
        liveTables.put(svcId, slots.clone());
        frontends.stream().filter(f -> f.svcId() == svcId).forEach(this::writeFrontend);
    }

    /**
     * Makes a two-half table the table of {@code svcId}, as the agent writes it: 2M + 1 slots, slot 0 = M, half A at
     * 1.., half B at 1 + M... The frontends of that id are not rewritten: {@link #service} with or without
     * {@code SVC_F_TABLE_B} chooses the half.
     */
    void maglevHalves(final int svcId, final int[] halfA, final int[] halfB)
    {
        final int m = halfA.length;
        final BpfMap table = BpfMap.create("sb_test_halves", DatapathAbi.MAGLEV_TABLE_SPEC, 2 * m + 1,
            BpfMap.BPF_F_INNER_MAP);
        tables.add(table);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment keys = arena.allocate(ValueLayout.JAVA_INT, 2 * m + 1);
            final MemorySegment values = arena.allocate(ValueLayout.JAVA_INT, 2 * m + 1);
            keys.setAtIndex(ValueLayout.JAVA_INT, 0, DatapathAbi.MAGLEV_SLOT_SIZE);
            values.setAtIndex(ValueLayout.JAVA_INT, 0, m);
            for (int i = 0; i < m; i++)
            {
                keys.setAtIndex(ValueLayout.JAVA_INT, 1 + i, DatapathAbi.MAGLEV_SLOT_FIRST + i);
                values.setAtIndex(ValueLayout.JAVA_INT, 1 + i, halfA[i]);
                keys.setAtIndex(ValueLayout.JAVA_INT, 1 + m + i, DatapathAbi.MAGLEV_SLOT_FIRST + m + i);
                values.setAtIndex(ValueLayout.JAVA_INT, 1 + m + i, halfB[i]);
            }
            table.updateBatch(keys, values, 2 * m + 1, BpfMap.BPF_ANY);
            maglev.update(arena.allocateFrom(ValueLayout.JAVA_INT, svcId),
                arena.allocateFrom(ValueLayout.JAVA_INT, table.fd()), BpfMap.BPF_ANY);
        }
        liveTables.put(svcId, halfA.clone());
    }

    /** Allows clients in {@code cidr} ("a.b.c.d/n" or "x::/n") on the frontends of {@code svcId} with SOURCE_RANGES. */
    void sourceRange(final int svcId, final String cidr)
    {
        final String[] parts = cidr.split("/");
        final InetAddress address = Packet.address(parts[0]);
        final int bits = Integer.parseInt(parts[1]);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(DatapathAbi.SOURCE_RANGE_KEY);
            // 32 bits of svc_id always match; IPv4 prefixes sit behind the 96 bits of ::ffff:0:0/96
            final int prefixLength = 32 + (address instanceof Inet4Address ? 96 + bits : bits);
            key.set(ValueLayout.JAVA_INT, offset(DatapathAbi.SOURCE_RANGE_KEY, "prefixlen"), prefixLength);
            key.set(ValueLayout.JAVA_INT, offset(DatapathAbi.SOURCE_RANGE_KEY, "svc_id"), svcId);
            DatapathAbi.writeAddress(key, offset(DatapathAbi.SOURCE_RANGE_KEY, "addr"), address);
            sourceRanges.update(key, arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte)1), BpfMap.BPF_ANY);
        }
    }

    /** Announces {@code address} on {@code ifindex}: sb_xdp answers ARP / NDP for it with {@code mac}. */
    void announce(final InetAddress address, final int ifindex, final byte[] mac)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(DatapathAbi.NEIGH_KEY);
            DatapathAbi.writeAddress(key, offset(DatapathAbi.NEIGH_KEY, "addr"), address);
            key.set(ValueLayout.JAVA_INT, offset(DatapathAbi.NEIGH_KEY, "ifindex"), ifindex);
            final MemorySegment value = arena.allocate(DatapathAbi.NEIGH_VALUE);
            MemorySegment.copy(mac, 0, value, ValueLayout.JAVA_BYTE, offset(DatapathAbi.NEIGH_VALUE, "mac"), 6);
            object.map(DatapathAbi.NEIGH, DatapathAbi.NEIGH_SPEC).update(key, value, BpfMap.BPF_ANY);
        }
    }

    /** A per-service counter ({@code "packets"}, {@code "refused"}, …) summed over every CPU. */
    long svcCounter(final int svcId, final String counter)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(serviceStats.valueBufferSize(), 8);
            serviceStats.lookup(arena.allocateFrom(ValueLayout.JAVA_INT, svcId), value);
            return sumPerCpu(serviceStats, value, offset(DatapathAbi.SERVICE_COUNTERS_VALUE, counter));
        }
    }

    /** A global counter of {@code sb_stats} by its name in {@link DatapathAbi#GLOBAL_COUNTERS}, summed over CPUs. */
    long stat(final String counter)
    {
        final int index = Arrays.asList(DatapathAbi.GLOBAL_COUNTERS).indexOf(counter);
        if (index < 0)
        {
            throw new IllegalArgumentException("no global counter " + counter);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(stats.valueBufferSize(), 8);
            stats.lookup(arena.allocateFrom(ValueLayout.JAVA_INT, index), value);
            return sumPerCpu(stats, value, 0);
        }
    }

    /** Every global counter, by name: for "nothing else moved" checks. */
    Map<String, Long> stats()
    {
        final Map<String, Long> all = new HashMap<>();
        for (final String counter : DatapathAbi.GLOBAL_COUNTERS)
        {
            all.put(counter, stat(counter));
        }
        return all;
    }

    private static long sumPerCpu(final BpfMap map, final MemorySegment value, final long fieldOffset)
    {
        long sum = 0;
        for (long cpu = 0; cpu < value.byteSize(); cpu += map.perCpuStride())
        {
            sum += value.get(ValueLayout.JAVA_LONG, cpu + fieldOffset);
        }
        return sum;
    }

    /**
     * Makes the ClientIP affinity entry of {@code client} for {@code svcId} older by {@code seconds}, as if
     * it had last been used that long ago (instead of sleeping through a timeout).
     *
     * @return false if there is no such entry.
     */
    boolean ageAffinity(final int svcId, final InetAddress client, final long seconds)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(DatapathAbi.AFFINITY_KEY);
            key.set(ValueLayout.JAVA_INT, offset(DatapathAbi.AFFINITY_KEY, "svc_id"), svcId);
            key.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.AFFINITY_KEY, "kind"),
                (byte)DatapathAbi.AFFINITY_CLIENT_ADDR);
            DatapathAbi.writeAddress(key, offset(DatapathAbi.AFFINITY_KEY, "client"), client);
            final MemorySegment value = arena.allocate(DatapathAbi.AFFINITY_VALUE);
            if (!affinity.lookup(key, value))
            {
                return false;
            }
            final long lastUsed = offset(DatapathAbi.AFFINITY_VALUE, "last_used_ns");
            value.set(ValueLayout.JAVA_LONG, lastUsed, value.get(ValueLayout.JAVA_LONG, lastUsed) - seconds * NS_PER_S);
            affinity.update(key, value, BpfMap.BPF_EXIST);
            return true;
        }
    }

    /**
     * The conntrack entry of a tuple as on the wire in direction {@code dir}: its backend id, or -1 when
     * there is none.
     */
    int conntrackBackend(final InetAddress source, final int sourcePort, final InetAddress destination,
        final int destinationPort, final int protocol, final int dir)
    {
        final Conntrack entry = conntrack(source, sourcePort, destination, destinationPort, protocol, dir);
        return null == entry ? -1 : entry.backendId();
    }

    /** The fields of an {@code sb_ct} value the tests look at. */
    record Conntrack(int backendId, int flags, InetAddress natAddress, int natPort, int remapPort)
    {
    }

    /** The {@code sb_ct} entry of a key, or null. */
    Conntrack conntrack(final InetAddress source, final int sourcePort, final InetAddress destination,
        final int destinationPort, final int protocol, final int dir)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(DatapathAbi.CT_KEY);
            DatapathAbi.writeAddress(key, offset(DatapathAbi.CT_KEY, "src"), source);
            DatapathAbi.writeAddress(key, offset(DatapathAbi.CT_KEY, "dst"), destination);
            key.set(DatapathAbi.NET_PORT, offset(DatapathAbi.CT_KEY, "sport"), (short)sourcePort);
            key.set(DatapathAbi.NET_PORT, offset(DatapathAbi.CT_KEY, "dport"), (short)destinationPort);
            key.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.CT_KEY, "proto"), (byte)protocol);
            key.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.CT_KEY, "dir"), (byte)dir);
            final MemorySegment value = arena.allocate(DatapathAbi.CT_VALUE);
            if (!conntrack.lookup(key, value))
            {
                return null;
            }
            final StructLayout v = DatapathAbi.CT_VALUE;
            return new Conntrack(value.get(ValueLayout.JAVA_INT, offset(v, "backend_id")),
                Byte.toUnsignedInt(value.get(ValueLayout.JAVA_BYTE, offset(v, "flags"))),
                DatapathAbi.readAddress(value, offset(v, "nat_addr")),
                Short.toUnsignedInt(value.get(DatapathAbi.NET_PORT, offset(v, "nat_port"))),
                Short.toUnsignedInt(value.get(DatapathAbi.NET_PORT, offset(v, "remap_port"))));
        }
    }

    /** Pins map {@code name} of the loaded object at {@code path}. */
    void pin(final String name, final MapSpec spec, final Path path)
    {
        try (BpfMap map = object.map(name, spec))
        {
            map.pin(path);
        }
    }

    @Override
    public void close()
    {
        for (final BpfMap table : tables)
        {
            table.close();
        }
        for (final BpfMap map : List.of(services, backends, maglev, conntrack, affinity, sourceRanges, serviceStats,
            stats))
        {
            map.close();
        }
        object.close();
    }
}
