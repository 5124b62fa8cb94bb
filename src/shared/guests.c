/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arith.h"
#include "fileio.h"
#include "guest-rules.h"
#include "guests.h"
#include "macro.h"
#include "procfs.h"
#include "regex-cost.h"
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
        GuestPattern *re;       /* KSM_GUEST_REGEX */
        GuestPattern *merge_re; /* KSM_MERGE_ANY_REGEX, NULL for none */
        int proc_fd;
        int last_pid_fd;        /* ns_last_pid held open on procfs (read_file_held()), else -1 */
        bool hold;              /* proc_fd is procfs */
        PidEntry *known;        /* sorted by pid, from the last scan */
        size_t n_known;
        ProcIter iter;
        uint64_t page_kib;
        uint64_t hz;
        pid_t last_pid;         /* ns_last_pid at the last scan, -1 unknown */
        char *root;             /* for pid file globs */
        char *cgroups;          /* KSM_GUEST_CGROUPS, NULL for none */
        char *pidfiles;         /* KSM_GUEST_PIDFILES, NULL for none */
        GuestMeasure measure;   /* KSM_GUEST_MEMORY */
        unsigned since_full;    /* scans since the last listing */
};

struct GuestPattern {
        unsigned n_ref;
        regex_t re;
        char text[];
};

static unsigned long n_compiled;

unsigned long guest_regex_compilations(void) {
        return n_compiled;
}

int guest_regex_compile(const char *pattern, regex_t *ret, char *errbuf, size_t errbuf_size) {
        uint64_t cost = regex_cost(pattern);
        int r;

        /* Before regcomp(): a few stacked quantifiers cost gigabytes there. */
        if (cost > REGEX_COST_MAX) {
                if (errbuf && cost == UINT64_MAX)
                        snprintf(errbuf, errbuf_size, "too complex (stacked quantifiers, or far too large)");
                else if (errbuf)
                        snprintf(errbuf, errbuf_size, "too complex (expands to about %" PRIu64 " states, at most %d)",
                                 cost, REGEX_COST_MAX);
                return -E2BIG;
        }
        n_compiled++;
        r = regcomp(ret, pattern, REG_EXTENDED | REG_NOSUB);
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

int guest_pattern_new(const char *text, GuestPattern **ret, char *errbuf, size_t errbuf_size) {
        size_t len = strlen(text);
        GuestPattern *p;
        int r;

        p = malloc(sizeof(*p) + len + 1);
        if (!p)
                return -ENOMEM;
        r = guest_regex_compile(text, &p->re, errbuf, errbuf_size);
        if (r < 0) {
                free(p);
                return r;
        }
        p->n_ref = 1;
        memcpy(p->text, text, len + 1);
        *ret = p;
        return 0;
}

GuestPattern *guest_pattern_ref(GuestPattern *p) {
        if (p)
                p->n_ref++;
        return p;
}

GuestPattern *guest_pattern_unref(GuestPattern *p) {
        if (p && --p->n_ref == 0) {
                regfree(&p->re);
                free(p);
        }
        return NULL;
}

const char *guest_pattern_text(const GuestPattern *p) {
        return p->text;
}

bool guest_pattern_match(const GuestPattern *p, const char *comm) {
        return guest_regex_match(&p->re, comm);
}

int guest_scanner_new(int root_fd, GuestPattern *pattern, GuestScanner **ret) {
        GuestScanner *s;
        long v;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->proc_fd = s->last_pid_fd = -1;
        s->last_pid = -1;
        s->re = guest_pattern_ref(pattern);
        s->proc_fd = proc_open(root_fd);
        if (s->proc_fd < 0) {
                r = s->proc_fd;
                goto fail;
        }
        s->hold = fd_on_kernel_fs(s->proc_fd);
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
        guest_pattern_unref(s->re);
        guest_pattern_unref(s->merge_re);
        closep(&s->proc_fd);
        closep(&s->last_pid_fd);
        free(s->root);
        free(s->cgroups);
        free(s->pidfiles);
        free(s->known);
        proc_iter_done(&s->iter);
        free(s);
        return NULL;
}

void guest_scanner_set_merge_any(GuestScanner *s, GuestPattern *pattern) {
        guest_pattern_ref(pattern);
        guest_pattern_unref(s->merge_re);
        s->merge_re = pattern;
        /* Processes already settled were never checked against the new
         * pattern: look at every process again at the next scan. */
        free(s->known);
        s->known = NULL;
        s->n_known = 0;
}

/* A copy of a blank-separated list, NULL when it has no word. */
static int dup_list(const char *list, char **ret) {
        if (!list || list[strspn(list, " \t")] == '\0') {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(list);
        return *ret ? 0 : -ENOMEM;
}

int guest_scanner_set_rules(GuestScanner *s, const char *root, const char *cgroups, const char *pidfiles,
                            GuestMeasure measure) {
        _cleanup_free_ char *r = NULL, *c = NULL, *p = NULL;

        if ((cgroups && guest_cgroups_check(cgroups) < 0) || (pidfiles && guest_pidfiles_check(pidfiles) < 0) ||
            !guest_measure_to_string(measure))
                return -EINVAL;
        r = strdup(root ?: "/");
        if (!r || dup_list(cgroups, &c) < 0 || dup_list(pidfiles, &p) < 0)
                return -ENOMEM;
        free(s->root);
        free(s->cgroups);
        free(s->pidfiles);
        s->root = TAKE_PTR(r);
        s->cgroups = TAKE_PTR(c);
        s->pidfiles = TAKE_PTR(p);
        s->measure = measure;
        /* Settled processes were not checked against the new cgroups. */
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
        if (ARRAY_RESERVE_ONE(*array, *alloc, *n, 16) < 0)
                return -ENOMEM;
        GuestProc *g = &(*array)[(*n)++];
        *g = (GuestProc) { .pid = pid, .start_tics = start_tics, .rss_kib = rss_kib };
        snprintf(g->comm, sizeof(g->comm), "%s", comm);
        return 0;
}

/* How much memory a guest commits, KiB: its resident set, or its
 * proportional set size when so configured (falling back to the resident
 * set when smaps_rollup cannot be read). */
static uint64_t guest_kib(GuestScanner *s, pid_t pid, const ProcStat *st, GuestList *l) {
        uint64_t pss;

        if (s->measure == GUEST_MEASURE_PSS) {
                if (guest_read_pss_kib(s->proc_fd, pid, &pss) >= 0)
                        return pss;
                l->n_pss_unread++;
        }
        return sat_mul_u64(st->rss_pages, s->page_kib);
}

/* Whether the process read as st is a guest by name or cgroup. */
static bool matches(GuestScanner *s, pid_t pid, const ProcStat *st) {
        return guest_pattern_match(s->re, st->comm) ||
               (s->cgroups && guest_cgroup_matches(s->proc_fd, pid, s->cgroups) > 0);
}

int guest_scanner_check_pid(GuestScanner *s, pid_t pid) {
        ProcStat st;
        int r;

        r = proc_read_stat(s->proc_fd, pid, &st);
        if (r < 0)
                return r;
        return matches(s, pid, &st);
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

typedef enum VisitFlags {
        VISIT_PROBED = 1 << 0,          /* reached through the pid range: it may name a thread */
        VISIT_FRESH = 1 << 1,           /* handed out since the last scan: read even if settled */
} VisitFlags;

static bool is_extra(const Scan *sc, pid_t pid) {
        return sc->n_extra && bsearch(&pid, sc->extra, sc->n_extra, sizeof(pid_t), cmp_pid);
}

/* Read pid and classify it; a guest goes into the list, a process matching
 * the merge-any pattern into merge_any. Returns 0, -ESRCH (gone, or a
 * thread), or negative errno. */
static int look_at(GuestScanner *s, Scan *sc, pid_t pid, bool extra, VisitFlags flags, PidKind *ret) {
        ProcStat st;
        bool guest, merge;
        int r;

        r = proc_read_stat(s->proc_fd, pid, &st);
        if (r < 0)
                return r;       /* gone since the directory was read */
        guest = extra || matches(s, pid, &st);
        merge = s->merge_re && guest_pattern_match(s->merge_re, st.comm);
        /* qemu's threads start with its name: count the process once. */
        if ((flags & VISIT_PROBED) && !extra && (guest || merge) && proc_is_process(s->proc_fd, pid) != 1) {
                *ret = PID_YOUNG;
                return 0;
        }
        if (guest) {
                uint64_t kib = guest_kib(s, pid, &st, &sc->l);

                r = proc_append(&sc->l.procs, &sc->l.n, &sc->alloc, pid, st.comm, st.start_ticks, kib);
                if (r < 0)
                        return r;
                sc->l.rss_kib = sat_add_u64(sc->l.rss_kib, kib);
                *ret = PID_GUEST;
        } else
                *ret = st.start_ticks / s->hz + YOUNG_SECS > sc->now_sec ? PID_YOUNG : PID_OTHER;
        /* Processes seen for the first time (or still young) are the
         * candidates to opt into KSM. */
        if (merge)
                return proc_append(&sc->l.merge_any, &sc->l.n_merge_any, &sc->merge_alloc, pid, st.comm,
                                   st.start_ticks, 0);
        return 0;
}

/* Classify pid (reading it unless it is settled: old is what the last scan
 * knew of it, NULL if nothing) and remember it. */
static int visit_known(GuestScanner *s, Scan *sc, pid_t pid, const PidEntry *old, VisitFlags flags) {
        PidKind kind = PID_OTHER;
        bool extra = is_extra(sc, pid);
        int r;

        if (!old || old->kind != PID_OTHER || extra || (flags & VISIT_FRESH)) {
                r = look_at(s, sc, pid, extra, flags, &kind);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return 0;       /* exited meanwhile */
        }
        if (ARRAY_RESERVE_ONE(sc->seen, sc->seen_alloc, sc->n_seen, 256) < 0)
                return -ENOMEM;
        sc->seen[sc->n_seen++] = (PidEntry) { .pid = pid, .kind = kind };
        return 0;
}

static int visit(GuestScanner *s, Scan *sc, pid_t pid, VisitFlags flags) {
        const PidEntry *old = s->n_known ? bsearch(&pid, s->known, s->n_known, sizeof(PidEntry), cmp_entry) : NULL;

        return visit_known(s, sc, pid, old, flags);
}

/* Every process, from the listing of /proc. */
static int scan_listing(GuestScanner *s, Scan *sc) {
        pid_t pid;
        int r;

        r = proc_iter_start(&s->iter, s->proc_fd);
        while (r >= 0 && (r = proc_iter_next(&s->iter, &pid)) > 0)
                r = visit(s, sc, pid, 0);
        return r;
}

/* Only what may have changed: the processes not settled yet, the pids
 * handed out since the last scan, and the extra pids. Settled processes
 * are kept as they were; the next listing drops those that exited. Each
 * pid is visited once: a known pid in the new range (listed after
 * ns_last_pid was read, or reused since) is read afresh, not probed again. */
static int scan_changes(GuestScanner *s, Scan *sc, pid_t last, pid_t now) {
        int r;

        for (size_t i = 0; i < s->n_known; i++) {
                pid_t pid = s->known[i].pid;
                VisitFlags flags = s->known[i].kind != PID_GUEST ? VISIT_PROBED : 0;

                if (pid > last && pid <= now)
                        flags = VISIT_PROBED | VISIT_FRESH;
                r = visit_known(s, sc, pid, &s->known[i], flags);
                if (r < 0)
                        return r;
        }
        for (pid_t pid = last + 1; pid > 0 && pid <= now; pid++) {
                if (s->n_known && bsearch(&pid, s->known, s->n_known, sizeof(PidEntry), cmp_entry))
                        continue;
                r = visit(s, sc, pid, VISIT_PROBED | VISIT_FRESH);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Visit the extra pids no listing or probe reached; seen is sorted. */
static int scan_extra(GuestScanner *s, Scan *sc) {
        size_t n_seen = sc->n_seen;
        int r;

        for (size_t i = 0; i < sc->n_extra; i++) {
                if ((i > 0 && sc->extra[i] == sc->extra[i - 1]) ||
                    (n_seen > 0 && bsearch(&sc->extra[i], sc->seen, n_seen, sizeof(PidEntry), cmp_entry)))
                        continue;
                r = visit(s, sc, sc->extra[i], 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool entries_sorted(const PidEntry *e, size_t n) {
        for (size_t i = 1; i < n; i++)
                if (e[i - 1].pid > e[i].pid)
                        return false;
        return true;
}

/* Sort seen, the guests and merge_any by pid and drop any pid met twice,
 * so that a guest counts once whatever found it. */
static void scan_finish(Scan *sc) {
        size_t n = 0;

        /* Known pids are visited in order: most scans need no sort. */
        if (!entries_sorted(sc->seen, sc->n_seen))
                qsort(sc->seen, sc->n_seen, sizeof(PidEntry), cmp_entry);
        for (size_t i = 0; i < sc->n_seen; i++)
                if (n == 0 || sc->seen[n - 1].pid != sc->seen[i].pid)
                        sc->seen[n++] = sc->seen[i];
        sc->n_seen = n;
        if (sc->l.n > 1)
                qsort(sc->l.procs, sc->l.n, sizeof(GuestProc), cmp_proc);
        n = 0;
        for (size_t i = 0; i < sc->l.n; i++) {
                if (n > 0 && sc->l.procs[n - 1].pid == sc->l.procs[i].pid) {
                        sc->l.rss_kib = sat_sub_u64(sc->l.rss_kib, sc->l.procs[i].rss_kib);
                        continue;
                }
                sc->l.procs[n++] = sc->l.procs[i];
        }
        sc->l.n = n;
        if (sc->l.n_merge_any > 1)
                qsort(sc->l.merge_any, sc->l.n_merge_any, sizeof(GuestProc), cmp_proc);
        n = 0;
        for (size_t i = 0; i < sc->l.n_merge_any; i++)
                if (n == 0 || sc->l.merge_any[n - 1].pid != sc->l.merge_any[i].pid)
                        sc->l.merge_any[n++] = sc->l.merge_any[i];
        sc->l.n_merge_any = n;
}

/* The last pid the kernel handed out (to a process or a thread), or -1. */
static pid_t read_last_pid(GuestScanner *s) {
        char buf[32];
        uint64_t v;

        if (read_file_held(s->proc_fd, "sys/kernel/ns_last_pid", s->hold ? &s->last_pid_fd : NULL, buf,
                           sizeof(buf)) < 0 ||
            parse_uint64(buf, &v) < 0 || v > INT32_MAX)
                return -1;
        return (pid_t) v;
}

/* The extra pids and those of the pid files, sorted. Returns how many
 * (in *ret) or negative errno. */
static int collect_extra(GuestScanner *s, const pid_t *extra, size_t n_extra, pid_t **ret) {
        _cleanup_free_ pid_t *from_files = NULL;
        pid_t *all;
        int n_files = 0;

        if (s->pidfiles) {
                n_files = guest_pidfiles_read(s->root, s->proc_fd, s->pidfiles, &from_files);
                if (n_files < 0)
                        return n_files;
        }
        if (n_extra + (size_t) n_files == 0) {
                *ret = NULL;
                return 0;
        }
        all = malloc((n_extra + (size_t) n_files) * sizeof(pid_t));
        if (!all)
                return -ENOMEM;
        if (n_extra > 0)
                memcpy(all, extra, n_extra * sizeof(pid_t));
        if (n_files > 0)
                memcpy(all + n_extra, from_files, (size_t) n_files * sizeof(pid_t));
        qsort(all, n_extra + (size_t) n_files, sizeof(pid_t), cmp_pid);
        *ret = all;
        return (int) (n_extra + (size_t) n_files);
}

int guest_scanner_refresh(GuestScanner *s, int root_fd) {
        int r = dir_fd_refresh(root_fd, "proc", &s->proc_fd);

        if (r > 0) {
                /* Another /proc: what was known about its pids is void. */
                free(s->known);
                s->known = NULL;
                s->n_known = 0;
                s->last_pid = -1;       /* list it whole next time */
                closep(&s->last_pid_fd);
                s->hold = fd_on_kernel_fs(s->proc_fd);
        }
        return r;
}

bool guest_scanner_on_procfs(const GuestScanner *s) {
        return s->hold;
}

int guest_scanner_scan(GuestScanner *s, const pid_t *extra, size_t n_extra, GuestList *ret) {
        _cleanup_free_ pid_t *sorted = NULL;
        /* starttime in /proc/PID/stat counts from boot. */
        Scan sc = { .now_sec = now_usec(CLOCK_BOOTTIME) / USEC_PER_SEC };
        pid_t last_pid = read_last_pid(s);
        bool full;
        int r;

        r = collect_extra(s, extra, n_extra, &sorted);
        if (r < 0)
                return r;
        sc.extra = sorted;
        sc.n_extra = (size_t) r;
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
        if (r >= 0) {
                if (!entries_sorted(sc.seen, sc.n_seen))
                        qsort(sc.seen, sc.n_seen, sizeof(PidEntry), cmp_entry);
                r = scan_extra(s, &sc);
        }
        if (r < 0) {
                free(sc.seen);
                guest_list_clear(&sc.l);
                return r;
        }
        scan_finish(&sc);
        free(s->known);
        s->known = sc.seen;
        s->n_known = sc.n_seen;
        s->last_pid = last_pid;
        guest_list_clear(ret);
        *ret = sc.l;
        return 0;
}
