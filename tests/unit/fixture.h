/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers for unit tests that build fixture trees (include after cmocka.h). */
#pragma once

#include <limits.h>
#include <stdio.h>

/* Write text to root/rel, creating or truncating it; fails the test on error. */
static inline void fixture_put(const char *root, const char *rel, const char *text) {
        char path[PATH_MAX];
        FILE *f;

        assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int) sizeof(path));
        f = fopen(path, "w");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}
