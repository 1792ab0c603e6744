// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only: the shipped datapath plus one entry point, sb_test_tc_reply, that runs sb_tc_reply -- what
 * sb_tc_from_ext does with a frame sb_xdp marked for it -- on any frame. BPF_PROG_TEST_RUN cannot give a
 * tc program XDP metadata (the kernel rejects data_meta in a __sk_buff context), so the packet tests of
 * the tc reply path enter here; the mark itself is covered by sb_xdp's test runs (its metadata comes
 * back) and by the traffic tests (a real veth, nothing on the client's end).
 */
#include "../switchboard.bpf.c"

SEC("tc")
int sb_test_tc_reply(struct __sk_buff *skb)
{
	int action = sb_tc_reply(skb);

	return action < 0 ? TC_ACT_OK : action;
}
