/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ksm-stat.h"
#include "ksm-sysfs.h"
#include "smaps.h"

/* Why memory is (not) merged: one finding is one line with what to do. */
typedef enum DoctorCode {
        DOCTOR_NO_KSM,                  /* no /sys/kernel/mm/ksm */
        DOCTOR_KSM_STOPPED,             /* run=0 (or 2) */
        DOCTOR_NO_DAEMON,               /* ksmtuned is not running */
        DOCTOR_ADVISOR,                 /* the kernel's advisor owns pages_to_scan */
        DOCTOR_CHAINS,                  /* more sharers than max_page_sharing */
        DOCTOR_MERGE_ACROSS_NODES,      /* merge_across_nodes and the NUMA nodes */
        DOCTOR_NOT_MERGEABLE,           /* neither MADV_MERGEABLE nor merge-any */
        DOCTOR_NOSHAREPAGES,            /* qemu -machine mem-merge=off (libvirt <nosharepages/>) */
        DOCTOR_HUGETLB,                 /* hugetlbfs memory: never merged */
        DOCTOR_THP,                     /* transparent huge pages: split to merge */
        DOCTOR_SHARED,                  /* MAP_SHARED / memfd memory: never merged */
        DOCTOR_VOLATILE,                /* pages change faster than ksmd's passes */
        DOCTOR_NEGATIVE_PROFIT,         /* KSM's metadata costs more than it saves */
        DOCTOR_MERGING,                 /* all is well: what it saves */
        _DOCTOR_CODE_MAX,
} DoctorCode;

typedef enum DoctorSeverity {
        DOCTOR_OK,
        DOCTOR_INFO,
        DOCTOR_WARNING,
        _DOCTOR_SEVERITY_MAX,
} DoctorSeverity;

#define DOCTOR_TEXT_MAX 320
#define DOCTOR_FINDINGS_MAX 8

typedef struct DoctorFinding {
        DoctorCode code;
        DoctorSeverity severity;
        char text[DOCTOR_TEXT_MAX];     /* what is found; what to do */
} DoctorFinding;

typedef struct DoctorFindings {
        size_t n;
        DoctorFinding f[DOCTOR_FINDINGS_MAX];
} DoctorFindings;

/* What the host shows. */
typedef struct DoctorHost {
        bool has_ksm;                   /* /sys/kernel/mm/ksm exists */
        KsmKnobs ksm;
        bool has_chains;                /* max_page_sharing and stable_node_* exist (4.13+) */
        uint64_t max_page_sharing, stable_node_chains, stable_node_dups;
        bool has_merge_across_nodes;
        uint64_t merge_across_nodes;
        unsigned numa_nodes;            /* 0 unknown */
        bool daemon_running;
        bool daemon_reason_known;       /* last_reason is the daemon's (over D-Bus) */
        const char *daemon_reason;      /* its last decision */
} DoctorHost;

/* What one process shows. */
typedef struct DoctorProc {
        bool has_smaps;
        SmapsTotals smaps;
        bool has_ksm_stat;
        KsmProcStat stat;
        bool nosharepages;              /* a qemu command line with mem-merge=off */
        uint64_t sampled_pages;         /* mergeable pages read twice, sample_ms apart; 0: not sampled */
        uint64_t changed_pages;         /* of those, changed in between */
        uint64_t sample_ms;
        uint64_t pages_volatile;        /* the host's counter, for the message */
        uint64_t page_size_bytes;
} DoctorProc;

/* Host-wide findings. Pure. */
void doctor_host(const DoctorHost *h, DoctorFindings *ret);

/* One process's findings; at least one (DOCTOR_MERGING or a problem). Pure. */
void doctor_proc(const DoctorProc *p, DoctorFindings *ret);

/* Stable names for --json ("not-mergeable", ...) and the severity words. */
const char *doctor_code_name(DoctorCode c);
const char *doctor_severity_name(DoctorSeverity s);
