/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "guest-name.h"
#include "macro.h"

/* Copy one comma-separated element of a qemu option list starting at *p
 * (",," unescaped to ","), advance *p past it and its separator. */
static char *next_element(const char **p, const char *end) {
        const char *s = *p;
        char *out, *o;

        out = o = malloc((size_t) (end - s) + 1);
        if (!out)
                return NULL;
        while (s < end) {
                if (*s == ',') {
                        if (s + 1 < end && s[1] == ',') {
                                *o++ = ',';
                                s += 2;
                                continue;
                        }
                        s++;
                        break;
                }
                *o++ = *s++;
        }
        *o = '\0';
        *p = s;
        return out;
}

/* The guest name in the value of -name. */
static int parse_name_value(const char *v, size_t len, char **ret) {
        const char *p = v, *end = v + len;
        _cleanup_free_ char *name = NULL;
        bool first = true;

        while (p < end) {
                _cleanup_free_ char *e = next_element(&p, end);

                if (!e)
                        return -ENOMEM;
                if (strncmp(e, "guest=", 6) == 0) {
                        free(name);
                        name = strdup(e + 6);
                        if (!name)
                                return -ENOMEM;
                } else if (first && !strchr(e, '='))
                        name = TAKE_PTR(e);
                first = false;
        }
        if (!name || !*name)
                return -ENOENT;
        *ret = TAKE_PTR(name);
        return 0;
}

int guest_name_from_cmdline(const char *cmdline, size_t size, char **ret) {
        const char *p = cmdline, *end = cmdline + size;

        /* Skip argv[0]: a binary named "-name" is not an option. */
        p = memchr(p, '\0', size);
        if (!p)
                return -ENOENT;
        p++;
        while (p < end) {
                const char *arg_end = memchr(p, '\0', (size_t) (end - p)) ?: end;

                if (strcmp(p, "-name") == 0 || strcmp(p, "--name") == 0) {
                        const char *v = arg_end + 1, *v_end;

                        if (v >= end)
                                return -ENOENT;
                        v_end = memchr(v, '\0', (size_t) (end - v)) ?: end;
                        return parse_name_value(v, (size_t) (v_end - v), ret);
                }
                p = arg_end + 1;
        }
        return -ENOENT;
}
