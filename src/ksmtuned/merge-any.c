/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ksm-merge-any.h"
#include "log.h"
#include "merge-any.h"
#include "utf8.h"

void merge_any_tracker_clear(MergeAnyTracker *t) {
        free(t->done);
        t->done = NULL;
        t->n_done = 0;
}

/* The same process: same pid and same start time (pids are reused). */
static bool was_done(const MergeAnyTracker *t, const GuestProc *p) {
        size_t lo = 0, hi = t->n_done;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (t->done[mid].pid < p->pid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < t->n_done && t->done[lo].pid == p->pid && t->done[lo].start_tics == p->start_tics;
}

/* One pidfd per operation, checked against the scanned process's start
 * time: a pid reused since the scan is never opted in. The pidfd names a
 * process of the daemon's own pid namespace, so its start time comes from
 * the daemon's own /proc, whatever --root says. */
static int set_merge_any(const GuestProc *p, int enable) {
        int pidfd, r;

        pidfd = ksm_pidfd_open("/proc", p->pid, p->start_tics);
        if (pidfd < 0)
                return pidfd;
        r = ksm_merge_any_set(pidfd, enable);
        close(pidfd);
        return r;
}

/* Returns true when the process is handled for good (opted in, refused,
 * gone); false to try again next tick. Enabling twice is harmless: the
 * kernel keeps the process's state as it is. */
static bool opt_in(MergeAnyTracker *t, const GuestProc *p, int *opted) {
        char name[64];
        const char *comm = text_printable(p->comm, name, sizeof(name));  /* the process chose it */
        int r;

        r = set_merge_any(p, 1);
        if (r == -ESRCH)        /* exited, or its pid was reused */
                return true;
        if (r == -EINTR || r == -ENOMEM) {
                log_debug_errno(r, "Cannot opt %s[%d] into KSM now, retrying: %m", comm, (int) p->pid);
                return false;
        }
        if (r == -EPERM || r == -EACCES) {
                log_notice_errno(r, "%s[%d] stays out of KSM: %s", comm, (int) p->pid,
                                 r == -EACCES ? "no ptrace access to it" :
                                 "the process refuses (PR_MEMORY_MERGE_NO_REMOTE, s390 guest) "
                                 "or the daemon lacks CAP_SYS_RESOURCE");
                return true;
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot opt %s[%d] into KSM: %m", comm, (int) p->pid);
                return true;
        }
        log_info("Opted %s[%d] into KSM: all its anonymous memory may now be merged", comm, (int) p->pid);
        t->n_opted++;
        (*opted)++;
        return true;
}

int merge_any_update(MergeAnyTracker *t, const char *proc_dir, const GuestList *l) {
        GuestProc *done;
        size_t n = 0;
        int opted = 0, r;

        if (l->n_merge_any == 0) {
                merge_any_tracker_clear(t);
                return 0;
        }
        (void) proc_dir;
        r = ksm_merge_any_supported();
        if (r <= 0) {
                if (!t->unsupported_logged)
                        log_notice("KSM_MERGE_ANY_REGEX is set, but this kernel lacks process_madvise(MADV_MERGE_ANY) "
                                   "(see kernel-patches/): no process is opted in");
                t->unsupported_logged = true;
                return 0;
        }
        t->unsupported_logged = false;

        /* The new list holds exactly the current candidates that are handled,
         * so processes that exited drop out by themselves. */
        done = calloc(l->n_merge_any, sizeof(GuestProc));
        if (!done)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_merge_any; i++) {
                const GuestProc *p = &l->merge_any[i];

                if (was_done(t, p) || opt_in(t, p, &opted))
                        done[n++] = *p;
        }
        free(t->done);
        t->done = done;
        t->n_done = n;
        return opted;
}
