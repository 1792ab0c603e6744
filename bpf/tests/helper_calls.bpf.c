// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * helper_calls: a fixture for BpfElf, which reads from the ELF which helpers each program calls. Each
 * program reaches a known set: directly, through a subprogram in .text (called from two programs), and
 * through a subprogram that calls another; one program calls nothing; one holds a compare-and-swap.
 * Only tests open it; it is never loaded.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fixture_slot SEC(".maps");

/* bpf_get_prandom_u32 (7) */
static __noinline __u32 fixture_leaf(__u32 x)
{
	return x ^ bpf_get_prandom_u32();
}

/* bpf_get_smp_processor_id (8), and through fixture_leaf bpf_get_prandom_u32 (7) */
static __noinline __u32 fixture_middle(__u32 x)
{
	return fixture_leaf(x + bpf_get_smp_processor_id());
}

/* bpf_ktime_get_ns (5) and, through both subprograms, 7 and 8 */
SEC("xdp")
int fixture_xdp(struct xdp_md *ctx)
{
	return fixture_middle((__u32)bpf_ktime_get_ns()) & 1 ? XDP_PASS : XDP_DROP;
}

/* only the leaf: 7 */
SEC("tc")
int fixture_tc(struct __sk_buff *skb)
{
	return fixture_leaf(skb->len) & 1;
}

/* no helper at all */
SEC("cgroup/connect4")
int fixture_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

/* bpf_map_lookup_elem (1) and a 64-bit compare-and-swap (BPF_CMPXCHG, imm 0xf1) */
SEC("xdp")
int fixture_cas(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *slot = bpf_map_lookup_elem(&fixture_slot, &key);

	if (slot)
		__sync_val_compare_and_swap(slot, 0, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
