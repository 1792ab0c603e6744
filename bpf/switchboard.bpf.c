// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * switchboard: the service datapath. Each program is a thin composition of the helpers in
 * include/sb_*.h for one hook; the map ABI is include/sb_maps.h, documented in bpf/README.md.
 *
 *   sb_xdp            XDP on the node's external interface: frontends reached from outside
 *                     (NodePort, LB IP, externalIP, ClusterIP routed to the node) -> DNAT, then
 *                     XDP_PASS so the kernel routes to the pod; refusals answered with XDP_TX.
 *   sb_tc_from_pod    tc ingress of the host side of each pod veth (packets leaving a pod):
 *                     replies of translated flows get their source restored to the frontend;
 *                     pod -> frontend packets not already translated by the socket hooks get DNAT.
 *   sb_tc_to_client   tc, reverse translation only: egress of the host side of a pod veth (replies
 *                     from backends on other nodes coming back to a client pod), or ingress of the
 *                     external interface.
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
 * Looks up the frontend of a parsed packet and decides; on FORWARD records the flow in conntrack.
 * Returns -1 when the packet is not for a frontend (pass it untouched), else the verdict.
 */
static __always_inline int sb_service_decide(const struct sb_pkt *pkt, struct sb_selection *sel,
					     struct sb_svc_counters **counters)
{
	struct sb_svc_value svc;
	struct sb_config *cfg;
	__u64 now;
	int verdict;

	if (!sb_svc_lookup(&pkt->dst, pkt->dport, pkt->proto, &svc)) {
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
	now = bpf_ktime_get_ns();
	verdict = sb_select(pkt, &svc, cfg, now, sel);
	if (verdict == SB_VERDICT_FORWARD && sel->via != SB_VIA_CT)
		sb_ct_create(pkt, &sel->backend, sel->backend_id, svc.svc_id, now);
	sb_count_verdict(*counters, verdict, sel->via);
	return verdict;
}

/* The frontend to restore as the source of a reply, from its REPLY conntrack entry; 0 if none. */
static __always_inline int sb_revnat_lookup(const struct sb_pkt *pkt, union sb_addr *addr, __be16 *port)
{
	struct sb_ct_value *ct;
	struct sb_ct_key key;

	sb_ct_key_reply(&key, pkt);
	ct = sb_ct_lookup(&key, pkt, sb_config_get(), bpf_ktime_get_ns());
	if (!ct)
		return 0;
	*addr = ct->nat_addr;
	*port = ct->nat_port;
	return 1;
}

/* ---------------------------------------------------------------------------------------------- */
/* XDP                                                                                             */
/* ---------------------------------------------------------------------------------------------- */

/* Turns the frame into the refusal (RST / ICMP unreachable) and sends it back out. */
static __always_inline int sb_xdp_refuse(struct xdp_md *ctx, const struct sb_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sb_reply_buf *b = sb_reply_scratch();
	int len, delta;

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

SEC("xdp")
int sb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct sb_svc_counters *counters = NULL;
	struct sb_selection sel;
	struct sb_pkt pkt;
	int verdict;

	verdict = sb_parse(data, data_end, &pkt);
	if (verdict != SB_PARSE_OK) {
		sb_stat(sb_parse_stat(verdict));
		sb_stat(SB_STAT_PASSED);
		return XDP_PASS;
	}
	verdict = sb_service_decide(&pkt, &sel, &counters);
	switch (verdict) {
	case -1:
		return XDP_PASS;
	case SB_VERDICT_FORWARD:
		if (sb_nat_xdp(data, data_end, &pkt, SB_NAT_DST, &sel.backend.addr, sel.backend.port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return XDP_DROP;
		}
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

/* Makes the headers linear and parses them; pkt->len is the whole skb length. */
static __always_inline int sb_tc_parse(struct __sk_buff *skb, struct sb_pkt *pkt)
{
	__u32 want = skb->len < SB_HDR_MAX ? skb->len : SB_HDR_MAX;
	int ret;

	bpf_skb_pull_data(skb, want);
	ret = sb_parse((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);
	pkt->len = skb->len;
	if (ret != SB_PARSE_OK) {
		sb_stat(sb_parse_stat(ret));
		sb_stat(SB_STAT_PASSED);
	}
	return ret;
}

/* Reverse translation of a reply; 1 if the packet was one (and was rewritten), 0 if not. */
static __always_inline int sb_tc_revnat(struct __sk_buff *skb, const struct sb_pkt *pkt)
{
	union sb_addr addr;
	__be16 port;

	if (!sb_revnat_lookup(pkt, &addr, &port))
		return 0;
	if (sb_nat_skb(skb, pkt, SB_NAT_SRC, &addr, port))
		sb_stat(SB_STAT_NAT_FAILED);
	else
		sb_stat(SB_STAT_REVNAT);
	return 1;
}

/* Turns the skb into the refusal and sends it back out of the interface it came in on. */
static __always_inline int sb_tc_refuse(struct __sk_buff *skb, const struct sb_pkt *pkt)
{
	struct sb_reply_buf *b = sb_reply_scratch();
	int len;

	if (!b || sb_reply_copy_orig(b, pkt, (void *)(long)skb->data, (void *)(long)skb->data_end))
		return TC_ACT_SHOT;
	len = sb_reply_build(b, pkt);
	if (len <= 0 || len > SB_REPLY_MAX)
		return TC_ACT_SHOT;
	if (bpf_skb_change_tail(skb, len, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, b->out, len, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

SEC("tc")
int sb_tc_from_pod(struct __sk_buff *skb)
{
	struct sb_svc_counters *counters = NULL;
	struct sb_selection sel;
	struct sb_pkt pkt;
	int verdict;

	if (sb_tc_parse(skb, &pkt) != SB_PARSE_OK)
		return TC_ACT_OK;
	if (sb_tc_revnat(skb, &pkt))
		return TC_ACT_OK;
	verdict = sb_service_decide(&pkt, &sel, &counters);
	switch (verdict) {
	case -1:
		return TC_ACT_OK;
	case SB_VERDICT_FORWARD:
		if (sb_nat_skb(skb, &pkt, SB_NAT_DST, &sel.backend.addr, sel.backend.port)) {
			sb_stat(SB_STAT_NAT_FAILED);
			SB_COUNT(counters, dropped_other);
			return TC_ACT_SHOT;
		}
		return TC_ACT_OK;
	case SB_VERDICT_REFUSE:
		return sb_tc_refuse(skb, &pkt);
	default:
		return TC_ACT_SHOT;
	}
}

SEC("tc")
int sb_tc_to_client(struct __sk_buff *skb)
{
	struct sb_pkt pkt;

	if (sb_tc_parse(skb, &pkt) != SB_PARSE_OK)
		return TC_ACT_OK;
	if (!sb_tc_revnat(skb, &pkt))
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
