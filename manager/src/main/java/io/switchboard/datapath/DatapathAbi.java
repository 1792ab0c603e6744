package io.switchboard.datapath;

import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.MapSpec;
import io.switchboard.bpf.MapType;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * The Java mirror of {@code bpf/include/sb_maps.h}, the map ABI of the service datapath. The C header
 * is the one definition; every layout here is checked against the loaded object's BTF by
 * {@link #verify(BpfObject)}, so a drift fails start-up naming the struct and field.
 * <p>
 * Conventions (as in the header): addresses are 16 bytes, IPv4 stored v4-mapped ({@code ::ffff:a.b.c.d});
 * ports are network byte order; every other integer is host order; padding is explicit and zero.
 */
public final class DatapathAbi
{
    /** {@code SB_ABI_VERSION}: the layout version of the maps below. */
    public static final int ABI_VERSION = 3;
    /** The compiled datapath inside the agent's jar. */
    public static final String OBJECT_RESOURCE = "bpf/switchboard.bpf.o";

    public static final String SERVICES = "sb_services";
    public static final String BACKENDS = "sb_backends";
    public static final String MAGLEV = "sb_maglev";
    public static final String CONNTRACK = "sb_ct";
    public static final String AFFINITY = "sb_affinity";
    public static final String SOURCE_RANGES = "sb_source_ranges";
    public static final String CONFIG = "sb_config";
    public static final String SOCK_REVNAT = "sb_sock_revnat";
    public static final String SERVICE_STATS = "sb_svc_stats";
    public static final String STATS = "sb_stats";
    public static final String NEIGH = "sb_neigh";
    public static final String SNAT = "sb_snat";
    public static final String IFACES = "sb_ifaces";

    public static final String PROGRAM_XDP = "sb_xdp";
    public static final String PROGRAM_TC_FROM_POD = "sb_tc_from_pod";
    public static final String PROGRAM_TC_TO_CLIENT = "sb_tc_to_client";
    public static final String PROGRAM_TC_FROM_EXT = "sb_tc_from_ext";

    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    /** {@code sb_svc_value.flags}. */
    public static final int SVC_F_EXTERNAL = 1;
    public static final int SVC_F_LOCAL_ONLY = 1 << 1;
    public static final int SVC_F_ANY_ENDPOINTS = 1 << 2;
    public static final int SVC_F_AFFINITY = 1 << 3;
    public static final int SVC_F_SOURCE_RANGES = 1 << 4;
    public static final int SVC_F_NODEPORT = 1 << 5;
    public static final int SVC_F_LOADBALANCER = 1 << 6;
    /** The live Maglev table is the second half of the inner map (slots 1 + M ..); not shown as a flag. */
    public static final int SVC_F_TABLE_B = 1 << 7;
    /** {@code sb_backend.flags}. */
    public static final int BACKEND_F_LOCAL = 1;
    /** {@code sb_ct_key.dir}. */
    public static final int CT_DIR_FORWARD = 0;
    public static final int CT_DIR_REPLY = 1;
    /** {@code sb_ct_value.flags}: {@code SB_CT_F_*}. */
    public static final int CT_F_SYN_SEEN = 1;
    public static final int CT_F_ESTABLISHED = 1 << 1;
    public static final int CT_F_CLOSING = 1 << 2;
    /** A REPLY key holding a tuple an untranslated TCP flow reached its backend with; it never translates. */
    public static final int CT_F_UNTRANSLATED = 1 << 3;
    /** {@code sb_affinity_key.kind}. */
    public static final int AFFINITY_CLIENT_ADDR = 0;
    public static final int AFFINITY_CLIENT_NETNS = 1;
    /** Maglev inner table: slot 0 holds M, slot 1 + i entry i. */
    public static final int MAGLEV_SLOT_SIZE = 0;
    public static final int MAGLEV_SLOT_FIRST = 1;
    /**
     * {@code sb_config.flags}: {@code sb_xdp} forwards DNATed frames itself ({@code bpf_fib_lookup} +
     * {@code bpf_redirect}) instead of {@code XDP_PASS}. Needs NAPI on the receiving end of pod veths.
     */
    public static final int CFG_F_XDP_FIB_REDIRECT = 1;
    /** {@code sb_iface_value.flags}: replies {@code sb_xdp} generates on the interface leave with {@code XDP_TX}. */
    public static final int IFACE_F_XDP_TX = 1;
    /** {@code sb_iface_value.name}: an interface name's room, NUL included ({@code IFNAMSIZ}). */
    public static final int IFACE_NAME_SIZE = 16;
    /** {@code SB_SNAT_PORT_MIN_DEFAULT} / {@code SB_SNAT_PORT_MAX_DEFAULT}: below ephemeral and NodePorts. */
    public static final int SNAT_PORT_MIN_DEFAULT = 1_024;
    public static final int SNAT_PORT_MAX_DEFAULT = 29_999;

    /** Counters of {@code sb_svc_stats}, in field order. */
    public static final String[] SERVICE_COUNTERS = {"packets", "bytes", "new_flows", "ct_hits", "affinity_hits",
        "refused", "dropped_no_local", "dropped_source_range", "dropped_other"};
    /** Indexes of {@code sb_stats}, {@code enum sb_stat}. */
    public static final String[] GLOBAL_COUNTERS = {"passed", "not_ip", "fragment", "ip_options", "ipv6_ext",
        "not_tcp_udp", "truncated", "no_service", "service", "revnat", "nat_failed", "sock_xlate", "sock_revnat",
        "sock_refused", "svc_id_range", "snat", "snat_exhausted", "snat_reversed", "neigh_answered",
        "neigh_ignored", "reply_tc", "ct_stale", "port_remap", "port_remap_exhausted", "closed_port"};

    /** A port in network byte order. */
    public static final ValueLayout.OfShort NET_PORT =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final MemoryLayout ADDRESS = MemoryLayout.sequenceLayout(16, ValueLayout.JAVA_BYTE);

    public static final StructLayout SVC_KEY = MemoryLayout.structLayout(
        ADDRESS.withName("addr"),
        NET_PORT.withName("port"),
        ValueLayout.JAVA_BYTE.withName("proto"),
        ValueLayout.JAVA_BYTE.withName("pad")).withName("sb_svc_key");
    public static final StructLayout SVC_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_INT.withName("svc_id"),
        ValueLayout.JAVA_INT.withName("flags"),
        ValueLayout.JAVA_INT.withName("affinity_timeout_s"),
        ValueLayout.JAVA_INT.withName("backend_count"),
        ValueLayout.JAVA_INT.withName("table_size"),
        ValueLayout.JAVA_INT.withName("generation")).withName("sb_svc_value");
    public static final StructLayout BACKEND = MemoryLayout.structLayout(
        ADDRESS.withName("addr"),
        NET_PORT.withName("port"),
        ValueLayout.JAVA_BYTE.withName("family"),
        ValueLayout.JAVA_BYTE.withName("flags")).withName("sb_backend");
    public static final StructLayout CT_KEY = MemoryLayout.structLayout(
        ADDRESS.withName("src"),
        ADDRESS.withName("dst"),
        NET_PORT.withName("sport"),
        NET_PORT.withName("dport"),
        ValueLayout.JAVA_BYTE.withName("proto"),
        ValueLayout.JAVA_BYTE.withName("dir"),
        MemoryLayout.sequenceLayout(2, ValueLayout.JAVA_BYTE).withName("pad")).withName("sb_ct_key");
    public static final StructLayout CT_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_LONG.withName("last_seen_ns"),
        ADDRESS.withName("nat_addr"),
        NET_PORT.withName("nat_port"),
        ValueLayout.JAVA_BYTE.withName("flags"),
        ValueLayout.JAVA_BYTE.withName("pad0"),
        ValueLayout.JAVA_INT.withName("backend_id"),
        ValueLayout.JAVA_INT.withName("svc_id"),
        NET_PORT.withName("snat_port"),
        NET_PORT.withName("remap_port")).withName("sb_ct_value");
    public static final StructLayout AFFINITY_KEY = MemoryLayout.structLayout(
        ValueLayout.JAVA_INT.withName("svc_id"),
        ValueLayout.JAVA_BYTE.withName("kind"),
        MemoryLayout.sequenceLayout(3, ValueLayout.JAVA_BYTE).withName("pad"),
        ADDRESS.withName("client")).withName("sb_affinity_key");
    public static final StructLayout AFFINITY_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_LONG.withName("last_used_ns"),
        ValueLayout.JAVA_INT.withName("backend_id"),
        ValueLayout.JAVA_INT.withName("pad")).withName("sb_affinity_value");
    public static final StructLayout SOURCE_RANGE_KEY = MemoryLayout.structLayout(
        ValueLayout.JAVA_INT.withName("prefixlen"),
        ValueLayout.JAVA_INT.withName("svc_id"),
        ADDRESS.withName("addr")).withName("sb_srcrange_key");
    public static final StructLayout CONFIG_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_INT.withName("maglev_seed"),
        ValueLayout.JAVA_INT.withName("ct_tcp_syn_s"),
        ValueLayout.JAVA_INT.withName("ct_tcp_established_s"),
        ValueLayout.JAVA_INT.withName("ct_tcp_closing_s"),
        ValueLayout.JAVA_INT.withName("ct_udp_s"),
        ValueLayout.JAVA_INT.withName("flags"),
        ValueLayout.JAVA_SHORT.withName("snat_port_min"),
        ValueLayout.JAVA_SHORT.withName("snat_port_max"),
        NET_PORT.withName("closed_port"),
        ValueLayout.JAVA_SHORT.withName("pad"),
        ADDRESS.withName("node_addr4"),
        ADDRESS.withName("node_addr6")).withName("sb_config");
    public static final StructLayout SNAT_KEY = MemoryLayout.structLayout(
        ADDRESS.withName("backend"),
        ADDRESS.withName("node"),
        NET_PORT.withName("backend_port"),
        NET_PORT.withName("nat_port"),
        ValueLayout.JAVA_BYTE.withName("proto"),
        MemoryLayout.sequenceLayout(3, ValueLayout.JAVA_BYTE).withName("pad")).withName("sb_snat_key");
    public static final StructLayout SNAT_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_LONG.withName("last_seen_ns"),
        ADDRESS.withName("client"),
        ADDRESS.withName("frontend"),
        NET_PORT.withName("client_port"),
        NET_PORT.withName("frontend_port"),
        ValueLayout.JAVA_BYTE.withName("flags"),
        MemoryLayout.sequenceLayout(3, ValueLayout.JAVA_BYTE).withName("pad")).withName("sb_snat_value");
    public static final StructLayout SOCK_KEY = MemoryLayout.structLayout(
        ValueLayout.JAVA_LONG.withName("cookie"),
        ADDRESS.withName("addr"),
        NET_PORT.withName("port"),
        MemoryLayout.sequenceLayout(6, ValueLayout.JAVA_BYTE).withName("pad")).withName("sb_sock_key");
    public static final StructLayout SOCK_VALUE = MemoryLayout.structLayout(
        ADDRESS.withName("addr"),
        NET_PORT.withName("port"),
        MemoryLayout.sequenceLayout(2, ValueLayout.JAVA_BYTE).withName("pad0"),
        ValueLayout.JAVA_INT.withName("svc_id")).withName("sb_sock_value");
    public static final StructLayout SERVICE_COUNTERS_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_LONG.withName("packets"),
        ValueLayout.JAVA_LONG.withName("bytes"),
        ValueLayout.JAVA_LONG.withName("new_flows"),
        ValueLayout.JAVA_LONG.withName("ct_hits"),
        ValueLayout.JAVA_LONG.withName("affinity_hits"),
        ValueLayout.JAVA_LONG.withName("refused"),
        ValueLayout.JAVA_LONG.withName("dropped_no_local"),
        ValueLayout.JAVA_LONG.withName("dropped_source_range"),
        ValueLayout.JAVA_LONG.withName("dropped_other")).withName("sb_svc_counters");

    public static final StructLayout NEIGH_KEY = MemoryLayout.structLayout(
        ADDRESS.withName("addr"),
        ValueLayout.JAVA_INT.withName("ifindex")).withName("sb_neigh_key");
    public static final StructLayout NEIGH_VALUE = MemoryLayout.structLayout(
        MemoryLayout.sequenceLayout(6, ValueLayout.JAVA_BYTE).withName("mac"),
        MemoryLayout.sequenceLayout(2, ValueLayout.JAVA_BYTE).withName("pad")).withName("sb_neigh_value");

    public static final StructLayout IFACE_VALUE = MemoryLayout.structLayout(
        ValueLayout.JAVA_INT.withName("flags"),
        MemoryLayout.sequenceLayout(IFACE_NAME_SIZE, ValueLayout.JAVA_BYTE).withName("name")).withName("sb_iface_value");

    public static final MapSpec SERVICES_SPEC = new MapSpec(MapType.HASH, 20, 24);
    public static final MapSpec BACKENDS_SPEC = new MapSpec(MapType.HASH, 4, 20);
    public static final MapSpec MAGLEV_SPEC = new MapSpec(MapType.ARRAY_OF_MAPS, 4, 4);
    public static final MapSpec MAGLEV_TABLE_SPEC = new MapSpec(MapType.ARRAY, 4, 4);
    public static final MapSpec CONNTRACK_SPEC = new MapSpec(MapType.LRU_HASH, 40, 40);
    public static final MapSpec AFFINITY_SPEC = new MapSpec(MapType.LRU_HASH, 24, 16);
    public static final MapSpec SOURCE_RANGES_SPEC = new MapSpec(MapType.LPM_TRIE, 24, 1);
    public static final MapSpec CONFIG_SPEC = new MapSpec(MapType.ARRAY, 4, 64);
    public static final MapSpec SNAT_SPEC = new MapSpec(MapType.LRU_HASH, 40, 48);
    public static final MapSpec SOCK_REVNAT_SPEC = new MapSpec(MapType.LRU_HASH, 32, 24);
    public static final MapSpec SERVICE_STATS_SPEC = new MapSpec(MapType.PERCPU_ARRAY, 4, 72);
    public static final MapSpec STATS_SPEC = new MapSpec(MapType.PERCPU_ARRAY, 4, 8);
    public static final MapSpec NEIGH_SPEC = new MapSpec(MapType.HASH, 20, 8);
    public static final MapSpec IFACES_SPEC = new MapSpec(MapType.HASH, 4, 20);

    /** Every map of the ABI and its spec, in the order the agent opens them. */
    public static final Map<String, MapSpec> MAPS = Map.ofEntries(
        Map.entry(SERVICES, SERVICES_SPEC),
        Map.entry(BACKENDS, BACKENDS_SPEC),
        Map.entry(MAGLEV, MAGLEV_SPEC),
        Map.entry(CONNTRACK, CONNTRACK_SPEC),
        Map.entry(AFFINITY, AFFINITY_SPEC),
        Map.entry(SOURCE_RANGES, SOURCE_RANGES_SPEC),
        Map.entry(CONFIG, CONFIG_SPEC),
        Map.entry(SOCK_REVNAT, SOCK_REVNAT_SPEC),
        Map.entry(SERVICE_STATS, SERVICE_STATS_SPEC),
        Map.entry(STATS, STATS_SPEC),
        Map.entry(SNAT, SNAT_SPEC),
        Map.entry(NEIGH, NEIGH_SPEC),
        Map.entry(IFACES, IFACES_SPEC));

    private static final StructLayout[] STRUCTS = {SVC_KEY, SVC_VALUE, BACKEND, CT_KEY, CT_VALUE, AFFINITY_KEY,
        AFFINITY_VALUE, SOURCE_RANGE_KEY, CONFIG_VALUE, SOCK_KEY, SOCK_VALUE, SERVICE_COUNTERS_VALUE, SNAT_KEY,
        SNAT_VALUE, NEIGH_KEY, NEIGH_VALUE, IFACE_VALUE};

    private DatapathAbi()
    {
    }

    /**
     * Checks every mirrored struct against the object's BTF.
     *
     * @throws io.switchboard.bpf.BpfException naming the struct and field that differ.
     */
    public static void verify(final BpfObject object)
    {
        for (final StructLayout struct : STRUCTS)
        {
            object.btfStruct(struct.name().orElseThrow()).verify(struct);
        }
    }

    /** Writes {@code address} as the ABI's 16 bytes (v4-mapped for IPv4) at {@code offset}. */
    public static void writeAddress(final MemorySegment segment, final long offset, final InetAddress address)
    {
        writeAddress(segment, offset, address.getAddress());
    }

    /** Writes 4 or 16 raw address bytes as the ABI's 16 bytes at {@code offset}. */
    public static void writeAddress(final MemorySegment segment, final long offset, final byte[] raw)
    {
        if (raw.length == 16)
        {
            MemorySegment.copy(raw, 0, segment, ValueLayout.JAVA_BYTE, offset, 16);
            return;
        }
        segment.asSlice(offset, 10).fill((byte)0);
        segment.set(ValueLayout.JAVA_BYTE, offset + 10, (byte)0xFF);
        segment.set(ValueLayout.JAVA_BYTE, offset + 11, (byte)0xFF);
        MemorySegment.copy(raw, 0, segment, ValueLayout.JAVA_BYTE, offset + 12, 4);
    }

    /** Reads the ABI's 16 address bytes at {@code offset}: an IPv4 address when v4-mapped. */
    public static InetAddress readAddress(final MemorySegment segment, final long offset)
    {
        final byte[] bytes = segment.asSlice(offset, 16).toArray(ValueLayout.JAVA_BYTE);
        try
        {
            // InetAddress turns ::ffff:a.b.c.d into an Inet4Address by itself
            return InetAddress.getByAddress(bytes);
        }
        catch (final java.net.UnknownHostException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /** The byte offset of {@code field} in {@code struct}. */
    public static long offset(final StructLayout struct, final String field)
    {
        return struct.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }
}
