/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "fileio.h"
#include "log.h"
#include "numa-merge.h"
#include "numa-switch.h"
#include "unmerge.h"

#define KNOB "merge_across_nodes"

static int write_u64(int ksm_fd, const char *name, uint64_t v) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return write_string_file_at(ksm_fd, name, buf);
}

static int do_switch(int ksm_fd, int64_t want, const KsmSample *s, bool unmerge) {
        int r, r2;

        if (unmerge) {
                /* Synchronous: returns once every page has its own copy again. */
                r = write_u64(ksm_fd, "run", 2);
                if (r < 0)
                        return log_warning_errno(r, "Cannot unmerge (run=2) to change " KNOB ": %m");
        }
        r = write_u64(ksm_fd, KNOB, (uint64_t) want);
        if (r < 0)
                log_warning_errno(r, "Cannot set " KNOB "=%" PRId64 ": %m", want);
        if (unmerge && s->ksm.run != 2) {
                r2 = write_u64(ksm_fd, "run", s->ksm.run);
                if (r2 < 0)
                        log_warning_errno(r2, "Cannot restore run=%" PRIu64 " after unmerging: %m", s->ksm.run);
        }
        return r;
}

int numa_switch_tick(NumaSwitch *ns, int ksm_fd, int64_t want, const KsmSample *s, bool dry_run) {
        NumaMergeAction a;
        UnmergeCheck guard;
        int r;

        if (want < 0) {
                ns->last_logged = -1;
                return 0;
        }
        ns->has_knob = ksm_has(&s->ksm, KSM_FEATURE_MERGE_ACROSS_NODES);
        ns->value = s->ksm.merge_across_nodes;
        if (!ns->has_knob) {
                if (!ns->no_knob_logged)
                        log_notice("KSM_MERGE_ACROSS_NODES=%" PRId64 " has no effect: this kernel has no " KNOB
                                   " (built without NUMA)", want);
                ns->no_knob_logged = true;
                return 0;
        }
        unmerge_check(&s->mem, &s->ksm, s->page_size_bytes ? s->page_size_bytes : 4096, &guard);
        a = numa_merge_decide(want, true, ns->value, s->ksm.pages_shared, &guard);
        if (a == NUMA_MERGE_KEEP) {
                ns->last_logged = -1;
                return 0;
        }
        if (a == NUMA_MERGE_REFUSE) {
                if (ns->last_logged != (int) a)
                        log_notice("Not changing " KNOB " from %" PRIu64 " to %" PRId64 ": that needs unmerging "
                                   "%" PRIu64 " MiB and only %" PRIu64 " MiB are available (%" PRIu64 " MiB kept free); "
                                   "retrying when memory frees up", ns->value, want,
                                   guard.need_bytes >> 20, guard.available_bytes >> 20, guard.margin_bytes >> 20);
                ns->last_logged = (int) a;
                return 0;
        }
        ns->last_logged = (int) a;
        if (dry_run) {
                log_info("Would set (dry run) " KNOB "=%" PRId64 "%s", want,
                         a == NUMA_MERGE_UNMERGE_WRITE ? " after unmerging everything" : "");
                return 1;
        }
        r = do_switch(ksm_fd, want, s, a == NUMA_MERGE_UNMERGE_WRITE);
        if (r < 0)
                return r;
        log_info("Set " KNOB "=%" PRId64 " (was %" PRIu64 ")%s", want, ns->value,
                 a == NUMA_MERGE_UNMERGE_WRITE ? ": unmerged everything first, merging starts again" : "");
        ns->value = (uint64_t) want;
        return 1;
}
