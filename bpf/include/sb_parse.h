/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_parse.h: Ethernet / IPv4 / IPv6 / TCP / UDP parsing shared by the XDP and tc programs.
 *
 * Only the plain shapes are accepted: IPv4 without options and not a fragment, IPv6 whose next
 * header is directly TCP or UDP. Everything else is reported with a reason and passes untouched
 * (invariant 2). Because of that, the L3 header is always at SB_L3_OFF and the L4 header at a fixed
 * offset per family, which the NAT and reply code rely on.
 */
#ifndef SWITCHBOARD_SB_PARSE_H
#define SWITCHBOARD_SB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#include "sb_maps.h"

#define SB_L3_OFF     ETH_HLEN
#define SB_L4_OFF_V4  (ETH_HLEN + 20)
#define SB_L4_OFF_V6  (ETH_HLEN + 40)
/* Enough linear bytes for every header we read: Ethernet + IPv6 + TCP without options. */
#define SB_HDR_MAX    (SB_L4_OFF_V6 + 20)

#define SB_TCP_FIN 0x01
#define SB_TCP_SYN 0x02
#define SB_TCP_RST 0x04
#define SB_TCP_ACK 0x10

/* A parsed packet: the tuple as on the wire plus where its fields are. */
struct sb_pkt {
	union sb_addr src;
	union sb_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;     /* SB_AF_INET / SB_AF_INET6 */
	__u8 tcp_flags;  /* SB_TCP_* (TCP only) */
	__u8 pad;
	__u16 l4_off;    /* SB_L4_OFF_V4 / SB_L4_OFF_V6 */
	__u16 csum_off;  /* offset of the L4 checksum field */
	__u32 len;       /* whole frame length */
};

enum sb_parse_result {
	SB_PARSE_OK = 0,
	SB_PARSE_NOT_IP,
	SB_PARSE_FRAGMENT,
	SB_PARSE_IP_OPTIONS,
	SB_PARSE_IPV6_EXT,
	SB_PARSE_NOT_TCP_UDP,
	SB_PARSE_TRUNCATED,
};

static __always_inline void sb_addr_set_v4(union sb_addr *a, __be32 v4)
{
	a->w[0] = 0;
	a->w[1] = 0;
	a->w[2] = bpf_htonl(0x0000ffff);
	a->w[3] = v4;
}

static __always_inline void sb_addr_copy(union sb_addr *to, const __be32 *from)
{
	to->w[0] = from[0];
	to->w[1] = from[1];
	to->w[2] = from[2];
	to->w[3] = from[3];
}

static __always_inline int sb_addr_eq(const union sb_addr *a, const union sb_addr *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->w[2] == b->w[2] && a->w[3] == b->w[3];
}

/* Parse the frame in [data, data_end); fills pkt on SB_PARSE_OK. */
static __always_inline int sb_parse(void *data, void *data_end, struct sb_pkt *pkt)
{
	struct ethhdr *eth = data;
	void *l4;

	if ((void *)(eth + 1) > data_end)
		return SB_PARSE_NOT_IP;
	pkt->len = data_end - data;
	pkt->tcp_flags = 0;
	pkt->pad = 0;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return SB_PARSE_TRUNCATED;
		if (ip->version != 4)
			return SB_PARSE_NOT_IP;
		if (ip->ihl != 5)
			return SB_PARSE_IP_OPTIONS;
		if (ip->frag_off & bpf_htons(0x3fff)) /* MF or a fragment offset */
			return SB_PARSE_FRAGMENT;
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
			return SB_PARSE_NOT_TCP_UDP;
		sb_addr_set_v4(&pkt->src, ip->saddr);
		sb_addr_set_v4(&pkt->dst, ip->daddr);
		pkt->proto = ip->protocol;
		pkt->family = SB_AF_INET;
		pkt->l4_off = SB_L4_OFF_V4;
		l4 = ip + 1;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return SB_PARSE_TRUNCATED;
		if (ip6->nexthdr == 44 /* fragment header */)
			return SB_PARSE_FRAGMENT;
		if (ip6->nexthdr == 0 || ip6->nexthdr == 43 || ip6->nexthdr == 60 || ip6->nexthdr == 51 ||
		    ip6->nexthdr == 50 || ip6->nexthdr == 135)
			return SB_PARSE_IPV6_EXT;
		if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
			return SB_PARSE_NOT_TCP_UDP;
		sb_addr_copy(&pkt->src, ip6->saddr.in6_u.u6_addr32);
		sb_addr_copy(&pkt->dst, ip6->daddr.in6_u.u6_addr32);
		pkt->proto = ip6->nexthdr;
		pkt->family = SB_AF_INET6;
		pkt->l4_off = SB_L4_OFF_V6;
		l4 = ip6 + 1;
	} else {
		return SB_PARSE_NOT_IP;
	}

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return SB_PARSE_TRUNCATED;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		pkt->csum_off = pkt->l4_off + 16;
	} else {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return SB_PARSE_TRUNCATED;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		pkt->csum_off = pkt->l4_off + 6;
	}
	return SB_PARSE_OK;
}

static __always_inline __u32 sb_parse_stat(int result)
{
	switch (result) {
	case SB_PARSE_FRAGMENT:
		return SB_STAT_FRAGMENT;
	case SB_PARSE_IP_OPTIONS:
		return SB_STAT_IP_OPTIONS;
	case SB_PARSE_IPV6_EXT:
		return SB_STAT_IPV6_EXT;
	case SB_PARSE_NOT_TCP_UDP:
		return SB_STAT_NOT_TCP_UDP;
	case SB_PARSE_TRUNCATED:
		return SB_STAT_TRUNCATED;
	default:
		return SB_STAT_NOT_IP;
	}
}

#endif
