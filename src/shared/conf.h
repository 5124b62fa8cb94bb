/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-rules.h"
#include "guests.h"

/* configure's sysconfdir: "/etc" in a distribution build, "/usr/local/etc"
 * by default, so that a local install never reads the packaged file. */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define KSMTUNED_CONF_DEFAULT SYSCONFDIR "/ksmtuned.conf"
#define LIBVIRT_URI_DEFAULT "qemu:///system"
/* node_exporter's textfile directory in Debian's package: used only when
 * that directory exists, so hosts without node_exporter get no file. */
#define METRICS_FILE_DEFAULT "/var/lib/prometheus/node-exporter/ksmtuned.prom"

/* The longest value, with its NUL (a longer one is an error naming it). */
#define CONF_VALUE_MAX 200

typedef enum KsmPolicyKind {
        KSM_POLICY_COMPAT,              /* the old script's decisions */
        KSM_POLICY_ADAPTIVE,            /* measured: pressure, savings, ksmd's CPU */
        _KSM_POLICY_MAX,
} KsmPolicyKind;

/* Every setting of /etc/ksmtuned.conf, with the old script's names and units. */
typedef struct KsmConfig {
        int64_t monitor_interval_s;     /* KSM_MONITOR_INTERVAL */
        int64_t sleep_msec;             /* KSM_SLEEP_MSEC, for a 16 GiB host */
        int64_t npages_boost;           /* KSM_NPAGES_BOOST, pages */
        int64_t npages_decay;           /* KSM_NPAGES_DECAY, pages (negative) */
        int64_t npages_min;             /* KSM_NPAGES_MIN, pages */
        int64_t npages_max;             /* KSM_NPAGES_MAX, pages */
        int64_t thres_coef_pct;         /* KSM_THRES_COEF, percent of MemTotal */
        int64_t thres_const_kib;        /* KSM_THRES_CONST, KiB */
        char guest_regex[CONF_VALUE_MAX];       /* KSM_GUEST_REGEX */
        char merge_any_regex[CONF_VALUE_MAX];   /* KSM_MERGE_ANY_REGEX, "" for none */
        int64_t merge_across_nodes;     /* KSM_MERGE_ACROSS_NODES: -1 auto (leave alone), 0 or 1 */
        KsmPolicyKind policy;           /* KSM_POLICY */
        int64_t cpu_budget_pct;         /* KSM_CPU_BUDGET, % of one CPU for ksmd, averaged over a minute */
        int64_t burst_secs;             /* KSM_BURST_SECS, s per planned pass after guests appear */
        int64_t trickle_secs;           /* KSM_TRICKLE_SECS, s per pass once passes save nothing */
        int64_t psi_thres_pct;          /* KSM_PSI_THRES, % "some" memory stall (avg10), 0: ignore PSI */
        char logfile[CONF_VALUE_MAX];   /* LOGFILE, "" for none */
        char metrics_file[CONF_VALUE_MAX];      /* KSM_METRICS_FILE, "" for none */
        int64_t metrics_top_guests;     /* KSM_METRICS_TOP_GUESTS: guests exported at most */
        char libvirt_uri[CONF_VALUE_MAX];       /* KSM_LIBVIRT_URI, blank-separated, "" for none */
        bool debug;                     /* DEBUG */
        char guest_cgroups[CONF_VALUE_MAX];     /* KSM_GUEST_CGROUPS, blank-separated, "" for none */
        char guest_pidfiles[CONF_VALUE_MAX];    /* KSM_GUEST_PIDFILES, blank-separated globs, "" for none */
        GuestMeasure guest_measure;     /* KSM_GUEST_MEMORY */
        bool proc_events;               /* KSM_PROC_EVENTS: watch the kernel's process events */
} KsmConfig;

/* Called for each warning (an unknown key, a value the old script ran
 * with outside the documented range); msg names file and line. */
typedef void (*ConfWarnFn)(const char *msg, void *userdata);

/* Fill in the built-in defaults (the old script's). */
void conf_init_defaults(KsmConfig *c);

/* Parse size bytes of shell KEY=value text, as the old script's shell read
 * it (see conf-shell.h). filename is used in messages only. On error
 * returns -EINVAL and writes "FILE:LINE: KEY=VALUE: why" (or
 * "FILE:LINE: why") to err; ret is written only on success. */
int conf_parse(const char *text, size_t size, const char *filename, KsmConfig *ret,
               ConfWarnFn warn, void *userdata, char *err, size_t err_size);

/* Read and parse a file; it must be a regular file (opened without
 * blocking). Returns 0, -EINVAL with err filled, or a negative errno from
 * reading it (err filled too; -EBADFD: not a regular file). */
int conf_load(const char *path, KsmConfig *ret,
              ConfWarnFn warn, void *userdata, char *err, size_t err_size);

/* The compiled KSM_GUEST_REGEX and KSM_MERGE_ANY_REGEX of a configuration:
 * compiled once, when the file is validated, and handed to the scanner. */
typedef struct ConfPatterns {
        GuestPattern *guest;            /* KSM_GUEST_REGEX */
        GuestPattern *merge_any;        /* KSM_MERGE_ANY_REGEX, NULL for none */
} ConfPatterns;

/* As conf_load, and also hand over the compiled patterns in ret_patterns
 * (the caller's references: conf_patterns_clear). A pattern with the text
 * of one in prev (NULL for none) is shared, not compiled again, so a reload
 * that keeps its patterns compiles nothing. ret_patterns is written only on
 * success. */
int conf_load_patterns(const char *path, const ConfPatterns *prev, KsmConfig *ret, ConfPatterns *ret_patterns,
                       ConfWarnFn warn, void *userdata, char *err, size_t err_size);

/* The compiled patterns of c (a valid configuration, such as the built-in
 * defaults), sharing those of prev (NULL for none) with the same text.
 * Returns 0, -EINVAL, -E2BIG or -ENOMEM; ret is written only on success. */
int conf_patterns_build(const KsmConfig *c, const ConfPatterns *prev, ConfPatterns *ret);

/* Drop both references. */
void conf_patterns_clear(ConfPatterns *p);

/* "compat" or "adaptive"; NULL for an unknown kind. */
const char *conf_policy_name(KsmPolicyKind kind);

/* Name of the i-th known key, NULL past the last (for docs checks). */
const char *conf_key_name(size_t i);

/* The value of the i-th key in c as text, unquoted: integers in decimal,
 * booleans as 0 or 1, strings as they are. Returns 0, -ENOENT past the last
 * key, or -ENOBUFS when it does not fit in size bytes (buf untouched). */
int conf_key_format(const KsmConfig *c, size_t i, char *buf, size_t size);
