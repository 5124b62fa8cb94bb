/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libproc2/pids.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "guests.h"
#include "macro.h"
#include "units.h"

/*
 * The scan lists root/proc and remembers what it saw: a process that is not
 * a guest costs nothing on later scans but its directory entry,
 * so a tick stays cheap with thousands of processes (a full read of every
 * process took 40-60 ms with 2,000 of them, this takes well under 1 ms).
 * A name can change after the first look (exec, prctl): libvirt forks, sets
 * the child up, then execs qemu. So a process younger than YOUNG_SECS is
 * looked at again on every scan until it is older, and pids given by the
 * caller (libvirt) are always read. (libvirt execs qemu well within a second.)
 * Listing /proc itself costs about 1 us per process, so between listings
 * only the pids handed out since the last scan (ns_last_pid) are probed.
 * A process of the live /proc is read with libproc2, one pid at a time; one
 * of a fixture tree (tests, --root) is parsed from its stat file.
 */
#define YOUNG_SECS 10
#define DENTS_BUF_SIZE (64 * 1024)
/* Between listings, new pids are probed one by one while there are few:
 * a probe costs a failed or short open, a listing ~1 us per process. */
#define MAX_PROBE 1024
#define FULL_EVERY 64

typedef enum PidKind {
        PID_OTHER,              /* settled: not a guest */
        PID_YOUNG,              /* not a guest yet, but may still become one */
        PID_GUEST,
} PidKind;

typedef struct PidEntry {
        pid_t pid;
        PidKind kind;
} PidEntry;

/* libproc2 items, read by our own index: PIDS_VAL changed arity between
 * procps releases. */
enum { ITEM_CMD, ITEM_START, ITEM_RSS, _ITEM_MAX };
static enum pids_item items[_ITEM_MAX] = {
        [ITEM_CMD] = PIDS_CMD,                  /* stat: comm */
        [ITEM_START] = PIDS_TICS_BEGAN,         /* stat: starttime, clock ticks */
        [ITEM_RSS] = PIDS_MEM_RES,              /* statm: resident, KiB */
};

struct GuestScanner {
        regex_t re;
        struct pids_info *pids; /* the live /proc: processes are read with libproc2 */
        regex_t merge_re;       /* KSM_MERGE_ANY_REGEX */
        bool has_merge_re;
        int proc_fd;
        PidEntry *known;        /* sorted by pid, from the last scan */
        size_t n_known;
        char *dents;
        uint64_t page_kib;
        uint64_t hz;
        pid_t last_pid;         /* ns_last_pid at the last scan, -1 unknown */
        unsigned since_full;    /* scans since the last listing */
};

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

int guest_regex_compile(const char *pattern, regex_t *ret, char *errbuf, size_t errbuf_size) {
        int r = regcomp(ret, pattern, REG_EXTENDED | REG_NOSUB);
        if (r != 0) {
                if (errbuf)
                        regerror(r, ret, errbuf, errbuf_size);
                return r == REG_ESPACE ? -ENOMEM : -EINVAL;
        }
        return 0;
}

bool guest_regex_match(const regex_t *re, const char *comm) {
        return regexec(re, comm, 0, NULL, 0) == 0;
}

/* Whether fd is the host's /proc (the root is "/"). */
static bool is_live_proc(int fd) {
        struct stat a, b;

        return fstat(fd, &a) == 0 && stat("/proc", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int guest_scanner_new(int root_fd, const char *pattern, GuestScanner **ret) {
        GuestScanner *s;
        long v;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->proc_fd = -1;
        s->last_pid = -1;
        r = guest_regex_compile(pattern, &s->re, NULL, 0);
        if (r < 0) {
                free(s);
                return r;
        }
        s->dents = malloc(DENTS_BUF_SIZE);
        if (!s->dents) {
                r = -ENOMEM;
                goto fail;
        }
        s->proc_fd = openat(root_fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->proc_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* libproc2 reads only the live /proc; a fixture tree (--root, tests)
         * is read directly, with the same parser rules as proc(5). */
        if (is_live_proc(s->proc_fd)) {
                r = procps_pids_new(&s->pids, items, _ITEM_MAX);
                if (r < 0)
                        goto fail;
        }
        v = sysconf(_SC_PAGESIZE);
        s->page_kib = v >= 1024 ? (uint64_t) v / 1024 : 4;
        v = sysconf(_SC_CLK_TCK);
        s->hz = v > 0 ? (uint64_t) v : 100;
        *ret = s;
        return 0;
fail:
        guest_scanner_free(s);
        return r;
}

GuestScanner *guest_scanner_free(GuestScanner *s) {
        if (!s)
                return NULL;
        if (s->pids)
                procps_pids_unref(&s->pids);
        regfree(&s->re);
        if (s->has_merge_re)
                regfree(&s->merge_re);
        closep(&s->proc_fd);
        free(s->known);
        free(s->dents);
        free(s);
        return NULL;
}

int guest_scanner_set_merge_any(GuestScanner *s, const char *pattern) {
        regex_t re;
        int r;

        if (pattern && *pattern) {
                r = guest_regex_compile(pattern, &re, NULL, 0);
                if (r < 0)
                        return r;
        }
        if (s->has_merge_re)
                regfree(&s->merge_re);
        s->has_merge_re = pattern && *pattern;
        if (s->has_merge_re)
                s->merge_re = re;
        /* Processes already settled were never checked against the new
         * pattern: look at every process again at the next scan. */
        free(s->known);
        s->known = NULL;
        s->n_known = 0;
        return 0;
}

void guest_list_clear(GuestList *l) {
        free(l->merge_any);
        free(l->procs);
        *l = (GuestList) {};
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

static int cmp_proc(const void *a, const void *b) {
        return cmp_pid(&((const GuestProc *) a)->pid, &((const GuestProc *) b)->pid);
}

static int cmp_entry(const void *a, const void *b) {
        return cmp_pid(&((const PidEntry *) a)->pid, &((const PidEntry *) b)->pid);
}

bool guest_list_contains(const GuestList *l, pid_t pid) {
        return l->n > 0 && bsearch(&pid, l->procs, l->n, sizeof(GuestProc), cmp_pid);
}

int guest_stat_parse(const char *text, char comm[16], uint64_t *ret_start_ticks, uint64_t *ret_rss_pages) {
        /* After the name: state is field 3 of proc(5), starttime 22, rss 24. */
        const char *open = strchr(text, '('), *close = strrchr(text, ')'), *p;
        uint64_t start = 0, rss = 0;

        if (!open || !close || close < open || close - open - 1 > 15)
                return -EBADMSG;
        p = close + 1;
        for (unsigned field = 3; field <= 24; field++) {
                char *end;
                unsigned long long v;

                while (*p == ' ')
                        p++;
                if (!*p || *p == '\n')
                        return -EBADMSG;
                if (field != 22 && field != 24) {
                        p += strcspn(p, " \n");
                        continue;
                }
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                errno = 0;
                v = strtoull(p, &end, 10);
                if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
                        return -EBADMSG;
                if (field == 22)
                        start = v;
                else
                        rss = v;
                p = end;
        }
        memcpy(comm, open + 1, (size_t) (close - open - 1));
        comm[close - open - 1] = '\0';
        *ret_start_ticks = start;
        *ret_rss_pages = rss;
        return 0;
}

static int proc_append(GuestProc **array, size_t *n, size_t *alloc, pid_t pid, const char *comm,
                       uint64_t start_tics, uint64_t rss_kib) {
        if (*n == *alloc) {
                size_t na = *alloc ? *alloc * 2 : 16;
                GuestProc *p = realloc(*array, na * sizeof(GuestProc));
                if (!p)
                        return -ENOMEM;
                *array = p;
                *alloc = na;
        }
        GuestProc *g = &(*array)[(*n)++];
        *g = (GuestProc) { .pid = pid, .start_tics = start_tics, .rss_kib = rss_kib };
        snprintf(g->comm, sizeof(g->comm), "%s", comm);
        return 0;
}

static int list_add(GuestList *l, size_t *alloc, pid_t pid, const char *comm, uint64_t start_tics, uint64_t rss_kib) {
        int r = proc_append(&l->procs, &l->n, alloc, pid, comm, start_tics, rss_kib);

        if (r >= 0)
                l->rss_kib += rss_kib;
        return r;
}

/* Name, start time (clock ticks after boot) and resident size (KiB) of pid.
 * Returns 0, -ESRCH when it is gone, or negative errno. */
static int read_process(GuestScanner *s, pid_t pid, char comm[16], uint64_t *ret_start, uint64_t *ret_rss_kib) {
        _cleanup_free_ char *text = NULL;
        char path[32];
        uint64_t rss_pages;
        int r;

        if (s->pids) {
                unsigned these = (unsigned) pid;
                struct pids_fetch *f;
                struct pids_result *h;

                /* Only this pid: a full reap of every process each tick is
                 * what the remembering scan avoids. */
                f = procps_pids_select(s->pids, &these, 1, PIDS_SELECT_PID);
                if (!f)
                        return -ENOMEM;
                if (f->counts->total < 1)
                        return -ESRCH;
                h = f->stacks[0]->head;
                snprintf(comm, 16, "%s", h[ITEM_CMD].result.str ?: "");
                *ret_start = h[ITEM_START].result.ull_int;
                *ret_rss_kib = h[ITEM_RSS].result.ul_int;
                return 0;
        }
        snprintf(path, sizeof(path), "%d/stat", (int) pid);
        r = read_full_file_at(s->proc_fd, path, 4096, &text, NULL);
        if (r < 0)
                return r;
        r = guest_stat_parse(text, comm, ret_start, &rss_pages);
        if (r < 0)
                return r;
        *ret_rss_kib = rss_pages * s->page_kib;
        return 0;
}

/* Look at one process: a guest goes into l, and every pid gets its kind.
 * Its name and start time go to comm and *ret_start. */
static int look_at(GuestScanner *s, pid_t pid, bool extra, uint64_t now_sec, GuestList *l, size_t *alloc,
                   PidKind *ret, char comm[16], uint64_t *ret_start) {
        uint64_t start, rss_kib;
        int r;

        r = read_process(s, pid, comm, &start, &rss_kib);
        if (r < 0)
                return r;       /* gone since the directory was read */
        *ret_start = start;
        if (extra || guest_regex_match(&s->re, comm)) {
                r = list_add(l, alloc, pid, comm, start, rss_kib);
                if (r < 0)
                        return r;
                *ret = PID_GUEST;
        } else
                *ret = start / s->hz + YOUNG_SECS > now_sec ? PID_YOUNG : PID_OTHER;
        return 0;
}

/* One scan's bookkeeping. */
typedef struct Scan {
        const pid_t *extra;             /* sorted */
        size_t n_extra;
        uint64_t now_sec;
        GuestList l;
        size_t alloc, merge_alloc;
        PidEntry *seen;
        size_t n_seen, seen_alloc;
} Scan;

/* A pid that names a thread, not a process (reached by probing a pid
 * range: /proc lists only processes, but /proc/TID/ exists for threads). */
static bool is_thread(GuestScanner *s, pid_t pid) {
        _cleanup_free_ char *text = NULL;
        char path[32];
        const char *p;

        snprintf(path, sizeof(path), "%d/status", (int) pid);
        if (read_full_file_at(s->proc_fd, path, 65536, &text, NULL) < 0)
                return true;    /* gone: not worth counting */
        p = strstr(text, "\nTgid:");
        return !p || strtol(p + 6, NULL, 10) != (long) pid;
}

/* Classify pid (reading it unless it is settled) and remember it. probed:
 * reached through the pid range rather than the directory listing. */
static int visit(GuestScanner *s, Scan *sc, pid_t pid, bool probed) {
        const PidEntry *old;
        PidKind kind;
        bool is_extra = sc->n_extra && bsearch(&pid, sc->extra, sc->n_extra, sizeof(pid_t), cmp_pid);
        int r;

        old = s->n_known ? bsearch(&pid, s->known, s->n_known, sizeof(PidEntry), cmp_entry) : NULL;
        if (old && old->kind == PID_OTHER && !is_extra)
                kind = PID_OTHER;
        else {
                char comm[16];
                uint64_t start;
                bool merge, thread = false;

                r = look_at(s, pid, is_extra, sc->now_sec, &sc->l, &sc->alloc, &kind, comm, &start);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return 0;       /* exited meanwhile */
                merge = s->has_merge_re && guest_regex_match(&s->merge_re, comm);
                if (probed && !is_extra && (kind == PID_GUEST || merge))
                        thread = is_thread(s, pid);
                if (thread && kind == PID_GUEST) {
                        /* qemu's threads start with its name: count the process once. */
                        sc->l.rss_kib -= sc->l.procs[--sc->l.n].rss_kib;
                        kind = PID_YOUNG;
                }
                /* Processes seen for the first time (or still young) are the
                 * candidates to opt into KSM; a thread is not a process. */
                if (merge && !thread) {
                        r = proc_append(&sc->l.merge_any, &sc->l.n_merge_any, &sc->merge_alloc,
                                        pid, comm, start, 0);
                        if (r < 0)
                                return r;
                }
        }
        if (sc->n_seen == sc->seen_alloc) {
                size_t na = sc->seen_alloc ? sc->seen_alloc * 2 : 256;
                PidEntry *p = realloc(sc->seen, na * sizeof(PidEntry));
                if (!p)
                        return -ENOMEM;
                sc->seen = p;
                sc->seen_alloc = na;
        }
        sc->seen[sc->n_seen++] = (PidEntry) { .pid = pid, .kind = kind };
        return 0;
}

/* Every process, from the listing of /proc. */
static int scan_listing(GuestScanner *s, Scan *sc) {
        int r;

        if (lseek(s->proc_fd, 0, SEEK_SET) < 0)
                return negative_errno();
        for (;;) {
                long n = syscall(SYS_getdents64, s->proc_fd, s->dents, DENTS_BUF_SIZE);

                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                for (long off = 0; off < n;) {
                        struct linux_dirent64 *de = (struct linux_dirent64 *) (s->dents + off);
                        char *end;
                        unsigned long v;

                        off += de->d_reclen;
                        if (de->d_name[0] < '1' || de->d_name[0] > '9')
                                continue;
                        v = strtoul(de->d_name, &end, 10);
                        if (*end || v > INT32_MAX)
                                continue;
                        r = visit(s, sc, (pid_t) v, false);
                        if (r < 0)
                                return r;
                }
        }
}

/* Only what may have changed: the processes not settled yet, the pids
 * handed out since the last scan, and the extra pids. Settled processes
 * are kept as they were; the next listing drops those that exited. */
static int scan_changes(GuestScanner *s, Scan *sc, pid_t last, pid_t now) {
        int r;

        for (size_t i = 0; i < s->n_known; i++) {
                if (s->known[i].kind == PID_OTHER) {
                        bool is_extra = sc->n_extra &&
                                        bsearch(&s->known[i].pid, sc->extra, sc->n_extra, sizeof(pid_t), cmp_pid);

                        if (!is_extra) {
                                r = visit(s, sc, s->known[i].pid, false);       /* no read */
                                if (r < 0)
                                        return r;
                                continue;
                        }
                }
                r = visit(s, sc, s->known[i].pid, s->known[i].kind != PID_GUEST);
                if (r < 0)
                        return r;
        }
        for (pid_t pid = last + 1; pid > 0 && pid <= now; pid++) {
                r = visit(s, sc, pid, true);
                if (r < 0)
                        return r;
        }
        /* Probed pids came after the known ones: sort before searching. */
        if (sc->n_seen > 1)
                qsort(sc->seen, sc->n_seen, sizeof(PidEntry), cmp_entry);
        for (size_t i = 0, n_seen = sc->n_seen; i < sc->n_extra; i++) {
                if ((i > 0 && sc->extra[i] == sc->extra[i - 1]) ||
                    (n_seen > 0 && bsearch(&sc->extra[i], sc->seen, n_seen, sizeof(PidEntry), cmp_entry)))
                        continue;
                r = visit(s, sc, sc->extra[i], false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The last pid the kernel handed out (to a process or a thread), or -1. */
static pid_t read_last_pid(GuestScanner *s) {
        uint64_t v;

        if (read_u64_file_at(s->proc_fd, "sys/kernel/ns_last_pid", &v) < 0 || v > INT32_MAX)
                return -1;
        return (pid_t) v;
}

int guest_scanner_scan(GuestScanner *s, const pid_t *extra, size_t n_extra, GuestList *ret) {
        _cleanup_free_ pid_t *sorted = NULL;
        /* starttime in /proc/PID/stat counts from boot. */
        Scan sc = { .now_sec = now_usec(CLOCK_BOOTTIME) / USEC_PER_SEC };
        pid_t last_pid = read_last_pid(s);
        bool full;
        int r;

        if (n_extra > 0) {
                sorted = malloc(n_extra * sizeof(pid_t));
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, extra, n_extra * sizeof(pid_t));
                qsort(sorted, n_extra, sizeof(pid_t), cmp_pid);
                sc.extra = sorted;
                sc.n_extra = n_extra;
        }
        /* List /proc on the first scan, without ns_last_pid, when pids
         * wrapped, when many were handed out, and every FULL_EVERY scans
         * to forget exited processes. */
        full = !s->known || last_pid < 0 || s->last_pid < 0 || last_pid < s->last_pid ||
               last_pid - s->last_pid > MAX_PROBE || ++s->since_full >= FULL_EVERY;
        if (full) {
                s->since_full = 0;
                r = scan_listing(s, &sc);
        } else
                r = scan_changes(s, &sc, s->last_pid, last_pid);
        if (r < 0)
                goto fail;

        /* /proc lists pids in ascending order, probes come after known
         * pids: sort unless already in order. */
        for (size_t i = 1; i < sc.n_seen; i++)
                if (sc.seen[i - 1].pid >= sc.seen[i].pid) {
                        qsort(sc.seen, sc.n_seen, sizeof(PidEntry), cmp_entry);
                        break;
                }
        if (sc.l.n > 1)
                qsort(sc.l.procs, sc.l.n, sizeof(GuestProc), cmp_proc);
        if (sc.l.n_merge_any > 1)
                qsort(sc.l.merge_any, sc.l.n_merge_any, sizeof(GuestProc), cmp_proc);

        free(s->known);
        s->known = sc.seen;
        s->n_known = sc.n_seen;
        s->last_pid = last_pid;
        guest_list_clear(ret);
        *ret = sc.l;
        return 0;
fail:
        free(sc.seen);
        guest_list_clear(&sc.l);
        return r;
}
