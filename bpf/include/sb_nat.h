/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_nat.h: rewriting one end of a flow (destination for DNAT, source for the reverse translation of
 * replies) with the IPv4 header checksum and the L4 checksum kept right.
 *
 * XDP: manual RFC 1624 incremental updates on the frame (wire frames carry full checksums).
 * tc:  bpf_l3_csum_replace / bpf_l4_csum_replace, which also handle CHECKSUM_PARTIAL skbs (veth):
 *      there the L4 field holds the folded pseudo-header sum, so address changes (part of the
 *      pseudo header) pass BPF_F_PSEUDO_HDR and port changes do not.
 * UDP over IPv4 with checksum 0 (none) keeps 0; a computed 0 is sent as 0xffff.
 * CHECKSUM_COMPLETE skbs (tc on a physical NIC) stay consistent: every rewrite changes a field and
 * its covering checksum together, so the helpers leave skb->csum as it must be.
 */
#ifndef SWITCHBOARD_SB_NAT_H
#define SWITCHBOARD_SB_NAT_H

#include <stddef.h>
#include <linux/errno.h>
#include "sb_parse.h"
#include "sb_csum.h"

enum sb_nat_end {
	SB_NAT_DST = 0, /* DNAT: frontend -> backend */
	SB_NAT_SRC = 1, /* reverse: backend -> frontend */
};

/* L4 part of the XDP rewrite: the port and the checksum (diff already holds the address change). */
static __always_inline int sb_nat_xdp_l4(void *l4, void *data_end, const struct sb_pkt *pkt, int end, __be16 port,
					 __u64 diff)
{
	__be16 *ports = l4; /* source, destination: the first 4 bytes of TCP and UDP alike */
	__u16 *check, sum;

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return -1;
		check = &tcp->check;
	} else {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return -1;
		check = &udp->check;
	}
	diff = sb_csum_diff16(diff, ports[end == SB_NAT_DST], port);
	ports[end == SB_NAT_DST] = port;
	if (pkt->proto == IPPROTO_UDP && *check == 0 && pkt->family == SB_AF_INET)
		return 0; /* no checksum */
	sum = sb_csum_apply(*check, diff);
	*check = (sum == 0 && pkt->proto == IPPROTO_UDP) ? 0xffff : sum;
	return 0;
}

/* Rewrites one end of the frame in [data, data_end) to addr:port. Returns 0, or -1 if too short. */
static __always_inline int sb_nat_xdp(void *data, void *data_end, const struct sb_pkt *pkt, int end,
				      const union sb_addr *addr, __be16 port)
{
	__u64 diff = 0;

	if (pkt->family == SB_AF_INET) {
		struct iphdr *ip = data + SB_L3_OFF;
		__be32 *field;

		if ((void *)(ip + 1) > data_end)
			return -1;
		field = end == SB_NAT_DST ? &ip->daddr : &ip->saddr;
		diff = sb_csum_diff32(0, *field, addr->w[3]);
		ip->check = sb_csum_apply(ip->check, diff);
		*field = addr->w[3];
		return sb_nat_xdp_l4(data + SB_L4_OFF_V4, data_end, pkt, end, port, diff);
	} else {
		struct ipv6hdr *ip6 = data + SB_L3_OFF;
		__be32 *field;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		field = end == SB_NAT_DST ? ip6->daddr.in6_u.u6_addr32 : ip6->saddr.in6_u.u6_addr32;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			diff = sb_csum_diff32(diff, field[i], addr->w[i]);
			field[i] = addr->w[i];
		}
		return sb_nat_xdp_l4(data + SB_L4_OFF_V6, data_end, pkt, end, port, diff);
	}
}

/* The same rewrite on an skb, through the checksum helpers. Returns 0 or a negative errno. */
static __always_inline int sb_nat_skb(struct __sk_buff *skb, const struct sb_pkt *pkt, int end,
				      const union sb_addr *addr, __be16 port)
{
	const union sb_addr *old_addr = end == SB_NAT_DST ? &pkt->dst : &pkt->src;
	__be16 old_port = end == SB_NAT_DST ? pkt->dport : pkt->sport;
	__u64 mangled0 = pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u32 port_off = pkt->l4_off + (end == SB_NAT_DST ? 2 : 0);
	int ret;

	if (pkt->family == SB_AF_INET) {
		__u32 addr_off = SB_L3_OFF + (end == SB_NAT_DST ? offsetof(struct iphdr, daddr)
							       : offsetof(struct iphdr, saddr));
		__be32 from = old_addr->w[3], to = addr->w[3];

		ret = bpf_l4_csum_replace(skb, pkt->csum_off, from, to, BPF_F_PSEUDO_HDR | mangled0 | sizeof(to));
		if (ret)
			return ret;
		ret = bpf_l3_csum_replace(skb, SB_L3_OFF + offsetof(struct iphdr, check), from, to, sizeof(to));
		if (ret)
			return ret;
		ret = bpf_skb_store_bytes(skb, addr_off, &to, sizeof(to), 0);
		if (ret)
			return ret;
	} else {
		__u32 addr_off = SB_L3_OFF + (end == SB_NAT_DST ? offsetof(struct ipv6hdr, daddr)
							       : offsetof(struct ipv6hdr, saddr));
		union sb_addr from = *old_addr, to = *addr;
		__s64 diff = bpf_csum_diff(from.w, sizeof(from), to.w, sizeof(to), 0);

		if (diff < 0)
			return (int)diff;
		/*
		 * BPF_F_IPV6 (kernel 6.16+) stops the helper from also adjusting skb->csum of a
		 * CHECKSUM_COMPLETE skb, which for IPv6 is wrong (the address and the L4 checksum
		 * changes cancel out). Older kernels reject the flag before touching anything: retry
		 * without it.
		 */
		ret = bpf_l4_csum_replace(skb, pkt->csum_off, 0, diff, BPF_F_PSEUDO_HDR | BPF_F_IPV6 | mangled0);
		if (ret == -EINVAL)
			ret = bpf_l4_csum_replace(skb, pkt->csum_off, 0, diff, BPF_F_PSEUDO_HDR | mangled0);
		if (ret)
			return ret;
		ret = bpf_skb_store_bytes(skb, addr_off, &to, sizeof(to), 0);
		if (ret)
			return ret;
	}
	ret = bpf_l4_csum_replace(skb, pkt->csum_off, old_port, port, mangled0 | sizeof(port));
	if (ret)
		return ret;
	return bpf_skb_store_bytes(skb, port_off, &port, sizeof(port), 0);
}

#endif
