/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "unmerge.h"

/* What to do about /sys/kernel/mm/ksm/merge_across_nodes (NUMA kernels).
 * The kernel accepts a new value only while nothing is merged (it answers
 * EBUSY otherwise), so changing it may need run=2 first, which allocates a
 * copy of every shared page: only when the unmerge guard says memory
 * suffices. */
typedef enum NumaMergeAction {
        NUMA_MERGE_KEEP,                /* auto, no such knob, or already as wanted */
        NUMA_MERGE_WRITE,               /* nothing merged: write the knob */
        NUMA_MERGE_UNMERGE_WRITE,       /* run=2, write the knob, restore run */
        NUMA_MERGE_REFUSE,              /* memory short for unmerging: keep the old value, retry later */
} NumaMergeAction;

/* Pure. want: KSM_MERGE_ACROSS_NODES (-1 auto, 0 or 1); has_knob: the kernel
 * has merge_across_nodes (CONFIG_NUMA); current: its value; pages_shared:
 * KSM pages in the stable tree (0: nothing merged); guard: unmerge_check()
 * for the present pages_sharing. */
NumaMergeAction numa_merge_decide(int64_t want, bool has_knob, uint64_t current,
                                  uint64_t pages_shared, const UnmergeCheck *guard);

/* "keep", "write", "unmerge-write", "refuse". */
const char *numa_merge_action_name(NumaMergeAction a);
