/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_sock.h: socket-level translation for ClusterIP (internal scope) frontends, once per connect()
 * or per sendmsg() of an unconnected UDP socket, so pod -> ClusterIP traffic needs no per-packet NAT.
 *
 *   connect / sendmsg     frontend -> backend, chosen by the same affinity and Maglev code as the
 *                         packet path; the flow hash uses the socket cookie in place of the
 *                         source address and port (no source port exists yet)
 *   recvmsg / getpeername backend -> frontend, from sb_sock_revnat keyed by (socket cookie, backend)
 *
 * Affinity at this layer is keyed by the client's network namespace cookie (SB_AFF_CLIENT_NETNS):
 * before connect() a socket has no source address. A pod has one address per family, so the
 * effect is the same as ClientIP affinity for pod clients; entries are not shared with the packet
 * path (see bpf/README.md).
 * A frontend with no endpoint anywhere is refused with ECONNREFUSED (bpf_set_retval); one with
 * endpoints but none local (Local policy) is left untranslated, so the packet path drops it.
 */
#ifndef SWITCHBOARD_SB_SOCK_H
#define SWITCHBOARD_SB_SOCK_H

#include "sb_lb.h"

enum sb_sock_result {
	SB_SOCK_PASS = 0,   /* not a ClusterIP frontend, or left for the packet path */
	SB_SOCK_XLATED,     /* addr/port now hold the backend */
	SB_SOCK_REFUSE,     /* no endpoint anywhere */
};

static __always_inline int sb_addr_is_v4(const union sb_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0x0000ffff);
}

/* Translates (addr, port) of a connect/sendmsg in place. */
static __always_inline int sb_sock_xlate(struct bpf_sock_addr *ctx, union sb_addr *addr, __be16 *port)
{
	struct sb_svc_counters *counters;
	struct sb_affinity_key aff_key;
	struct sb_sock_value revnat;
	struct sb_selection sel = {};
	struct sb_svc_value svc;
	struct sb_sock_key key;
	struct sb_config *cfg;
	union sb_addr cookie_addr = {};
	__u32 proto = ctx->protocol;
	__u64 cookie, now;
	int verdict;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return SB_SOCK_PASS;
	if (!sb_svc_lookup(addr, *port, proto, &svc) || (svc.flags & SB_SVC_F_EXTERNAL))
		return SB_SOCK_PASS;

	counters = sb_svc_counters(svc.svc_id);
	SB_COUNT(counters, packets);
	cfg = sb_config_get();
	now = sb_now();
	cookie = bpf_get_socket_cookie(ctx);
	cookie_addr.w[0] = (__u32)cookie;
	cookie_addr.w[1] = (__u32)(cookie >> 32);
	if (svc.flags & SB_SVC_F_AFFINITY)
		sb_affinity_key_netns(&aff_key, svc.svc_id, bpf_get_netns_cookie(ctx));
	verdict = sb_balance(&svc, (svc.flags & SB_SVC_F_AFFINITY) ? &aff_key : NULL,
			     sb_hash_flow(cfg ? cfg->maglev_seed : 0, &cookie_addr, 0, addr, *port, proto), now, &sel);

	if (verdict == SB_VERDICT_REFUSE) {
		SB_COUNT(counters, refused);
		sb_stat(SB_STAT_SOCK_REFUSED);
		return SB_SOCK_REFUSE;
	}
	if (verdict != SB_VERDICT_FORWARD)
		return SB_SOCK_PASS;
	if (sb_addr_is_v4(addr) != (sel.backend.family == SB_AF_INET)) {
		SB_COUNT(counters, dropped_other);
		return SB_SOCK_PASS;
	}
	if (sel.via == SB_VIA_AFFINITY)
		SB_COUNT(counters, affinity_hits);
	else
		SB_COUNT(counters, new_flows);

	key.cookie = cookie;
	key.addr = sel.backend.addr;
	key.port = sel.backend.port;
	__builtin_memset(key.pad, 0, sizeof(key.pad));
	revnat.addr = *addr;
	revnat.port = *port;
	revnat.pad0[0] = 0;
	revnat.pad0[1] = 0;
	revnat.svc_id = svc.svc_id;
	bpf_map_update_elem(&sb_sock_revnat, &key, &revnat, BPF_ANY);

	*addr = sel.backend.addr;
	*port = sel.backend.port;
	sb_stat(SB_STAT_SOCK_XLATE);
	return SB_SOCK_XLATED;
}

/* Translates a peer address (recvmsg source, getpeername) back to the frontend; 1 if it did. */
static __always_inline int sb_sock_revxlate(struct bpf_sock_addr *ctx, union sb_addr *addr, __be16 *port)
{
	struct sb_sock_value *revnat;
	struct sb_sock_key key;

	key.cookie = bpf_get_socket_cookie(ctx);
	key.addr = *addr;
	key.port = *port;
	__builtin_memset(key.pad, 0, sizeof(key.pad));
	revnat = bpf_map_lookup_elem(&sb_sock_revnat, &key);
	if (!revnat)
		return 0;
	*addr = revnat->addr;
	*port = revnat->port;
	sb_stat(SB_STAT_SOCK_REVNAT);
	return 1;
}

#endif
