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
 *     flow whose backend was removed is balanced again rather than sent to it;
 *   - a REPLY entry translates a TCP packet with SYN (a SYN-ACK) only in the handshake of its flow, and a
 *     UDP datagram or TCP SYN of the opposite direction to no frontend takes its tuple: otherwise the entry
 *     is left from an earlier flow with the same tuple, and is deleted with its FORWARD entry (sb_ct_forget);
 *     a TCP SYN leaves an UNTRANSLATED entry in its place, which never translates and holds the tuple;
 *   - port remap, as netfilter's NAT does on a clash: a new flow whose REPLY key (backend -> client:port)
 *     is held by another flow (a live entry of another frontend or client port, a closed TCP flow's for
 *     SB_CT_TIME_WAIT_S, an UNTRANSLATED entry for as long) leaves with another source port, claimed
 *     like a source-translation port (sb_ct_claim_reply); its FORWARD entry names the port (remap_port),
 *     its REPLY entry is keyed by it and names the client's own port to restore. Otherwise the backend
 *     would meet a reused tuple: a reply tuple shared by two frontends, or a SYN with another
 *     destination's timestamps answered from TIME_WAIT by an ACK (PAWS), costing a SYN retransmission.
 * last_seen is refreshed at most once a second so that busy flows do not write the entry per packet;
 * each refresh also refreshes the other direction's entry of the flow.
 */
#ifndef SWITCHBOARD_SB_CONNTRACK_H
#define SWITCHBOARD_SB_CONNTRACK_H

#include "sb_maps.h"
#include "sb_parse.h"
#include "sb_stats.h"

#define SB_NS_PER_S 1000000000ULL
#define SB_CT_REFRESH_NS SB_NS_PER_S
/*
 * How long the tuple of a closed TCP flow stays held (unless sb_config.ct_tcp_closing_s says otherwise):
 * nf_conntrack's TIME_WAIT, longer than a backend's own TIME_WAIT (60 s), so a new flow given the same
 * tuple never meets the old connection's TIME_WAIT socket. Also how long an UNTRANSLATED entry holds its.
 */
#define SB_CT_TIME_WAIT_S 120

/*
 * A filter of the backends that translated flows were recorded for: sb_ct_claim_reply marks the slot of each
 * backend address:port it writes a REPLY entry for, and a flow to no frontend looks conntrack up for a
 * stale entry (sb_ct_claim_untranslated) only when its destination's slot is marked, so that packets to
 * addresses that are no backend (most of what crosses the node without a service) pay a hash and an array
 * read, not a hash-map lookup. Slots are never cleared (a false mark costs that lookup). Internal: not
 * pinned, not part of the ABI; a new agent starts with an empty filter, and stale entries recorded before
 * it are then judged on the reply path only (sb_ct_reply_stale).
 */
#define SB_CT_BACKEND_SLOT_BITS 12

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1U << SB_CT_BACKEND_SLOT_BITS);
	__type(key, __u32);
	__type(value, __u32);
} sb_ct_backends SEC(".maps");

static __always_inline __u32 sb_ct_backend_slot(const union sb_addr *addr, __be16 port)
{
	__u32 h = addr->w[0] ^ addr->w[1] ^ addr->w[2] ^ addr->w[3] ^ (__u32)port;

	return (h * 0x9E3779B1U) >> (32 - SB_CT_BACKEND_SLOT_BITS); /* Fibonacci hashing */
}

static __always_inline void sb_ct_backend_mark(const union sb_addr *addr, __be16 port)
{
	__u32 slot = sb_ct_backend_slot(addr, port);
	__u32 *mark = bpf_map_lookup_elem(&sb_ct_backends, &slot);

	if (mark && !*mark)
		*mark = 1; /* written once: later new flows only read the cache line */
}

static __always_inline int sb_ct_backend_marked(const union sb_addr *addr, __be16 port)
{
	__u32 slot = sb_ct_backend_slot(addr, port);
	__u32 *mark = bpf_map_lookup_elem(&sb_ct_backends, &slot);

	return mark && *mark;
}

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

/*
 * How long after its last packet an entry (flags) still holds its tuple against other flows: its timeout
 * while live; a closed TCP flow's, SB_CT_TIME_WAIT_S (a configured closing timeout wins); an UNTRANSLATED
 * entry's, SB_CT_TIME_WAIT_S from the SYN that left it.
 */
static __always_inline __u64 sb_ct_hold_ns(const struct sb_config *cfg, __u8 proto, __u8 flags)
{
	if (flags & SB_CT_F_UNTRANSLATED)
		return (__u64)SB_CT_TIME_WAIT_S * SB_NS_PER_S;
	if (proto == IPPROTO_TCP && (flags & SB_CT_F_CLOSING) && !(cfg && cfg->ct_tcp_closing_s))
		return (__u64)SB_CT_TIME_WAIT_S * SB_NS_PER_S;
	return sb_ct_timeout_ns(cfg, proto, flags);
}

static __always_inline void sb_ct_key_init(struct sb_ct_key *key, const union sb_addr *src, const union sb_addr *dst,
					   __be16 sport, __be16 dport, __u8 proto, __u8 dir)
{
	key->src = *src;
	key->dst = *dst;
	key->sport = sport;
	key->dport = dport;
	key->proto = proto;
	key->dir = dir;
	key->pad[0] = 0;
	key->pad[1] = 0;
}

static __always_inline void sb_ct_key_forward(struct sb_ct_key *key, const struct sb_pkt *pkt)
{
	sb_ct_key_init(key, &pkt->src, &pkt->dst, pkt->sport, pkt->dport, pkt->proto, SB_CT_DIR_FORWARD);
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

/* The fields a new flow's FORWARD and REPLY entries share: ids, timestamp, TCP state. */
static __always_inline void sb_ct_value_init(struct sb_ct_value *value, const struct sb_pkt *pkt, __u32 backend_id,
					     __u32 svc_id, __u64 now)
{
	value->last_seen_ns = now;
	value->backend_id = backend_id;
	value->svc_id = svc_id;
	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_SYN))
		value->flags = SB_CT_F_SYN_SEEN;
	else
		value->flags = sb_ct_next_flags(0, pkt);
}

/*
 * The key of the other direction of the flow whose entry ct has key `key`:
 *   FORWARD client:P->frontend,  nat = backend   =>  REPLY   backend->client:P (P' when remapped)
 *   REPLY   backend->client:P',  nat = frontend  =>  FORWARD client:P->frontend (P = remap_port when set)
 */
static __always_inline void sb_ct_peer_key(const struct sb_ct_key *key, const struct sb_ct_value *ct,
					   struct sb_ct_key *peer)
{
	if (key->dir == SB_CT_DIR_FORWARD) {
		peer->src = ct->nat_addr;
		peer->sport = ct->nat_port;
		peer->dst = key->src;
		peer->dport = ct->remap_port ? ct->remap_port : key->sport;
		peer->dir = SB_CT_DIR_REPLY;
	} else {
		peer->src = key->dst;
		peer->sport = ct->remap_port ? ct->remap_port : key->dport;
		peer->dst = ct->nat_addr;
		peer->dport = ct->nat_port;
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

	sb_ct_peer_key(key, ct, &peer_key);
	peer = bpf_map_lookup_elem(&sb_ct, &peer_key);
	if (peer)
		peer->last_seen_ns = now;
}

/* ct (the entry of key, NULL or not) if live (not expired), refreshed and its TCP state advanced; else NULL. */
static __always_inline struct sb_ct_value *sb_ct_use(const struct sb_ct_key *key, struct sb_ct_value *ct,
						    const struct sb_pkt *pkt, const struct sb_config *cfg, __u64 now)
{
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

/* A live (not expired) entry for key, or NULL. Refreshes it and advances its TCP state. */
static __always_inline struct sb_ct_value *sb_ct_lookup(const struct sb_ct_key *key, const struct sb_pkt *pkt,
						       const struct sb_config *cfg, __u64 now)
{
	return sb_ct_use(key, bpf_map_lookup_elem(&sb_ct, key), pkt, cfg, now);
}

/*
 * Deletes the REPLY entry `key` (value ct) of an earlier flow, and that flow's FORWARD entry if it is still
 * the one that leads to this tuple (a later SYN to the frontend may have balanced the client's tuple to
 * another backend: that live flow keeps its entry).
 */
static __always_inline void sb_ct_forget(const struct sb_ct_key *key, const struct sb_ct_value *ct)
{
	struct sb_ct_value *forward;
	struct sb_ct_key peer_key;

	sb_ct_peer_key(key, ct, &peer_key);
	forward = bpf_map_lookup_elem(&sb_ct, &peer_key);
	if (forward && sb_addr_eq(&forward->nat_addr, &key->src) && forward->nat_port == key->sport &&
	    (forward->remap_port ? forward->remap_port : peer_key.sport) == key->dport)
		bpf_map_delete_elem(&sb_ct, &peer_key);
	bpf_map_delete_elem(&sb_ct, key);
	sb_stat(SB_STAT_CT_STALE);
}

/*
 * Whether a packet leaving a backend with SYN set (a SYN-ACK) shows REPLY entry ct to be left from an earlier
 * flow. Such a packet belongs to the entry's flow only in that flow's handshake: every translated SYN writes
 * its entries anew in SYN_SEEN, and the backend's first packet without SYN, or a FIN / RST, moves the REPLY
 * entry out of it. A SYN-ACK meeting the entry in any other state answers a SYN this datapath did not
 * translate: a client that reused the port of a finished translated flow to reach the backend directly.
 * Translated, it would reach that client from the frontend and be answered with a RST, which the old FORWARD
 * entry took to the backend, killing the new connection's handshake there; every such exchange refreshed the
 * closing entries, so the client's SYN retransmissions met them again until two came more than the closing
 * timeout apart (about 30 s). Packets without SYN are not judged: the SYN-ACK that opens the new flow is.
 * (The new flow's SYN, when it passes sb_xdp or sb_tc_from_pod, has already deleted the entry:
 * sb_ct_claim_untranslated; this rule is for SYNs that reached the backend another way.)
 */
static __always_inline int sb_ct_reply_stale(const struct sb_ct_value *ct, const struct sb_pkt *pkt)
{
	return pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_SYN) &&
	       (ct->flags & SB_CT_F_TCP_STATE) != SB_CT_F_SYN_SEEN;
}

/*
 * The live REPLY entry for a packet leaving a backend (key: its tuple as on the wire), refreshed and
 * advanced, or NULL; an entry the packet shows to be stale (sb_ct_reply_stale) is deleted, and the
 * packet is not a reply of a translated flow.
 */
static __always_inline struct sb_ct_value *sb_ct_lookup_reply(const struct sb_ct_key *key, const struct sb_pkt *pkt,
							     const struct sb_config *cfg, __u64 now)
{
	struct sb_ct_value *ct = bpf_map_lookup_elem(&sb_ct, key);

	if (ct && (ct->flags & SB_CT_F_UNTRANSLATED))
		return NULL; /* a tuple held for an untranslated flow: nothing to translate */
	if (ct && sb_ct_reply_stale(ct, pkt)) {
		sb_ct_forget(key, ct);
		return NULL;
	}
	return sb_ct_use(key, ct, pkt, cfg, now);
}

/* Leaves an UNTRANSLATED entry at key (a REPLY key): see sb_ct_claim_untranslated. */
static __noinline void sb_ct_hold_untranslated(const struct sb_ct_key *key)
{
	struct sb_ct_value value = {};

	value.last_seen_ns = sb_now();
	value.flags = SB_CT_F_UNTRANSLATED;
	bpf_map_update_elem(&sb_ct, key, &value, BPF_ANY);
}

/*
 * A packet to no frontend that opens a flow (a UDP datagram, a TCP SYN without ACK) from src:sport to
 * dst:dport takes the tuple from a REPLY entry keyed dst:dport -> src:sport, if any: that entry is of an
 * earlier translated flow (the client sent to a frontend from this port before, and its backend is dst),
 * and would otherwise translate the new flow's replies to come from the frontend. For UDP this is the only
 * place to see it (no handshake to judge on the reply path). For TCP the SYN-ACK is judged there too
 * (sb_ct_reply_stale), but a backend holding the earlier connection in TIME_WAIT answers a SYN of another
 * client 4-tuple with an ACK, not a SYN-ACK: translated, that ACK missed the client's connecting socket
 * (which retries at once on it) and the client's RST to the frontend killed the TIME_WAIT, so the
 * connection waited for its first SYN retransmission (1 s). A TCP SYN then leaves an UNTRANSLATED entry
 * on the tuple (or refreshes the one there): the backend will hold this connection, and TIME_WAIT after it,
 * so translated flows from the same client port take another port (port remap) instead of meeting it.
 * Called for datagrams and SYNs to no frontend whose destination is marked in sb_ct_backends; other
 * packets to no frontend pay nothing. Not inlined: its key would not fit beside the callers' frames.
 */
static __noinline void sb_ct_claim_untranslated(const struct sb_pkt *pkt)
{
	struct sb_ct_value *ct;
	struct sb_ct_key key;

	sb_ct_key_init(&key, &pkt->dst, &pkt->src, pkt->dport, pkt->sport, pkt->proto, SB_CT_DIR_REPLY);
	ct = bpf_map_lookup_elem(&sb_ct, &key);
	if (ct && (ct->flags & SB_CT_F_UNTRANSLATED)) {
		ct->last_seen_ns = sb_now();
		return;
	}
	if (ct)
		sb_ct_forget(&key, ct);
	if (pkt->proto == IPPROTO_TCP)
		sb_ct_hold_untranslated(&key);
}

/*
 * Records a balanced flow's FORWARD entry (backend; remap_port, network order, not 0: the source port
 * its packets leave with). Its REPLY entry is written before, by sb_ct_claim_reply, unless the flow is
 * source-translated (snat_port, network order, not 0: its replies are found through sb_snat). Nothing
 * is created for a TCP RST.
 */
static __always_inline void sb_ct_create(const struct sb_pkt *pkt, const struct sb_backend *be, __u32 backend_id,
					 __u32 svc_id, __u64 now, __be16 snat_port, __be16 remap_port)
{
	struct sb_ct_value value = {};
	struct sb_ct_key key;

	if (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & SB_TCP_RST))
		return;
	sb_ct_value_init(&value, pkt, backend_id, svc_id, now);
	sb_ct_key_forward(&key, pkt);
	value.nat_addr = be->addr;
	value.nat_port = be->port;
	value.snat_port = snat_port;
	value.remap_port = remap_port;
	bpf_map_update_elem(&sb_ct, &key, &value, BPF_ANY);
}

#endif
