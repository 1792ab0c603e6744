// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * probe: the smallest program that proves the toolchain end to end. It counts every frame it sees
 * by L4 protocol (packets and bytes) and drops UDP datagrams whose destination port is listed in
 * probe_drop_ports. Everything else passes untouched. Twins on tc and on a cgroup connect hook let the
 * tests prove each kind of attachment.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "probe.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROBE_SLOT_COUNT);
	__type(key, __u32);
	__type(value, struct probe_counter);
} probe_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);  /* UDP destination port, host byte order */
	__type(value, __u8);
} probe_drop_ports SEC(".maps");

static __always_inline void probe_count(__u32 slot, __u64 bytes)
{
	struct probe_counter *counter = bpf_map_lookup_elem(&probe_counters, &slot);

	if (counter) {
		counter->packets++;
		counter->bytes += bytes;
	}
}

SEC("xdp")
int probe_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct ethhdr *eth = data;
	__u8 l4proto;
	void *l4;

	if ((void *)(eth + 1) > data_end) {
		probe_count(PROBE_SLOT_OTHER, bytes);
		return XDP_PASS;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
			probe_count(PROBE_SLOT_OTHER, bytes);
			return XDP_PASS;
		}
		l4proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end) {
			probe_count(PROBE_SLOT_OTHER, bytes);
			return XDP_PASS;
		}
		l4proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		probe_count(PROBE_SLOT_OTHER, bytes);
		return XDP_PASS;
	}

	switch (l4proto) {
	case IPPROTO_TCP:
		probe_count(PROBE_SLOT_TCP, bytes);
		return XDP_PASS;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		probe_count(PROBE_SLOT_ICMP, bytes);
		return XDP_PASS;
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;
		__u16 port;

		probe_count(PROBE_SLOT_UDP, bytes);
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		port = bpf_ntohs(udp->dest);
		if (bpf_map_lookup_elem(&probe_drop_ports, &port)) {
			probe_count(PROBE_SLOT_DROPPED, bytes);
			return XDP_DROP;
		}
		return XDP_PASS;
	}
	default:
		probe_count(PROBE_SLOT_OTHER, bytes);
		return XDP_PASS;
	}
}

/* The same count on a tc hook: every frame passes (TC_ACT_OK). */
SEC("tc")
int probe_tc(struct __sk_buff *skb)
{
	probe_count(PROBE_SLOT_TC, skb->len);
	return 0; /* TC_ACT_OK */
}

/* Counts connect() calls of the attached cgroup's processes; every call proceeds. */
SEC("cgroup/connect4")
int probe_connect4(struct bpf_sock_addr *ctx)
{
	probe_count(PROBE_SLOT_CONNECT, 1);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
