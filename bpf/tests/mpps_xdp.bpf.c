// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mpps_xdp: the frame source of the bench's datapath_mpps (bench/README.md, DatapathMpps.java). Objects
 * under tests/ are for tests and the bench only; never shipped.
 *
 *   mpps_flows  run by BPF_PROG_TEST_RUN (with BPF_F_TEST_XDP_LIVE_FRAMES or without) on an Ethernet +
 *               IPv4 + TCP frame of 54 bytes: writes flow (n % flows) of mpps_config into the frame (the
 *               whole tuple and the TCP flags, so what the previous run rewrote in place is gone; IPv4
 *               header checksum recomputed, TCP checksum left as it is: nothing on the way checks it),
 *               n counting per CPU, then tail-calls mpps_next[0] (sb_xdp, or mpps_drop for the harness's
 *               own cost). Flow i: source address saddr + i / 16384, source port sport + i % 16384.
 *   mpps_drop   XDP_DROP: the far ends of the veths the forwarded frames go to, and the baseline.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MPPS_PORTS_PER_ADDR 16384

struct mpps_config {
	__u32 flows;     /* distinct flows, >= 1 */
	__u32 saddr;     /* first client address, host order */
	__be32 daddr;    /* destination address */
	__u16 sport;     /* first client port, host order */
	__be16 dport;    /* destination port */
	__u8 tcp_flags;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mpps_config);
} mpps_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mpps_counter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mpps_next SEC(".maps");

SEC("xdp")
int mpps_flows(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct tcphdr *tcp = (void *)(ip + 1);
	struct mpps_config *cfg;
	__u32 zero = 0, *n, i, sum = 0;
	__u16 *w = (__u16 *)ip;

	if ((void *)(tcp + 1) > data_end)
		return XDP_ABORTED;
	cfg = bpf_map_lookup_elem(&mpps_config, &zero);
	n = bpf_map_lookup_elem(&mpps_counter, &zero);
	if (!cfg || !n || !cfg->flows)
		return XDP_ABORTED;
	i = *n % cfg->flows;
	*n += 1;
	ip->saddr = bpf_htonl(cfg->saddr + i / MPPS_PORTS_PER_ADDR);
	ip->daddr = cfg->daddr;
	tcp->source = bpf_htons(cfg->sport + i % MPPS_PORTS_PER_ADDR);
	tcp->dest = cfg->dport;
	((__u8 *)tcp)[13] = cfg->tcp_flags;
	ip->check = 0;
#pragma unroll
	for (int k = 0; k < 10; k++)
		sum += w[k];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
	bpf_tail_call(ctx, &mpps_next, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int mpps_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
