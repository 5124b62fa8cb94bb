/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "arith.h"
#include "regex-cost.h"

/* The largest part that can match the empty string and may be repeated
 * without bound. */
#define REGEX_EMPTY_REPEAT_MAX 16

/* Groups nest at most this deep; deeper is treated as too costly. */
#define DEPTH_MAX 64

/* Parse "{n}", "{n,}", "{n,m}" or glibc's "{,m}" at p; the multiplier,
 * whether n is 0, and the length, or 0. */
static size_t parse_bound(const char *p, uint64_t *ret_factor, bool *ret_zero) {
        const char *s = p + 1;
        uint64_t lo = 0, hi = 0;
        bool have_hi = false, comma;

        /* "{,m}" is "{0,m}" to glibc (found by tests/fuzz/fuzz-regex). */
        if (!isdigit((unsigned char) *s) && *s != ',')
                return 0;
        while (isdigit((unsigned char) *s))
                lo = sat_add_u64(sat_mul_u64(lo, 10), (uint64_t) (*s++ - '0'));
        comma = *s == ',';
        if (comma) {
                s++;
                while (isdigit((unsigned char) *s)) {
                        hi = sat_add_u64(sat_mul_u64(hi, 10), (uint64_t) (*s++ - '0'));
                        have_hi = true;
                }
        }
        if (*s != '}')
                return 0;
        *ret_zero = lo == 0;
        /* "{n,}" is n copies and a star. */
        if (comma && !have_hi)
                *ret_factor = sat_add_u64(lo, 2);
        else
                *ret_factor = sat_add_u64(have_hi && hi > lo ? hi : lo, 1);
        return (size_t) (s + 1 - p);
}

/* A bracket expression starting at p ("[...]"): its length, or the rest of
 * the pattern when it is not closed (regcomp rejects that anyway). */
static size_t bracket_len(const char *p) {
        const char *s = p + 1;

        if (*s == '^')
                s++;
        if (*s == ']')          /* a leading ']' is a member */
                s++;
        while (*s && *s != ']') {
                /* [:alpha:], [=e=], [.ch.] may hold a ']' */
                if (*s == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.')) {
                        const char *end = strchr(s + 2, s[1]);

                        if (end && end[1] == ']') {
                                s = end + 2;
                                continue;
                        }
                }
                s++;
        }
        return (size_t) (*s ? s + 1 - p : s - p);
}

uint64_t regex_cost(const char *pattern) {
        /* sum[d]: cost of the finished atoms of group depth d; last[d]: cost
         * of the atom a quantifier would apply to (0: none yet). */
        uint64_t sum[DEPTH_MAX + 1] = {}, last[DEPTH_MAX + 1] = {};
        bool quantified[DEPTH_MAX + 1] = {};   /* last[] has a quantifier already */
        /* Whether the last atom, the branch so far and some finished branch
         * of the group at depth d can match the empty string. */
        bool last_empty[DEPTH_MAX + 1] = {}, branch_empty[DEPTH_MAX + 1] = { true }, group_empty[DEPTH_MAX + 1] = {};
        unsigned depth = 0;
        const char *p = pattern;

        while (*p) {
                uint64_t factor = 0;
                bool unbounded = false, zero = false, empty = false;
                size_t n = 1;

                /* The atom before this character is finished unless a
                 * quantifier follows; its emptiness goes to the branch. */
                if (last[depth] && !strchr("*+?{", *p))
                        branch_empty[depth] = branch_empty[depth] && last_empty[depth];
                switch (*p) {
                case '*': case '+': case '?':
                        factor = 2;
                        unbounded = *p != '?';
                        zero = *p != '+';
                        break;
                case '{':
                        n = parse_bound(p, &factor, &zero);
                        if (n == 0)
                                n = 1;          /* a literal '{' */
                        else
                                unbounded = p[n - 2] == ',';    /* "{n,}" */
                        break;
                case '^': case '$':
                        empty = true;   /* anchors match no character */
                        break;
                case '(':
                        if (depth == DEPTH_MAX)
                                return UINT64_MAX;
                        sum[depth] = sat_add_u64(sum[depth], last[depth]);
                        last[depth] = 0;
                        quantified[depth] = false;
                        depth++;
                        sum[depth] = last[depth] = 0;
                        quantified[depth] = false;
                        branch_empty[depth] = true;
                        group_empty[depth] = false;
                        p++;
                        continue;
                case ')':
                        if (depth == 0)
                                break;          /* a literal ')' in an ERE */
                        {
                                uint64_t group = sat_add_u64(sum[depth], last[depth]);
                                bool can_be_empty = group_empty[depth] || branch_empty[depth];

                                depth--;
                                last[depth] = group ? group : 1;
                                last_empty[depth] = can_be_empty;
                                quantified[depth] = false;
                        }
                        p++;
                        continue;
                case '|':
                        sum[depth] = sat_add_u64(sum[depth], last[depth]);
                        last[depth] = 0;
                        quantified[depth] = false;
                        group_empty[depth] = group_empty[depth] || branch_empty[depth];
                        branch_empty[depth] = true;
                        p++;
                        continue;
                case '[':
                        n = bracket_len(p);
                        break;
                case '\\':
                        n = p[1] ? 2 : 1;
                        break;
                }
                /* Stacked quantifiers ("a++", "a*+", "a{2}{3}") say nothing one
                 * would not, and each multiplies regcomp()'s work
                 * (tests/fuzz/fuzz-regex: "^z++*++++" ran out of memory at
                 * cost 387): refused. */
                if (factor && quantified[depth])
                        return UINT64_MAX;
                /* An unbounded repetition of a part that can match the
                 * empty string and is more than a few atoms makes regcomp()
                 * walk empty paths through all of it again and again
                 * (tests/fuzz/fuzz-regex: "((){,131}){1,}" took 3.5 s at
                 * cost 668, "(((){,10}){,9}){1,}" over a minute at 519;
                 * "((){,15}){1,}" takes 3 ms): refused. Bounded ones stay
                 * within the cost's measure. */
                if (unbounded && last_empty[depth] && last[depth] > REGEX_EMPTY_REPEAT_MAX)
                        return UINT64_MAX;
                /* "{n,}" with n of 2 or more is n copies and a star: of a
                 * part that can match the empty string, the empty paths
                 * through the copies multiply whatever its size
                 * (tests/fuzz/fuzz-regex: "((|||||||W||||||||||,}{1,}){11,})"
                 * over a minute at cost 65; "(|||||W){11,}" takes 3.8 s at
                 * cost 13, "(a?|b?|c?|d?){11,}" 6.2 s; the same parts with
                 * "*", "+", "{1,}" or "{11}" take under a millisecond):
                 * refused. */
                if (unbounded && last_empty[depth] && factor >= 4)
                        return UINT64_MAX;
                quantified[depth] = factor && last[depth];
                if (factor) {
                        /* A quantifier with nothing before it is taken as a literal. */
                        uint64_t c = last[depth];

                        /* An unbounded repetition of a large part costs
                         * regcomp() about the cube of that part in time
                         * (tests/fuzz/fuzz-regex: "((a?){,131}){1,}" took
                         * 2.2 s at cost 792): add c * c / 64. */
                        last[depth] = c ? sat_mul_u64(c, factor) : factor;
                        if (unbounded && c > 1)
                                last[depth] = sat_add_u64(last[depth], sat_mul_u64(c, c) / 64);
                        /* n copies of a part that can match the empty
                         * string cost regcomp() about n^3 once an anchor
                         * gives the empty paths a context
                         * (tests/fuzz/fuzz-regex: "^(){,510}x" over 20 s
                         * and 1.4 GB at cost 513; "^(){,100}x" 0.1 s,
                         * "^(){,200}x" 1.1 s): add c * n * n / 16. */
                        if (c && last_empty[depth] && factor > 2)
                                last[depth] = sat_add_u64(last[depth],
                                                          sat_mul_u64(c, sat_mul_u64(factor, factor)) / 16);
                        last_empty[depth] = last_empty[depth] || zero;
                } else {
                        sum[depth] = sat_add_u64(sum[depth], last[depth]);
                        last[depth] = 1;
                        last_empty[depth] = empty;
                }
                p += n;
        }
        /* Unclosed groups: regcomp rejects them; count what was seen. */
        for (;;) {
                uint64_t group = sat_add_u64(sum[depth], last[depth]);

                if (depth == 0)
                        return group;
                depth--;
                last[depth] = group;
        }
}
