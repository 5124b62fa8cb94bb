/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ksm-sysfs.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)

/* The current time of clock (CLOCK_MONOTONIC, CLOCK_REALTIME, ...) in µs. */
uint64_t now_usec(clockid_t clock);

/* The system's page size in bytes (sysconf), never assumed. */
uint64_t page_size(void);

/* Pages KSM saves now: each page that shares a KSM page (pages_sharing)
 * and each zero page it mapped (ksm_zero_pages). Saturates. */
uint64_t ksm_saved_pages(const KsmKnobs *k);

/* Bytes KSM saves now: pages_sharing plus the zero pages it mapped. */
uint64_t ksm_saved_bytes(const KsmKnobs *k, uint64_t page_size_bytes);

/* Format bytes as "12.3 MiB" (1024-based, one decimal). Returns buf. */
const char *format_bytes(uint64_t bytes, char *buf, size_t size);
