/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "unmerge.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define KIB_OF(bytes) ((bytes) / 1024)

typedef struct Row {
        const char *name;
        KsmMeminfo mem;
        uint64_t sharing, zero, page;
        UnmergeCheck want;
} Row;

static const Row rows[] = {
        /* 20 GiB host: margin 5% = 1 GiB > 64 MiB. */
        { "nothing merged, plenty free",
          { .mem_total_kib = KIB_OF(20 * GIB), .mem_available_kib = KIB_OF(8 * GIB), .has_mem_available = true },
          0, 0, 4096,
          { 0, GIB, 8 * GIB, 0, true } },
        { "1 GiB merged, 8 GiB available",
          { .mem_total_kib = KIB_OF(20 * GIB), .mem_available_kib = KIB_OF(8 * GIB), .has_mem_available = true },
          262144, 0, 4096,
          { GIB, GIB, 8 * GIB, 0, true } },
        { "exactly enough",
          { .mem_total_kib = KIB_OF(20 * GIB), .mem_available_kib = KIB_OF(2 * GIB), .has_mem_available = true },
          262144, 0, 4096,
          { GIB, GIB, 2 * GIB, 0, true } },
        { "one KiB short",
          { .mem_total_kib = KIB_OF(20 * GIB), .mem_available_kib = KIB_OF(2 * GIB) - 1, .has_mem_available = true },
          262144, 0, 4096,
          { GIB, GIB, 2 * GIB - 1024, 1024, false } },
        { "zero pages count too",
          { .mem_total_kib = KIB_OF(20 * GIB), .mem_available_kib = KIB_OF(GIB), .has_mem_available = true },
          131072, 131072, 4096,
          { GIB, GIB, GIB, GIB, false } },
        { "16 GiB host: margin rounds down to the byte",
          { .mem_total_kib = KIB_OF(16 * GIB), .mem_available_kib = KIB_OF(8 * GIB), .has_mem_available = true },
          0, 0, 4096,
          { 0, 16 * GIB / 20, 8 * GIB, 0, true } },
        /* 1 GiB host: 5% = 51.2 MiB < 64 MiB floor. */
        { "small host: 64 MiB floor",
          { .mem_total_kib = KIB_OF(GIB), .mem_available_kib = KIB_OF(100 * MIB), .has_mem_available = true },
          4096, 0, 4096,
          { 16 * MIB, 64 * MIB, 100 * MIB, 0, true } },
        { "small host: short by the floor",
          { .mem_total_kib = KIB_OF(GIB), .mem_available_kib = KIB_OF(70 * MIB), .has_mem_available = true },
          4096, 0, 4096,
          { 16 * MIB, 64 * MIB, 70 * MIB, 10 * MIB, false } },
        { "64 KiB pages",
          { .mem_total_kib = KIB_OF(GIB), .mem_available_kib = KIB_OF(GIB), .has_mem_available = true },
          1024, 0, 65536,
          { 64 * MIB, 64 * MIB, GIB, 0, true } },
        { "no MemAvailable: free + buffers + cached",
          { .mem_total_kib = KIB_OF(GIB), .mem_free_kib = KIB_OF(10 * MIB), .buffers_kib = KIB_OF(20 * MIB),
            .cached_kib = KIB_OF(30 * MIB), .mem_available_kib = 0, .has_mem_available = false },
          0, 0, 4096,
          { 0, 64 * MIB, 60 * MIB, 4 * MIB, false } },
        { "MemTotal not a multiple of 100 KiB",
          { .mem_total_kib = 16777299, .mem_available_kib = KIB_OF(16 * GIB), .has_mem_available = true },
          0, 0, 4096,
          { 0, 16777299 * UINT64_C(1024) * 5 / 100, 16 * GIB, 0, true } },
        { "absurd counters saturate",
          { .mem_total_kib = UINT64_MAX, .mem_available_kib = UINT64_MAX, .has_mem_available = true },
          UINT64_MAX, UINT64_MAX, 4096,
          /* Saturated figures prove nothing: run=2 is refused. */
          { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, false } },
        { "absurd need, small host",
          { .mem_total_kib = KIB_OF(GIB), .mem_available_kib = KIB_OF(GIB), .has_mem_available = true },
          UINT64_MAX / 2, 0, 4096,
          { UINT64_MAX, 64 * MIB, GIB, UINT64_MAX, false } },
};

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const Row *r = &rows[i];
                KsmKnobs k = { .pages_sharing = r->sharing, .ksm_zero_pages = r->zero };
                UnmergeCheck c;

                unmerge_check(&r->mem, &k, r->page, &c);
                if (c.need_bytes != r->want.need_bytes || c.margin_bytes != r->want.margin_bytes ||
                    c.available_bytes != r->want.available_bytes || c.missing_bytes != r->want.missing_bytes ||
                    c.ok != r->want.ok)
                        fail_msg("row '%s': expected need=%ju margin=%ju avail=%ju missing=%ju ok=%d, "
                                 "got need=%ju margin=%ju avail=%ju missing=%ju ok=%d", r->name,
                                 r->want.need_bytes, r->want.margin_bytes, r->want.available_bytes,
                                 r->want.missing_bytes, r->want.ok,
                                 c.need_bytes, c.margin_bytes, c.available_bytes, c.missing_bytes, c.ok);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
