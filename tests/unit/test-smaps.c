/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "smaps.h"

#define VMA(range, perms, path, rss, huge, hugetlb, flags)                                     \
        range " " perms " 00000000 00:00 0          " path "\n"                                 \
        "Size:             " rss " kB\nKernelPageSize:        4 kB\nRss:              " rss " kB\n" \
        "Pss:              " rss " kB\nAnonymous:        " rss " kB\nAnonHugePages:    " huge " kB\n" \
        "Shared_Hugetlb:         0 kB\nPrivate_Hugetlb:   " hugetlb " kB\nTHPeligible:    1\n"      \
        "ProtectionKey:         0\nVmFlags: " flags "\n"

static void test_table(void **state) {
        static const struct {
                const char *name, *text;
                int r;
                uint64_t rss, anon, mergeable, thp, shared, memfd, hugetlb;
                size_t n_ranges;
        } rows[] = {
                { "empty (kernel thread)", "", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
                { "mergeable anonymous",
                  VMA("7f0000000000-7f0004000000", "rw-p", "", "65536", "0", "0", "rd wr mr mw me ac mg"),
                  0, 65536, 65536, 65536, 0, 0, 0, 0, 1 },
                { "not marked",
                  VMA("7f0000000000-7f0004000000", "rw-p", "", "65536", "0", "0", "rd wr mr mw me ac"),
                  0, 65536, 65536, 0, 0, 0, 0, 0, 0 },
                { "heap counts as anonymous, mg as a word only",
                  VMA("55d000000000-55d000100000", "rw-p", "[heap]", "1024", "0", "0", "rd wr mr mw me ac mgx"),
                  0, 1024, 1024, 0, 0, 0, 0, 0, 0 },
                { "THP in a mergeable mapping",
                  VMA("7f0000000000-7f0004000000", "rw-p", "", "65536", "65536", "0", "rd wr mr mw me ac hg mg"),
                  0, 65536, 65536, 65536, 65536, 0, 0, 0, 1 },
                { "memfd shared",
                  VMA("7f0000000000-7f0004000000", "rw-s", "/memfd:guest-ram (deleted)", "65536", "0", "0",
                      "rd wr sh mr mw me ms sd"),
                  0, 65536, 0, 0, 0, 65536, 65536, 0, 0 },
                { "MAP_SHARED anonymous (shmem)",
                  VMA("7f0000000000-7f0004000000", "rw-s", "/dev/zero (deleted)", "65536", "0", "0",
                      "rd wr sh mr mw me ms sd"),
                  0, 65536, 0, 0, 0, 65536, 0, 0, 0 },
                { "hugetlb",
                  VMA("7f0000000000-7f0002000000", "rw-p", "/anon_hugepage (deleted)", "0", "0", "32768",
                      "rd wr mr mw me de ht"),
                  0, 0, 0, 0, 0, 0, 0, 32768, 0 },
                { "read-only file mapping ignored",
                  VMA("7f0000000000-7f0000100000", "r-xp", "/usr/lib/libc.so.6", "1024", "0", "0", "rd ex mr mw me"),
                  0, 1024, 0, 0, 0, 0, 0, 0, 0 },
                { "two mappings",
                  VMA("7f0000000000-7f0004000000", "rw-p", "", "65536", "0", "0", "rd wr mg")
                  VMA("7f1000000000-7f1000100000", "rw-p", "", "1024", "0", "0", "rd wr"),
                  0, 66560, 66560, 65536, 0, 0, 0, 0, 1 },
                { "garbage header", "hello world\nRss: 4 kB\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
                { "field before any mapping", "Rss:  4 kB\n", -EBADMSG, 0, 0, 0, 0, 0, 0, 0, 0 },
                { "end before start", "7f0000001000-7f0000000000 rw-p 00000000 00:00 0\n", -EBADMSG,
                  0, 0, 0, 0, 0, 0, 0, 0 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                SmapsTotals t = { .rss_kib = 77 };
                int r = smaps_parse(rows[i].text, &t);

                if (r != rows[i].r)
                        fail_msg("row '%s': expected %d, got %d", rows[i].name, rows[i].r, r);
                if (r < 0) {
                        assert_int_equal(t.rss_kib, 77);
                        continue;
                }
                if (t.rss_kib != rows[i].rss || t.anon_kib != rows[i].anon || t.mergeable_kib != rows[i].mergeable ||
                    t.thp_kib != rows[i].thp || t.shared_kib != rows[i].shared || t.memfd_kib != rows[i].memfd ||
                    t.hugetlb_kib != rows[i].hugetlb || t.n_ranges != rows[i].n_ranges)
                        fail_msg("row '%s': rss %lu anon %lu mergeable %lu thp %lu shared %lu memfd %lu hugetlb %lu "
                                 "ranges %zu", rows[i].name, (unsigned long) t.rss_kib, (unsigned long) t.anon_kib,
                                 (unsigned long) t.mergeable_kib, (unsigned long) t.thp_kib,
                                 (unsigned long) t.shared_kib, (unsigned long) t.memfd_kib,
                                 (unsigned long) t.hugetlb_kib, t.n_ranges);
        }
}

/* Only the largest SMAPS_RANGES_MAX mergeable mappings are kept, largest first. */
static void test_ranges(void **state) {
        char text[SMAPS_RANGES_MAX * 2 * 600] = "";
        size_t len = 0;
        SmapsTotals t;

        (void) state;
        for (unsigned i = 1; i <= SMAPS_RANGES_MAX * 2; i++)
                len += (size_t) snprintf(text + len, sizeof(text) - len,
                                         "%x000000-%x001000 rw-p 00000000 00:00 0\nRss: %u kB\nVmFlags: rd wr mg\n",
                                         i, i, i * 4);
        assert_int_equal(smaps_parse(text, &t), 0);
        assert_int_equal(t.n_ranges, SMAPS_RANGES_MAX);
        assert_int_equal(t.ranges[0].rss_kib, SMAPS_RANGES_MAX * 2 * 4);
        assert_int_equal(t.ranges[SMAPS_RANGES_MAX - 1].rss_kib, (SMAPS_RANGES_MAX + 1) * 4);
        assert_int_equal(t.ranges[0].start, (uint64_t) SMAPS_RANGES_MAX * 2 << 24);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_ranges),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
