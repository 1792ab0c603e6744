// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The baseline of the datapath benchmark: an XDP program that does nothing but pass the packet, so
 * that BPF_PROG_TEST_RUN's own per-run overhead can be set beside sb_xdp's. Never shipped in the jar.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
