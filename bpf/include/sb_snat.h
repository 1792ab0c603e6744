/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_snat.h: source translation of flows whose replies would not come back through this node
 * otherwise, as kube-proxy's masquerade does:
 *   - from outside, to a backend on another node (externalTrafficPolicy: Cluster): the backend
 *     would answer the client directly, from its own address;
 *   - a pod balanced to itself on the packet path (hairpin): it would answer itself inside its
 *     own namespace, and a packet from its own address arriving on its interface is a martian.
 * Such a flow leaves with the node's address (sb_config.node_addr4/6) and a port from the SNAT range.
 *
 * Port allocation: the flow hash picks a start in the range, then up to SB_SNAT_PROBES consecutive
 * ports are tried with a BPF_NOEXIST insert of the reply key (backend, node, backend port, port,
 * proto) into sb_snat. The insert is the claim: it fails for a port another live flow to the same
 * backend holds, so two flows never share a reply tuple. A port is taken back when its flow ends:
 * an entry idle past its conntrack timeout (TCP: 10 s after FIN/RST by default) is overwritten by
 * the next flow that probes it, and sb_snat is an LRU map, so abandoned entries also age out under
 * pressure. The same flow probes the same ports first, so a retransmitted SYN finds its own entry.
 */
#ifndef SWITCHBOARD_SB_SNAT_H
#define SWITCHBOARD_SB_SNAT_H

#include "sb_maps.h"
#include "sb_parse.h"
#include "sb_conntrack.h"
#include "sb_lb.h"

#define SB_SNAT_PROBES 32

/* sb_snat_claim's results other than 0. */
#define SB_SNAT_CLAIM_EXHAUSTED (-1) /* every probed port is held by a live flow */
#define SB_SNAT_CLAIM_NO_FLOW   (-2) /* a TCP RST of no translated flow: it claims nothing */
#define SB_SNAT_HASH_SALT 0x736e6174 /* "snat": a start port independent of the Maglev slot */

/* Per-CPU working space of sb_snat_claim: its keys do not fit beside the callers' frames. */
struct sb_snat_work {
	struct sb_snat_key key;
	struct sb_snat_value value;
	struct sb_ct_key ct_key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sb_snat_work);
} sb_snat_scratch SEC(".maps");

/* When a program source-translates a forwarded flow. */
enum sb_snat_mode {
	SB_SNAT_NEVER = 0,
	SB_SNAT_REMOTE,  /* XDP on the external interface: backends on other nodes */
	SB_SNAT_HAIRPIN, /* tc on a pod's interface: the pod balanced to itself */
};

static __always_inline int sb_addr_is_zero(const union sb_addr *a)
{
	return !(a->w[0] | a->w[1] | a->w[2] | a->w[3]);
}

/* This node's address for the packet's family; NULL when none is configured (no translation). */
static __always_inline const union sb_addr *sb_snat_node(const struct sb_config *cfg, __u8 family)
{
	const union sb_addr *node;

	if (!cfg)
		return NULL;
	node = family == SB_AF_INET ? &cfg->node_addr4 : &cfg->node_addr6;
	return sb_addr_is_zero(node) ? NULL : node;
}

/* The node address a forwarded flow must leave with, or NULL when it keeps the client's. */
static __always_inline const union sb_addr *sb_snat_source(const struct sb_config *cfg, const struct sb_pkt *pkt,
							   const struct sb_selection *sel, int mode)
{
	const union sb_addr *node;

	if (mode == SB_SNAT_NEVER)
		return NULL;
	node = sb_snat_node(cfg, pkt->family);
	if (!node)
		return NULL;
	if (mode == SB_SNAT_REMOTE)
		return (sel->backend.flags & SB_BE_F_LOCAL) ? NULL : node;
	return sb_addr_eq(&sel->backend.addr, &pkt->src) ? node : NULL;
}

static __always_inline void sb_snat_key_init(struct sb_snat_key *key, const union sb_addr *backend,
					     const union sb_addr *node, __be16 backend_port, __be16 nat_port, __u8 proto)
{
	key->backend = *backend;
	key->node = *node;
	key->backend_port = backend_port;
	key->nat_port = nat_port;
	key->proto = proto;
	key->pad[0] = 0;
	key->pad[1] = 0;
	key->pad[2] = 0;
}

/* Whether an entry is the translation of the flow of this client -> frontend packet. */
static __always_inline int sb_snat_owned(const struct sb_snat_value *v, const struct sb_pkt *pkt)
{
	return v->client_port == pkt->sport && v->frontend_port == pkt->dport && sb_addr_eq(&v->client, &pkt->src) &&
	       sb_addr_eq(&v->frontend, &pkt->dst);
}

static __always_inline int sb_snat_expired(const struct sb_config *cfg, const struct sb_snat_value *v, __u8 proto,
					   __u64 now)
{
	/* a port stays held after FIN or RST for SB_CT_TIME_WAIT_S (sb_conntrack.h) */
	return sb_age_ns(now, v->last_seen_ns) > sb_ct_hold_ns(cfg, proto, v->flags);
}

/* Advances an entry's TCP state with a packet of either direction; refreshes it once a second. */
static __always_inline void sb_snat_touch(struct sb_snat_value *v, const struct sb_pkt *pkt, __u64 now)
{
	__u8 flags = sb_ct_next_flags(v->flags, pkt);

	if (flags != v->flags)
		v->flags = flags;
	if (sb_age_ns(now, v->last_seen_ns) > SB_CT_REFRESH_NS || (flags & SB_CT_F_CLOSING))
		v->last_seen_ns = now;
}

/*
 * The source port of a forwarded client -> frontend packet that leaves as node -> backend: the
 * flow's existing one (named by its forward conntrack entry, or found among the probed ports), else a
 * free one, else one whose flow has expired (taken over with a compare-and-swap on its timestamp, so
 * two CPUs never both take it). A flow re-balanced to another backend releases its old port. Returns
 * 0 with sel->snat_port set, or SB_SNAT_CLAIM_EXHAUSTED / SB_SNAT_CLAIM_NO_FLOW (also when no node
 * address is configured).
 *
 * A global function: the verifier checks it once, on its own, instead of once per path of every
 * caller (the probe loop multiplied the callers' verification several times over). Its working space
 * is per-CPU scratch: the callers' frames leave little of the 512-byte stack.
 */
__noinline int sb_snat_claim(const struct sb_pkt *pkt, struct sb_selection *sel, __u64 now)
{
	__u32 min = SB_SNAT_PORT_MIN_DEFAULT, max = SB_SNAT_PORT_MAX_DEFAULT, range, start, zero = 0;
	const struct sb_config *cfg = sb_config_get();
	__u64 expired_seen = 0;
	__be16 expired_port = 0;
	struct sb_snat_value *cur, *value;
	int rst;
	const union sb_addr *node;
	struct sb_snat_work *work;
	struct sb_snat_key *key;
	struct sb_ct_value *ct;

	if (!pkt || !sel)
		return SB_SNAT_CLAIM_EXHAUSTED;
	node = sb_snat_node(cfg, pkt->family);
	work = bpf_map_lookup_elem(&sb_snat_scratch, &zero);
	if (!node || !work)
		return SB_SNAT_CLAIM_EXHAUSTED;
	key = &work->key;
	value = &work->value;
	rst = pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_RST);
	sb_ct_key_forward(&work->ct_key, pkt);
	ct = bpf_map_lookup_elem(&sb_ct, &work->ct_key);
	if (ct && ct->snat_port) {
		sb_snat_key_init(key, &ct->nat_addr, node, ct->nat_port, ct->snat_port, pkt->proto);
		cur = bpf_map_lookup_elem(&sb_snat, key);
		if (cur && sb_snat_owned(cur, pkt)) {
			if (ct->nat_port == sel->backend.port && sb_addr_eq(&ct->nat_addr, &sel->backend.addr)) {
				sb_snat_touch(cur, pkt, now);
				sel->snat_port = key->nat_port;
				return 0;
			}
			bpf_map_delete_elem(&sb_snat, key); /* re-balanced: the old backend's port is free */
		}
	}
	sb_snat_key_init(key, &sel->backend.addr, node, sel->backend.port, 0, pkt->proto);

	if (cfg && cfg->snat_port_min && cfg->snat_port_max >= cfg->snat_port_min) {
		min = cfg->snat_port_min;
		max = cfg->snat_port_max;
	}
	range = max - min + 1;
	start = sb_hash_flow((cfg ? cfg->maglev_seed : 0) ^ SB_SNAT_HASH_SALT, &pkt->src, pkt->sport, &pkt->dst,
			     pkt->dport, pkt->proto);
	value->last_seen_ns = now;
	value->client = pkt->src;
	value->frontend = pkt->dst;
	value->client_port = pkt->sport;
	value->frontend_port = pkt->dport;
	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_SYN))
		value->flags = SB_CT_F_SYN_SEEN;
	else
		value->flags = sb_ct_next_flags(0, pkt);
	value->pad[0] = 0;
	value->pad[1] = 0;
	value->pad[2] = 0;

#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < SB_SNAT_PROBES && i < range; i++) {
		key->nat_port = bpf_htons((__u16)(min + (start + i) % range));
		if (!rst && !bpf_map_update_elem(&sb_snat, key, value, BPF_NOEXIST))
			goto claimed;
		cur = bpf_map_lookup_elem(&sb_snat, key);
		if (!cur)
			continue; /* removed since: the next probe claims a port, or the next packet does */
		if (sb_snat_owned(cur, pkt)) {
			sb_snat_touch(cur, pkt, now);
			goto claimed;
		}
		if (!rst && !expired_port && sb_snat_expired(cfg, cur, pkt->proto, now)) {
			expired_port = key->nat_port;
			expired_seen = cur->last_seen_ns;
		}
	}
	if (rst)
		return SB_SNAT_CLAIM_NO_FLOW;
	if (!expired_port)
		return SB_SNAT_CLAIM_EXHAUSTED;
	key->nat_port = expired_port;
	cur = bpf_map_lookup_elem(&sb_snat, key);
	if (!cur || __sync_val_compare_and_swap(&cur->last_seen_ns, expired_seen, now) != expired_seen)
		return SB_SNAT_CLAIM_EXHAUSTED; /* another CPU took it first: the next packet probes again */
	bpf_map_update_elem(&sb_snat, key, value, BPF_EXIST);

claimed:
	if (ct && ct->snat_port != key->nat_port && ct->nat_port == sel->backend.port &&
	    sb_addr_eq(&ct->nat_addr, &sel->backend.addr))
		ct->snat_port = key->nat_port; /* an established flow whose entry had gone */
	sel->snat_port = key->nat_port;
	return 0;
}

/*
 * A reply to a source-translated flow (backend -> node:port on the wire): the live entry, advanced
 * and refreshed, with the flow's forward conntrack entry kept alive alongside; NULL if not one.
 */
static __always_inline struct sb_snat_value *sb_snat_reply(const struct sb_pkt *pkt, const struct sb_config *cfg,
							   __u64 now)
{
	struct sb_snat_value *v;
	struct sb_snat_key key;
	struct sb_ct_value *ct;
	struct sb_ct_key ct_key;

	sb_snat_key_init(&key, &pkt->src, &pkt->dst, pkt->sport, pkt->dport, pkt->proto);
	v = bpf_map_lookup_elem(&sb_snat, &key);
	if (!v || sb_snat_expired(cfg, v, pkt->proto, now))
		return NULL;
	if (sb_age_ns(now, v->last_seen_ns) > SB_CT_REFRESH_NS) {
		sb_ct_key_init(&ct_key, &v->client, &v->frontend, v->client_port, v->frontend_port, pkt->proto,
			       SB_CT_DIR_FORWARD);
		ct = bpf_map_lookup_elem(&sb_ct, &ct_key);
		if (ct)
			ct->last_seen_ns = now;
	}
	sb_snat_touch(v, pkt, now);
	return v;
}

/* Whether a node -> backend packet is a source-translated flow's (sent on by XDP to the stack). */
static __always_inline int sb_snat_is_forward(const struct sb_pkt *pkt)
{
	struct sb_snat_key key;

	sb_snat_key_init(&key, &pkt->dst, &pkt->src, pkt->dport, pkt->sport, pkt->proto);
	return bpf_map_lookup_elem(&sb_snat, &key) != NULL;
}

#endif
