/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ksm-sysfs.h"
#include "meminfo.h"
#include "policy.h"

/* Every family is named under this prefix. */
#define METRICS_PREFIX "ksmtuned_"
/* Default of KSM_METRICS_TOP_GUESTS: bounds the guest label sets. */
#define METRICS_TOP_GUESTS_DEFAULT 50

/* One guest (a process KSM merges pages of). */
typedef struct MetricsGuest {
        pid_t pid;
        const char *name;               /* libvirt domain / qemu -name, else comm; any bytes */
        uint64_t merged_bytes;          /* (ksm_merging_pages + ksm_zero_pages) * page size */
        bool has_profit;
        int64_t profit_bytes;           /* ksm_process_profit */
} MetricsGuest;

/* What only the daemon knows. */
typedef struct MetricsDaemon {
        KsmPolicyKind policy;
        KsmAdaptiveMode adaptive_mode;  /* used when policy is adaptive */
        uint64_t last_tick_realtime_usec;
        uint64_t ticks_total;
        uint64_t monitor_interval_s;
        uint64_t cpu_budget_pct;        /* KSM_CPU_BUDGET, % of one CPU */
        uint64_t knob_write_failures[_KSM_KNOB_MAX];
        uint64_t reload_failures_total;
        uint64_t knob_reversals_total;  /* our writes another tuner undid */
        bool yielded;                   /* stopped writing: another tuner owns KSM */
} MetricsDaemon;

typedef struct Metrics {
        const char *version;
        const char *policy;             /* for build_info; NULL or "" when unknown */
        KsmKnobs ksm;
        uint64_t page_size_bytes;
        bool has_mem;
        KsmMeminfo mem;
        bool has_ksmd_cpu;
        uint64_t ksmd_cpu_usec;
        const MetricsGuest *guests;     /* most saving first, at most the top N */
        size_t n_guests;
        const MetricsDaemon *daemon;    /* NULL: not from the daemon (ksmctl metrics) */
} Metrics;

/* Render m in the Prometheus text exposition format (0.0.4), every family
 * with # HELP and # TYPE. Pure. Returns 0 or -ENOMEM; *ret is malloc'ed and
 * NUL-terminated, *ret_size its length (without the NUL). */
int metrics_format(const Metrics *m, char **ret, size_t *ret_size);

/* Sort guests by merged bytes (most first, then by pid) and return how many
 * to export: at most top. Pure. */
size_t metrics_guests_top(MetricsGuest *guests, size_t n, size_t top);
