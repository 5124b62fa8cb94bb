/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Fields of /proc/PID/ksm_stat (6.1+; fields were added over time). */
typedef enum KsmStatField {
        KSM_STAT_RMAP_ITEMS,            /* ksm_rmap_items */
        KSM_STAT_ZERO_PAGES,            /* ksm_zero_pages (6.10+) */
        KSM_STAT_MERGING_PAGES,         /* ksm_merging_pages */
        KSM_STAT_PROCESS_PROFIT,        /* ksm_process_profit */
        KSM_STAT_MERGE_ANY,             /* ksm_merge_any (prctl PR_SET_MEMORY_MERGE) */
        KSM_STAT_MERGEABLE,             /* ksm_mergeable (some VMA is mergeable) */
        _KSM_STAT_MAX,
} KsmStatField;

/* One process's KSM counters. Pages, except profit in bytes. */
typedef struct KsmProcStat {
        uint64_t rmap_items;
        uint64_t zero_pages;
        uint64_t merging_pages;
        int64_t process_profit_bytes;   /* negative when metadata costs more than merging saves */
        bool merge_any;
        bool mergeable;
        unsigned present;               /* 1 << KsmStatField */
} KsmProcStat;

/* Parse the text of /proc/PID/ksm_stat ("key value" lines; unknown keys are
 * ignored). Returns 0, or -EBADMSG when a known key has a malformed value or
 * no known key is present. */
int ksm_stat_parse(const char *text, KsmProcStat *ret);

/* Read proc/PID/ksm_stat under root_fd. Returns 0 or negative errno (-ENOENT
 * when the process is gone or the kernel lacks the file). */
int ksm_stat_read(int root_fd, pid_t pid, KsmProcStat *ret);

/* Bytes this process saves: merging pages plus KSM-mapped zero pages. */
uint64_t ksm_proc_saved_bytes(const KsmProcStat *s, uint64_t page_size_bytes);
