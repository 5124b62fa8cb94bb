/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "macro.h"
#include "units.h"

static void test_format_bytes(void **state) {
        static const struct { uint64_t in; const char *want; } rows[] = {
                { 0, "0 B" },
                { 1023, "1023 B" },
                { 1024, "1.0 KiB" },
                { 1536, "1.5 KiB" },
                { 1048575, "1023.9 KiB" },
                { 1048576, "1.0 MiB" },
                { UINT64_C(5368709120), "5.0 GiB" },
                { UINT64_C(1099511627776) * 3 / 2, "1.5 TiB" },
                { UINT64_MAX, "15.9 EiB" },
        };
        char buf[32];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                assert_string_equal(format_bytes(rows[i].in, buf, sizeof(buf)), rows[i].want);
}

static void test_saved(void **state) {
        KsmKnobs k = { .pages_sharing = 100, .ksm_zero_pages = 28 };

        (void) state;
        assert_int_equal(page_size(), (uint64_t) sysconf(_SC_PAGESIZE));
        assert_int_equal(ksm_saved_bytes(&k, 4096), 128 * 4096);
        assert_int_equal(ksm_saved_bytes(&k, 65536), 128 * 65536);
        /* 2^62 pages of 4 KiB wrapped to "0 B": saturate. */
        k = (KsmKnobs) { .pages_sharing = UINT64_C(1) << 62 };
        assert_true(ksm_saved_bytes(&k, 4096) == UINT64_MAX);
        k = (KsmKnobs) { .pages_sharing = UINT64_MAX, .ksm_zero_pages = 2 };
        assert_true(ksm_saved_pages(&k) == UINT64_MAX);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_saved),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
