/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "meminfo.h"

typedef struct Row {
        const char *name;
        const char *text;
        int r;
        KsmMeminfo want;
} Row;

#define FULL "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 500 kB\nBuffers: 10 kB\nCached: 200 kB\n"

static const Row rows[] = {
        { "all fields", FULL, 0, { 1000, 100, 500, 10, 200, true } },
        { "no MemAvailable (pre-3.14)", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n", 0,
          { 1000, 100, 0, 10, 200, false } },
        { "no trailing newline", "MemTotal: 1 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB", 0, { 1, 0, 0, 0, 0, false } },
        { "other fields ignored, prefixes not confused",
          "MemTotalX: 5 kB\nSwapCached: 9 kB\nMemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n", 0,
          { 1000, 100, 0, 10, 200, false } },
        { "64 TiB host", "MemTotal: 68719476736 kB\nMemFree: 1 kB\nBuffers: 0 kB\nCached: 0 kB\n", 0,
          { UINT64_C(68719476736), 1, 0, 0, 0, false } },
        { "largest u64", "MemTotal: 18446744073709551615 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", 0,
          { UINT64_MAX, 0, 0, 0, 0, false } },
        { "overflow", "MemTotal: 18446744073709551616 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -ERANGE, {} },
        { "empty", "", -EBADMSG, {} },
        { "garbage", "\x01\x02hello world\n", -EBADMSG, {} },
        { "missing Cached", "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\n", -EBADMSG, {} },
        { "MemTotal zero", "MemTotal: 0 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EBADMSG, {} },
        { "negative", "MemTotal: -5 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EBADMSG, {} },
        { "no unit", "MemTotal: 1000\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EBADMSG, {} },
        { "wrong unit", "MemTotal: 1000 MB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EBADMSG, {} },
        { "trailing junk", "MemTotal: 1000 kB x\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EBADMSG, {} },
        { "duplicate", "MemTotal: 1 kB\nMemTotal: 2 kB\nMemFree: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n", -EBADMSG, {} },
};

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                KsmMeminfo m = { 7, 7, 7, 7, 7, true };
                int r = meminfo_parse(rows[i].text, &m);

                if (r != rows[i].r)
                        fail_msg("row '%s': expected return %d, got %d", rows[i].name, rows[i].r, r);
                if (r < 0) {
                        /* Output untouched on failure. */
                        assert_int_equal(m.mem_total_kib, 7);
                        continue;
                }
                if (memcmp(&m, &rows[i].want, sizeof(m)) != 0)
                        fail_msg("row '%s': fields differ (total %ju free %ju avail %ju buffers %ju cached %ju)",
                                 rows[i].name, (uintmax_t) m.mem_total_kib, (uintmax_t) m.mem_free_kib,
                                 (uintmax_t) m.mem_available_kib, (uintmax_t) m.buffers_kib, (uintmax_t) m.cached_kib);
        }
}

static void test_real_proc(void **state) {
        KsmMeminfo m;
        int root = open("/", O_RDONLY | O_DIRECTORY);

        (void) state;
        assert_true(root >= 0);
        assert_int_equal(meminfo_read(root, NULL, &m), 0);
        assert_true(m.mem_total_kib > 0);
        assert_true(m.has_mem_available);
        assert_true(m.mem_free_kib <= m.mem_total_kib);
        close(root);
}

static void test_fixture_files(void **state) {
        int dir = open(TEST_DATA "/meminfo", O_RDONLY | O_DIRECTORY);
        _cleanup_free_ char *a = NULL, *b = NULL;
        KsmMeminfo m;

        (void) state;
        assert_true(dir >= 0);
        assert_int_equal(read_full_file_at(dir, "debian12-24g.txt", 1 << 20, &a, NULL), 0);
        assert_int_equal(meminfo_parse(a, &m), 0);
        assert_true(m.has_mem_available);
        assert_int_equal(read_full_file_at(dir, "old-kernel-no-available.txt", 1 << 20, &b, NULL), 0);
        assert_int_equal(meminfo_parse(b, &m), 0);
        assert_int_equal(m.mem_total_kib, 2048000);
        assert_false(m.has_mem_available);
        close(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_real_proc),
                cmocka_unit_test(test_fixture_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
