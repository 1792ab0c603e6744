/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_neigh.h: answering ARP requests and IPv6 Neighbor Solicitations for the addresses this node
 * announces (sb_neigh: LoadBalancer ingress IPs), so a client on the same segment reaches them with
 * no route, as MetalLB's layer-2 mode does. The request frame is rewritten in place into the answer
 * and sent back out of the interface it came in on (XDP_TX). Only an entry for (target, ingress
 * ifindex) is answered; anything else returns -1 and goes on untouched.
 */
#ifndef SWITCHBOARD_SB_NEIGH_H
#define SWITCHBOARD_SB_NEIGH_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sb_maps.h"
#include "sb_parse.h"
#include "sb_csum.h"
#include "sb_stats.h"

#define SB_ARPHRD_ETHER   1
#define SB_ARPOP_REQUEST  1
#define SB_ARPOP_REPLY    2
#define SB_IPPROTO_ICMPV6 58
#define SB_ND_NS          135
#define SB_ND_NA          136
#define SB_ND_OPT_TLLA    2
#define SB_NA_F_SOLICITED bpf_htonl(0x40000000)
#define SB_NA_F_OVERRIDE  bpf_htonl(0x20000000)

/* An Ethernet/IPv4 ARP packet, 28 bytes (RFC 826). */
struct sb_arp {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

/* A Neighbor Solicitation / Advertisement with one link-layer address option, 32 bytes (RFC 4861). */
struct sb_nd {
	__u8 type;
	__u8 code;
	__sum16 check;
	__be32 flags; /* NA: R, S, O; NS: reserved */
	__be32 target[4];
	__u8 opt_type;
	__u8 opt_len; /* in units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
};

/* The MAC to answer with when addr is announced on ifindex; NULL when it is not. */
static __always_inline struct sb_neigh_value *sb_neigh_lookup(const union sb_addr *addr, __u32 ifindex)
{
	struct sb_neigh_key key = { .addr = *addr, .ifindex = ifindex };

	return bpf_map_lookup_elem(&sb_neigh, &key);
}

/* An ARP request for an announced address becomes the reply; XDP_TX, or -1 to go on. */
static __always_inline int sb_neigh_arp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct sb_arp *arp = (void *)(eth + 1);
	struct sb_neigh_value *mac;
	union sb_addr target;
	__u8 spa[4];

	if ((void *)(arp + 1) > data_end)
		return -1;
	if (arp->hrd != bpf_htons(SB_ARPHRD_ETHER) || arp->pro != bpf_htons(ETH_P_IP) || arp->hln != ETH_ALEN ||
	    arp->pln != 4 || arp->op != bpf_htons(SB_ARPOP_REQUEST))
		return -1;
	__builtin_memcpy(&target.w[3], arp->tpa, 4);
	sb_addr_set_v4(&target, target.w[3]);
	/* a gratuitous request announces the sender's own address: nothing to answer */
	mac = __builtin_memcmp(arp->spa, arp->tpa, 4) ? sb_neigh_lookup(&target, ctx->ingress_ifindex) : NULL;
	if (!mac) {
		sb_stat(SB_STAT_NEIGH_IGNORED);
		return -1;
	}
	__builtin_memcpy(spa, arp->spa, 4);
	arp->op = bpf_htons(SB_ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, spa, 4);
	__builtin_memcpy(arp->sha, mac->mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, &target.w[3], 4);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac->mac, ETH_ALEN);
	sb_stat(SB_STAT_NEIGH_ANSWERED);
	return XDP_TX;
}

/*
 * A Neighbor Solicitation for an announced address becomes the Neighbor Advertisement (solicited,
 * override, with the target link-layer address option; to all nodes when the solicitation came from
 * the unspecified address, i.e. duplicate address detection); XDP_TX, or -1 to go on.
 */
static __always_inline int sb_neigh_ns(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct sb_nd *nd = (void *)(ip6 + 1);
	struct sb_neigh_value *mac;
	union sb_addr target, dst;
	__u8 peer[ETH_ALEN];
	__be32 flags;
	__u64 sum;
	int delta;

	/* the fixed part of the solicitation: options are not needed to answer it */
	if ((void *)nd + offsetof(struct sb_nd, opt_type) > data_end)
		return -1;
	if (ip6->nexthdr != SB_IPPROTO_ICMPV6 || nd->type != SB_ND_NS)
		return -1;
	if (ip6->hop_limit != 255 || nd->code != 0 || (nd->target[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000)) {
		sb_stat(SB_STAT_NEIGH_IGNORED);
		return -1;
	}
	sb_addr_copy(&target, nd->target);
	mac = sb_neigh_lookup(&target, ctx->ingress_ifindex);
	if (!mac) {
		sb_stat(SB_STAT_NEIGH_IGNORED);
		return -1;
	}
	__builtin_memcpy(peer, eth->h_source, ETH_ALEN);
	sb_addr_copy(&dst, ip6->saddr.in6_u.u6_addr32);
	flags = SB_NA_F_OVERRIDE | SB_NA_F_SOLICITED;
	if (!(dst.w[0] | dst.w[1] | dst.w[2] | dst.w[3])) {
		/* RFC 4861 7.2.4: to DAD, answer all-nodes, not solicited */
		dst.w[0] = bpf_htonl(0xff020000);
		dst.w[3] = bpf_htonl(1);
		flags = SB_NA_F_OVERRIDE;
		peer[0] = 0x33;
		peer[1] = 0x33;
		peer[2] = 0;
		peer[3] = 0;
		peer[4] = 0;
		peer[5] = 1;
	}

	/* the answer is exactly Ethernet + IPv6 + one 32-byte advertisement */
	delta = (int)(sizeof(*eth) + sizeof(*ip6) + sizeof(*nd)) - (int)(data_end - data);
	if (delta && bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6 = (void *)(eth + 1);
	nd = (void *)(ip6 + 1);
	if ((void *)(nd + 1) > data_end)
		return XDP_DROP; /* cannot happen after the adjustment; the frame is no longer the request */

	__builtin_memcpy(eth->h_dest, peer, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac->mac, ETH_ALEN);
	ip6->payload_len = bpf_htons(sizeof(*nd));
	ip6->hop_limit = 255;
	sb_addr_copy((union sb_addr *)ip6->saddr.in6_u.u6_addr32, target.w);
	sb_addr_copy((union sb_addr *)ip6->daddr.in6_u.u6_addr32, dst.w);
	nd->type = SB_ND_NA;
	nd->code = 0;
	nd->check = 0;
	nd->flags = flags;
	nd->opt_type = SB_ND_OPT_TLLA;
	nd->opt_len = 1;
	__builtin_memcpy(nd->opt_mac, mac->mac, ETH_ALEN);

	/* pseudo-header (RFC 8200 8.1): source, destination, upper-layer length, next header */
	sum = sb_csum_add_buf(0, target.b, 16);
	sum = sb_csum_add_buf(sum, dst.b, 16);
	sum += bpf_htons(sizeof(*nd)) + bpf_htons(SB_IPPROTO_ICMPV6);
	sum = sb_csum_add_buf(sum, nd, sizeof(*nd));
	nd->check = ~sb_csum_fold(sum);
	sb_stat(SB_STAT_NEIGH_ANSWERED);
	return XDP_TX;
}

/* ARP / NDP answering for sb_xdp: XDP_TX when the frame was answered, -1 when it goes on. */
static __noinline int sb_neigh_answer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return sb_neigh_arp(ctx);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return sb_neigh_ns(ctx);
	return -1;
}

#endif
