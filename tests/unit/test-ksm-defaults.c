/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ksm-defaults.h"
#include "macro.h"

static void test_envfile(void **state) {
        static const struct {
                const char *name, *text;
                int r;
                const char *want;
                unsigned line;
        } rows[] = {
                { "plain", "KSM_MAX_KERNEL_PAGES=1000\n", 0, "1000", 1 },
                { "Fedora's shipped file (commented out)",
                  "# The maximum number of unswappable kernel pages\n"
                  "# which may be allocated by ksm (0 for unlimited)\n"
                  "# If unset, defaults to half of total memory\n"
                  "# KSM_MAX_KERNEL_PAGES=\n", -ENOENT, NULL, 0 },
                { "empty value", "KSM_MAX_KERNEL_PAGES=\n", 0, "", 1 },
                { "double quotes", "KSM_MAX_KERNEL_PAGES=\"42\"\n", 0, "42", 1 },
                { "single quotes", "KSM_MAX_KERNEL_PAGES='42'\n", 0, "42", 1 },
                { "unbalanced quote kept", "KSM_MAX_KERNEL_PAGES=\"42\n", 0, "\"42", 1 },
                { "export prefix", "export KSM_MAX_KERNEL_PAGES=7\n", 0, "7", 1 },
                { "indented, trailing blanks", "  \tKSM_MAX_KERNEL_PAGES=7  \r\n", 0, "7", 1 },
                { "inline comment", "KSM_MAX_KERNEL_PAGES=7 # half\n", 0, "7", 1 },
                { "hash inside a word kept", "KSM_MAX_KERNEL_PAGES=7#x\n", 0, "7#x", 1 },
                { "last assignment wins", "KSM_MAX_KERNEL_PAGES=1\nOTHER=2\nKSM_MAX_KERNEL_PAGES=3\n", 0, "3", 3 },
                { "prefix of another key", "KSM_MAX_KERNEL_PAGES_X=1\n", -ENOENT, NULL, 0 },
                { "key with a prefix", "XKSM_MAX_KERNEL_PAGES=1\n", -ENOENT, NULL, 0 },
                { "spaces around = are not sh", "KSM_MAX_KERNEL_PAGES = 1\n", -ENOENT, NULL, 0 },
                { "no trailing newline", "A=1\nKSM_MAX_KERNEL_PAGES=9", 0, "9", 2 },
                { "empty text", "", -ENOENT, NULL, 0 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *v = NULL;
                unsigned line = 99;
                int r = envfile_get(rows[i].text, "KSM_MAX_KERNEL_PAGES", &v, &line);

                if (r != rows[i].r)
                        fail_msg("row '%s': expected %d, got %d", rows[i].name, rows[i].r, r);
                if (r < 0) {
                        assert_null(v);
                        assert_int_equal(line, 99);
                        continue;
                }
                if (strcmp(v, rows[i].want) != 0 || line != rows[i].line)
                        fail_msg("row '%s': expected '%s' at line %u, got '%s' at %u",
                                 rows[i].name, rows[i].want, rows[i].line, v, line);
        }
}

static void test_max_kernel_pages_parse(void **state) {
        static const struct {
                const char *in;
                int r;
                uint64_t want;
        } rows[] = {
                { "0", 0, 0 },
                { "2048", 0, 2048 },
                { " 2048 ", 0, 2048 },
                { "0x800", 0, 2048 },
                { "010", 0, 8 },                /* octal, as strtoll base 0 */
                { "9223372036854775807", 0, UINT64_C(9223372036854775807) },
                { "9223372036854775808", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "", -EINVAL, 0 },
                { "12k", -EINVAL, 0 },
                { "half", -EINVAL, 0 },
                { "08", -EINVAL, 0 },           /* not octal */
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint64_t v = 77;
                int r = ksm_max_kernel_pages_parse(rows[i].in, &v);

                if (r != rows[i].r)
                        fail_msg("'%s': expected %d, got %d", rows[i].in, rows[i].r, r);
                assert_int_equal(v, r < 0 ? 77 : rows[i].want);
        }
}

static void test_default(void **state) {
        (void) state;
        /* 16 GiB of 4 KiB pages: 4 Mi pages, half of it. */
        assert_int_equal(ksm_max_kernel_pages_default(16777216, 4096), 2097152);
        assert_int_equal(ksm_max_kernel_pages_default(16777216, 65536), 131072);
        assert_int_equal(ksm_max_kernel_pages_default(6, 4096), 0);
        assert_int_equal(ksm_max_kernel_pages_default(16777216, 0), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_envfile),
                cmocka_unit_test(test_max_kernel_pages_parse),
                cmocka_unit_test(test_default),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
