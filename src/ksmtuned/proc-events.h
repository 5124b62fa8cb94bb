/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The kernel's process events (netlink connector, CN_IDX_PROC): a process
 * that execs or renames itself is checked a moment later (most processes of
 * an exec storm have exited by then and cost nothing more), a process that
 * exits is reported at once. Needs root (CAP_NET_ADMIN) and a kernel with
 * CONFIG_PROC_EVENTS.
 */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "units.h"

/* How long an exec waits before it is checked: qemu is named well within
 * this, and a retune still follows within a second. */
#define PROC_EVENTS_DEFER_MS 100
/* Pending checks beyond this (an exec storm) are dropped and reported as
 * one overflow: the caller then relies on its scan. */
#define PROC_EVENTS_PENDING_MAX 4096
/* At most this many events are read in a second; one more is a storm, and
 * the subscription is dropped for PROC_EVENTS_PAUSE_USEC, or until the
 * caller's next tick (proc_events_resume()) if that comes first: a guest
 * that starts meanwhile is found by the caller's scan at the resume
 * (ProcEventsOps.resumed). Reading an event costs about 2.2 µs of CPU
 * (bench/exec-storm: 41.8 ms for 18,728 events), so the budget costs about
 * 0.28 ms, about what one scan with 2,000 processes costs (0.5-0.6 ms,
 * bench/tick-cost --procs 2000): a lasting storm costs about 1.2 ms per
 * pause, 0.025 % of a CPU (bench/RESULTS.md). A host that starts a guest
 * sees a handful of events, far below it. */
#define PROC_EVENTS_BUDGET 128
#define PROC_EVENTS_PAUSE_USEC (5 * USEC_PER_SEC)

typedef struct ProcEventsOps {
        /* A process exec'd or changed its name and is still there a moment
         * later: is it a guest? Returns 1, 0 or negative errno. */
        int (*check)(pid_t pid, void *userdata);
        /* A process (not a thread) exited. */
        void (*exited)(pid_t pid, void *userdata);
        /* A checked process is a guest, or checks were dropped (overflow). */
        void (*changed)(void *userdata);
        /* Events are followed again after a storm's pause: what started or
         * exited meanwhile, only a scan finds. Not called when the caller
         * resumed (its tick scans anyway). */
        void (*resumed)(void *userdata);
} ProcEventsOps;

typedef struct ProcEvents ProcEvents;

/* Subscribe to process events and watch them in e. Returns 0, or negative
 * errno with a one-line reason in why: -EPERM (not root),
 * -EPROTONOSUPPORT (no connector), -ENODATA (subscribed, but no event came:
 * a kernel without CONFIG_PROC_EVENTS). */
int proc_events_new(sd_event *e, const ProcEventsOps *ops, void *userdata, ProcEvents **ret, char *why,
                    size_t why_size);
/* Unsubscribe, then close. NULL is fine. Returns NULL. */
ProcEvents *proc_events_free(ProcEvents *p);

/* At each tick: subscribe again after a storm (as the start-up probe
 * found: filtered or not), if still paused. Returns 1 subscribed again,
 * 0 nothing to do (not paused), or negative errno
 * (logged; tried again at the next call or after another pause). */
int proc_events_resume(ProcEvents *p);

/* Counters, for tests and benchmarks: messages read, checks run. */
typedef struct ProcEventsStats {
        unsigned long long messages;
        unsigned long long checks;
        unsigned long long overflows;
        unsigned long long storms;      /* times more than PROC_EVENTS_BUDGET came in a second */
        bool filtered;                  /* the kernel sends only exec, comm and exit events */
        bool paused;                    /* unsubscribed after a storm, until the resume */
} ProcEventsStats;
void proc_events_stats(const ProcEvents *p, ProcEventsStats *ret);
