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

/* How long an exec waits before it is checked: qemu is named well within
 * this, and a retune still follows within a second. */
#define PROC_EVENTS_DEFER_MS 100
/* Pending checks beyond this (an exec storm) are dropped and reported as
 * one overflow: the caller then relies on its scan. */
#define PROC_EVENTS_PENDING_MAX 4096

typedef struct ProcEventsOps {
        /* A process exec'd or changed its name and is still there a moment
         * later: is it a guest? Returns 1, 0 or negative errno. */
        int (*check)(pid_t pid, void *userdata);
        /* A process (not a thread) exited. */
        void (*exited)(pid_t pid, void *userdata);
        /* A checked process is a guest, or checks were dropped (overflow). */
        void (*changed)(void *userdata);
} ProcEventsOps;

typedef struct ProcEvents ProcEvents;

/* Subscribe to process events and watch them in e. Returns 0, or negative
 * errno with a one-line reason in why: -EPERM (not root),
 * -EPROTONOSUPPORT (no connector), -ENODATA (subscribed, but no event came:
 * a kernel without CONFIG_PROC_EVENTS). */
int proc_events_new(sd_event *e, const ProcEventsOps *ops, void *userdata, ProcEvents **ret, char *why,
                    size_t why_size);
ProcEvents *proc_events_free(ProcEvents *p);

/* Counters, for tests and benchmarks: messages read, checks run. */
typedef struct ProcEventsStats {
        unsigned long long messages;
        unsigned long long checks;
        unsigned long long overflows;
        bool filtered;                  /* the kernel sends only exec, comm and exit events */
} ProcEventsStats;
void proc_events_stats(const ProcEvents *p, ProcEventsStats *ret);
