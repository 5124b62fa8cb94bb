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
        ProcList procs;
        DaemonInfo daemon;
        uint64_t now_usec;              /* CLOCK_REALTIME when collected */
        bool have_ksmd_cpu;
        uint64_t ksmd_cpu_usec;         /* ksmd's CPU time since boot */
        bool have_uptime;
        uint64_t uptime_usec;           /* /proc/uptime, for ksmd's average share of a CPU */
} Status;

/* The JSON form: one object, one line. */
void status_print_json(const Status *s, FILE *f);
