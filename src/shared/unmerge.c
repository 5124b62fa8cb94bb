/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "arith.h"
#include "units.h"
#include "unmerge.h"

void unmerge_check(const KsmMeminfo *mem, const KsmKnobs *k, uint64_t page_size_bytes, UnmergeCheck *ret) {
        UnmergeCheck c = {};
        uint64_t avail_kib, want;

        c.need_bytes = sat_mul_u64(ksm_saved_pages(k), page_size_bytes);
        /* Divide first: MemTotal in bytes may not fit 64 bits on absurd input. */
        c.margin_bytes = sat_add_u64(sat_mul_u64(mem->mem_total_kib / 100, UNMERGE_MARGIN_PCT * 1024),
                                 (mem->mem_total_kib % 100) * UNMERGE_MARGIN_PCT * 1024 / 100);
        if (c.margin_bytes < UNMERGE_MARGIN_MIN_BYTES)
                c.margin_bytes = UNMERGE_MARGIN_MIN_BYTES;
        /* Without MemAvailable, the old ksmtuned's idea of free memory. */
        avail_kib = mem->has_mem_available ? mem->mem_available_kib :
                    sat_add_u64(sat_add_u64(mem->mem_free_kib, mem->buffers_kib), mem->cached_kib);
        c.available_bytes = sat_mul_u64(avail_kib, 1024);
        want = sat_add_u64(c.need_bytes, c.margin_bytes);
        /* A saturated figure is no figure: absurd counters (or meminfo) cannot
         * prove that unmerging fits, so run=2 is refused. */
        c.ok = want != UINT64_MAX && c.available_bytes != UINT64_MAX && c.available_bytes >= want;
        c.missing_bytes = c.ok ? 0 : want == UINT64_MAX ? UINT64_MAX : sat_sub_u64(want, c.available_bytes);
        *ret = c;
}
