/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "parse-util.h"

static const char *skip_space(const char *s) {
        while (isspace((unsigned char) *s))
                s++;
        return s;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        long long v;

        s = skip_space(s);
        if (!*s)
                return -EINVAL;
        if (!isdigit((unsigned char) *s) && !((*s == '-' || *s == '+') && isdigit((unsigned char) s[1])))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*skip_space(end))
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_uint64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        s = skip_space(s);
        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*skip_space(end))
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_kernel_u64(const char *s, uint64_t *ret) {
        const char *p = s;
        uint64_t v = 0;

        if (!isdigit((unsigned char) *p))
                return -EBADMSG;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (*p == '\n')
                p++;
        if (*p != '\0')
                return -EBADMSG;
        *ret = v;
        return 0;
}
