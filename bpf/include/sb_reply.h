/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_reply.h: refusing a client at once when a service has no endpoint anywhere (kube-proxy REJECT).
 *
 *   TCP  -> a RST from the frontend, per RFC 793 "Reset Generation": if the segment carried ACK,
 *           <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, where
 *           SEG.LEN counts the payload plus SYN and FIN. A RST is never answered.
 *   UDP  -> ICMP destination unreachable / port unreachable (type 3 code 3), or ICMPv6 (type 1
 *           code 4), from the frontend address, carrying the original IP header + 8 bytes.
 *
 * The reply is built in a stack buffer from a copy of the original headers (which sit at fixed
 * offsets, see sb_parse.h), then the frame is resized and overwritten: XDP sends it with XDP_TX,
 * tc with a redirect to the egress of the interface it came from. On an interface where XDP_TX does
 * not reach the wire (sb_ifaces), sb_xdp hands the frame to sb_tc_from_ext instead, marked in its
 * metadata (SB_REPLY_MARK), and the tc path builds the same reply.
 */
#ifndef SWITCHBOARD_SB_REPLY_H
#define SWITCHBOARD_SB_REPLY_H

#include "sb_parse.h"
#include "sb_csum.h"

#define SB_REPLY_MAX 112 /* >= the largest reply: Ethernet + IPv6 + ICMPv6 + IPv6 + 8 = 110 */
#define SB_REPLY_TTL 64

/*
 * What sb_xdp leaves in the 4 bytes of XDP metadata in front of a frame it hands to sb_tc_from_ext to
 * answer (XDP_PASS instead of XDP_TX); sb_tc_from_ext clears it when it reads it. Not part of the map ABI.
 */
#define SB_REPLY_MARK 0x5342a7c1U

/* Lengths of the original headers copied (Ethernet + IP + TCP without options or + UDP). */
#define SB_ORIG_V4_TCP (SB_L4_OFF_V4 + 20)
#define SB_ORIG_V4_UDP (SB_L4_OFF_V4 + 8)
#define SB_ORIG_V6_TCP (SB_L4_OFF_V6 + 20)
#define SB_ORIG_V6_UDP (SB_L4_OFF_V6 + 8)

/* Lengths of the replies. */
#define SB_REPLY_LEN_RST4     (SB_L4_OFF_V4 + 20)
#define SB_REPLY_LEN_RST6     (SB_L4_OFF_V6 + 20)
#define SB_REPLY_LEN_UNREACH4 (SB_L4_OFF_V4 + 8 + 20 + 8)
#define SB_REPLY_LEN_UNREACH6 (SB_L4_OFF_V6 + 8 + 40 + 8)

/* The original headers kept: the largest TCP/UDP ones, or an IPv6 Neighbor Solicitation (sb_neigh.h). */
#define SB_REPLY_ORIG_MAX 80

struct sb_reply_buf {
	__u8 orig[SB_REPLY_ORIG_MAX] __attribute__((aligned(8)));
	__u8 out[SB_REPLY_MAX] __attribute__((aligned(8)));
};

static __always_inline __u16 sb_get16(const __u8 *p)
{
	return ((__u16)p[0] << 8) | p[1];
}

static __always_inline void sb_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __always_inline __u32 sb_get32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline void sb_put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* Ethernet header of the reply: MACs swapped, same ethertype. */
static __always_inline void sb_reply_eth(struct sb_reply_buf *b)
{
	__builtin_memcpy(b->out, b->orig + 6, 6);
	__builtin_memcpy(b->out + 6, b->orig, 6);
	b->out[12] = b->orig[12];
	b->out[13] = b->orig[13];
}

/* IPv4 header of the reply at out + SB_L3_OFF, addresses swapped, checksum computed. */
static __always_inline void sb_reply_ip4(struct sb_reply_buf *b, __u8 proto, __u16 tot_len)
{
	__u8 *ip = b->out + SB_L3_OFF;
	const __u8 *oip = b->orig + SB_L3_OFF;

	__builtin_memset(ip, 0, 20);
	ip[0] = 0x45;
	sb_put16(ip + 2, tot_len);
	ip[8] = SB_REPLY_TTL;
	ip[9] = proto;
	__builtin_memcpy(ip + 12, oip + 16, 4);
	__builtin_memcpy(ip + 16, oip + 12, 4);
	*(__u16 *)(ip + 10) = ~sb_csum_fold(sb_csum_add_buf(0, ip, 20));
}

/* IPv6 header of the reply, addresses swapped. */
static __always_inline void sb_reply_ip6(struct sb_reply_buf *b, __u8 nexthdr, __u16 payload_len)
{
	__u8 *ip6 = b->out + SB_L3_OFF;
	const __u8 *oip6 = b->orig + SB_L3_OFF;

	__builtin_memset(ip6, 0, 8);
	ip6[0] = 0x60;
	sb_put16(ip6 + 4, payload_len);
	ip6[6] = nexthdr;
	ip6[7] = SB_REPLY_TTL;
	__builtin_memcpy(ip6 + 8, oip6 + 24, 16);
	__builtin_memcpy(ip6 + 24, oip6 + 8, 16);
}

/* Sum of the pseudo header of the reply (addresses already in place) for an upper-layer length. */
static __always_inline __u64 sb_reply_pseudo(struct sb_reply_buf *b, int family, __u8 proto, __u16 len)
{
	__u8 *ip = b->out + SB_L3_OFF;
	__u64 sum = bpf_htons(proto) + bpf_htons(len);

	if (family == SB_AF_INET)
		return sb_csum_add_buf(sum, ip + 12, 8);
	return sb_csum_add_buf(sum, ip + 8, 32);
}

/* Builds the RST answering the TCP segment in b->orig; returns the reply length, 0 for none. */
static __always_inline int sb_reply_build_rst(struct sb_reply_buf *b, int family)
{
	int l4_off = family == SB_AF_INET ? SB_L4_OFF_V4 : SB_L4_OFF_V6;
	const __u8 *otcp = b->orig + l4_off;
	__u8 *tcp = b->out + l4_off;
	__u8 oflags = otcp[13];
	__u32 seg_len, hdr_len;

	if (oflags & SB_TCP_RST)
		return 0;
	sb_reply_eth(b);
	hdr_len = (otcp[12] >> 4) * 4;
	if (family == SB_AF_INET) {
		seg_len = sb_get16(b->orig + SB_L3_OFF + 2) - 20;
		sb_reply_ip4(b, IPPROTO_TCP, 20 + 20);
	} else {
		seg_len = sb_get16(b->orig + SB_L3_OFF + 4);
		sb_reply_ip6(b, IPPROTO_TCP, 20);
	}
	seg_len = seg_len > hdr_len ? seg_len - hdr_len : 0;
	if (oflags & SB_TCP_SYN)
		seg_len++;
	if (oflags & SB_TCP_FIN)
		seg_len++;

	__builtin_memset(tcp, 0, 20);
	__builtin_memcpy(tcp, otcp + 2, 2);     /* source port = original destination port */
	__builtin_memcpy(tcp + 2, otcp, 2);     /* destination port = original source port */
	if (oflags & SB_TCP_ACK) {
		__builtin_memcpy(tcp + 4, otcp + 8, 4); /* SEQ = SEG.ACK */
		tcp[13] = SB_TCP_RST;
	} else {
		sb_put32(tcp + 8, sb_get32(otcp + 4) + seg_len); /* ACK = SEG.SEQ + SEG.LEN */
		tcp[13] = SB_TCP_RST | SB_TCP_ACK;
	}
	tcp[12] = 5 << 4;
	*(__u16 *)(tcp + 16) =
		~sb_csum_fold(sb_csum_add_buf(sb_reply_pseudo(b, family, IPPROTO_TCP, 20), tcp, 20));
	return l4_off + 20;
}

/* Builds the ICMP port unreachable answering the UDP datagram in b->orig; returns its length. */
static __always_inline int sb_reply_build_unreach(struct sb_reply_buf *b, int family)
{
	sb_reply_eth(b);
	if (family == SB_AF_INET) {
		__u8 *icmp = b->out + SB_L4_OFF_V4;
		const int quoted = 20 + 8;

		sb_reply_ip4(b, IPPROTO_ICMP, 20 + 8 + quoted);
		__builtin_memset(icmp, 0, 8);
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 3; /* port unreachable */
		__builtin_memcpy(icmp + 8, b->orig + SB_L3_OFF, quoted);
		*(__u16 *)(icmp + 2) = ~sb_csum_fold(sb_csum_add_buf(0, icmp, 8 + quoted));
		return SB_L4_OFF_V4 + 8 + quoted;
	} else {
		__u8 *icmp = b->out + SB_L4_OFF_V6;
		const int quoted = 40 + 8;

		sb_reply_ip6(b, IPPROTO_ICMPV6, 8 + quoted);
		__builtin_memset(icmp, 0, 8);
		icmp[0] = 1; /* destination unreachable */
		icmp[1] = 4; /* port unreachable */
		__builtin_memcpy(icmp + 8, b->orig + SB_L3_OFF, quoted);
		*(__u16 *)(icmp + 2) = ~sb_csum_fold(
			sb_csum_add_buf(sb_reply_pseudo(b, family, IPPROTO_ICMPV6, 8 + quoted), icmp, 8 + quoted));
		return SB_L4_OFF_V6 + 8 + quoted;
	}
}

static __always_inline int sb_reply_build(struct sb_reply_buf *b, const struct sb_pkt *pkt)
{
	if (pkt->proto == IPPROTO_TCP)
		return sb_reply_build_rst(b, pkt->family);
	return sb_reply_build_unreach(b, pkt->family);
}

/* Copies the original headers of a frame at [data, data_end) to b->orig; -1 if too short. */
static __always_inline int sb_reply_copy_orig(struct sb_reply_buf *b, const struct sb_pkt *pkt, void *data,
					      void *data_end)
{
#define SB_COPY_ORIG(n)                                                                            \
	do {                                                                                       \
		if (data + (n) > data_end)                                                         \
			return -1;                                                                 \
		__builtin_memcpy(b->orig, data, (n));                                              \
		return 0;                                                                          \
	} while (0)
	if (pkt->family == SB_AF_INET) {
		if (pkt->proto == IPPROTO_TCP)
			SB_COPY_ORIG(SB_ORIG_V4_TCP);
		SB_COPY_ORIG(SB_ORIG_V4_UDP);
	}
	if (pkt->proto == IPPROTO_TCP)
		SB_COPY_ORIG(SB_ORIG_V6_TCP);
	SB_COPY_ORIG(SB_ORIG_V6_UDP);
#undef SB_COPY_ORIG
}

/* Writes out[0..len) over the frame at [data, data_end) (already resized to len); -1 if short. */
static __always_inline int sb_reply_write(const struct sb_reply_buf *b, int len, void *data, void *data_end)
{
#define SB_WRITE_REPLY(n)                                                                          \
	case (n):                                                                                  \
		if (data + (n) > data_end)                                                         \
			return -1;                                                                 \
		__builtin_memcpy(data, b->out, (n));                                               \
		return 0
	switch (len) {
		SB_WRITE_REPLY(SB_REPLY_LEN_RST4);
		SB_WRITE_REPLY(SB_REPLY_LEN_RST6);
		SB_WRITE_REPLY(SB_REPLY_LEN_UNREACH4);
		SB_WRITE_REPLY(SB_REPLY_LEN_UNREACH6);
	default:
		return -1;
	}
#undef SB_WRITE_REPLY
}

/* Per-CPU scratch space for building replies (too large for the 512-byte stack with the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sb_reply_buf);
} sb_scratch SEC(".maps");

static __always_inline struct sb_reply_buf *sb_reply_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sb_scratch, &zero);
}

#endif
