/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/PID/smaps, summed the way KSM sees memory: KSM only merges private
 * anonymous pages of mappings marked mergeable (madvise MADV_MERGEABLE, or
 * every mapping after prctl PR_SET_MEMORY_MERGE), never shared mappings
 * (MAP_SHARED, memfd, shm) and never hugetlbfs; it splits transparent huge
 * pages before merging them.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "smaps.h"

/* guest RAM is a few mappings; a process may have tens of thousands. */
#define SMAPS_FILE_MAX (256 * 1024 * 1024)

typedef struct Vma {
        uint64_t start, end;
        char perms[5];
        char path[64];                  /* the start of the path, "" for anonymous */
        uint64_t rss_kib, anon_huge_kib, hugetlb_kib;
        bool mergeable, hugetlb;
} Vma;

static bool vmflags_has(const char *flags, const char *flag) {
        size_t n = strlen(flag);

        for (const char *p = flags; (p = strstr(p, flag)); p += n)
                if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0' || p[n] == '\n'))
                        return true;
        return false;
}

/* "start-end perms offset dev inode [path]". Returns 0 or -EBADMSG. */
static int parse_header(const char *line, Vma *ret) {
        Vma v = {};
        char perms[8];
        int n = 0;

        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s%n", &v.start, &v.end, perms, &n) < 3 ||
            n == 0 || v.end < v.start || strlen(perms) != 4)
                return -EBADMSG;
        memcpy(v.perms, perms, 5);
        line += n;
        line += strspn(line, " \t");
        snprintf(v.path, sizeof(v.path), "%.*s", (int) strcspn(line, "\n"), line);
        *ret = v;
        return 0;
}

static void add_range(SmapsTotals *t, const Vma *v) {
        SmapsRange r = { v->start, v->end, v->rss_kib };
        size_t i;

        if (t->n_ranges == SMAPS_RANGES_MAX) {
                if (t->ranges[SMAPS_RANGES_MAX - 1].rss_kib >= r.rss_kib)
                        return;
                t->n_ranges--;
        }
        for (i = t->n_ranges; i > 0 && t->ranges[i - 1].rss_kib < r.rss_kib; i--)
                t->ranges[i] = t->ranges[i - 1];
        t->ranges[i] = r;
        t->n_ranges++;
}

static void account(SmapsTotals *t, const Vma *v) {
        bool writable = v->perms[1] == 'w', shared = v->perms[3] == 's';
        /* [heap], [stack] and no name are anonymous; "/memfd:x (deleted)" and
         * files are not, nor are the kernel's [vdso] and friends. */
        bool anon = v->path[0] == '\0' || strcmp(v->path, "[heap]") == 0 || strncmp(v->path, "[stack", 6) == 0;

        t->rss_kib += v->rss_kib;
        if (v->hugetlb) {
                t->hugetlb_kib += v->hugetlb_kib;
                return;
        }
        if (writable && shared) {
                t->shared_kib += v->rss_kib;
                if (strncmp(v->path, "/memfd:", 7) == 0)
                        t->memfd_kib += v->rss_kib;
                return;
        }
        if (!writable || shared || !anon)
                return;
        t->anon_kib += v->rss_kib;
        if (v->mergeable) {
                t->mergeable_kib += v->rss_kib;
                t->thp_kib += v->anon_huge_kib;
                add_range(t, v);
        }
}

int smaps_parse(const char *text, SmapsTotals *ret) {
        SmapsTotals t = {};
        Vma v = {};
        bool have = false;

        for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                char key[32];
                uint64_t kib;
                int n = 0;

                if (strncmp(line, "VmFlags:", 8) == 0) {
                        char flags[256];

                        snprintf(flags, sizeof(flags), "%.*s", (int) strcspn(line + 8, "\n"), line + 8);
                        v.mergeable = vmflags_has(flags, "mg");
                        v.hugetlb = vmflags_has(flags, "ht");
                        continue;
                }
                if (sscanf(line, "%31[A-Za-z_]: %" SCNu64 " kB%n", key, &kib, &n) == 2 && n > 0) {
                        if (!have)
                                return -EBADMSG;
                        if (strcmp(key, "Rss") == 0)
                                v.rss_kib = kib;
                        else if (strcmp(key, "AnonHugePages") == 0)
                                v.anon_huge_kib = kib;
                        else if (strcmp(key, "Private_Hugetlb") == 0 || strcmp(key, "Shared_Hugetlb") == 0)
                                v.hugetlb_kib += kib;
                        continue;
                }
                /* Other "Key: value" lines (THPeligible, ProtectionKey) carry no kB. */
                if (sscanf(line, "%31[A-Za-z_]:%n", key, &n) == 1 && n > 0 && line[n - 1] == ':')
                        continue;
                if (line[0] == '\n' || line[0] == '\0')
                        continue;
                if (have)
                        account(&t, &v);
                if (parse_header(line, &v) < 0)
                        return -EBADMSG;
                have = true;
        }
        if (have)
                account(&t, &v);
        *ret = t;
        return 0;
}

int smaps_read(int root_fd, pid_t pid, SmapsTotals *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "proc/%d/smaps", (int) pid);
        r = read_full_file_at(root_fd, path, SMAPS_FILE_MAX, &text, NULL);
        if (r < 0)
                return r;
        return smaps_parse(text, ret);
}
