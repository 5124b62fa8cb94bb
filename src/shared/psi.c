/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "psi.h"

/* "12.34" as 1234: the kernel prints two decimals; fewer are accepted. */
static int parse_centi(const char *s, const char **end, uint32_t *ret) {
        uint64_t v = 0;
        unsigned decimals = 0;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EBADMSG;
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (unsigned) (*p - '0');
                if (v > 100)            /* a share of time: at most 100 % */
                        return -EBADMSG;
        }
        if (*p == '.') {
                p++;
                for (; *p >= '0' && *p <= '9'; p++)
                        if (decimals < 2) {
                                v = v * 10 + (unsigned) (*p - '0');
                                decimals++;
                        }
        }
        for (; decimals < 2; decimals++)
                v *= 10;
        if (v > 10000)
                return -EBADMSG;
        *end = p;
        *ret = (uint32_t) v;
        return 0;
}

/* One "some|full avg10=A avg60=B avg300=C total=T" line, starting after the
 * kind. Only avg10 and total are kept. */
static int parse_line(const char *p, uint32_t *ret_avg10, uint64_t *ret_total) {
        static const char *const avgs[] = { " avg10=", " avg60=", " avg300=" };
        uint32_t avg10 = 0, ignored;
        char *end;

        for (size_t i = 0; i < ELEMENTSOF(avgs); i++) {
                size_t n = strlen(avgs[i]);

                if (strncmp(p, avgs[i], n) != 0)
                        return -EBADMSG;
                if (parse_centi(p + n, &p, i == 0 ? &avg10 : &ignored) < 0)
                        return -EBADMSG;
        }
        if (strncmp(p, " total=", 7) != 0 || p[7] < '0' || p[7] > '9')
                return -EBADMSG;
        errno = 0;
        uint64_t total = strtoull(p + 7, &end, 10);
        if (errno != 0 || (*end != '\n' && *end != '\0'))
                return -EBADMSG;
        *ret_avg10 = avg10;
        *ret_total = total;
        return 0;
}

int psi_parse(const char *text, KsmPsi *ret) {
        KsmPsi psi = {};
        bool have_some = false, have_full = false;
        const char *line = text;

        while (*line) {
                const char *eol = strchrnul(line, '\n');
                uint64_t total;
                uint32_t avg10;

                if (strncmp(line, "some", 4) == 0) {
                        if (have_some || parse_line(line + 4, &avg10, &total) < 0)
                                return -EBADMSG;
                        psi.some_avg10_centipct = avg10;
                        psi.some_total_usec = total;
                        have_some = true;
                } else if (strncmp(line, "full", 4) == 0) {
                        if (have_full || parse_line(line + 4, &avg10, &total) < 0)
                                return -EBADMSG;
                        psi.full_avg10_centipct = avg10;
                        have_full = true;
                } else if (eol != line)
                        return -EBADMSG;
                line = *eol ? eol + 1 : eol;
        }
        if (!have_some)
                return -EBADMSG;
        *ret = psi;
        return 0;
}

int psi_read_memory(int root_fd, int *held, KsmPsi *ret) {
        char buf[4096 + 2];
        ssize_t n;

        n = read_file_held(root_fd, "proc/pressure/memory", held, buf, sizeof(buf));
        if (n < 0)
                return (int) n;
        return psi_parse(buf, ret);
}
