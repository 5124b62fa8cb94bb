/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "guests.h"

/* Opts processes matching KSM_MERGE_ANY_REGEX into KSM through the kernel's
 * process_madvise(MADV_MERGE_ANY) (kernel-patches/ 0001), each process once,
 * through a pidfd checked against the process's start time. */
typedef struct MergeAnyTracker {
        GuestProc *done;        /* handled (opted in, or refused): sorted by pid */
        size_t n_done;
        bool unsupported_logged;
        unsigned long n_opted;  /* processes opted in since start */
} MergeAnyTracker;

/* Opt in the candidates of l not handled yet; forget processes that are
 * gone. proc_dir is unused (pidfds name processes of the daemon's own pid
 * namespace). Logs what it does; returns the number opted in now, or
 * negative errno (-ENOMEM). */
int merge_any_update(MergeAnyTracker *t, const char *proc_dir, const GuestList *l);

void merge_any_tracker_clear(MergeAnyTracker *t);
