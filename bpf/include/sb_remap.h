/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_remap.h: the REPLY entry of a new flow that keeps the client's address, and the port remap that
 * keeps its tuple at the backend unique (rules in sb_conntrack.h; bpf/README.md, "Port remap").
 *
 * The REPLY key backend:port -> client:P names the tuple the backend sees. Another flow may hold it: the
 * client reached the same backend from the same port through another frontend (a NodePort and an LB IP,
 * two nodes' NodePorts behind one NAT) or directly, and the backend still has that connection, or its
 * TIME_WAIT. Netfilter gives such a flow another source port; so does this. The claim is the insert:
 * like a source-translation port (sb_snat_claim), a remapped port is taken with a BPF_NOEXIST insert of
 * its REPLY key and probed from a hash of the flow (so a retransmitted SYN finds its own entry first), in
 * sb_config's SNAT range (default 1024-29999, below the ephemeral ranges clients pick their own ports
 * from, so a remapped port rarely meets one of the client's own).
 */
#ifndef SWITCHBOARD_SB_REMAP_H
#define SWITCHBOARD_SB_REMAP_H

#include "sb_maps.h"
#include "sb_parse.h"
#include "sb_conntrack.h"
#include "sb_lb.h"
#include "sb_stats.h"

#define SB_REMAP_PROBES 16
#define SB_REMAP_HASH_SALT 0x72656d70 /* "remp": a start port independent of SNAT's */

/* Per-CPU working space of sb_ct_claim_reply: its entries do not fit beside the callers' frames. */
struct sb_remap_work {
	struct sb_ct_key key;
	struct sb_ct_value value;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sb_remap_work);
} sb_remap_scratch SEC(".maps");

/*
 * Whether REPLY entry ct, found at a key whose client port is key_port, is this client -> frontend flow's
 * own (a retransmitted SYN, a flow re-balanced after its FORWARD entry went, the client's next connection
 * from the same port to the same frontend, which the backend can tell from the old one).
 */
static __always_inline int sb_remap_same_flow(const struct sb_ct_value *ct, const struct sb_pkt *pkt, __be16 key_port)
{
	return !(ct->flags & SB_CT_F_UNTRANSLATED) && ct->nat_port == pkt->dport && sb_addr_eq(&ct->nat_addr, &pkt->dst) &&
	       (ct->remap_port ? ct->remap_port : key_port) == pkt->sport;
}

static __always_inline int sb_remap_held(const struct sb_config *cfg, const struct sb_ct_value *ct, __u8 proto,
					 __u64 now)
{
	return sb_age_ns(now, ct->last_seen_ns) <= sb_ct_hold_ns(cfg, proto, ct->flags);
}

/*
 * Writes the REPLY entry of a new flow balanced to (backend, backend_id) that keeps the client's address;
 * returns the source port the flow must leave with (network order) when its own tuple at the backend is
 * held by another flow, else 0 (also when every probed port is held too: the entry then takes the
 * client's own tuple, as before remapping existed, and port_remap_exhausted counts it). Nothing is
 * written for a TCP RST. Marks the backend in sb_ct_backends.
 *
 * A global function: the verifier checks its probe loop once, not once per path of every caller.
 */
__noinline int sb_ct_claim_reply(const struct sb_pkt *pkt, const struct sb_backend *be, __u32 backend_id,
				 __u32 svc_id, __u64 now)
{
	__u32 min = SB_SNAT_PORT_MIN_DEFAULT, max = SB_SNAT_PORT_MAX_DEFAULT, range, start, zero = 0;
	const struct sb_config *cfg = sb_config_get();
	struct sb_remap_work *work;
	struct sb_ct_value *cur, *value;
	struct sb_ct_key *key;
	__u64 expired_seen = 0;
	__be16 expired_port = 0;

	if (!pkt || !be)
		return 0;
	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_RST))
		return 0;
	work = bpf_map_lookup_elem(&sb_remap_scratch, &zero);
	if (!work)
		return 0;
	key = &work->key;
	value = &work->value;
	sb_ct_key_init(key, &be->addr, &pkt->src, be->port, pkt->sport, pkt->proto, SB_CT_DIR_REPLY);
	__builtin_memset(value, 0, sizeof(*value));
	sb_ct_value_init(value, pkt, backend_id, svc_id, now);
	value->nat_addr = pkt->dst;
	value->nat_port = pkt->dport;
	sb_ct_backend_mark(&be->addr, be->port);

	cur = bpf_map_lookup_elem(&sb_ct, key);
	if (!cur || sb_remap_same_flow(cur, pkt, key->dport) || !sb_remap_held(cfg, cur, pkt->proto, now)) {
		bpf_map_update_elem(&sb_ct, key, value, BPF_ANY);
		return 0;
	}

	if (cfg && cfg->snat_port_min && cfg->snat_port_max >= cfg->snat_port_min) {
		min = cfg->snat_port_min;
		max = cfg->snat_port_max;
	}
	range = max - min + 1;
	start = sb_hash_flow((cfg ? cfg->maglev_seed : 0) ^ SB_REMAP_HASH_SALT, &pkt->src, pkt->sport, &pkt->dst,
			     pkt->dport, pkt->proto);
	value->remap_port = pkt->sport;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < SB_REMAP_PROBES && i < range; i++) {
		key->dport = bpf_htons((__u16)(min + (start + i) % range));
		if (key->dport == pkt->sport)
			continue;
		if (!bpf_map_update_elem(&sb_ct, key, value, BPF_NOEXIST))
			goto claimed;
		cur = bpf_map_lookup_elem(&sb_ct, key);
		if (!cur)
			continue; /* removed since: the next probe claims one */
		if (sb_remap_same_flow(cur, pkt, key->dport)) {
			bpf_map_update_elem(&sb_ct, key, value, BPF_ANY);
			return key->dport; /* this flow's own port, claimed before (counted then) */
		}
		if (!expired_port && !sb_remap_held(cfg, cur, pkt->proto, now)) {
			expired_port = key->dport;
			expired_seen = cur->last_seen_ns;
		}
	}
	if (expired_port) {
		key->dport = expired_port;
		cur = bpf_map_lookup_elem(&sb_ct, key);
		/* taken over with a compare-and-swap on its timestamp, so two CPUs never both take it */
		if (cur && __sync_val_compare_and_swap(&cur->last_seen_ns, expired_seen, now) == expired_seen) {
			bpf_map_update_elem(&sb_ct, key, value, BPF_EXIST);
			goto claimed;
		}
	}
	sb_stat(SB_STAT_PORT_REMAP_EXHAUSTED);
	key->dport = pkt->sport;
	value->remap_port = 0;
	bpf_map_update_elem(&sb_ct, key, value, BPF_ANY);
	return 0;

claimed:
	sb_stat(SB_STAT_PORT_REMAP);
	return key->dport;
}

#endif
