// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Deliberately rejected by the verifier (it reads the packet without a bounds check), so tests can
 * show that a failed load reports the verifier's reason. Never shipped in the agent's jar.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int unchecked_access(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[12] == 0x08 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
