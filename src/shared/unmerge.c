/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "unmerge.h"

static uint64_t sat_add(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b) {
        return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

void unmerge_check(const KsmMeminfo *mem, uint64_t pages_sharing, uint64_t ksm_zero_pages,
                   uint64_t page_size_bytes, UnmergeCheck *ret) {
        UnmergeCheck c = {};
        uint64_t avail_kib, want;

        c.need_bytes = sat_mul(sat_add(pages_sharing, ksm_zero_pages), page_size_bytes);
        /* Divide first: MemTotal in bytes may not fit 64 bits on absurd input. */
        c.margin_bytes = sat_add(sat_mul(mem->mem_total_kib / 100, UNMERGE_MARGIN_PCT * 1024),
                                 (mem->mem_total_kib % 100) * UNMERGE_MARGIN_PCT * 1024 / 100);
        if (c.margin_bytes < UNMERGE_MARGIN_MIN_BYTES)
                c.margin_bytes = UNMERGE_MARGIN_MIN_BYTES;
        /* Without MemAvailable, the old ksmtuned's idea of free memory. */
        avail_kib = mem->has_mem_available ? mem->mem_available_kib :
                    sat_add(sat_add(mem->mem_free_kib, mem->buffers_kib), mem->cached_kib);
        c.available_bytes = sat_mul(avail_kib, 1024);
        want = sat_add(c.need_bytes, c.margin_bytes);
        c.ok = c.available_bytes >= want;
        c.missing_bytes = c.ok ? 0 : want - c.available_bytes;
        *ret = c;
}
