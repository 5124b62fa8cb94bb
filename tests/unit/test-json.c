/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"

typedef struct Row {
        const char *name;
        const char *in;
        size_t len;             /* 0: strlen(in) */
        const char *want;
} Row;

static const Row rows[] = {
        { "empty", "", 0, "\"\"" },
        { "plain ASCII", "qemu-system-x86", 0, "\"qemu-system-x86\"" },
        { "quote and backslash", "a\"b\\c", 0, "\"a\\\"b\\\\c\"" },
        { "short escapes", "\b\f\n\r\t", 0, "\"\\b\\f\\n\\r\\t\"" },
        { "other control characters", "\x01\x1f", 0, "\"\\u0001\\u001f\"" },
        { "embedded NUL", "a\0b", 3, "\"a\\u0000b\"" },
        { "DEL escaped", "\x7f", 0, "\"\\u007f\"" },
        { "C1 control escaped", "a\xc2\x9b" "b", 0, "\"a\\u009bb\"" },
        { "right-to-left override escaped", "qemu\xe2\x80\xaegpj.exe", 0, "\"qemu\\u202egpj.exe\"" },
        { "bidi isolate escaped", "\xe2\x81\xa6x", 0, "\"\\u2066x\"" },
        { "line separator escaped", "a\xe2\x80\xa8" "b", 0, "\"a\\u2028b\"" },
        { "slash passes", "/run", 0, "\"/run\"" },
        { "2-byte UTF-8", "caf\xc3\xa9", 0, "\"caf\xc3\xa9\"" },
        { "3-byte UTF-8", "\xe2\x82\xac", 0, "\"\xe2\x82\xac\"" },
        { "4-byte UTF-8", "\xf0\x9f\x90\xa7", 0, "\"\xf0\x9f\x90\xa7\"" },
        { "largest code point", "\xf4\x8f\xbf\xbf", 0, "\"\xf4\x8f\xbf\xbf\"" },
        { "Latin-1 byte", "caf\xe9", 0, "\"caf\\u00e9\"" },
        { "lone continuation byte", "\x80x", 0, "\"\\u0080x\"" },
        { "overlong 2-byte", "\xc0\xaf", 0, "\"\\u00c0\\u00af\"" },
        { "overlong 3-byte", "\xe0\x80\xaf", 0, "\"\\u00e0\\u0080\\u00af\"" },
        { "surrogate", "\xed\xa0\x80", 0, "\"\\u00ed\\u00a0\\u0080\"" },
        { "above U+10FFFF", "\xf4\x90\x80\x80", 0, "\"\\u00f4\\u0090\\u0080\\u0080\"" },
        { "truncated sequence at end", "ab\xe2\x82", 0, "\"ab\\u00e2\\u0082\"" },
        { "truncated then ASCII", "\xe2\x82z", 0, "\"\\u00e2\\u0082z\"" },
        { "0xff", "\xff", 0, "\"\\u00ff\"" },
};

static char *escape(const char *s, size_t len) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        json_write_escaped(f, s, len);
        fclose(f);
        return buf;
}

static void test_escape_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *got = escape(rows[i].in, rows[i].len ?: strlen(rows[i].in));

                if (strcmp(got, rows[i].want) != 0)
                        fail_msg("row '%s': expected %s, got %s", rows[i].name, rows[i].want, got);
        }
}

static void test_writer(void **state) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        JsonWriter w;

        (void) state;
        json_init(&w, f);
        json_object_begin(&w);
        json_key(&w, "a");
        json_uint(&w, UINT64_MAX);
        json_key(&w, "b");
        json_int(&w, INT64_MIN);
        json_key(&w, "list");
        json_array_begin(&w);
        json_object_begin(&w);
        json_key(&w, "x");
        json_bool(&w, true);
        json_object_end(&w);
        json_object_begin(&w);
        json_object_end(&w);
        json_array_begin(&w);
        json_array_end(&w);
        json_null(&w);
        json_array_end(&w);
        json_key(&w, "s\n");
        json_string(&w, NULL);
        json_key(&w, "t");
        json_string(&w, "q\"");
        json_key(&w, "f");
        json_bool(&w, false);
        json_key(&w, "r");
        json_fixed(&w, 255.75, 2);
        json_key(&w, "n");
        json_fixed(&w, 0.0 / 0.0, 2);
        json_object_end(&w);
        fclose(f);
        assert_string_equal(buf, "{\"a\":18446744073709551615,\"b\":-9223372036854775808,"
                                 "\"list\":[{\"x\":true},{},[],null],\"s\\n\":null,\"t\":\"q\\\"\",\"f\":false,"
                                 "\"r\":255.75,\"n\":null}");
        free(buf);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_table),
                cmocka_unit_test(test_writer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
