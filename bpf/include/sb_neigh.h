/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_neigh.h: answering ARP requests and IPv6 Neighbor Solicitations for the addresses this node
 * announces (sb_neigh: LoadBalancer ingress IPs), so a client on the same segment reaches them with
 * no route, as MetalLB's layer-2 mode does. Only an entry for (target, ingress ifindex) is answered;
 * anything else goes on untouched. As for refusals (sb_reply.h), the request's headers are copied to
 * the per-CPU scratch buffer, the answer is built there, and the frame is resized and overwritten with
 * it: sb_xdp (sb_neigh_answer) sends it back out with XDP_TX, or, on an interface where XDP_TX does
 * not reach the wire, hands the request to sb_tc_from_ext (sb_tc_reply), which sends the same answer
 * with a redirect to the interface's egress.
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
#include "sb_reply.h"

#define SB_ARPHRD_ETHER   1
#define SB_ARPOP_REQUEST  1
#define SB_ARPOP_REPLY    2
#define SB_IPPROTO_ICMPV6 58
#define SB_ND_NS          135
#define SB_ND_NA          136
#define SB_ND_OPT_TLLA    2
#define SB_NA_F_SOLICITED bpf_htonl(0x40000000)
#define SB_NA_F_OVERRIDE  bpf_htonl(0x20000000)

#define SB_NEIGH_ARP_LEN (ETH_HLEN + 28)      /* an ARP request, and its reply: 42 */
#define SB_NEIGH_NS_LEN  (ETH_HLEN + 40 + 24) /* the fixed part of a solicitation (options not needed): 78 */
#define SB_NEIGH_NA_LEN  (ETH_HLEN + 40 + 32) /* the advertisement, one link-layer address option: 86 */

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

/*
 * The answer to the request copied to b->orig (SB_NEIGH_ARP_LEN bytes of an ARP frame, or
 * SB_NEIGH_NS_LEN of an IPv6 frame whose ICMPv6 type is a solicitation) arriving on ifindex: the MAC to
 * answer with, with the target in *target; NULL when it is not answered here (counted as ignored, but
 * for ARP that is not an Ethernet/IPv4 request).
 */
static __always_inline struct sb_neigh_value *sb_neigh_match(const struct sb_reply_buf *b, __u32 ifindex,
							      union sb_addr *target)
{
	struct sb_neigh_value *mac;

	if (b->orig[12] == 0x08 && b->orig[13] == 0x06) {
		const struct sb_arp *arp = (const void *)(b->orig + ETH_HLEN);

		if (arp->hrd != bpf_htons(SB_ARPHRD_ETHER) || arp->pro != bpf_htons(ETH_P_IP) ||
		    arp->hln != ETH_ALEN || arp->pln != 4 || arp->op != bpf_htons(SB_ARPOP_REQUEST))
			return NULL;
		__builtin_memcpy(&target->w[3], arp->tpa, 4);
		sb_addr_set_v4(target, target->w[3]);
		/* a gratuitous request announces the sender's own address: nothing to answer */
		mac = __builtin_memcmp(arp->spa, arp->tpa, 4) ? sb_neigh_lookup(target, ifindex) : NULL;
	} else {
		const struct ipv6hdr *ip6 = (const void *)(b->orig + ETH_HLEN);
		const struct sb_nd *nd = (const void *)(ip6 + 1);

		if (ip6->hop_limit != 255 || nd->code != 0 ||
		    (nd->target[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000)) {
			sb_stat(SB_STAT_NEIGH_IGNORED);
			return NULL;
		}
		sb_addr_copy(target, nd->target);
		mac = sb_neigh_lookup(target, ifindex);
	}
	if (!mac)
		sb_stat(SB_STAT_NEIGH_IGNORED);
	return mac;
}

/* The ARP reply to the request in b->orig, built in b->out; its length. */
static __always_inline int sb_neigh_build_arp(struct sb_reply_buf *b, const __u8 *mac, const union sb_addr *target)
{
	const struct sb_arp *req = (const void *)(b->orig + ETH_HLEN);
	struct sb_arp *arp = (void *)(b->out + ETH_HLEN);

	__builtin_memcpy(b->out, b->orig + ETH_ALEN, ETH_ALEN); /* to the requester */
	__builtin_memcpy(b->out + ETH_ALEN, mac, ETH_ALEN);
	b->out[12] = 0x08;
	b->out[13] = 0x06;
	__builtin_memcpy(arp, req, 6); /* hrd, pro, hln, pln */
	arp->op = bpf_htons(SB_ARPOP_REPLY);
	__builtin_memcpy(arp->sha, mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, &target->w[3], 4);
	__builtin_memcpy(arp->tha, req->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, req->spa, 4);
	return SB_NEIGH_ARP_LEN;
}

/*
 * The Neighbor Advertisement answering the solicitation in b->orig (solicited, override, with the
 * target link-layer address option; to all nodes when the solicitation came from the unspecified
 * address, i.e. duplicate address detection), built in b->out; its length.
 */
static __always_inline int sb_neigh_build_na(struct sb_reply_buf *b, const __u8 *mac, const union sb_addr *target)
{
	const struct ipv6hdr *req = (const void *)(b->orig + ETH_HLEN);
	struct ipv6hdr *ip6 = (void *)(b->out + ETH_HLEN);
	struct sb_nd *nd = (void *)(ip6 + 1);
	union sb_addr dst;
	__be32 flags;
	__u64 sum;

	sb_addr_copy(&dst, req->saddr.in6_u.u6_addr32);
	flags = SB_NA_F_OVERRIDE | SB_NA_F_SOLICITED;
	__builtin_memcpy(b->out, b->orig + ETH_ALEN, ETH_ALEN);
	if (!(dst.w[0] | dst.w[1] | dst.w[2] | dst.w[3])) {
		/* RFC 4861 7.2.4: to DAD, answer all-nodes, not solicited */
		dst.w[0] = bpf_htonl(0xff020000);
		dst.w[3] = bpf_htonl(1);
		flags = SB_NA_F_OVERRIDE;
		b->out[0] = 0x33;
		b->out[1] = 0x33;
		b->out[2] = 0;
		b->out[3] = 0;
		b->out[4] = 0;
		b->out[5] = 1;
	}
	__builtin_memcpy(b->out + ETH_ALEN, mac, ETH_ALEN);
	b->out[12] = 0x86;
	b->out[13] = 0xdd;

	__builtin_memset(ip6, 0, sizeof(*ip6));
	ip6->version = 6;
	ip6->payload_len = bpf_htons(sizeof(*nd));
	ip6->nexthdr = SB_IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	sb_addr_copy((union sb_addr *)ip6->saddr.in6_u.u6_addr32, target->w);
	sb_addr_copy((union sb_addr *)ip6->daddr.in6_u.u6_addr32, dst.w);
	nd->type = SB_ND_NA;
	nd->code = 0;
	nd->check = 0;
	nd->flags = flags;
	sb_addr_copy((union sb_addr *)nd->target, target->w);
	nd->opt_type = SB_ND_OPT_TLLA;
	nd->opt_len = 1;
	__builtin_memcpy(nd->opt_mac, mac, ETH_ALEN);

	/* pseudo-header (RFC 8200 8.1): source, destination, upper-layer length, next header */
	sum = sb_csum_add_buf(0, target->b, 16);
	sum = sb_csum_add_buf(sum, dst.b, 16);
	sum += bpf_htons(sizeof(*nd)) + bpf_htons(SB_IPPROTO_ICMPV6);
	sum = sb_csum_add_buf(sum, nd, sizeof(*nd));
	nd->check = ~sb_csum_fold(sum);
	return SB_NEIGH_NA_LEN;
}

/* Builds the answer to the request in b->orig with mac; its length. */
static __always_inline int sb_neigh_build(struct sb_reply_buf *b, const struct sb_neigh_value *mac,
					  const union sb_addr *target)
{
	if (b->orig[12] == 0x08 && b->orig[13] == 0x06)
		return sb_neigh_build_arp(b, mac->mac, target);
	return sb_neigh_build_na(b, mac->mac, target);
}

/*
 * How many bytes of a frame make a request to look at, from its ethertype and, for IPv6, the next header
 * and the first byte after a 40-byte header (0 when the frame is shorter): SB_NEIGH_ARP_LEN for ARP,
 * SB_NEIGH_NS_LEN for an IPv6 Neighbor Solicitation, 0 for anything else. sb_xdp asks this of every
 * frame, so nothing is copied before it says so.
 */
static __always_inline int sb_neigh_request_len(__be16 proto, __u8 nexthdr, __u8 icmp_type)
{
	if (proto == bpf_htons(ETH_P_ARP))
		return SB_NEIGH_ARP_LEN;
	if (proto == bpf_htons(ETH_P_IPV6) && nexthdr == SB_IPPROTO_ICMPV6 && icmp_type == SB_ND_NS)
		return SB_NEIGH_NS_LEN;
	return 0;
}

#endif
