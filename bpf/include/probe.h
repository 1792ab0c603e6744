/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map ABI of probe.bpf.c; mirrored in Java by the native module's probe test. */
#ifndef SWITCHBOARD_PROBE_H
#define SWITCHBOARD_PROBE_H

#include <linux/types.h>

enum probe_slot {
	PROBE_SLOT_TCP = 0,
	PROBE_SLOT_UDP = 1,
	PROBE_SLOT_ICMP = 2,
	PROBE_SLOT_OTHER = 3,
	PROBE_SLOT_DROPPED = 4,
	PROBE_SLOT_TC = 5,
	PROBE_SLOT_CONNECT = 6,
	PROBE_SLOT_COUNT = 7,
};

struct probe_counter {
	__u64 packets;
	__u64 bytes;
};

#endif
