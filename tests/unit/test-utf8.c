/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "macro.h"
#include "utf8.h"

/* Untrusted names on their way to a log line or a table. */
static void test_text_printable(void **state) {
        static const struct { const char *name, *in; size_t size; const char *want; } rows[] = {
                { "plain", "qemu-system-x86", 64, "qemu-system-x86" },
                { "newline forging a log line", "x\n<3>forged", 64, "x?<3>forged" },
                { "carriage return, tab, escape", "a\rb\tc\x1b[2J", 64, "a?b?c?[2J" },
                { "DEL", "a\x7f" "b", 64, "a?b" },
                { "C1 CSI", "a\xc2\x9b" "b", 64, "a?b" },
                { "right-to-left override", "evil\xe2\x80\xae" "gpj.exe", 64, "evil?gpj.exe" },
                { "bidi isolate, mark, separator", "\xe2\x81\xa6\xe2\x80\x8f\xe2\x80\xa8", 64, "???" },
                { "Arabic letter mark", "\xd8\x9c", 64, "?" },
                { "valid UTF-8 kept", "caf\xc3\xa9 \xf0\x9f\x90\xa7", 64, "caf\xc3\xa9 \xf0\x9f\x90\xa7" },
                { "invalid byte", "caf\xe9", 64, "caf?" },
                { "truncated sequence", "ab\xe2\x82", 64, "ab??" },
                { "cut to fit", "abcdef", 4, "abc" },
                { "cut at a character boundary", "a\xc3\xa9\xc3\xa9", 4, "a\xc3\xa9" },
                { "empty", "", 64, "" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                char buf[64];
                const char *got = text_printable(rows[i].in, buf, rows[i].size);

                if (strcmp(got, rows[i].want) != 0)
                        fail_msg("row '%s': expected '%s', got '%s'", rows[i].name, rows[i].want, got);
        }
}

static void test_decode(void **state) {
        (void) state;
        assert_int_equal(utf8_decode("A", 1), 0x41);
        assert_int_equal(utf8_decode("\xc3\xa9", 2), 0xe9);
        assert_int_equal(utf8_decode("\xe2\x80\xae", 3), 0x202e);
        assert_int_equal(utf8_decode("\xf4\x8f\xbf\xbf", 4), 0x10ffff);
        assert_true(unichar_is_unsafe(0x202e));
        assert_false(unichar_is_unsafe(0x202f));
        assert_false(unichar_is_unsafe(0xe9));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_printable),
                cmocka_unit_test(test_decode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
