/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "arith.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "guests.h"
#include "macro.h"
#include "procfs.h"
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
 * A process is read from its stat file alone (procfs.c), the live /proc and
 * a fixture tree (tests, --root) alike.
 */
#define YOUNG_SECS 10
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

struct GuestScanner {
        regex_t re;
        regex_t merge_re;       /* KSM_MERGE_ANY_REGEX */
        bool has_merge_re;
        int proc_fd;
        PidEntry *known;        /* sorted by pid, from the last scan */
        size_t n_known;
        ProcIter iter;
        uint64_t page_kib;
        uint64_t hz;
        pid_t last_pid;         /* ns_last_pid at the last scan, -1 unknown */
        unsigned since_full;    /* scans since the last listing */
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
        s->proc_fd = proc_open(root_fd);
        if (s->proc_fd < 0) {
                r = s->proc_fd;
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
        regfree(&s->re);
        if (s->has_merge_re)
                regfree(&s->merge_re);
        closep(&s->proc_fd);
        free(s->known);
        proc_iter_done(&s->iter);
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
                l->rss_kib = sat_add_u64(l->rss_kib, rss_kib);
        return r;
}

/* Name, start time (clock ticks after boot) and resident size (KiB) of pid.
 * Returns 0, -ESRCH when it is gone, or negative errno. */
static int read_process(GuestScanner *s, pid_t pid, char comm[16], uint64_t *ret_start, uint64_t *ret_rss_kib) {
        ProcStat st;
        int r;

        r = proc_read_stat(s->proc_fd, pid, &st);
        if (r < 0)
                return r;
        memcpy(comm, st.comm, sizeof(st.comm));
        *ret_start = st.start_ticks;
        *ret_rss_kib = sat_mul_u64(st.rss_pages, s->page_kib);
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
        /* Gone, or unreadable: not worth counting either. */
        return proc_is_process(s->proc_fd, pid) != 1;
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
                        sc->l.rss_kib = sat_sub_u64(sc->l.rss_kib, sc->l.procs[--sc->l.n].rss_kib);
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
        pid_t pid;
        int r;

        r = proc_iter_start(&s->iter, s->proc_fd);
        while (r >= 0 && (r = proc_iter_next(&s->iter, &pid)) > 0)
                r = visit(s, sc, pid, false);
        return r;
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
