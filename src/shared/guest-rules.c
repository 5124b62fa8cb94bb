/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "guest-rules.h"
#include "macro.h"
#include "procfs.h"

#define WORD_SEPARATORS " \t"
/* A cgroup path of a process: /proc/PID/cgroup is one line per hierarchy. */
#define CGROUP_FILE_MAX 65536
/* smaps_rollup is about 1 KiB. */
#define SMAPS_ROLLUP_MAX 8192

static const char *const measure_names[_GUEST_MEASURE_MAX] = {
        [GUEST_MEASURE_RSS] = "rss",
        [GUEST_MEASURE_PSS] = "pss",
};

int guest_measure_from_string(const char *s, GuestMeasure *ret) {
        for (GuestMeasure m = 0; m < _GUEST_MEASURE_MAX; m++)
                if (strcmp(s, measure_names[m]) == 0) {
                        *ret = m;
                        return 0;
                }
        return -EINVAL;
}

const char *guest_measure_to_string(GuestMeasure m) {
        return m >= 0 && m < _GUEST_MEASURE_MAX ? measure_names[m] : NULL;
}

/* The next blank-separated word of *p: its start and length (0 at the end). */
static size_t next_word(const char **p, const char **ret) {
        size_t n;

        *p += strspn(*p, WORD_SEPARATORS);
        n = strcspn(*p, WORD_SEPARATORS);
        *ret = *p;
        *p += n;
        return n;
}

int guest_cgroups_check(const char *list) {
        const char *w;

        for (size_t n; (n = next_word(&list, &w)) > 0;)
                if (memchr(w, '/', n) || (n == 1 && w[0] == '.') || (n == 2 && strncmp(w, "..", 2) == 0))
                        return -EINVAL;
        return 0;
}

int guest_pidfiles_check(const char *list) {
        const char *w;

        for (size_t n; (n = next_word(&list, &w)) > 0;)
                if (w[0] != '/' || n >= PATH_MAX / 2)
                        return -EINVAL;
        return 0;
}

/* Whether [w, w + n) is a word of list. */
static bool in_list(const char *list, const char *w, size_t n) {
        const char *x;

        for (size_t m; (m = next_word(&list, &x)) > 0;)
                if (m == n && memcmp(x, w, n) == 0)
                        return true;
        return false;
}

bool guest_cgroup_text_matches(const char *text, const char *list) {
        const char *p = text;

        /* The unified hierarchy's line is "0::/path". */
        while (p && strncmp(p, "0::", 3) != 0) {
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        if (!p)
                return false;
        p += 3;
        for (;;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/\n");
                if (n == 0)
                        return false;
                if (in_list(list, p, n))
                        return true;
                p += n;
        }
}

int guest_cgroup_matches(int proc_fd, pid_t pid, const char *list) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "%d/cgroup", (int) pid);
        r = read_full_file_at(proc_fd, path, CGROUP_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        return guest_cgroup_text_matches(text, list);
}

/* The boot time, s since the epoch (btime of proc_fd/stat). Returns 0 or negative errno. */
static int read_btime(int proc_fd, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        char line[32];
        int r;

        r = read_full_file_at(proc_fd, "stat", 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "\nbtime ");
        if (!p)
                return -EBADMSG;
        p += strlen("\nbtime ");
        snprintf(line, sizeof(line), "%.*s", (int) strcspn(p, "\n"), p);
        return parse_uint64(line, ret);
}

/* Whether the process pid started after path was last written: then the
 * pid in the file was reused. Unknown (no btime: a fixture tree) is not stale.
 * *btime is read on the first pid file found (0 until then, -1 if unknown):
 * a host without pid files does not read proc/stat at every scan. */
static bool pidfile_is_stale(int proc_fd, const struct stat *st_file, pid_t pid, int64_t *btime, long hz) {
        uint64_t v;
        ProcStat st;

        if (*btime == 0)
                *btime = read_btime(proc_fd, &v) >= 0 && v > 0 && v <= INT64_MAX ? (int64_t) v : -1;
        if (*btime < 0 || hz <= 0 || proc_read_stat(proc_fd, pid, &st) < 0)
                return false;
        /* The file is written after the process starts; a second's slack for rounding. */
        return (uint64_t) *btime + st.start_ticks / (uint64_t) hz > (uint64_t) st_file->st_mtime + 1;
}

/* The pid in a pid file, or a negative errno. */
static int read_pidfile(const char *path, struct stat *ret_st) {
        _cleanup_free_ char *text = NULL;
        int64_t pid;
        int r;

        /* Only regular files: a FIFO would block the read. */
        r = read_regular_file(path, 64, &text, NULL);
        if (r < 0)
                return r;
        if (stat(path, ret_st) < 0)
                return negative_errno();
        r = parse_int64(text, 1, INT32_MAX, &pid);
        return r < 0 ? -EBADMSG : (int) pid;
}

/* Call fn for each pid file of list under root with its path and pid;
 * stop when fn returns non-zero and return that. */
typedef int (*PidfileFn)(const char *path, pid_t pid, void *userdata);

static int foreach_pidfile(const char *root, int proc_fd, const char *list, PidfileFn fn, void *userdata) {
        const char *w;
        int64_t btime = 0;
        long hz = sysconf(_SC_CLK_TCK);

        if (!root || strcmp(root, "/") == 0)
                root = "";
        for (size_t n; (n = next_word(&list, &w)) > 0;) {
                char pattern[PATH_MAX];
                glob_t g = {};

                if ((size_t) snprintf(pattern, sizeof(pattern), "%s%.*s", root, (int) n, w) >= sizeof(pattern))
                        continue;
                if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0) {
                        globfree(&g);
                        continue;       /* no match, or unreadable */
                }
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        struct stat st;
                        int pid = read_pidfile(g.gl_pathv[i], &st), r;

                        if (pid <= 0 || pidfile_is_stale(proc_fd, &st, pid, &btime, hz))
                                continue;
                        r = fn(g.gl_pathv[i], pid, userdata);
                        if (r != 0) {
                                globfree(&g);
                                return r;
                        }
                }
                globfree(&g);
        }
        return 0;
}

typedef struct PidArray {
        pid_t *pids;
        size_t n, alloc;
} PidArray;

static int add_pid(const char *path, pid_t pid, void *userdata) {
        PidArray *a = userdata;

        (void) path;
        if (ARRAY_RESERVE_ONE(a->pids, a->alloc, a->n, 16) < 0)
                return -ENOMEM;
        a->pids[a->n++] = pid;
        return 0;
}

int guest_pidfiles_read(const char *root, int proc_fd, const char *list, pid_t **ret) {
        PidArray a = {};
        int r;

        r = foreach_pidfile(root, proc_fd, list, add_pid, &a);
        if (r < 0) {
                free(a.pids);
                return r;
        }
        *ret = a.pids;
        return (int) a.n;
}

typedef struct FindPid {
        pid_t pid;
        char vmid[32];
} FindPid;

static int match_pid(const char *path, pid_t pid, void *userdata) {
        FindPid *f = userdata;
        const char *base = strrchr(path, '/');
        size_t n;

        if (pid != f->pid)
                return 0;
        base = base ? base + 1 : path;
        n = strcspn(base, ".");
        if (n == 0 || n >= sizeof(f->vmid) || strcmp(base + n, ".pid") != 0)
                return 0;
        memcpy(f->vmid, base, n);
        f->vmid[n] = '\0';
        return 1;
}

int guest_pve_name(const char *root, int proc_fd, const char *pidfiles, pid_t pid, char **ret) {
        _cleanup_free_ char *text = NULL;
        FindPid f = { .pid = pid };
        char path[PATH_MAX];
        const char *p;
        int r;

        r = foreach_pidfile(root, proc_fd, pidfiles, match_pid, &f);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "%s/etc/pve/qemu-server/%s.conf", root && strcmp(root, "/") != 0 ? root : "",
                 f.vmid);
        r = read_regular_file(path, 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        /* The current configuration comes before any "[snapshot]" section. */
        for (p = text; p && *p && *p != '['; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, "name:", 5) == 0) {
                        size_t n;

                        p += 5;
                        p += strspn(p, " \t");
                        n = strcspn(p, "\r\n");
                        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                                n--;
                        if (n == 0)
                                return -ENOENT;
                        *ret = strndup(p, n);
                        return *ret ? 0 : -ENOMEM;
                }
        return -ENOENT;
}

int guest_read_pss_kib(int proc_fd, pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64], line[32];
        const char *p;
        int r;

        snprintf(path, sizeof(path), "%d/smaps_rollup", (int) pid);
        r = read_full_file_at(proc_fd, path, SMAPS_ROLLUP_MAX, &text, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        p = strstr(text, "\nPss:");
        if (!p)
                return -EBADMSG;
        p += strlen("\nPss:");
        p += strspn(p, " \t");
        snprintf(line, sizeof(line), "%.*s", (int) strcspn(p, " \n"), p);
        if (strncmp(p + strlen(line), " kB", 3) != 0 || parse_uint64(line, ret) < 0)
                return -EBADMSG;
        return 0;
}
