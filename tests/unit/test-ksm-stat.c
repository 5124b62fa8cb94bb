/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "ksm-stat.h"
#include "macro.h"

#define ALL ((1u << _KSM_STAT_MAX) - 1)

static void test_table(void **state) {
        static const struct {
                const char *name, *text;
                int r;
                KsmProcStat want;
        } rows[] = {
                { "6.12 format",
                  "ksm_rmap_items 51200\nksm_zero_pages 3\nksm_merging_pages 51100\n"
                  "ksm_process_profit 208486400\nksm_merge_any: no\nksm_mergeable: yes\n", 0,
                  { 51200, 3, 51100, 208486400, false, true, ALL } },
                { "negative profit",
                  "ksm_rmap_items 100\nksm_merging_pages 0\nksm_process_profit -6400\n", 0,
                  { 100, 0, 0, -6400, false, false,
                    (1u << KSM_STAT_RMAP_ITEMS) | (1u << KSM_STAT_MERGING_PAGES) | (1u << KSM_STAT_PROCESS_PROFIT) } },
                { "6.1: rmap items only", "ksm_rmap_items 5\n", 0, { 5, 0, 0, 0, false, false, 1u << KSM_STAT_RMAP_ITEMS } },
                { "merge_any yes", "ksm_merge_any: yes\n", 0, { .merge_any = true, .present = 1u << KSM_STAT_MERGE_ANY } },
                { "unknown keys ignored", "ksm_future 9\nksm_merging_pages 4", 0,
                  { .merging_pages = 4, .present = 1u << KSM_STAT_MERGING_PAGES } },
                { "empty", "", -EBADMSG, {} },
                { "garbage", "hello\n", -EBADMSG, {} },
                { "bad number", "ksm_merging_pages x\n", -EBADMSG, {} },
                { "negative pages", "ksm_merging_pages -1\n", -EBADMSG, {} },
                { "bad yes/no", "ksm_mergeable: maybe\n", -EBADMSG, {} },
                { "key prefix", "ksm_merging_pagesX 4\n", -EBADMSG, {} },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                KsmProcStat s = { .rmap_items = 77 };
                int r = ksm_stat_parse(rows[i].text, &s);

                if (r != rows[i].r)
                        fail_msg("row '%s': expected %d, got %d", rows[i].name, rows[i].r, r);
                if (r < 0) {
                        assert_int_equal(s.rmap_items, 77);
                        continue;
                }
                if (s.rmap_items != rows[i].want.rmap_items || s.zero_pages != rows[i].want.zero_pages ||
                    s.merging_pages != rows[i].want.merging_pages ||
                    s.process_profit_bytes != rows[i].want.process_profit_bytes ||
                    s.merge_any != rows[i].want.merge_any || s.mergeable != rows[i].want.mergeable ||
                    s.present != rows[i].want.present)
                        fail_msg("row '%s': fields differ", rows[i].name);
        }
}

static void test_saved(void **state) {
        KsmProcStat s = { .merging_pages = 10, .zero_pages = 2 };

        (void) state;
        assert_int_equal(ksm_proc_saved_bytes(&s, 4096), 12 * 4096);
        s = (KsmProcStat) { .merging_pages = UINT64_C(1) << 62, .zero_pages = UINT64_MAX };
        assert_true(ksm_proc_saved_bytes(&s, 4096) == UINT64_MAX);
}

static void test_read_self(void **state) {
        _cleanup_close_ int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        KsmProcStat s;
        int r;

        (void) state;
        assert_true(root >= 0);
        /* The live kernel's file, when it has one, must parse. */
        r = ksm_stat_read(root, getpid(), &s);
        if (r == -ENOENT)
                return;
        assert_int_equal(r, 0);
        assert_true(s.present & (1u << KSM_STAT_RMAP_ITEMS));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_saved),
                cmocka_unit_test(test_read_self),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
