/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ksm-sysfs.h"
#include "meminfo.h"

/* Memory kept free beyond what unmerging allocates: 5% of MemTotal, at least
 * 64 MiB, so that the copies do not push the host into reclaim or the OOM
 * killer (run=2 cannot be interrupted once the kernel has started). */
#define UNMERGE_MARGIN_PCT 5
#define UNMERGE_MARGIN_MIN_BYTES (UINT64_C(64) << 20)

/* Whether writing run=2 is safe now, and by how much it is not. Bytes. */
typedef struct UnmergeCheck {
        uint64_t need_bytes;            /* (pages_sharing + ksm_zero_pages) * page size */
        uint64_t margin_bytes;          /* max(5% of MemTotal, 64 MiB) */
        uint64_t available_bytes;       /* MemAvailable, or MemFree + Buffers + Cached before 3.14 */
        uint64_t missing_bytes;         /* need + margin - available; 0 when ok */
        bool ok;                        /* available >= need + margin */
} UnmergeCheck;

/* Unmerging gives every page that shares a KSM page (pages_sharing) and every
 * zero page KSM mapped (ksm_zero_pages) its own copy again. Pure; saturates
 * instead of overflowing. */
void unmerge_check(const KsmMeminfo *mem, const KsmKnobs *k, uint64_t page_size_bytes, UnmergeCheck *ret);
