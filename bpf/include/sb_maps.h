/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_maps.h: THE map ABI of the Switchboard service datapath.
 *
 * Every key and value struct, flag, constant and counter index that userspace (the Java agent and
 * the CLI) reads or writes is defined here, once. Each struct states its byte offsets and total size;
 * padding is explicit (named pad*, must be written as zero) and every layout is pinned by the
 * _Static_asserts at the end of the struct section, so a drift is a compile error here and a BTF
 * mismatch at agent start-up.
 *
 * Conventions:
 *  - Addresses are 16 bytes (union sb_addr). IPv4 is stored v4-mapped: ::ffff:a.b.c.d, i.e.
 *    w[0] = w[1] = 0, w[2] = htonl(0x0000ffff), w[3] = the IPv4 address (network order).
 *  - Ports are network byte order (__be16). Everything else is host byte order.
 *  - Times are CLOCK_MONOTONIC nanoseconds, read by the programs with sb_now(), i.e.
 *    bpf_ktime_get_coarse_ns(): the clock of the last tick (at most one jiffy behind
 *    bpf_ktime_get_ns(), which costs ~30 ns a call here against ~1 ns; bench/README.md).
 *  - Id 0 never routes: backend id 0 is "no backend".
 *
 * The map declarations (guarded by __bpf__) follow the structs; every max_entries is a small default
 * that the agent overrides at load time with bpf_map__set_max_entries().
 */
#ifndef SWITCHBOARD_SB_MAPS_H
#define SWITCHBOARD_SB_MAPS_H

#include <linux/types.h>

/* Layout version of this ABI; bump on any change to a struct below. */
#define SB_ABI_VERSION 3

#define SB_AF_INET  2
#define SB_AF_INET6 10

/* A 16-byte address; IPv4 is v4-mapped (see above). 16 bytes, 4-byte aligned. */
union sb_addr {
	__u8 b[16];
	__be32 w[4];
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_services: HASH, frontend -> service                                                          */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Frontend key, 20 bytes. One entry per (frontend address, port, protocol): a ClusterIP, a
 * LoadBalancer ingress IP, an externalIP, or (for a NodePort) each node address with the nodePort.
 *   0  addr   16  frontend address (v4-mapped for IPv4)
 *  16  port    2  frontend port, network order
 *  18  proto   1  IPPROTO_TCP (6) or IPPROTO_UDP (17)
 *  19  pad     1  zero
 */
struct sb_svc_key {
	union sb_addr addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/* sb_svc_value.flags */
#define SB_SVC_F_EXTERNAL      (1U << 0) /* external scope (NodePort, LB IP, externalIP); socket hooks skip it */
#define SB_SVC_F_LOCAL_ONLY    (1U << 1) /* traffic policy Local: the table holds node-local backends only */
#define SB_SVC_F_ANY_ENDPOINTS (1U << 2) /* usable endpoints exist somewhere in the cluster: empty table => drop, not refuse */
#define SB_SVC_F_AFFINITY      (1U << 3) /* sessionAffinity ClientIP; timeout in affinity_timeout_s */
#define SB_SVC_F_SOURCE_RANGES (1U << 4) /* check the client against sb_source_ranges (LB IPs only) */
#define SB_SVC_F_NODEPORT      (1U << 5) /* informational: the frontend is node address + nodePort */
#define SB_SVC_F_LOADBALANCER  (1U << 6) /* informational: the frontend is a LoadBalancer ingress IP */
#define SB_SVC_F_TABLE_B       (1U << 7) /* the live Maglev table is the second half of the inner map */

/*
 * Service value, 24 bytes.
 *   0  svc_id              4  service port x scope id, 1..max: indexes sb_maglev, sb_svc_stats and the
 *                             affinity key. Frontends that share one endpoint set share one id.
 *   4  flags               4  SB_SVC_F_*
 *   8  affinity_timeout_s  4  ClientIP affinity timeout (1..86400), used with SB_SVC_F_AFFINITY
 *  12  backend_count       4  number of distinct backends in the live Maglev table; 0 => no backend
 *  16  table_size          4  M of the live table (informational: the datapath reads M from slot 0 of
 *                             the table itself, so M and the slots always change together)
 *  20  generation          4  generation of the live table (informational, for `switchboard get`)
 *
 * The value is replaced as a whole by one map update (sb_services is BPF_F_NO_PREALLOC, so a reader
 * never sees an element being reused); the datapath copies it to the stack before using it.
 */
struct sb_svc_value {
	__u32 svc_id;
	__u32 flags;
	__u32 affinity_timeout_s;
	__u32 backend_count;
	__u32 table_size;
	__u32 generation;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_backends: HASH, backend id (u32, 0 reserved) -> backend                                      */
/* ---------------------------------------------------------------------------------------------- */

#define SB_BE_F_LOCAL (1U << 0) /* the endpoint runs on this node */

/*
 * Backend, 20 bytes.
 *   0  addr    16  endpoint address (v4-mapped for IPv4)
 *  16  port     2  target port, network order
 *  18  family   1  SB_AF_INET or SB_AF_INET6 (must equal the family of every frontend using it)
 *  19  flags    1  SB_BE_F_*
 */
struct sb_backend {
	union sb_addr addr;
	__be16 port;
	__u8 family;
	__u8 flags;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_maglev: ARRAY_OF_MAPS, svc_id -> inner ARRAY (u32 slot -> u32 backend id)                    */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Inner table of one service, an ARRAY of u32 created by the agent with BPF_F_INNER_MAP (so M may
 * differ per service: any prime 251..131071):
 *   slot 0            M, the table size
 *   slot 1 + i        backend id of entry i of table A (0 = empty: never routes)
 *   slot 1 + M + i    backend id of entry i of table B, when the map has 2M + 1 slots
 * A flow uses slot 1 + (flow hash % M) of the half its frontend names: B when SB_SVC_F_TABLE_B is set in
 * the sb_services value, else A. A change of the endpoints is written into the half no frontend names,
 * then made live by rewriting the frontends' values, each one atomic update of sb_services (invariant 1):
 * the outer map is written only when a table is created or M changes, because every update of a
 * map-in-map waits for an RCU grace period (bpf/README.md, *Why two halves*). A map of M + 1 slots (ABI 3
 * agents before the halves) has table A only. Because M lives in the table, replacing the outer entry
 * switches size and content in one atomic update.
 */
#define SB_MAGLEV_SLOT_SIZE 0
#define SB_MAGLEV_SLOT_FIRST 1

/* ---------------------------------------------------------------------------------------------- */
/* sb_ct: LRU_HASH, conntrack                                                                      */
/* ---------------------------------------------------------------------------------------------- */

#define SB_CT_DIR_FORWARD 0 /* client -> frontend, as the client sent it */
#define SB_CT_DIR_REPLY   1 /* backend -> client, as the backend sends it */

/*
 * Conntrack key, 40 bytes: the 5-tuple as it appears on the wire in that direction.
 *   0  src    16
 *  16  dst    16
 *  32  sport   2  network order
 *  34  dport   2  network order
 *  36  proto   1
 *  37  dir     1  SB_CT_DIR_*
 *  38  pad     2  zero
 */
struct sb_ct_key {
	union sb_addr src;
	union sb_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;
	__u8 pad[2];
};

/* sb_ct_value.flags */
#define SB_CT_F_SYN_SEEN    (1U << 0) /* created by a TCP SYN; no reply-direction packet seen yet */
#define SB_CT_F_ESTABLISHED (1U << 1) /* TCP: a non-SYN packet was seen; UDP: always set */
#define SB_CT_F_CLOSING     (1U << 2) /* TCP FIN or RST seen */
/*
 * REPLY key only: a TCP flow reached the backend at this tuple without translation (a client's SYN straight
 * to the backend). The entry never translates; it holds the tuple for translated flows, which take another
 * source port while it is held (port remap, sb_conntrack.h).
 */
#define SB_CT_F_UNTRANSLATED (1U << 3)
#define SB_CT_F_TCP_STATE (SB_CT_F_SYN_SEEN | SB_CT_F_ESTABLISHED | SB_CT_F_CLOSING)

/*
 * Conntrack value, 40 bytes.
 *   0  last_seen_ns  8  refreshed at most once a second per entry
 *   8  nat_addr     16  forward entry: the backend address chosen; reply entry: the frontend address
 *                       to restore as the source of replies
 *  24  nat_port      2  forward: backend port; reply: frontend port (network order)
 *  26  flags         1  SB_CT_F_*
 *  27  pad0          1
 *  28  backend_id    4  the backend this flow is pinned to
 *  32  svc_id        4
 *  36  snat_port     2  forward entry of a source-translated flow (see sb_snat): the node port its
 *                       packets leave with, network order; 0 = the client's own address and port
 *  38  remap_port    2  port remap (sb_conntrack.h), network order, 0 = none: forward entry: the source
 *                       port the flow's packets leave with instead of the client's own (whose tuple at
 *                       the backend was in use); reply entry: the client's own port, restored as the
 *                       destination of replies
 * A forward entry is used only while sb_backends[backend_id] still exists with the same address and
 * port; otherwise the flow is balanced again (a removed backend is never sent new packets). A
 * source-translated flow has no REPLY entry: its replies are found through sb_snat.
 */
struct sb_ct_value {
	__u64 last_seen_ns;
	union sb_addr nat_addr;
	__be16 nat_port;
	__u8 flags;
	__u8 pad0;
	__u32 backend_id;
	__u32 svc_id;
	__be16 snat_port;
	__be16 remap_port;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_affinity: LRU_HASH, ClientIP session affinity                                                */
/* ---------------------------------------------------------------------------------------------- */

#define SB_AFF_CLIENT_ADDR  0 /* client is the source address of the packet (tc, XDP) */
#define SB_AFF_CLIENT_NETNS 1 /* client is a network namespace cookie (socket hooks, unbound socket) */

/*
 * Affinity key, 24 bytes.
 *   0  svc_id   4
 *   4  kind     1  SB_AFF_CLIENT_*
 *   5  pad      3  zero
 *   8  client  16  ADDR: the client address (v4-mapped for IPv4); NETNS: the u64 netns cookie in
 *                  bytes 0..7 (host order), bytes 8..15 zero
 */
struct sb_affinity_key {
	__u32 svc_id;
	__u8 kind;
	__u8 pad[3];
	union sb_addr client;
};

/*
 * Affinity value, 16 bytes.
 *   0  last_used_ns  8  refreshed on every use; older than affinity_timeout_s => balanced again
 *   8  backend_id    4
 *  12  pad           4
 */
struct sb_affinity_value {
	__u64 last_used_ns;
	__u32 backend_id;
	__u32 pad;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_source_ranges: LPM_TRIE, loadBalancerSourceRanges                                            */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Source range key, 24 bytes.
 *   0  prefixlen  4  32 (svc_id) + address prefix bits; IPv4 ranges: 32 + 96 + v4 prefix length
 *   4  svc_id     4  host order; always matched in full
 *   8  addr      16  range address (v4-mapped for IPv4)
 * Value: __u8, 1 = allowed. A frontend with SB_SVC_F_SOURCE_RANGES drops every client not matched.
 */
struct sb_srcrange_key {
	__u32 prefixlen;
	__u32 svc_id;
	union sb_addr addr;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_config: ARRAY[1], cluster-wide settings                                                      */
/* ---------------------------------------------------------------------------------------------- */

/* Conntrack idle timeouts used when the config field is 0. */
#define SB_CT_TCP_SYN_S_DEFAULT         60
#define SB_CT_TCP_ESTABLISHED_S_DEFAULT 21600
#define SB_CT_TCP_CLOSING_S_DEFAULT     10
#define SB_CT_UDP_S_DEFAULT             30

/* Source ports of translated flows when sb_config leaves the range 0: below Linux's default
 * ip_local_port_range (32768-60999), so the node's own connections never take the same tuple, and
 * below the NodePort range (30000-32767), so a reply is never mistaken for NodePort traffic. */
#define SB_SNAT_PORT_MIN_DEFAULT 1024
#define SB_SNAT_PORT_MAX_DEFAULT 29999

/*
 * Config value (key 0), 64 bytes.
 *   0  maglev_seed            4  seed of the per-flow hash (the same on every node)
 *   4  ct_tcp_syn_s           4  idle timeout of a TCP flow that has only sent SYN(s)
 *   8  ct_tcp_established_s   4
 *  12  ct_tcp_closing_s       4  after FIN or RST
 *  16  ct_udp_s               4
 *  20  flags                  4  SB_CFG_F_*, below; other bits zero
 *  24  snat_port_min          2  first source port of translated flows (host order; 0 = default 1024-29999)
 *  26  snat_port_max          2  last one, inclusive (host order; 0 = default)
 *  28  closed_port            2  a TCP and UDP port of node_addr4 / node_addr6 that only the node and its pods
 *                                may reach (the agent's DNS server): sb_xdp drops datagrams and TCP SYNs to it
 *                                from outside (network order; 0 = none)
 *  30  pad                    2  zero
 *  32  node_addr4            16  this node's IPv4 address (v4-mapped): the source of translated IPv4
 *                                flows; all zero = IPv4 flows are never source-translated
 *  48  node_addr6            16  the same for IPv6
 */
/* sb_config.flags */
#define SB_CFG_F_XDP_FIB_REDIRECT (1U << 0) /* sb_xdp: after DNAT, route with bpf_fib_lookup and bpf_redirect
					     * instead of XDP_PASS (falls back to XDP_PASS when the lookup
					     * does not give a forwarding route); see bpf/README.md */
struct sb_config {
	__u32 maglev_seed;
	__u32 ct_tcp_syn_s;
	__u32 ct_tcp_established_s;
	__u32 ct_tcp_closing_s;
	__u32 ct_udp_s;
	__u32 flags;
	__u16 snat_port_min;
	__u16 snat_port_max;
	__be16 closed_port;
	__u16 pad;
	union sb_addr node_addr4;
	union sb_addr node_addr6;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_snat: LRU_HASH, source-translated flows, keyed by their replies                              */
/* ---------------------------------------------------------------------------------------------- */

/*
 * A flow from outside the node whose backend runs on another node (externalTrafficPolicy: Cluster),
 * or a pod whose packet-path flow is balanced to itself (hairpin), leaves with this node's address
 * and a port from the SNAT range as its source, as kube-proxy's masquerade does: the backend's reply
 * then comes back here, where it is translated back to frontend -> client. The key is that reply as
 * it is on the wire, so allocating a port is one BPF_NOEXIST insert: two live flows can never share
 * (backend, node, port).
 *
 * Key, 40 bytes.
 *   0  backend       16  backend address (v4-mapped for IPv4)
 *  16  node          16  node address the flow was translated to
 *  32  backend_port   2  network order
 *  34  nat_port       2  the allocated source port, network order
 *  36  proto          1
 *  37  pad            3  zero
 */
struct sb_snat_key {
	union sb_addr backend;
	union sb_addr node;
	__be16 backend_port;
	__be16 nat_port;
	__u8 proto;
	__u8 pad[3];
};

/*
 * Value, 48 bytes.
 *   0  last_seen_ns   8  refreshed at most once a second by either direction; with flags and the
 *                        conntrack timeouts of sb_config it says when the port is free again (TCP after
 *                        FIN/RST: SB_CT_TIME_WAIT_S unless ct_tcp_closing_s is set)
 *   8  client        16  the original source
 *  24  frontend      16  the original destination
 *  40  client_port    2  network order
 *  42  frontend_port  2  network order
 *  44  flags          1  SB_CT_F_* (TCP state, as in sb_ct)
 *  45  pad            3  zero
 */
struct sb_snat_value {
	__u64 last_seen_ns;
	union sb_addr client;
	union sb_addr frontend;
	__be16 client_port;
	__be16 frontend_port;
	__u8 flags;
	__u8 pad[3];
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_sock_revnat: LRU_HASH, socket hooks: (socket, backend) -> frontend                           */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Socket reverse-NAT key, 32 bytes.
 *   0  cookie   8  bpf_get_socket_cookie()
 *   8  addr    16  backend address the socket was sent to (v4-mapped for IPv4)
 *  24  port     2  backend port, network order
 *  26  pad      6  zero
 */
struct sb_sock_key {
	__u64 cookie;
	union sb_addr addr;
	__be16 port;
	__u8 pad[6];
};

/*
 * Socket reverse-NAT value, 24 bytes.
 *   0  addr    16  frontend address the application asked for
 *  16  port     2  frontend port, network order
 *  18  pad0     2
 *  20  svc_id   4
 */
struct sb_sock_value {
	union sb_addr addr;
	__be16 port;
	__u8 pad0[2];
	__u32 svc_id;
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_neigh: HASH, (announced address, interface) -> MAC to answer ARP / NDP with                  */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Announcement key, 20 bytes. sb_xdp answers an ARP request or IPv6 Neighbor Solicitation for addr
 * that arrives on ifindex (so an address is announced only on the interfaces it has an entry for).
 *   0  addr     16  announced address (v4-mapped for IPv4): a LoadBalancer ingress IP
 *  16  ifindex   4  the interface the request must arrive on (the XDP interface)
 */
struct sb_neigh_key {
	union sb_addr addr;
	__u32 ifindex;
};

/*
 * Announcement value, 8 bytes.
 *   0  mac      6  the interface's MAC address: the answer's sender / target link-layer address
 *   6  pad      2  zero
 */
struct sb_neigh_value {
	__u8 mac[6];
	__u8 pad[2];
};

/* ---------------------------------------------------------------------------------------------- */
/* sb_ifaces: HASH, ifindex -> how replies sb_xdp generates leave that interface                    */
/* ---------------------------------------------------------------------------------------------- */

/* sb_iface_value.flags */
#define SB_IFACE_F_XDP_TX (1U << 0) /* XDP_TX reaches the wire here; without it sb_tc_from_ext sends them */

/*
 * Key: the ifindex (__u32) of an interface sb_xdp is attached to, written by the agent at attach time.
 * Value, 20 bytes.
 *   0  flags    4  SB_IFACE_F_*
 *   4  name    16  the interface's name, NUL-padded (for `switchboard get stats` and /metrics)
 * sb_xdp reads it only when it has a reply to send (a refusal, an ARP / NDP answer): an interface
 * with no entry, or without SB_IFACE_F_XDP_TX, gets the tc path (bpf/README.md, Generated replies).
 */
struct sb_iface_value {
	__u32 flags;
	char name[16];
};

/* ---------------------------------------------------------------------------------------------- */
/* Counters                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/*
 * sb_svc_stats: PERCPU_ARRAY indexed by svc_id, 72 bytes per CPU; the agent sums the CPUs.
 *   0  packets               8  packets addressed to the service (all outcomes)
 *   8  bytes                 8
 *  16  new_flows             8  balanced by Maglev (a new or re-selected flow)
 *  24  ct_hits               8  routed by an existing conntrack entry
 *  32  affinity_hits         8  routed by a ClientIP affinity entry
 *  40  refused               8  no endpoint anywhere: TCP RST / ICMP unreachable / ECONNREFUSED
 *  48  dropped_no_local      8  Local policy, endpoints exist but none on this node
 *  56  dropped_source_range  8  client outside loadBalancerSourceRanges
 *  64  dropped_other         8  backend family mismatch, reply could not be built, NAT failed
 */
struct sb_svc_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 ct_hits;
	__u64 affinity_hits;
	__u64 refused;
	__u64 dropped_no_local;
	__u64 dropped_source_range;
	__u64 dropped_other;
};

/* sb_stats: PERCPU_ARRAY of __u64 indexed by these, for outcomes that have no service. */
enum sb_stat {
	SB_STAT_PASSED = 0,        /* left untouched: not for a service (any reason below or no match) */
	SB_STAT_NOT_IP = 1,        /* not IPv4/IPv6 (ARP, VLAN, ...) */
	SB_STAT_FRAGMENT = 2,      /* IPv4 fragment, or IPv6 fragment header */
	SB_STAT_IP_OPTIONS = 3,    /* IPv4 header with options */
	SB_STAT_IPV6_EXT = 4,      /* IPv6 extension header other than TCP/UDP */
	SB_STAT_NOT_TCP_UDP = 5,   /* ICMP, SCTP, other protocols */
	SB_STAT_TRUNCATED = 6,     /* headers shorter than they claim */
	SB_STAT_NO_SERVICE = 7,    /* TCP/UDP not addressed to a frontend */
	SB_STAT_SERVICE = 8,       /* addressed to a frontend (then see sb_svc_stats) */
	SB_STAT_REVNAT = 9,        /* replies reverse-translated */
	SB_STAT_NAT_FAILED = 10,   /* a helper failed while rewriting */
	SB_STAT_SOCK_XLATE = 11,   /* socket hooks: connect/sendmsg translated */
	SB_STAT_SOCK_REVNAT = 12,  /* socket hooks: recvmsg/getpeername translated back */
	SB_STAT_SOCK_REFUSED = 13, /* socket hooks: refused with ECONNREFUSED */
	SB_STAT_SVC_ID_RANGE = 14, /* a service value whose svc_id is outside sb_svc_stats */
	SB_STAT_SNAT = 15,         /* forwarded packets that left with the node's address and a claimed port */
	SB_STAT_SNAT_EXHAUSTED = 16, /* no free source port for a flow that needs one: dropped */
	SB_STAT_SNAT_REVERSED = 17, /* replies of source-translated flows translated back */
	SB_STAT_NEIGH_ANSWERED = 18, /* ARP requests / IPv6 NS for an announced address answered (sb_neigh) */
	SB_STAT_NEIGH_IGNORED = 19,  /* ARP requests / IPv6 NS for other addresses or interfaces: passed */
	SB_STAT_REPLY_TC = 20,       /* refusals and ARP / NDP answers sent by sb_tc_from_ext for sb_xdp */
	SB_STAT_CT_STALE = 21,       /* conntrack REPLY entries of earlier flows deleted (sb_ct_forget): a SYN-ACK
				      * outside its flow's handshake, or an untranslated UDP flow / SYN on their tuple */
	SB_STAT_PORT_REMAP = 22,     /* translated flows given another source port: the client's was in use at the
				      * backend by another flow (port remap, sb_conntrack.h) */
	SB_STAT_PORT_REMAP_EXHAUSTED = 23, /* ... and every probed port was held too: the client's port is kept */
	SB_STAT_CLOSED_PORT = 24,    /* datagrams / TCP SYNs from outside to the node's closed port dropped (sb_xdp) */
	SB_STAT_COUNT = 25,
};

/* Layout pins: the Java mirror relies on these exact sizes and offsets. */
#define SB_ASSERT_SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " size")
#define SB_ASSERT_OFF(t, f, n) _Static_assert(__builtin_offsetof(t, f) == (n), #t "." #f " offset")
SB_ASSERT_SIZE(union sb_addr, 16);
SB_ASSERT_SIZE(struct sb_svc_key, 20);
SB_ASSERT_OFF(struct sb_svc_key, port, 16);
SB_ASSERT_OFF(struct sb_svc_key, proto, 18);
SB_ASSERT_SIZE(struct sb_svc_value, 24);
SB_ASSERT_OFF(struct sb_svc_value, generation, 20);
SB_ASSERT_SIZE(struct sb_backend, 20);
SB_ASSERT_OFF(struct sb_backend, family, 18);
SB_ASSERT_SIZE(struct sb_ct_key, 40);
SB_ASSERT_OFF(struct sb_ct_key, sport, 32);
SB_ASSERT_OFF(struct sb_ct_key, dir, 37);
SB_ASSERT_SIZE(struct sb_ct_value, 40);
SB_ASSERT_OFF(struct sb_ct_value, nat_addr, 8);
SB_ASSERT_OFF(struct sb_ct_value, nat_port, 24);
SB_ASSERT_OFF(struct sb_ct_value, backend_id, 28);
SB_ASSERT_OFF(struct sb_ct_value, svc_id, 32);
SB_ASSERT_OFF(struct sb_ct_value, snat_port, 36);
SB_ASSERT_OFF(struct sb_ct_value, remap_port, 38);
SB_ASSERT_SIZE(struct sb_affinity_key, 24);
SB_ASSERT_OFF(struct sb_affinity_key, client, 8);
SB_ASSERT_SIZE(struct sb_affinity_value, 16);
SB_ASSERT_SIZE(struct sb_srcrange_key, 24);
SB_ASSERT_SIZE(struct sb_config, 64);
SB_ASSERT_OFF(struct sb_config, snat_port_min, 24);
SB_ASSERT_OFF(struct sb_config, closed_port, 28);
SB_ASSERT_OFF(struct sb_config, node_addr4, 32);
SB_ASSERT_OFF(struct sb_config, node_addr6, 48);
SB_ASSERT_SIZE(struct sb_snat_key, 40);
SB_ASSERT_OFF(struct sb_snat_key, backend_port, 32);
SB_ASSERT_OFF(struct sb_snat_key, proto, 36);
SB_ASSERT_SIZE(struct sb_snat_value, 48);
SB_ASSERT_OFF(struct sb_snat_value, client_port, 40);
SB_ASSERT_OFF(struct sb_snat_value, flags, 44);
SB_ASSERT_SIZE(struct sb_sock_key, 32);
SB_ASSERT_OFF(struct sb_sock_key, port, 24);
SB_ASSERT_SIZE(struct sb_sock_value, 24);
SB_ASSERT_OFF(struct sb_sock_value, svc_id, 20);
SB_ASSERT_SIZE(struct sb_svc_counters, 72);
SB_ASSERT_SIZE(struct sb_neigh_key, 20);
SB_ASSERT_OFF(struct sb_neigh_key, ifindex, 16);
SB_ASSERT_SIZE(struct sb_neigh_value, 8);
SB_ASSERT_SIZE(struct sb_iface_value, 20);
SB_ASSERT_OFF(struct sb_iface_value, name, 4);

/* ---------------------------------------------------------------------------------------------- */
/* Map declarations (BPF side only)                                                                */
/* ---------------------------------------------------------------------------------------------- */
#ifdef __bpf__
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct sb_svc_key);
	__type(value, struct sb_svc_value);
} sb_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sb_backend);
} sb_backends SEC(".maps");

/* Template of the inner tables; the agent creates each with its own max_entries = M + 1. */
struct sb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 252);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__array(values, struct sb_maglev_inner);
} sb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sb_ct_key);
	__type(value, struct sb_ct_value);
} sb_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sb_snat_key);
	__type(value, struct sb_snat_value);
} sb_snat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sb_affinity_key);
	__type(value, struct sb_affinity_value);
} sb_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct sb_srcrange_key);
	__type(value, __u8);
} sb_source_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sb_config);
} sb_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sb_sock_key);
	__type(value, struct sb_sock_value);
} sb_sock_revnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct sb_svc_counters);
} sb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SB_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} sb_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, struct sb_neigh_key);
	__type(value, struct sb_neigh_value);
} sb_neigh SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct sb_iface_value);
} sb_ifaces SEC(".maps");

/*
 * Load-time options: set by the loader before the object is loaded (libbpf's initial value of the internal
 * map `.rodata.load`, read-only to programs and frozen), so the verifier sees them as constants and never
 * visits a branch they rule out, helper calls in it included. A loader that sets nothing gets 0: every
 * feature. Not part of the map ABI (nothing pinned).
 *   SB_LOAD_F_NO_XDP_META: XDP programs may not call bpf_xdp_adjust_meta here (some kernel builds refuse it
 *   to program type xdp); sb_xdp then hands a generated reply to tc without a mark in the metadata, and
 *   sb_tc_from_ext finds it again by looking the untouched frame up (bpf/README.md, Generated replies).
 */
#define SB_LOAD_F_NO_XDP_META (1U << 0)

const volatile __u32 sb_load_flags SEC(".rodata.load") = 0;

/*
 * The clock of every time in the maps (see Conventions): CLOCK_MONOTONIC as of the last timer tick.
 * Conntrack, affinity and SNAT timeouts are seconds and refreshes once a second, so a tick's resolution
 * is enough, and the coarse read takes no clocksource access (kernel 5.11+).
 */
static __always_inline __u64 sb_now(void)
{
	return bpf_ktime_get_coarse_ns();
}
#endif /* __bpf__ */
#endif /* SWITCHBOARD_SB_MAPS_H */
