/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "numa-merge.h"

typedef struct Row {
        const char *name;
        int64_t want;
        bool has_knob;
        uint64_t current, pages_shared;
        bool guard_ok;
        NumaMergeAction expect;
} Row;

static const Row rows[] = {
        { "auto leaves 1 alone",                        -1, true,  1, 0,   true,  NUMA_MERGE_KEEP },
        { "auto leaves 0 alone, even merged",           -1, true,  0, 500, false, NUMA_MERGE_KEEP },
        { "no knob (not NUMA): nothing to do",           0, false, 1, 0,   true,  NUMA_MERGE_KEEP },
        { "already 0",                                   0, true,  0, 500, false, NUMA_MERGE_KEEP },
        { "already 1",                                   1, true,  1, 500, true,  NUMA_MERGE_KEEP },
        { "nothing merged: write at once",               0, true,  1, 0,   false, NUMA_MERGE_WRITE },
        { "nothing merged, to 1",                        1, true,  0, 0,   true,  NUMA_MERGE_WRITE },
        { "merged, memory suffices: unmerge first",      0, true,  1, 1,   true,  NUMA_MERGE_UNMERGE_WRITE },
        { "merged, to 1, memory suffices",               1, true,  0, 9999, true, NUMA_MERGE_UNMERGE_WRITE },
        { "merged, memory short: refuse",                0, true,  1, 1,   false, NUMA_MERGE_REFUSE },
        { "merged, to 1, memory short: refuse",          1, true,  0, 9999, false, NUMA_MERGE_REFUSE },
        { "garbage current value: write the wanted one", 1, true,  7, 0,   true,  NUMA_MERGE_WRITE },
};

static void test_decide(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                UnmergeCheck guard = { .ok = rows[i].guard_ok };
                NumaMergeAction got = numa_merge_decide(rows[i].want, rows[i].has_knob, rows[i].current,
                                                        rows[i].pages_shared, &guard);

                if (got != rows[i].expect)
                        fail_msg("%s: expected %s, got %s", rows[i].name,
                                 numa_merge_action_name(rows[i].expect), numa_merge_action_name(got));
        }
}

static void test_names(void **state) {
        (void) state;
        assert_string_equal(numa_merge_action_name(NUMA_MERGE_REFUSE), "refuse");
        assert_string_equal(numa_merge_action_name((NumaMergeAction) 42), "?");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_names),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
