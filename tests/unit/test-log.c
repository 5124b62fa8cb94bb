/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "macro.h"

static void test_journal_stream_matches(void **state) {
        static const struct {
                const char *env;
                bool want;
        } rows[] = {
                { "8:123", true },
                { "18446744073709551615:1", false },    /* another device */
                { "8:124", false },
                { "9:123", false },
                { "8:123x", false },
                { "8:", false },
                { ":123", false },
                { "8", false },
                { "", false },
                { "garbage", false },
                { NULL, false },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (log_journal_stream_matches(rows[i].env, 8, 123) != rows[i].want)
                        fail_msg("JOURNAL_STREAM=%s: expected %d", rows[i].env ?: "(unset)", rows[i].want);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_journal_stream_matches),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
