/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "meminfo.h"

enum {
        F_MEM_TOTAL = 1 << 0,
        F_MEM_FREE = 1 << 1,
        F_BUFFERS = 1 << 2,
        F_CACHED = 1 << 3,
        F_MEM_AVAILABLE = 1 << 4,
        F_REQUIRED = F_MEM_TOTAL | F_MEM_FREE | F_BUFFERS | F_CACHED,
};

static const struct {
        const char *name;
        size_t offset;
        unsigned flag;
} fields[] = {
        { "MemTotal",     offsetof(KsmMeminfo, mem_total_kib),     F_MEM_TOTAL },
        { "MemFree",      offsetof(KsmMeminfo, mem_free_kib),      F_MEM_FREE },
        { "MemAvailable", offsetof(KsmMeminfo, mem_available_kib), F_MEM_AVAILABLE },
        { "Buffers",      offsetof(KsmMeminfo, buffers_kib),       F_BUFFERS },
        { "Cached",       offsetof(KsmMeminfo, cached_kib),        F_CACHED },
};

/* Parse " 1234 kB" into KiB. */
static int parse_value(const char *s, const char *eol, uint64_t *ret) {
        uint64_t v = 0;
        const char *p = s;

        while (p < eol && *p == ' ')
                p++;
        if (p == eol || *p < '0' || *p > '9')
                return -EBADMSG;
        for (; p < eol && *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
                        return -ERANGE;
                v = v * 10 + d;
        }
        while (p < eol && *p == ' ')
                p++;
        /* Every field we read is in kB; a bare number would be a page count. */
        if (eol - p != 2 || strncmp(p, "kB", 2) != 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int meminfo_parse(const char *text, KsmMeminfo *ret) {
        KsmMeminfo m = {};
        unsigned seen = 0;
        const char *line = text;

        while (*line) {
                const char *eol = strchrnul(line, '\n');
                const char *colon = memchr(line, ':', (size_t) (eol - line));

                if (colon) {
                        size_t len = (size_t) (colon - line);

                        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                                if (strlen(fields[i].name) != len || strncmp(line, fields[i].name, len) != 0)
                                        continue;
                                if (seen & fields[i].flag)
                                        return -EBADMSG;
                                int r = parse_value(colon + 1, eol, (uint64_t *) ((char *) &m + fields[i].offset));
                                if (r < 0)
                                        return r;
                                seen |= fields[i].flag;
                        }
                }
                line = *eol ? eol + 1 : eol;
        }

        if ((seen & F_REQUIRED) != F_REQUIRED || m.mem_total_kib == 0)
                return -EBADMSG;
        m.has_mem_available = seen & F_MEM_AVAILABLE;
        *ret = m;
        return 0;
}

int meminfo_read(int root_fd, int *held, KsmMeminfo *ret) {
        _cleanup_free_ char *text = NULL;
        char buf[16 * 1024];
        ssize_t n;
        int r;

        /* Some 1.5 KiB on today's kernels; a larger one is read whole. */
        n = read_file_held(root_fd, "proc/meminfo", held, buf, sizeof(buf));
        if (n >= 0)
                return meminfo_parse(buf, ret);
        if (n != -EFBIG)
                return (int) n;
        r = read_full_file_at(root_fd, "proc/meminfo", 1 << 20, &text, NULL);
        if (r < 0)
                return r;
        return meminfo_parse(text, ret);
}
