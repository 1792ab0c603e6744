/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sb_stats.h: counter updates for sb_stats (global outcomes) and sb_svc_stats (per service). */
#ifndef SWITCHBOARD_SB_STATS_H
#define SWITCHBOARD_SB_STATS_H

#include "sb_maps.h"

static __always_inline void sb_stat(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&sb_stats, &index);

	if (value)
		*value += 1;
}

/* The per-CPU counters of a service, or NULL (then counted as SB_STAT_SVC_ID_RANGE). */
static __always_inline struct sb_svc_counters *sb_svc_counters(__u32 svc_id)
{
	struct sb_svc_counters *counters = bpf_map_lookup_elem(&sb_svc_stats, &svc_id);

	if (!counters)
		sb_stat(SB_STAT_SVC_ID_RANGE);
	return counters;
}

/* Increments one field of a possibly missing counter struct. */
#define SB_COUNT(counters, field)                                                                  \
	do {                                                                                       \
		if (counters)                                                                      \
			(counters)->field += 1;                                                    \
	} while (0)

#endif
