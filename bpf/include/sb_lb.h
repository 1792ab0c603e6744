/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_lb.h: service lookup, source ranges, ClientIP affinity and the Maglev pick.
 *
 * Order for a packet to a frontend: conntrack (not for a SYN) -> affinity -> Maglev. The flow hash
 * covers (src addr, src port, dst addr, dst port, proto) and the cluster-wide seed, so every node
 * with the same table picks the same backend for the same flow (invariant 5).
 */
#ifndef SWITCHBOARD_SB_LB_H
#define SWITCHBOARD_SB_LB_H

#include "sb_maps.h"
#include "sb_parse.h"
#include "sb_conntrack.h"
#include "sb_stats.h"

/* What to do with a packet addressed to a frontend. */
enum sb_verdict {
	SB_VERDICT_FORWARD = 0,       /* translate to the backend */
	SB_VERDICT_REFUSE,            /* no endpoint anywhere: RST / ICMP port unreachable */
	SB_VERDICT_DROP_NO_LOCAL,     /* Local policy, no local endpoint */
	SB_VERDICT_DROP_SOURCE_RANGE, /* client outside loadBalancerSourceRanges */
	SB_VERDICT_DROP_OTHER,        /* unusable backend (e.g. family mismatch) */
};

/* How the backend was found. */
enum sb_via {
	SB_VIA_CT = 0,
	SB_VIA_AFFINITY,
	SB_VIA_MAGLEV,
};

struct sb_selection {
	struct sb_backend backend;
	__u32 backend_id;
	__u8 via;  /* enum sb_via */
	__u8 pad;
	__be16 snat_port; /* the flow leaves with the node's address and this port (sb_snat.h); 0 = not */
	__be16 remap_port; /* the flow leaves with the client's address and this port (sb_remap.h); 0 = not */
	__u8 pad2[2];
};

static __always_inline __u32 sb_rol32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* One round of a Murmur3-style 32-bit block mix. */
static __always_inline __u32 sb_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = sb_rol32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = sb_rol32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 sb_hash_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/*
 * The flow hash: addresses as in the ABI (v4-mapped), ports in network order, seed from sb_config.
 * `src` may carry a socket cookie instead of an address (socket hooks).
 */
static __always_inline __u32 sb_hash_flow(__u32 seed, const union sb_addr *src, __be16 sport,
					  const union sb_addr *dst, __be16 dport, __u8 proto)
{
	__u32 h = seed;

	h = sb_hash_mix(h, src->w[0]);
	h = sb_hash_mix(h, src->w[1]);
	h = sb_hash_mix(h, src->w[2]);
	h = sb_hash_mix(h, src->w[3]);
	h = sb_hash_mix(h, dst->w[0]);
	h = sb_hash_mix(h, dst->w[1]);
	h = sb_hash_mix(h, dst->w[2]);
	h = sb_hash_mix(h, dst->w[3]);
	h = sb_hash_mix(h, ((__u32)sport << 16) | dport);
	h = sb_hash_mix(h, proto);
	return sb_hash_final(h, 40);
}

static __always_inline void sb_svc_key_init(struct sb_svc_key *key, const union sb_addr *addr, __be16 port,
					    __u8 proto)
{
	key->addr = *addr;
	key->port = port;
	key->proto = proto;
	key->pad = 0;
}

/* The frontend for (dst, dport, proto) copied to *out; returns 0 when there is none. */
static __always_inline int sb_svc_lookup(const union sb_addr *addr, __be16 port, __u8 proto,
					 struct sb_svc_value *out)
{
	struct sb_svc_key key;
	struct sb_svc_value *svc;

	sb_svc_key_init(&key, addr, port, proto);
	svc = bpf_map_lookup_elem(&sb_services, &key);
	if (!svc)
		return 0;
	*out = *svc;
	return 1;
}

/* 1 if the client may use the frontend (no ranges configured, or inside one of them). */
static __always_inline int sb_source_allowed(const struct sb_svc_value *svc, const union sb_addr *client)
{
	struct sb_srcrange_key key;

	if (!(svc->flags & SB_SVC_F_SOURCE_RANGES))
		return 1;
	key.prefixlen = 32 + 128;
	key.svc_id = svc->svc_id;
	key.addr = *client;
	return bpf_map_lookup_elem(&sb_source_ranges, &key) != NULL;
}

/* The backend for id, copied to sel; 0 if the id is 0 or gone. */
static __always_inline int sb_backend_get(__u32 id, struct sb_selection *sel)
{
	struct sb_backend *be;

	if (!id)
		return 0;
	be = bpf_map_lookup_elem(&sb_backends, &id);
	if (!be)
		return 0;
	sel->backend = *be;
	sel->backend_id = id;
	return 1;
}

/* Maglev: slot 1 + hash % M of the live half of the service's table; 0 = no backend. */
static __always_inline __u32 sb_maglev_pick(const struct sb_svc_value *svc, __u32 hash)
{
	__u32 slot = SB_MAGLEV_SLOT_SIZE;
	__u32 *size, *id;
	void *table;

	table = bpf_map_lookup_elem(&sb_maglev, &svc->svc_id);
	if (!table)
		return 0;
	size = bpf_map_lookup_elem(table, &slot);
	if (!size || *size == 0)
		return 0;
	slot = SB_MAGLEV_SLOT_FIRST + hash % *size;
	if (svc->flags & SB_SVC_F_TABLE_B)
		slot += *size;
	id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : 0;
}

static __always_inline void sb_affinity_key_addr(struct sb_affinity_key *key, __u32 svc_id,
						 const union sb_addr *client)
{
	key->svc_id = svc_id;
	key->kind = SB_AFF_CLIENT_ADDR;
	key->pad[0] = 0;
	key->pad[1] = 0;
	key->pad[2] = 0;
	key->client = *client;
}

static __always_inline void sb_affinity_key_netns(struct sb_affinity_key *key, __u32 svc_id, __u64 cookie)
{
	key->svc_id = svc_id;
	key->kind = SB_AFF_CLIENT_NETNS;
	key->pad[0] = 0;
	key->pad[1] = 0;
	key->pad[2] = 0;
	key->client.w[0] = (__u32)cookie;
	key->client.w[1] = (__u32)(cookie >> 32);
	key->client.w[2] = 0;
	key->client.w[3] = 0;
}

/* A live affinity entry's backend, refreshed; 0 when none, expired or its backend is gone. */
static __always_inline int sb_affinity_get(const struct sb_affinity_key *key, const struct sb_svc_value *svc,
					   __u64 now, struct sb_selection *sel)
{
	struct sb_affinity_value *aff = bpf_map_lookup_elem(&sb_affinity, key);

	if (!aff)
		return 0;
	if (sb_age_ns(now, aff->last_used_ns) > (__u64)svc->affinity_timeout_s * SB_NS_PER_S)
		return 0;
	if (!sb_backend_get(aff->backend_id, sel))
		return 0;
	aff->last_used_ns = now;
	return 1;
}

static __always_inline void sb_affinity_put(const struct sb_affinity_key *key, __u32 backend_id, __u64 now)
{
	struct sb_affinity_value value = {
		.last_used_ns = now,
		.backend_id = backend_id,
	};

	bpf_map_update_elem(&sb_affinity, key, &value, BPF_ANY);
}

/*
 * Affinity then Maglev, for a flow with no usable conntrack entry. aff_key is NULL when the service
 * has no affinity. Returns the verdict; on FORWARD, sel holds the backend.
 */
static __always_inline int sb_balance(const struct sb_svc_value *svc, const struct sb_affinity_key *aff_key,
				      __u32 hash, __u64 now, struct sb_selection *sel)
{
	/*
	 * Inlined, clang tests a stack copy of the caller's (flags & SB_SVC_F_AFFINITY) instead of aff_key
	 * before bpf_map_update_elem; kernel 6.1's verifier does not link that copy to the pointer and
	 * rejects a NULL key ("R2 type=scalar"). The empty asm makes the pointer opaque, so it is tested.
	 */
	asm volatile("" : "+r"(aff_key));
	if (svc->backend_count) {
		if (aff_key && sb_affinity_get(aff_key, svc, now, sel)) {
			sel->via = SB_VIA_AFFINITY;
			return SB_VERDICT_FORWARD;
		}
		if (sb_backend_get(sb_maglev_pick(svc, hash), sel)) {
			sel->via = SB_VIA_MAGLEV;
			if (aff_key)
				sb_affinity_put(aff_key, sel->backend_id, now);
			return SB_VERDICT_FORWARD;
		}
	}
	if (svc->flags & SB_SVC_F_ANY_ENDPOINTS)
		return SB_VERDICT_DROP_NO_LOCAL;
	return SB_VERDICT_REFUSE;
}

/*
 * The whole per-packet decision for a packet to a frontend: source ranges, conntrack, affinity,
 * Maglev. On FORWARD, sel holds the backend and sel->via says how it was found.
 */
static __noinline int sb_select(const struct sb_pkt *pkt, const struct sb_svc_value *svc,
				     const struct sb_config *cfg, __u64 now, struct sb_selection *sel)
{
	struct sb_affinity_key aff_key;
	struct sb_ct_value *ct;
	struct sb_ct_key key;
	int verdict;

	/* defined on every path: the verifier rejects copying a never-written register */
	__builtin_memset(sel, 0, sizeof(*sel));
	sel->via = SB_VIA_MAGLEV;
	if (!sb_source_allowed(svc, &pkt->src))
		return SB_VERDICT_DROP_SOURCE_RANGE;

	if (!(pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_SYN))) {
		sb_ct_key_forward(&key, pkt);
		ct = sb_ct_lookup(&key, pkt, cfg, now);
		if (ct && ct->svc_id == svc->svc_id && sb_backend_get(ct->backend_id, sel) &&
		    sb_addr_eq(&sel->backend.addr, &ct->nat_addr) && sel->backend.port == ct->nat_port) {
			sel->via = SB_VIA_CT;
			sel->remap_port = ct->remap_port;
			return sel->backend.family == pkt->family ? SB_VERDICT_FORWARD : SB_VERDICT_DROP_OTHER;
		}
	}

	if (svc->flags & SB_SVC_F_AFFINITY)
		sb_affinity_key_addr(&aff_key, svc->svc_id, &pkt->src);
	verdict = sb_balance(svc, (svc->flags & SB_SVC_F_AFFINITY) ? &aff_key : NULL,
			     sb_hash_flow(cfg ? cfg->maglev_seed : 0, &pkt->src, pkt->sport, &pkt->dst, pkt->dport,
					  pkt->proto),
			     now, sel);
	if (verdict == SB_VERDICT_FORWARD && sel->backend.family != pkt->family)
		return SB_VERDICT_DROP_OTHER;
	return verdict;
}

#endif
