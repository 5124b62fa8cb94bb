/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "ksm-sysfs.h"
#include "meminfo.h"

/* Everything one tick collected. */
typedef struct KsmSample {
        KsmMeminfo mem;
        uint64_t committed_kib;         /* summed RSS of guest processes */
        unsigned n_guests;
        KsmKnobs ksm;                   /* the knobs as they are now */
} KsmSample;

/* What a policy remembers between ticks. */
typedef struct KsmState {
        int64_t npages;                 /* compat: last pages_to_scan, 0 before the first start */
} KsmState;

#define KSM_REASON_MAX 192

typedef struct KsmDecision {
        KsmTargets targets;
        bool running;                   /* whether the decision leaves KSM scanning */
        uint64_t thres_kib;             /* the threshold the decision compared against */
        uint64_t free_kib;              /* the free memory it judged */
        char reason[KSM_REASON_MAX];    /* one line, for logs, STATUS= and the bus */
} KsmDecision;

/* compat: the old script's threshold: MemTotal * COEF / 100, or CONST when
 * that is larger. KiB. */
uint64_t policy_compat_threshold_kib(const KsmConfig *c, uint64_t mem_total_kib);

/* compat: the old script's sleep_millisecs: SLEEP_MSEC scaled to 16 GiB of
 * RAM, at least 10 ms. */
uint64_t policy_compat_sleep_ms(const KsmConfig *c, uint64_t mem_total_kib);

/* compat: one decision of the old ksmtuned. Pure: writes *ret and *ret_state
 * only. */
void policy_compat_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev,
                          KsmDecision *ret, KsmState *ret_state);
