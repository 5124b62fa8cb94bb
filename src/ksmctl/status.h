/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon.h"
#include "ksm-sysfs.h"
#include "meminfo.h"
#include "procs.h"

/* Everything "ksmctl status" shows. */
typedef struct Status {
        KsmKnobs ksm;
        KsmMeminfo mem;
        bool have_mem;
        uint64_t page_size_bytes;
        uint64_t saved_bytes;           /* (pages_sharing + ksm_zero_pages) * page size */
        bool has_merge_across_nodes;    /* NUMA kernels only */
        uint64_t merge_across_nodes;
        ProcList procs;
        DaemonInfo daemon;
        uint64_t now_usec;              /* CLOCK_REALTIME when collected */
} Status;

/* The JSON form: one object, one line. */
void status_print_json(const Status *s, FILE *f);
