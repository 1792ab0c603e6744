/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sb_csum.h: Internet checksum arithmetic (RFC 1071 sums, RFC 1624 incremental updates).
 *
 * Sums are kept in a 64-bit accumulator of 16-bit words as loaded from the packet (the one's
 * complement sum is byte-order independent, so no swapping is needed) and folded at the end.
 */
#ifndef SWITCHBOARD_SB_CSUM_H
#define SWITCHBOARD_SB_CSUM_H

#include <linux/types.h>

static __always_inline __u16 sb_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Adds the change of one 32-bit word from `from` to `to` (RFC 1624: ~m + m'). */
static __always_inline __u64 sb_csum_diff32(__u64 acc, __u32 from, __u32 to)
{
	__u32 nfrom = ~from;

	return acc + (nfrom & 0xffff) + (nfrom >> 16) + (to & 0xffff) + (to >> 16);
}

static __always_inline __u64 sb_csum_diff16(__u64 acc, __u16 from, __u16 to)
{
	return acc + (__u16)~from + to;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), where diff already holds sum(~m + m'). */
static __always_inline __u16 sb_csum_apply(__u16 check, __u64 diff)
{
	return ~sb_csum_fold((__u16)~check + diff);
}

/* Sum of len bytes (len even, constant at the call site) of a stack buffer. */
static __always_inline __u64 sb_csum_add_buf(__u64 acc, const void *buf, int len)
{
	const __u16 *w = buf;

#pragma unroll
	for (int i = 0; i < len / 2; i++)
		acc += w[i];
	return acc;
}

#endif
