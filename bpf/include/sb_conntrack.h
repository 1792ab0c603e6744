/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_conntrack.h: the flow table that pins established connections to their backend (invariant 4)
 * and carries the reverse translation of replies.
 *
 * A balanced flow gets two entries in sb_ct:
 *   FORWARD  key = client -> frontend as sent      value = backend chosen (+ id, for the check)
 *   REPLY    key = backend -> client as replied    value = frontend address/port to restore
 * Rules:
 *   - a TCP SYN never reads the table: it is balanced afresh and overwrites the entries;
 *   - a TCP RST creates nothing (it still follows an existing entry);
 *   - an entry idle longer than its timeout (sb_config, per protocol and TCP state) is a miss;
 *   - a forward entry whose backend is gone from sb_backends (or changed address) is a miss, so a
 *     flow whose backend was removed is balanced again rather than sent to it.
 * last_seen is refreshed at most once a second so that busy flows do not write the entry per packet;
 * each refresh also refreshes the other direction's entry of the flow.
 */
#ifndef SWITCHBOARD_SB_CONNTRACK_H
#define SWITCHBOARD_SB_CONNTRACK_H

#include "sb_maps.h"
#include "sb_parse.h"

#define SB_NS_PER_S 1000000000ULL
#define SB_CT_REFRESH_NS SB_NS_PER_S

/*
 * How long ago `then` was. Another CPU may have stamped an entry after this program read the clock,
 * so a `then` later than `now` counts as age 0 (not as a wrapped, huge age that would expire it).
 */
static __always_inline __u64 sb_age_ns(__u64 now, __u64 then)
{
	return now > then ? now - then : 0;
}

static __always_inline struct sb_config *sb_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sb_config, &zero);
}

static __always_inline __u64 sb_ct_timeout_ns(const struct sb_config *cfg, __u8 proto, __u8 flags)
{
	__u32 s = 0;

	if (proto == IPPROTO_UDP) {
		if (cfg)
			s = cfg->ct_udp_s;
		if (!s)
			s = SB_CT_UDP_S_DEFAULT;
	} else if (flags & SB_CT_F_CLOSING) {
		if (cfg)
			s = cfg->ct_tcp_closing_s;
		if (!s)
			s = SB_CT_TCP_CLOSING_S_DEFAULT;
	} else if (flags & SB_CT_F_ESTABLISHED) {
		if (cfg)
			s = cfg->ct_tcp_established_s;
		if (!s)
			s = SB_CT_TCP_ESTABLISHED_S_DEFAULT;
	} else {
		if (cfg)
			s = cfg->ct_tcp_syn_s;
		if (!s)
			s = SB_CT_TCP_SYN_S_DEFAULT;
	}
	return (__u64)s * SB_NS_PER_S;
}

static __always_inline void sb_ct_key_forward(struct sb_ct_key *key, const struct sb_pkt *pkt)
{
	key->src = pkt->src;
	key->dst = pkt->dst;
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->proto = pkt->proto;
	key->dir = SB_CT_DIR_FORWARD;
	key->pad[0] = 0;
	key->pad[1] = 0;
}

/* The reply key of a packet as it is on the wire (backend -> client): same fields, REPLY direction. */
static __always_inline void sb_ct_key_reply(struct sb_ct_key *key, const struct sb_pkt *pkt)
{
	sb_ct_key_forward(key, pkt);
	key->dir = SB_CT_DIR_REPLY;
}

/* TCP state flags that a packet moves an entry to. */
static __always_inline __u8 sb_ct_next_flags(__u8 flags, const struct sb_pkt *pkt)
{
	if (pkt->proto != IPPROTO_TCP)
		return flags | SB_CT_F_ESTABLISHED;
	if (pkt->tcp_flags & (SB_TCP_FIN | SB_TCP_RST))
		return flags | SB_CT_F_CLOSING;
	if (!(pkt->tcp_flags & SB_TCP_SYN))
		return (flags & ~SB_CT_F_SYN_SEEN) | SB_CT_F_ESTABLISHED;
	return flags;
}

/*
 * The key of the other direction of the flow whose entry has key `key` and nat end (nat_addr,
 * nat_port):
 *   FORWARD client->frontend, nat = backend   =>  REPLY   backend->client
 *   REPLY   backend->client,  nat = frontend  =>  FORWARD client->frontend
 */
static __always_inline void sb_ct_peer_key(const struct sb_ct_key *key, const union sb_addr *nat_addr,
					   __be16 nat_port, struct sb_ct_key *peer)
{
	if (key->dir == SB_CT_DIR_FORWARD) {
		peer->src = *nat_addr;
		peer->sport = nat_port;
		peer->dst = key->src;
		peer->dport = key->sport;
		peer->dir = SB_CT_DIR_REPLY;
	} else {
		peer->src = key->dst;
		peer->sport = key->dport;
		peer->dst = *nat_addr;
		peer->dport = nat_port;
		peer->dir = SB_CT_DIR_FORWARD;
	}
	peer->proto = key->proto;
	peer->pad[0] = 0;
	peer->pad[1] = 0;
}

/*
 * Refreshes the other direction's entry of the same flow, so that a flow that is busy in one
 * direction only (a UDP stream, a server push) keeps both entries alive. Called at most once a
 * second per entry.
 */
static __always_inline void sb_ct_touch_peer(const struct sb_ct_key *key, const struct sb_ct_value *ct, __u64 now)
{
	struct sb_ct_value *peer;
	struct sb_ct_key peer_key;

	sb_ct_peer_key(key, &ct->nat_addr, ct->nat_port, &peer_key);
	peer = bpf_map_lookup_elem(&sb_ct, &peer_key);
	if (peer)
		peer->last_seen_ns = now;
}

/* A live (not expired) entry for key, or NULL. Refreshes it and advances its TCP state. */
static __always_inline struct sb_ct_value *sb_ct_lookup(const struct sb_ct_key *key, const struct sb_pkt *pkt,
						       const struct sb_config *cfg, __u64 now)
{
	struct sb_ct_value *ct = bpf_map_lookup_elem(&sb_ct, key);
	__u8 flags;

	if (!ct)
		return NULL;
	if (sb_age_ns(now, ct->last_seen_ns) > sb_ct_timeout_ns(cfg, pkt->proto, ct->flags))
		return NULL;
	flags = sb_ct_next_flags(ct->flags, pkt);
	if (flags != ct->flags)
		ct->flags = flags;
	if (sb_age_ns(now, ct->last_seen_ns) > SB_CT_REFRESH_NS || flags & SB_CT_F_CLOSING) {
		ct->last_seen_ns = now;
		sb_ct_touch_peer(key, ct, now);
	}
	return ct;
}

/*
 * Records a balanced flow: the forward entry (backend) and, unless the flow is source-translated
 * (snat_port, network order, not 0: its replies are found through sb_snat), the reply entry (frontend
 * to restore). Nothing is created for a TCP RST.
 */
static __always_inline void sb_ct_create(const struct sb_pkt *pkt, const struct sb_backend *be, __u32 backend_id,
					 __u32 svc_id, __u64 now, __be16 snat_port)
{
	struct sb_ct_key key, reply_key;
	struct sb_ct_value value = {};

	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_RST))
		return;
	value.last_seen_ns = now;
	value.backend_id = backend_id;
	value.svc_id = svc_id;
	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_SYN))
		value.flags = SB_CT_F_SYN_SEEN;
	else
		value.flags = sb_ct_next_flags(0, pkt);

	sb_ct_key_forward(&key, pkt);
	value.nat_addr = be->addr;
	value.nat_port = be->port;
	value.snat_port = snat_port;
	bpf_map_update_elem(&sb_ct, &key, &value, BPF_ANY);
	if (snat_port)
		return;
	value.snat_port = 0;

	sb_ct_peer_key(&key, &be->addr, be->port, &reply_key);
	value.nat_addr = pkt->dst;
	value.nat_port = pkt->dport;
	bpf_map_update_elem(&sb_ct, &reply_key, &value, BPF_ANY);
}

#endif
