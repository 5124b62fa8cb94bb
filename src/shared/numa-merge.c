/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "macro.h"
#include "numa-merge.h"

NumaMergeAction numa_merge_decide(int64_t want, bool has_knob, uint64_t current,
                                  uint64_t pages_shared, const UnmergeCheck *guard) {
        if (want < 0 || !has_knob || current == (uint64_t) want)
                return NUMA_MERGE_KEEP;
        if (pages_shared == 0)
                return NUMA_MERGE_WRITE;
        return guard->ok ? NUMA_MERGE_UNMERGE_WRITE : NUMA_MERGE_REFUSE;
}

const char *numa_merge_action_name(NumaMergeAction a) {
        static const char *const names[] = {
                [NUMA_MERGE_KEEP] = "keep",
                [NUMA_MERGE_WRITE] = "write",
                [NUMA_MERGE_UNMERGE_WRITE] = "unmerge-write",
                [NUMA_MERGE_REFUSE] = "refuse",
        };

        return (size_t) a < ELEMENTSOF(names) ? names[a] : "?";
}
