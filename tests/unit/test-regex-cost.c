/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "guests.h"
#include "macro.h"
#include "regex-cost.h"

static void test_table(void **state) {
        static const struct { const char *pattern; uint64_t cost; } rows[] = {
                { "", 0 },
                { "x", 1 },
                { "qemu", 4 },
                /* the classic guest regex: ^ q e m u ( - ( k v m | s y s t e m - .+ ) | : .{1,11} ) $ */
                { "^qemu(-(kvm|system-.+)|:.{1,11})$", 1 + 4 + (1 + (3 + 7 + 2)) + (1 + 12) + 1 },
                { "a+", 2 },
                { "a++", UINT64_MAX },                  /* stacked: refused */
                { "(a+)+", 2 * 2 },
                { "a+b+", 4 },
                { "a{2}{3}", UINT64_MAX },
                { "^z++*++++", UINT64_MAX },            /* fuzz-regex: out of memory */
                { "(ab)*", 4 + 4 / 64 },
                { "(a{100}){100}", 101 * 101 },
                { "a{5,}", 7 },
                { "a{2,9}", 10 },
                { "a{9,2}", 10 },                       /* regcomp rejects it; never cheaper */
                { "a{99999999999999999999999}", UINT64_MAX },
                { "a{", 2 },                            /* literal brace */
                { "a{,131}", 132 },                     /* glibc: {0,131} */
                { "((a?){,131}){1,63}", 781440 },      /* n^2 of empty-able parts: over the limit */
                { "((a?){,131}){1,}", UINT64_MAX },     /* unbounded, can be empty, cost 264 */
                { "((a?){,40})*", UINT64_MAX },
                { "((){,131}){1,}", UINT64_MAX },       /* fuzz-regex: 3.5 s in regcomp() */
                { "(((){,10}){,9}){1,}", UINT64_MAX },  /* fuzz-regex: over a minute */
                { "(a?)+", 2 * 2 },                      /* can be empty, but small */
                { "(a|b?)*", 3 * 2 },
                { "((^|x){,16})+", UINT64_MAX },        /* an anchor matches no character */
                { "(a?b)+", 3 * 2 },                    /* b is never empty */
                { "(kvm|qemu.*)?", (3 + 4 + 2) * 2 },   /* "?" adds no copy */
                { "(){,10}", 11 + 11 * 11 / 16 },      /* an empty group alone is cheap */
                { "((){,15}){1,}", UINT64_MAX },        /* the part costs 16 + 16 * 16 / 16 */
                { "((){,16}){1,}", UINT64_MAX },
                { "((){,16}){1,40}", 5112 },            /* bounded: the cost measures it */
                { "(|||||W){11,}", UINT64_MAX },        /* n copies and a star of an empty-able part: 3.8 s */
                { "(a?|b?|c?|d?){11,}", UINT64_MAX },   /* 6.2 s */
                { "((|||||||W||||||||||,}{1,}){11,})", UINT64_MAX },    /* fuzz-regex: over a minute */
                { "(a?){2,}", UINT64_MAX },
                { "^(){,510}x", 1 + 511 + 511 * 511 / 16 + 1 },      /* fuzz-regex: over 20 s, 1.4 GB; over the limit */
                { "^(){,100}x", 1 + 101 + 101 * 101 / 16 + 1 },        /* 0.1 s */
                { "^(){,200}x", 1 + 201 + 201 * 201 / 16 + 1 },        /* 1.1 s: over the limit */
                { "(|||||W){1,}", 3 },                  /* one copy and a star: cheap */
                { "(|||||W){11}", 12 + 12 * 12 / 16 },  /* bounded */
                { "(ab){11,}", 2 * 13 + 2 * 2 / 64 },   /* never empty */
                { "a{,}", 2 },
                { "[]a-z]+", 2 },
                { "[[:alpha:]]{3}", 4 },
                { "[^]]x", 2 },
                { "\\(x\\)", 3 },
                { "*a", 3 },                            /* leading quantifier as a literal */
                { "(", 0 },                             /* unclosed: regcomp rejects it */
                { "((((a", 1 },
                { ")", 1 },
                { "a|b|c", 3 },
                { "()", 1 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint64_t got = regex_cost(rows[i].pattern);

                if (got != rows[i].cost)
                        fail_msg("'%s': expected cost %ju, got %ju", rows[i].pattern, (uintmax_t) rows[i].cost,
                                 (uintmax_t) got);
        }
}

static void test_deep_nesting(void **state) {
        char p[200];

        (void) state;
        memset(p, '(', 100);
        p[100] = '\0';
        assert_true(regex_cost(p) == UINT64_MAX);
}

/* The bomb of the issue is refused before regcomp() runs; the classic
 * pattern and the costliest accepted ones compile. */
static void test_compile(void **state) {
        char why[160];
        regex_t re;

        (void) state;
        assert_int_equal(guest_regex_compile("a++++++++++++++++++++++", &re, why, sizeof(why)), -E2BIG);
        assert_non_null(strstr(why, "too complex"));
        assert_int_equal(guest_regex_compile("^qemu(-(kvm|system-.+)|:.{1,11})$", &re, why, sizeof(why)), 0);
        regfree(&re);
        assert_int_equal(guest_regex_compile("a++", &re, why, sizeof(why)), -E2BIG);
        assert_true(regex_cost("a++++++++++++++++++++++") > REGEX_COST_MAX);
        assert_int_equal(guest_regex_compile("(a?){1,81}", &re, why, sizeof(why)), 0);
        regfree(&re);
        assert_int_equal(guest_regex_compile("(a?){1,82}", &re, why, sizeof(why)), -E2BIG);
        assert_int_equal(guest_regex_compile("((a?){1,31}){1,63}", &re, why, sizeof(why)), -E2BIG);
        /* 1.6 GiB in regcomp() before "{,m}" was counted. */
        assert_int_equal(guest_regex_compile("((a?){,131}){1,63}", &re, why, sizeof(why)), -E2BIG);
        /* 2.2 s in regcomp() before unbounded repetition was weighed. */
        assert_int_equal(guest_regex_compile("((a?){,131}){1,}", &re, why, sizeof(why)), -E2BIG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_compile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
