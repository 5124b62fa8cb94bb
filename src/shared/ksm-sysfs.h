/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define KSM_SYSFS_DIR "sys/kernel/mm/ksm"

typedef enum KsmAdvisorMode {
        KSM_ADVISOR_NONE = 0,
        KSM_ADVISOR_SCAN_TIME = 1,
} KsmAdvisorMode;

/* The knobs the daemon may write, in the order they are written when KSM is
 * (kept) running: the advisor first so pages_to_scan is accepted, run last so
 * ksmd never scans with half-written settings. When stopping, run goes first. */
typedef enum KsmKnob {
        KSM_KNOB_ADVISOR_MODE,
        KSM_KNOB_PAGES_TO_SCAN,
        KSM_KNOB_SLEEP_MILLISECS,
        KSM_KNOB_SMART_SCAN,
        KSM_KNOB_USE_ZERO_PAGES,
        KSM_KNOB_RUN,
        _KSM_KNOB_MAX,
} KsmKnob;

/* Optional files, detected by presence; bit numbers. */
typedef enum KsmFeature {
        KSM_FEATURE_ADVISOR,            /* advisor_mode (6.9+) */
        KSM_FEATURE_SMART_SCAN,         /* smart_scan (6.7+) */
        KSM_FEATURE_USE_ZERO_PAGES,
        KSM_FEATURE_ZERO_PAGES,         /* ksm_zero_pages counter */
        KSM_FEATURE_GENERAL_PROFIT,
        KSM_FEATURE_PAGES_SCANNED,
        KSM_FEATURE_MAX_KERNEL_PAGES,   /* RHEL 6 era kernels */
        KSM_FEATURE_PAGES_SKIPPED,      /* pages_skipped (6.7+, smart_scan) */
        KSM_FEATURE_MERGE_ACROSS_NODES, /* merge_across_nodes (NUMA kernels) */
        _KSM_FEATURE_MAX,
} KsmFeature;

/* One read of /sys/kernel/mm/ksm. Counters are pages. */
typedef struct KsmKnobs {
        uint64_t run;
        uint64_t pages_to_scan;
        uint64_t sleep_millisecs;
        uint64_t smart_scan;
        uint64_t use_zero_pages;
        uint64_t advisor_mode;          /* KsmAdvisorMode */
        uint64_t pages_shared;
        uint64_t pages_sharing;
        uint64_t pages_unshared;
        uint64_t pages_volatile;
        uint64_t full_scans;
        uint64_t ksm_zero_pages;
        uint64_t pages_scanned;
        uint64_t max_kernel_pages;
        uint64_t pages_skipped;
        uint64_t merge_across_nodes;
        int64_t general_profit;         /* bytes; negative when metadata costs more */
        unsigned features;              /* 1 << KsmFeature */
        const char *skipped_file;       /* first optional file present but unreadable, or NULL */
        int skipped_error;              /* its negative errno */
} KsmKnobs;

/* What a policy wants written: only knobs with (set & (1 << knob)). */
typedef struct KsmTargets {
        unsigned set;
        uint64_t value[_KSM_KNOB_MAX];
} KsmTargets;

typedef struct KsmApplyResult {
        unsigned written;               /* 1 << KsmKnob: written (or would be, dry run) */
        unsigned failed;                /* 1 << KsmKnob: write failed */
        int error[_KSM_KNOB_MAX];       /* negative errno per failed knob */
} KsmApplyResult;

static inline bool ksm_has(const KsmKnobs *k, KsmFeature f) {
        return k->features & (1u << f);
}

/* The kernel's advisor is on (advisor_mode=scan-time): it sets
 * pages_to_scan, and writing pages_to_scan fails with EINVAL. */
static inline bool ksm_advisor_sets_rate(const KsmKnobs *k) {
        return ksm_has(k, KSM_FEATURE_ADVISOR) && k->advisor_mode == KSM_ADVISOR_SCAN_TIME;
}

static inline void ksm_targets_set(KsmTargets *t, KsmKnob knob, uint64_t value) {
        t->set |= 1u << knob;
        t->value[knob] = value;
}

/* File name of a knob under the KSM sysfs directory. */
const char *ksm_knob_name(KsmKnob knob);

/* Open root/sys/kernel/mm/ksm as a directory fd. Returns fd or negative errno. */
int ksm_sysfs_open(int root_fd);

/* Read every knob and counter. Required files: run, pages_to_scan,
 * sleep_millisecs, pages_shared, pages_sharing, full_scans. An optional file
 * that is missing, unreadable or garbage leaves its feature unset (the first
 * unreadable one is named in ret->skipped_file). Returns 0 or negative errno
 * of the first required file that failed, named in *ret_file (may be NULL). */
int ksm_sysfs_read_named(int ksm_fd, KsmKnobs *ret, const char **ret_file);

/* Files ksm_sysfs_read_held() keeps open between reads. */
#define KSM_SYSFS_READ_FILES 17

typedef struct KsmSysfsFds {
        int hold;                       /* -1 not known yet, 1 sysfs, 0 another file system */
        int fd[KSM_SYSFS_READ_FILES];   /* -1: not open (yet, or missing) */
} KsmSysfsFds;

void ksm_sysfs_fds_init(KsmSysfsFds *h);
void ksm_sysfs_fds_close(KsmSysfsFds *h);

/* ksm_sysfs_read_named(), keeping each file open in h for the next call
 * (a daemon reads them every tick), where ksm_fd is on sysfs: its
 * attributes are never replaced, a fixture tree's files may be, and are
 * then opened at each read. The files must be those of ksm_fd: close h when
 * the directory is replaced. */
int ksm_sysfs_read_held(int ksm_fd, KsmSysfsFds *h, KsmKnobs *ret, const char **ret_file);

/* ksm_sysfs_read_named() without the name. */
int ksm_sysfs_read(int ksm_fd, KsmKnobs *ret);

/* Write the targets that differ from cur, in the safe order. Every knob is
 * attempted even after a failure; dry_run only fills ret->written. Returns 0
 * when all writes succeeded, else the first error (details in ret). */
int ksm_sysfs_apply(int ksm_fd, const KsmTargets *t, const KsmKnobs *cur, bool dry_run, KsmApplyResult *ret);

/* Parse advisor_mode's "[none] scan-time" form. Returns 0 or -EINVAL. */
int ksm_advisor_mode_parse(const char *s, KsmAdvisorMode *ret);

/* Current value of a writable knob in cur. */
uint64_t ksm_knobs_get(const KsmKnobs *cur, KsmKnob knob);
