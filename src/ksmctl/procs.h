/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ksm-stat.h"

typedef struct ProcEntry {
        pid_t pid;
        char comm[16];
        char *name;                     /* Proxmox VE's name: or qemu's -name guest, else NULL */
        KsmProcStat stat;
        uint64_t saved_bytes;           /* (merging + zero pages) * page size */
} ProcEntry;

typedef struct ProcList {
        ProcEntry *procs;               /* most saved first, then by pid */
        size_t n;                       /* shown: at most the requested top */
        size_t n_saving;                /* processes that save anything */
        bool incomplete;                /* some ksm_stat files could not be read (other users' processes) */
} ProcList;

/* The top processes by KSM savings from ROOT/proc/PID/ksm_stat (root is
 * the path of root_fd), named by their Proxmox VE or qemu guest name, else
 * by comm. Returns 0 or negative errno (ROOT/proc
 * cannot be listed); ret is written only on success. */
int procs_scan(const char *root, int root_fd, uint64_t page_size_bytes, size_t top, ProcList *ret);

void proc_list_free(ProcList *l);
