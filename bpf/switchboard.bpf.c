// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * switchboard: the service datapath. Each program is a thin composition of the helpers in
 * include/sb_*.h for one hook; the map ABI is include/sb_maps.h, documented in bpf/README.md.
 *
 *   sb_xdp            XDP on the node's external interface: frontends reached from outside
 *                     (NodePort, LB IP, externalIP, ClusterIP routed to the node) -> DNAT, then
 *                     XDP_PASS so the kernel routes to the pod (or, with SB_CFG_F_XDP_FIB_REDIRECT,
 *                     a FIB lookup and bpf_redirect); refusals answered with XDP_TX, and so are ARP
 *                     requests / IPv6 neighbor solicitations for announced LB IPs (sb_neigh) -- or,
 *                     on interfaces where XDP_TX does not reach the wire (sb_ifaces), handed to
 *                     sb_tc_from_ext marked in their XDP metadata.
 *   sb_tc_from_pod    tc ingress of the host side of each pod veth (packets leaving a pod):
 *                     replies of translated flows get their source restored to the frontend;
 *                     pod -> frontend packets not already translated by the socket hooks get DNAT.
 *   sb_tc_from_ext    tc ingress of the external interface: the replies sb_xdp hands over (sent back
 *                     out with bpf_redirect); replies of source-translated flows (backends on other
 *                     nodes) back to their clients; translated frames XDP passed.
 *   sb_tc_to_client   tc, reverse translation only: egress of the host side of a pod veth (replies
 *                     from backends on other nodes coming back to a client pod).
 *   sb_sock_*         cgroup socket hooks for ClusterIP frontends (connect, sendmsg, recvmsg,
 *                     getpeername; IPv4 and IPv6).
 * Anything that is not for a frontend, or not a plain TCP/UDP packet, leaves exactly as it came.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sb_maps.h"
#include "sb_parse.h"
#include "sb_csum.h"
#include "sb_stats.h"
#include "sb_conntrack.h"
#include "sb_lb.h"
#include "sb_nat.h"
#include "sb_reply.h"
#include "sb_sock.h"
#include "sb_snat.h"
#include "sb_remap.h"
#include "sb_neigh.h"

/* ---------------------------------------------------------------------------------------------- */
/* Shared by the packet programs                                                                   */
/* ---------------------------------------------------------------------------------------------- */

/* Counts the outcome of a packet to a frontend in its service counters. */
static __always_inline void sb_count_verdict(struct sb_svc_counters *counters, int verdict, __u8 via)
{
	if (!counters)
		return;
	switch (verdict) {
	case SB_VERDICT_FORWARD:
		if (via == SB_VIA_CT)
			counters->ct_hits++;
		else if (via == SB_VIA_AFFINITY)
			counters->affinity_hits++;
		else
			counters->new_flows++;
		break;
	case SB_VERDICT_REFUSE:
		counters->refused++;
		break;
	case SB_VERDICT_DROP_NO_LOCAL:
		counters->dropped_no_local++;
		break;
	case SB_VERDICT_DROP_SOURCE_RANGE:
		counters->dropped_source_range++;
		break;
	default:
		counters->dropped_other++;
		break;
	}
}

/*
 * When snat_mode asks it of this flow, claims its node source port (before a new flow's conntrack
 * entry replaces the old one, which names the port the flow had); then records a flow balanced afresh
 * (unless it was found in conntrack): its REPLY entry first, unless source-translated, which may give the
 * flow another source port (sel->remap_port, sb_remap.h), then its FORWARD entry. 0, or -1 when the
 * packet must be dropped: no port is free, or a TCP RST of no translated flow. A function of its own (not
 * inlined): the entries it builds would not fit in the 512-byte stack beside the callers' own.
 */
static __noinline int sb_flow_record(const struct sb_pkt *pkt, struct sb_selection *sel, __u32 svc_id, __u64 now,
				     int snat_mode)
{
	const struct sb_config *cfg = sb_config_get();
	int ret;

	if (sb_snat_source(cfg, pkt, sel, snat_mode)) {
		ret = sb_snat_claim(pkt, sel, now);
		if (ret) {
			if (ret == SB_SNAT_CLAIM_EXHAUSTED)
				sb_stat(SB_STAT_SNAT_EXHAUSTED);
			return -1;
		}
		sb_stat(SB_STAT_SNAT);
	}
	if (sel->via != SB_VIA_CT) {
		if (!sel->snat_port)
			sel->remap_port = (__be16)sb_ct_claim_reply(pkt, &sel->backend, sel->backend_id, svc_id, now);
		sb_ct_create(pkt, &sel->backend, sel->backend_id, svc_id, now, sel->snat_port, sel->remap_port);
	}
	return 0;
}

/*
 * Whether a packet is for the node's closed port (sb_config.closed_port on node_addr4 / node_addr6): a service
 * the node offers only to itself and its pods, whose packets never cross sb_xdp (the agent's DNS server, the
 * endpoint of the DNS Service's ClusterIP; from outside it would be an open resolver).
 */
static __always_inline int sb_node_port_closed(const struct sb_pkt *pkt)
{
	const struct sb_config *cfg = sb_config_get();
	const union sb_addr *node;

	if (!cfg || !cfg->closed_port || cfg->closed_port != pkt->dport)
		return 0;
	node = sb_snat_node(cfg, pkt->family);
	return node && sb_addr_eq(node, &pkt->dst);
}

/*
 * Looks up the frontend of a parsed packet and decides; on FORWARD records the flow in conntrack and,
 * when snat_mode asks it of this flow, claims its node source port (sel->snat_port). Returns -1 when
 * the packet is not for a frontend (pass it untouched), else the verdict.
 */
static __always_inline int sb_service_decide(const struct sb_pkt *pkt, struct sb_selection *sel,
					     struct sb_svc_counters **counters, int snat_mode)
{
	struct sb_svc_value svc;
	struct sb_config *cfg;
	__u64 now;
	int verdict;

	if (!sb_svc_lookup(&pkt->dst, pkt->dport, pkt->proto, &svc)) {
		if (pkt->proto == IPPROTO_UDP ||
		    (pkt->proto == IPPROTO_TCP && (pkt->tcp_flags & (SB_TCP_SYN | SB_TCP_ACK)) == SB_TCP_SYN)) {
			/* from outside, a new flow to the node's closed port (its DNS server) goes no further */
			if (snat_mode == SB_SNAT_REMOTE && sb_node_port_closed(pkt)) {
				sb_stat(SB_STAT_CLOSED_PORT);
				return SB_VERDICT_DROP_OTHER;
			}
			/* a new flow to no frontend takes its tuple from an earlier translated flow (sb_conntrack.h) */
			if (sb_ct_backend_marked(&pkt->dst, pkt->dport))
				sb_ct_claim_untranslated(pkt);
		}
		sb_stat(SB_STAT_NO_SERVICE);
		sb_stat(SB_STAT_PASSED);
		return -1;
	}
	sb_stat(SB_STAT_SERVICE);
	*counters = sb_svc_counters(svc.svc_id);
	if (*counters) {
		(*counters)->packets++;
		(*counters)->bytes += pkt->len;
	}
	cfg = sb_config_get();
	now = sb_now();
	verdict = sb_select(pkt, &svc, cfg, now, sel);
	if (verdict == SB_VERDICT_FORWARD && sb_flow_record(pkt, sel, svc.svc_id, now, snat_mode))
		verdict = SB_VERDICT_DROP_OTHER;
	sb_count_verdict(*counters, verdict, sel->via);
	return verdict;
}

/*
 * The frontend to restore as the source of a reply, from its REPLY conntrack entry, and the client's own
 * port to restore as its destination when the flow was remapped (else 0); 0 if none.
 */
static __always_inline int sb_revnat_lookup(const struct sb_pkt *pkt, union sb_addr *addr, __be16 *port,
					    __be16 *client_port)
{
	struct sb_ct_value *ct;
	struct sb_ct_key key;

	sb_ct_key_reply(&key, pkt);
	ct = sb_ct_lookup_reply(&key, pkt, sb_config_get(), sb_now());
	if (!ct)
		return 0;
	*addr = ct->nat_addr;
	*port = ct->nat_port;
	*client_port = ct->remap_port;
	return 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* XDP                                                                                             */
/* ---------------------------------------------------------------------------------------------- */

/*
 * Whether a reply generated for this frame must go by tc: its interface has no SB_IFACE_F_XDP_TX in
 * sb_ifaces (XDP_TX is not known to reach the wire there, e.g. a veth, whose peer gets XDP_TX frames
 * only when it runs an XDP program itself). Then the frame, untouched, gets SB_REPLY_MARK in its
 * metadata and 1 is returned: the caller passes it, and sb_tc_from_ext on the same interface answers
 * it. 0: answer with XDP_TX (also where the driver keeps no metadata, as nothing else would answer).
 * Read only when there is a reply to send, so the forwarding path never looks at sb_ifaces.
 */
static __always_inline int sb_xdp_reply_by_tc(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	struct sb_iface_value *iface = bpf_map_lookup_elem(&sb_ifaces, &ifindex);
	__u32 *mark;

	if (iface && (iface->flags & SB_IFACE_F_XDP_TX))
		return 0;
	if (sb_load_flags & SB_LOAD_F_NO_XDP_META)
		return 1; /* no mark: sb_tc_from_ext finds the frame again (sb_tc_reply_unmarked) */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*mark)))
		return 0;
	mark = (void *)(long)ctx->data_meta;
	if ((void *)(mark + 1) > (void *)(long)ctx->data)
		return 0;
	*mark = SB_REPLY_MARK;
	return 1;
}

/* Turns the frame into the refusal (RST / ICMP unreachable) and sends it back out. */
static __always_inline int sb_xdp_refuse(struct xdp_md *ctx, const struct sb_pkt *pkt)
{
	void *data, *data_end;
	struct sb_reply_buf *b = sb_reply_scratch();
	int len, delta;

	if (sb_xdp_reply_by_tc(ctx))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (!b || sb_reply_copy_orig(b, pkt, data, data_end))
		return XDP_DROP;
	len = sb_reply_build(b, pkt);
	if (len <= 0)
		return XDP_DROP; /* a RST is not answered */
	delta = len - (int)pkt->len;
	if (delta > 0 && bpf_xdp_adjust_head(ctx, -delta))
		return XDP_DROP;
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (sb_reply_write(b, len, data, data_end))
		return XDP_DROP;
	return XDP_TX;
}

/*
 * ARP / NDP for the LoadBalancer addresses this node announces (sb_neigh.h): XDP_TX with the answer,
 * XDP_PASS when the request is handed to tc to answer, -1 when the frame is not answered here.
 */
static __noinline int sb_neigh_answer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct sb_neigh_value *mac;
	struct sb_reply_buf *b;
	union sb_addr target;
	__u8 *l3 = data + ETH_HLEN;
	int len, delta;

	if (data + SB_NEIGH_ARP_LEN > data_end)
		return -1;
	len = sb_neigh_request_len(eth->h_proto, l3[6], data + SB_NEIGH_NS_LEN <= data_end ? l3[40] : 0);
	if (!len)
		return -1;
	b = sb_reply_scratch();
	if (!b)
		return -1;
	if (len == SB_NEIGH_ARP_LEN)
		__builtin_memcpy(b->orig, data, SB_NEIGH_ARP_LEN);
	else if (data + SB_NEIGH_NS_LEN <= data_end)
		__builtin_memcpy(b->orig, data, SB_NEIGH_NS_LEN);
	mac = sb_neigh_match(b, ctx->ingress_ifindex, &target);
	if (!mac)
		return -1;
	if (sb_xdp_reply_by_tc(ctx))
		return XDP_PASS;
	len = sb_neigh_build(b, mac, &target);
	/* an ARP reply overwrites the request in place (padding and all); an advertisement is exactly its size */
	delta = len == SB_NEIGH_NA_LEN ? len - (int)(data_end - data) : 0;
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (len == SB_NEIGH_ARP_LEN) {
		if (data + SB_NEIGH_ARP_LEN > data_end)
			return XDP_DROP;
		__builtin_memcpy(data, b->out, SB_NEIGH_ARP_LEN);
	} else {
		if (data + SB_NEIGH_NA_LEN > data_end)
			return XDP_DROP; /* cannot happen after the adjustment; the frame is no longer the request */
		__builtin_memcpy(data, b->out, SB_NEIGH_NA_LEN);
	}
	sb_stat(SB_STAT_NEIGH_ANSWERED);
	return XDP_TX;
}

/*
 * SB_CFG_F_XDP_FIB_REDIRECT: forwards a DNATed frame to its backend from XDP, as the kernel's forwarding
 * would (same FIB, with policy rules; forwarding must be on for the ingress interface): the lookup from
 * the ingress interface for (client, backend), TTL / hop limit decremented (IPv4 header checksum updated,
 * RFC 1624), MACs from the lookup's neighbour entry, bpf_redirect to the egress interface. Anything the
 * lookup cannot settle here goes to the stack translated, exactly as without the flag: no neighbour entry
 * yet (the stack resolves it), a local destination, no route, forwarding off, a packet larger than the
 * egress MTU (the stack fragments or sends "fragmentation needed"), a TTL of 1 (the stack sends "time
 * exceeded"), BPF_PROG_TEST_RUN. Redirected frames bypass netfilter's PREROUTING and FORWARD chains.
 */
static __noinline int sb_xdp_forward(struct xdp_md *ctx, const struct sb_pkt *pkt, const union sb_addr *backend)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct bpf_fib_lookup fib;
	int ret;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = pkt->proto;
	fib.sport = pkt->sport;
	fib.dport = pkt->dport; /* already the backend's port */
	if (pkt->family == SB_AF_INET) {
		struct iphdr *ip = data + SB_L3_OFF;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		if (ip->ttl <= 1)
			return XDP_PASS;
		fib.family = SB_AF_INET;
		fib.tos = ip->tos;
		fib.tot_len = bpf_ntohs(ip->tot_len);
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = backend->w[3];
	} else {
		struct ipv6hdr *ip6 = data + SB_L3_OFF;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		if (ip6->hop_limit <= 1)
			return XDP_PASS;
		fib.family = SB_AF_INET6;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff); /* traffic class and flow label */
		fib.tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		sb_addr_copy((union sb_addr *)fib.ipv6_src, pkt->src.w);
		sb_addr_copy((union sb_addr *)fib.ipv6_dst, backend->w);
	}
	ret = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;

	/* the lookup may not move the frame, but the verifier wants the bounds again */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if (pkt->family == SB_AF_INET) {
		struct iphdr *ip = data + SB_L3_OFF;
		__u16 *ttl_proto = (__u16 *)&ip->ttl; /* TTL and protocol: one 16-bit word of the checksum */
		__u16 old;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		old = *ttl_proto;
		ip->ttl--;
		ip->check = sb_csum_apply(ip->check, sb_csum_diff16(0, old, *ttl_proto));
	} else {
		struct ipv6hdr *ip6 = data + SB_L3_OFF;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		ip6->hop_limit--;
	}
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect(fib.ifindex, 0);
}

SEC("xdp")
int sb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sb_svc_counters *counters = NULL;
	const union sb_addr *snat_node;
	struct sb_selection sel;
	struct sb_config *cfg;
	struct sb_pkt pkt;
	int verdict;

	/* ARP / NDP for the LoadBalancer addresses this node announces (sb_neigh.h); IPv4 frames skip the call */
	if (data + ETH_HLEN > data_end || ((struct ethhdr *)data)->h_proto != bpf_htons(ETH_P_IP)) {
		verdict = sb_neigh_answer(ctx);
		if (verdict >= 0)
			return verdict;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
	}

	verdict = sb_parse(data, data_end, &pkt);
	if (verdict != SB_PARSE_OK) {
		sb_stat(sb_parse_stat(verdict));
		sb_stat(SB_STAT_PASSED);
		return XDP_PASS;
	}
	verdict = sb_service_decide(&pkt, &sel, &counters, SB_SNAT_REMOTE);
	switch (verdict) {
	case -1:
		return XDP_PASS;
	case SB_VERDICT_FORWARD:
		if (sb_nat_xdp(data, data_end, &pkt, SB_NAT_DST, &sel.backend.addr, sel.backend.port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return XDP_DROP;
		}
		cfg = sb_config_get();
		if (sel.snat_port) {
			/*
			 * Source now a node address: the stack's input route would drop the frame as a martian,
			 * so sb_tc_from_ext, next on this interface, routes it (bpf/README.md, Source translation).
			 */
			snat_node = sb_snat_node(cfg, pkt.family);
			if (!snat_node || sb_nat_xdp(data, data_end, &pkt, SB_NAT_SRC, snat_node, sel.snat_port)) {
				sb_stat(SB_STAT_NAT_FAILED);
				SB_COUNT(counters, dropped_other);
				return XDP_DROP;
			}
			return XDP_PASS;
		}
		if (sel.remap_port && sb_nat_xdp(data, data_end, &pkt, SB_NAT_SRC, &pkt.src, sel.remap_port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return XDP_DROP;
		}
		if (cfg && (cfg->flags & SB_CFG_F_XDP_FIB_REDIRECT))
			return sb_xdp_forward(ctx, &pkt, &sel.backend.addr);
		return XDP_PASS;
	case SB_VERDICT_REFUSE:
		return sb_xdp_refuse(ctx, &pkt);
	default:
		return XDP_DROP;
	}
}

/* ---------------------------------------------------------------------------------------------- */
/* tc                                                                                              */
/* ---------------------------------------------------------------------------------------------- */

/* Makes the headers linear and parses them, counting nothing; pkt->len is the whole skb length. */
static __always_inline int sb_tc_parse_quiet(struct __sk_buff *skb, struct sb_pkt *pkt)
{
	__u32 want = skb->len < SB_HDR_MAX ? skb->len : SB_HDR_MAX;
	int ret;

	bpf_skb_pull_data(skb, want);
	ret = sb_parse((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);
	pkt->len = skb->len;
	return ret;
}

/* The same, counting what is not plain TCP / UDP (sb_stats). */
static __always_inline int sb_tc_parse(struct __sk_buff *skb, struct sb_pkt *pkt)
{
	int ret = sb_tc_parse_quiet(skb, pkt);

	if (ret != SB_PARSE_OK) {
		sb_stat(sb_parse_stat(ret));
		sb_stat(SB_STAT_PASSED);
	}
	return ret;
}

/*
 * Reverse translation of a reply; 1 if the packet was one (and was rewritten), 0 if not. The frontend
 * restored as the source is copied to *frontend when it is not NULL.
 */
static __noinline int sb_tc_revnat(struct __sk_buff *skb, const struct sb_pkt *pkt, union sb_addr *frontend)
{
	union sb_addr addr;
	__be16 port, client_port;

	if (!sb_revnat_lookup(pkt, &addr, &port, &client_port))
		return 0;
	if (sb_nat_skb(skb, pkt, SB_NAT_SRC, &addr, port) ||
	    (client_port && sb_nat_skb(skb, pkt, SB_NAT_DST, &pkt->dst, client_port)))
		sb_stat(SB_STAT_NAT_FAILED);
	else
		sb_stat(SB_STAT_REVNAT);
	if (frontend)
		*frontend = addr;
	return 1;
}

/* Decrements the IPv4 TTL / IPv6 hop limit as forwarding does; -1 when the packet must not go on. */
static __always_inline int sb_tc_dec_ttl(struct __sk_buff *skb, const struct sb_pkt *pkt)
{
	__u32 off = SB_L3_OFF + (pkt->family == SB_AF_INET ? offsetof(struct iphdr, ttl)
							     : offsetof(struct ipv6hdr, hop_limit));
	__u8 ttl;

	if (bpf_skb_load_bytes(skb, off, &ttl, 1) || ttl <= 1)
		return -1;
	if (pkt->family == SB_AF_INET &&
	    bpf_l3_csum_replace(skb, SB_L3_OFF + offsetof(struct iphdr, check), bpf_htons((__u16)ttl << 8),
				bpf_htons((__u16)(ttl - 1) << 8), 2))
		return -1;
	ttl--;
	return bpf_skb_store_bytes(skb, off, &ttl, 1, 0) ? -1 : 0;
}

/*
 * Sends a translated packet from src to dst on its way without the kernel's input route. Its source
 * may now be an address of this node (the frontend of a reply: the node address of a NodePort, an LB
 * IP or externalIP bound locally; the node address of a source-translated flow): the input route drops
 * a packet arriving with a local source as a martian. So it is routed here, as forwarding would: a FIB
 * lookup from the link it came in on, TTL decremented, redirect to the egress interface with
 * neighbour resolution. When the lookup does not give a forwarding route (local destination, no
 * route, forwarding off; BPF_PROG_TEST_RUN, which has no ingress interface) the stack decides.
 */
static __noinline int sb_tc_route(struct __sk_buff *skb, const struct sb_pkt *pkt, const union sb_addr *src,
				       const union sb_addr *dst)
{
	struct bpf_fib_lookup fib;
	int ret;

	__builtin_memset(&fib, 0, sizeof(fib));
	fib.ifindex = skb->ingress_ifindex;
	fib.l4_protocol = pkt->proto;
	fib.dport = pkt->dport;
	if (pkt->family == SB_AF_INET) {
		fib.family = SB_AF_INET;
		fib.ipv4_src = src->w[3];
		fib.ipv4_dst = dst->w[3];
	} else {
		fib.family = SB_AF_INET6;
		sb_addr_copy((union sb_addr *)fib.ipv6_src, src->w);
		sb_addr_copy((union sb_addr *)fib.ipv6_dst, dst->w);
	}
	ret = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return TC_ACT_OK;
	if (sb_tc_dec_ttl(skb, pkt))
		return TC_ACT_OK;
	return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
}

/* Makes the skb the len bytes of b->out and sends it back out of the interface it came in on. */
static __always_inline int sb_tc_send(struct __sk_buff *skb, const struct sb_reply_buf *b, int len)
{
	if (len <= 0 || len > SB_REPLY_MAX)
		return TC_ACT_SHOT;
	if (bpf_skb_change_tail(skb, len, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, b->out, len, BPF_F_RECOMPUTE_CSUM))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

/* Turns the skb into the refusal and sends it back out of the interface it came in on. */
static __always_inline int sb_tc_refuse(struct __sk_buff *skb, const struct sb_pkt *pkt)
{
	struct sb_reply_buf *b = sb_reply_scratch();

	if (!b || sb_reply_copy_orig(b, pkt, (void *)(long)skb->data, (void *)(long)skb->data_end))
		return TC_ACT_SHOT;
	return sb_tc_send(skb, b, sb_reply_build(b, pkt));
}

/* 1 when sb_xdp handed this frame over to be answered (SB_REPLY_MARK), clearing the mark; else 0. */
static __always_inline int sb_tc_take_reply_mark(struct __sk_buff *skb)
{
	__u32 *mark = (void *)(long)skb->data_meta;

	if ((void *)(mark + 1) > (void *)(long)skb->data || *mark != SB_REPLY_MARK)
		return 0;
	*mark = 0; /* the metadata may travel with the answer: nobody downstream must take it for a request */
	return 1;
}

/*
 * Without XDP metadata (SB_LOAD_F_NO_XDP_META): whether sb_xdp may have handed this frame over unmarked,
 * i.e. it came in on an interface where sb_xdp answers by tc (no SB_IFACE_F_XDP_TX); sb_tc_unmarked_reply
 * asks only for a frame that is one to answer (not TCP / UDP, or to a frontend).
 */
static __always_inline int sb_tc_maybe_handed_over(const struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct sb_iface_value *iface = bpf_map_lookup_elem(&sb_ifaces, &ifindex);

	return !iface || !(iface->flags & SB_IFACE_F_XDP_TX);
}

/*
 * The tc path of sb_xdp's generated replies: for a frame sb_xdp handed over, the same answer XDP_TX would
 * have sent (the ARP reply or Neighbor Advertisement, the RST or ICMP port unreachable), redirected to
 * the egress of the interface it came in on. -1 when the frame needs no answer here: what turns out to
 * need none any more (the announcement or the frontend went away in between), and, unmarked, every frame
 * sb_xdp did not hand over; it then goes on its way.
 */
static __noinline int sb_tc_reply(struct __sk_buff *skb)
{
	struct sb_reply_buf *b = sb_reply_scratch();
	struct sb_neigh_value *mac;
	struct sb_svc_value svc;
	union sb_addr target;
	struct sb_pkt pkt;
	__u8 l3[41];
	int len, action;

	if (!b)
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, l3, sizeof(l3)))
		__builtin_memset(l3, 0, sizeof(l3));
	len = sb_neigh_request_len(skb->protocol, l3[6], l3[40]);
	if (len) {
		if (len == SB_NEIGH_ARP_LEN ? bpf_skb_load_bytes(skb, 0, b->orig, SB_NEIGH_ARP_LEN)
					    : bpf_skb_load_bytes(skb, 0, b->orig, SB_NEIGH_NS_LEN))
			return -1;
		mac = sb_neigh_match(b, skb->ifindex, &target);
		if (!mac)
			return -1;
		action = sb_tc_send(skb, b, sb_neigh_build(b, mac, &target));
		if (action == TC_ACT_REDIRECT) {
			sb_stat(SB_STAT_NEIGH_ANSWERED);
			sb_stat(SB_STAT_REPLY_TC);
		}
		return action;
	}
	if (sb_tc_parse_quiet(skb, &pkt) != SB_PARSE_OK || !sb_svc_lookup(&pkt.dst, pkt.dport, pkt.proto, &svc))
		return -1;
	action = sb_tc_refuse(skb, &pkt);
	if (action == TC_ACT_REDIRECT)
		sb_stat(SB_STAT_REPLY_TC);
	return action;
}

/* sb_tc_unmarked_reply's answer for a TCP / UDP packet that is not one to answer: parsed, it goes on. */
#define SB_TC_GO_ON (-1)

/*
 * Without XDP metadata: answers what sb_xdp handed over unmarked and parses everything else once for the rest
 * of sb_tc_from_ext. A TCP / UDP packet to a frontend without any backend reaches tc untouched only when sb_xdp
 * refused it, so one frontend lookup per packet tells; translated packets, most of the traffic, pay only that
 * lookup. What is not TCP / UDP (ARP, Neighbor Solicitations) is answered by sb_tc_reply
 * where sb_xdp answers by tc. Returns the action, or SB_TC_GO_ON with *pkt parsed.
 */
static __always_inline int sb_tc_unmarked_reply(struct __sk_buff *skb, struct sb_pkt *pkt)
{
	struct sb_svc_value svc;
	int parsed, action;

	parsed = sb_tc_parse_quiet(skb, pkt);
	if (parsed != SB_PARSE_OK) {
		if (sb_tc_maybe_handed_over(skb)) {
			action = sb_tc_reply(skb);
			if (action >= 0)
				return action;
		}
		sb_stat(sb_parse_stat(parsed));
		sb_stat(SB_STAT_PASSED);
		return TC_ACT_OK;
	}
	/*
	 * Only a frontend sb_xdp refuses outright (no backend, none anywhere: sb_select's refusal): a translated
	 * packet whose backend address:port is itself a frontend (an externalIP on the node's address served by a
	 * hostNetwork pod on the same port) must go on to the stack, as it does with the mark.
	 */
	if (!sb_svc_lookup(&pkt->dst, pkt->dport, pkt->proto, &svc) || svc.backend_count ||
	    (svc.flags & SB_SVC_F_ANY_ENDPOINTS) || !sb_tc_maybe_handed_over(skb))
		return SB_TC_GO_ON;
	action = sb_tc_refuse(skb, pkt);
	if (action == TC_ACT_REDIRECT)
		sb_stat(SB_STAT_REPLY_TC);
	return action;
}

/*
 * A reply to a source-translated flow (backend -> node:port) becomes frontend -> client again and is
 * routed on; 1 if the packet was one (the verdict is in *action), 0 if not.
 */
static __noinline int sb_tc_snat_reverse(struct __sk_buff *skb, const struct sb_pkt *pkt,
					      const struct sb_config *cfg, int *action)
{
	const union sb_addr *node = sb_snat_node(cfg, pkt->family);
	union sb_addr client, frontend;
	struct sb_snat_value *v;
	__be16 client_port, frontend_port;

	if (!node || !sb_addr_eq(&pkt->dst, node))
		return 0;
	v = sb_snat_reply(pkt, cfg, sb_now());
	if (!v)
		return 0;
	client = v->client;
	frontend = v->frontend;
	client_port = v->client_port;
	frontend_port = v->frontend_port;
	if (sb_nat_skb(skb, pkt, SB_NAT_SRC, &frontend, frontend_port) ||
	    sb_nat_skb(skb, pkt, SB_NAT_DST, &client, client_port)) {
		sb_stat(SB_STAT_NAT_FAILED);
		*action = TC_ACT_SHOT;
		return 1;
	}
	sb_stat(SB_STAT_SNAT_REVERSED);
	*action = sb_tc_route(skb, pkt, &frontend, &client);
	return 1;
}

SEC("tc")
int sb_tc_from_pod(struct __sk_buff *skb)
{
	struct sb_svc_counters *counters = NULL;
	const union sb_addr *snat_node;
	union sb_addr frontend;
	struct sb_selection sel;
	struct sb_pkt pkt;
	int verdict, action;

	if (sb_tc_parse(skb, &pkt) != SB_PARSE_OK)
		return TC_ACT_OK;
	if (sb_tc_revnat(skb, &pkt, &frontend))
		return sb_tc_route(skb, &pkt, &frontend, &pkt.dst);
	if (sb_tc_snat_reverse(skb, &pkt, sb_config_get(), &action))
		return action;
	verdict = sb_service_decide(&pkt, &sel, &counters, SB_SNAT_HAIRPIN);
	switch (verdict) {
	case -1:
		return TC_ACT_OK;
	case SB_VERDICT_FORWARD:
		if (sb_nat_skb(skb, &pkt, SB_NAT_DST, &sel.backend.addr, sel.backend.port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return TC_ACT_SHOT;
		}
		if (sel.remap_port && sb_nat_skb(skb, &pkt, SB_NAT_SRC, &pkt.src, sel.remap_port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return TC_ACT_SHOT;
		}
		if (!sel.snat_port)
			return TC_ACT_OK;
		/* hairpin: the pod balanced to itself gets the flow from the node, and answers it there */
		snat_node = sb_snat_node(sb_config_get(), pkt.family);
		if (!snat_node || sb_nat_skb(skb, &pkt, SB_NAT_SRC, snat_node, sel.snat_port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return TC_ACT_SHOT;
		}
		return sb_tc_route(skb, &pkt, snat_node, &sel.backend.addr);
	case SB_VERDICT_REFUSE:
		return sb_tc_refuse(skb, &pkt);
	default:
		return TC_ACT_SHOT;
	}
}

/*
 * tc ingress of the external interface, behind sb_xdp: the node's half of source translation, and the
 * replies sb_xdp hands over. Frames sb_xdp marked are answered (sb_tc_reply); replies of
 * source-translated flows go back to their clients; translated forward frames sb_xdp handed on are
 * routed to the backend's node.
 */
SEC("tc")
int sb_tc_from_ext(struct __sk_buff *skb)
{
	struct sb_config *cfg;
	const union sb_addr *node;
	struct sb_pkt pkt;
	int action;

	if (sb_load_flags & SB_LOAD_F_NO_XDP_META) {
		action = sb_tc_unmarked_reply(skb, &pkt);
		if (action != SB_TC_GO_ON)
			return action;
	} else {
		if (sb_tc_take_reply_mark(skb)) {
			action = sb_tc_reply(skb);
			return action < 0 ? TC_ACT_OK : action;
		}
		if (sb_tc_parse(skb, &pkt) != SB_PARSE_OK)
			return TC_ACT_OK;
	}
	cfg = sb_config_get();
	if (sb_tc_snat_reverse(skb, &pkt, cfg, &action))
		return action;
	node = sb_snat_node(cfg, pkt.family);
	if (node && sb_addr_eq(&pkt.src, node) && sb_snat_is_forward(&pkt))
		return sb_tc_route(skb, &pkt, &pkt.src, &pkt.dst);
	return TC_ACT_OK;
}

SEC("tc")
int sb_tc_to_client(struct __sk_buff *skb)
{
	struct sb_pkt pkt;

	if (sb_tc_parse(skb, &pkt) != SB_PARSE_OK)
		return TC_ACT_OK;
	if (!sb_tc_revnat(skb, &pkt, NULL))
		sb_stat(SB_STAT_PASSED);
	return TC_ACT_OK;
}

/* ---------------------------------------------------------------------------------------------- */
/* Socket hooks                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

/* The address of a sock_addr context as a union sb_addr (IPv4 becomes v4-mapped). */
static __always_inline void sb_sock_load(const struct bpf_sock_addr *ctx, int v6, union sb_addr *addr)
{
	if (!v6) {
		sb_addr_set_v4(addr, ctx->user_ip4);
		return;
	}
	addr->w[0] = ctx->user_ip6[0];
	addr->w[1] = ctx->user_ip6[1];
	addr->w[2] = ctx->user_ip6[2];
	addr->w[3] = ctx->user_ip6[3];
}

static __always_inline void sb_sock_store(struct bpf_sock_addr *ctx, int v6, const union sb_addr *addr, __be16 port)
{
	if (!v6) {
		ctx->user_ip4 = addr->w[3];
	} else {
		ctx->user_ip6[0] = addr->w[0];
		ctx->user_ip6[1] = addr->w[1];
		ctx->user_ip6[2] = addr->w[2];
		ctx->user_ip6[3] = addr->w[3];
	}
	ctx->user_port = port;
}

/* connect/sendmsg: 1 lets the call proceed (translated or not), 0 refuses it with ECONNREFUSED. */
static __always_inline int sb_sock_forward(struct bpf_sock_addr *ctx, int v6)
{
	__be16 port = (__be16)ctx->user_port;
	union sb_addr addr;

	sb_sock_load(ctx, v6, &addr);
	switch (sb_sock_xlate(ctx, &addr, &port)) {
	case SB_SOCK_XLATED:
		sb_sock_store(ctx, v6, &addr, port);
		return 1;
	case SB_SOCK_REFUSE:
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	default:
		return 1;
	}
}

/* recvmsg/getpeername: restore the frontend as the peer. Always 1 (these hooks must not fail). */
static __always_inline int sb_sock_reverse(struct bpf_sock_addr *ctx, int v6)
{
	__be16 port = (__be16)ctx->user_port;
	union sb_addr addr;

	sb_sock_load(ctx, v6, &addr);
	if (sb_sock_revxlate(ctx, &addr, &port))
		sb_sock_store(ctx, v6, &addr, port);
	return 1;
}

SEC("cgroup/connect4")
int sb_sock_connect4(struct bpf_sock_addr *ctx)
{
	return sb_sock_forward(ctx, 0);
}

SEC("cgroup/connect6")
int sb_sock_connect6(struct bpf_sock_addr *ctx)
{
	return sb_sock_forward(ctx, 1);
}

SEC("cgroup/sendmsg4")
int sb_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sb_sock_forward(ctx, 0);
}

SEC("cgroup/sendmsg6")
int sb_sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sb_sock_forward(ctx, 1);
}

SEC("cgroup/recvmsg4")
int sb_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sb_sock_reverse(ctx, 0);
}

SEC("cgroup/recvmsg6")
int sb_sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	return sb_sock_reverse(ctx, 1);
}

SEC("cgroup/getpeername4")
int sb_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return sb_sock_reverse(ctx, 0);
}

SEC("cgroup/getpeername6")
int sb_sock_getpeername6(struct bpf_sock_addr *ctx)
{
	return sb_sock_reverse(ctx, 1);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
