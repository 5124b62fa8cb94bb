/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ksm-defaults.h"
#include "macro.h"

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

/* The value of one line when it assigns key, else NULL (*ret_err = 0). */
static char *line_value(const char *p, const char *eol, const char *key, int *ret_err) {
        size_t klen = strlen(key);
        const char *v, *v_end;
        char *out;

        *ret_err = 0;
        while (p < eol && is_blank(*p))
                p++;
        if (p < eol && *p == '#')
                return NULL;
        if ((size_t) (eol - p) > 7 && strncmp(p, "export", 6) == 0 && is_blank(p[6])) {
                p += 7;
                while (p < eol && is_blank(*p))
                        p++;
        }
        if ((size_t) (eol - p) <= klen || strncmp(p, key, klen) != 0 || p[klen] != '=')
                return NULL;
        v = p + klen + 1;
        v_end = eol;
        while (v_end > v && is_blank(v_end[-1]))
                v_end--;
        /* A trailing " # comment" after an unquoted value, as sh reads it. */
        if (v < v_end && *v != '"' && *v != '\'')
                for (const char *c = v; c < v_end; c++)
                        if (*c == '#' && c > v && is_blank(c[-1])) {
                                v_end = c;
                                while (v_end > v && is_blank(v_end[-1]))
                                        v_end--;
                                break;
                        }
        if (v_end - v >= 2 && (*v == '"' || *v == '\'') && v_end[-1] == *v) {
                v++;
                v_end--;
        }
        out = strndup(v, (size_t) (v_end - v));
        if (!out)
                *ret_err = -ENOMEM;
        return out;
}

int envfile_get(const char *text, const char *key, char **ret_value, unsigned *ret_line) {
        _cleanup_free_ char *found = NULL;
        unsigned line = 0, found_line = 0;
        const char *p = text;

        while (*p) {
                const char *eol = strchrnul(p, '\n');
                char *v;
                int r;

                line++;
                v = line_value(p, eol, key, &r);
                if (r < 0)
                        return r;
                if (v) {
                        free(found);
                        found = v;
                        found_line = line;
                }
                p = *eol ? eol + 1 : eol;
        }
        if (!found)
                return -ENOENT;
        *ret_value = TAKE_PTR(found);
        if (ret_line)
                *ret_line = found_line;
        return 0;
}

int ksm_max_kernel_pages_parse(const char *s, uint64_t *ret) {
        char *end;
        long long v;

        while (isspace((unsigned char) *s))
                s++;
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 0);
        if (errno != 0 || v < 0)
                return -EINVAL;
        while (isspace((unsigned char) *end))
                end++;
        if (*end)
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

uint64_t ksm_max_kernel_pages_default(uint64_t mem_total_kib, uint64_t page_size_bytes) {
        uint64_t kib_per_page = page_size_bytes / 1024;

        return kib_per_page ? mem_total_kib / kib_per_page / 2 : 0;
}
