/* SPDX-License-Identifier: GPL-2.0-or-later */
/* KSM_GUEST_REGEX and KSM_MERGE_ANY_REGEX: regex_cost() must keep every
 * pattern it lets through cheap to compile. Patterns within the cost are
 * compiled and matched; libFuzzer's -rss_limit_mb and -timeout report one
 * that is not cheap. */
#include <errno.h>
#include <regex.h>

#include "fuzz.h"
#include "guests.h"
#include "regex-cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), why[256];
        uint64_t cost = regex_cost(text);
        regex_t re;
        int r;

        r = guest_regex_compile(text, &re, why, sizeof(why));
        if (cost > REGEX_COST_MAX)
                FUZZ_ASSERT(r == -E2BIG);
        if (r == 0) {
                /* A command name is at most 15 characters. */
                (void) guest_regex_match(&re, "qemu-system-x86");
                (void) guest_regex_match(&re, text + (size > 15 ? size - 15 : 0));
                regfree(&re);
        } else
                FUZZ_ASSERT(why[0]);
        free(text);
        return 0;
}
