/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

/* KSM_MERGE_ACROSS_NODES: sets /sys/kernel/mm/ksm/merge_across_nodes to the
 * configured value, unmerging first when pages are merged and the unmerge
 * guard says memory suffices; otherwise refuses (one log line) and retries
 * at later ticks. */
typedef struct NumaSwitch {
        int last_logged;        /* NumaMergeAction last acted on (-1 or 0: none), so a refusal logs once */
        bool no_knob_logged;
        uint64_t value;         /* merge_across_nodes as last read */
        bool has_knob;
} NumaSwitch;

/* One tick: s is the sample just collected (knobs and meminfo); ksm_fd the
 * KSM sysfs directory. May write run=2 then merge_across_nodes then run
 * back to s->ksm.run. Logs what it does. Returns 1 when it wrote, 0 when
 * nothing was to be done or it refused, negative errno when a write failed
 * (logged). */
int numa_switch_tick(NumaSwitch *ns, int ksm_fd, int64_t want, const KsmSample *s, bool dry_run);
