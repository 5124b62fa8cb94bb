/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* At most this many mergeable ranges are kept (the largest by RSS). */
#define SMAPS_RANGES_MAX 16

/* A mapping of a process, as addresses: [start, end). */
typedef struct SmapsRange {
        uint64_t start, end;
        uint64_t rss_kib;
} SmapsRange;

/* What /proc/PID/smaps says about a process's memory and KSM. KiB. */
typedef struct SmapsTotals {
        uint64_t rss_kib;               /* all mappings */
        uint64_t anon_kib;              /* private writable mappings without a file: what KSM can merge */
        uint64_t mergeable_kib;         /* of anon_kib, in mappings marked mergeable (VmFlags "mg") */
        uint64_t thp_kib;               /* AnonHugePages within the mergeable mappings */
        uint64_t shared_kib;            /* writable shared mappings (MAP_SHARED, memfd, shm): never merged */
        uint64_t memfd_kib;             /* of shared_kib, memfd mappings */
        uint64_t hugetlb_kib;           /* hugetlbfs pages (Private_ + Shared_Hugetlb): never merged */
        size_t n_ranges;
        SmapsRange ranges[SMAPS_RANGES_MAX];    /* mergeable mappings, largest RSS first */
} SmapsTotals;

/* Parse the text of /proc/PID/smaps. Returns 0, or -EBADMSG when a mapping
 * line is malformed; an empty text (a kernel thread) gives zeros. */
int smaps_parse(const char *text, SmapsTotals *ret);

/* Read and parse proc/PID/smaps under root_fd. Returns 0 or negative errno. */
int smaps_read(int root_fd, pid_t pid, SmapsTotals *ret);
