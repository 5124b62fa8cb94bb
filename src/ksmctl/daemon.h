/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ksmctl.h"
#include "policy.h"

/* What ksmctl can learn about a running ksmtuned. */
typedef struct DaemonInfo {
        bool running;
        pid_t pid;                      /* 0 when unknown */
        bool on_bus;                    /* the properties below were read over D-Bus */
        char version[32];
        char policy[32];
        char last_reason[KSM_REASON_MAX];
        uint64_t last_tick_usec;        /* CLOCK_REALTIME */
        uint64_t committed_kib;
        uint64_t threshold_kib;
        uint64_t free_kib;
        char last_write_error[512];     /* the knobs its last tick failed to write, "" none */
        char why_not_bus[256];          /* when !on_bus: why not */
} DaemonInfo;

/* Ask the bus, else look for the process. Never fails: what is not known
 * stays zero. */
void daemon_query(Ctl *c, DaemonInfo *ret);
