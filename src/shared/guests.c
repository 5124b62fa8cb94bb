/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <libproc2/pids.h>
#include <stdlib.h>
#include <string.h>

#include "guests.h"
#include "macro.h"

/* Our own index into the item list: the PIDS_VAL macro changed arity
 * between procps releases, so read stack->head[i] directly. */
enum { ITEM_PID, ITEM_CMD, ITEM_RSS, ITEM_START, _ITEM_MAX };

static enum pids_item items[_ITEM_MAX] = {
        [ITEM_PID] = PIDS_ID_PID,
        [ITEM_CMD] = PIDS_CMD,
        [ITEM_RSS] = PIDS_MEM_RES,
        [ITEM_START] = PIDS_TICS_BEGAN,
};

struct GuestScanner {
        regex_t re;
        regex_t merge_re;
        bool has_merge_re;
        struct pids_info *info;
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

int guest_scanner_new(const char *pattern, GuestScanner **ret) {
        GuestScanner *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r = guest_regex_compile(pattern, &s->re, NULL, 0);
        if (r < 0) {
                free(s);
                return r;
        }
        r = procps_pids_new(&s->info, items, _ITEM_MAX);
        if (r < 0) {
                regfree(&s->re);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

GuestScanner *guest_scanner_free(GuestScanner *s) {
        if (!s)
                return NULL;
        procps_pids_unref(&s->info);
        regfree(&s->re);
        if (s->has_merge_re)
                regfree(&s->merge_re);
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
        return 0;
}

/* Append to a growing array of GuestProc. */
static GuestProc *append(GuestProc **array, size_t *n, size_t *alloc) {
        if (*n == *alloc) {
                size_t na = *alloc ? *alloc * 2 : 16;
                GuestProc *p = realloc(*array, na * sizeof(GuestProc));
                if (!p)
                        return NULL;
                *array = p;
                *alloc = na;
        }
        return &(*array)[(*n)++];
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

bool guest_list_contains(const GuestList *l, pid_t pid) {
        return l->n > 0 && bsearch(&pid, l->procs, l->n, sizeof(GuestProc), cmp_pid);
}

int guest_scanner_scan(GuestScanner *s, const pid_t *extra, size_t n_extra, GuestList *ret) {
        _cleanup_free_ pid_t *sorted = NULL;
        GuestList l = {};
        struct pids_fetch *f;
        size_t alloc = 0, alloc_merge = 0;

        if (n_extra > 0) {
                sorted = malloc(n_extra * sizeof(pid_t));
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, extra, n_extra * sizeof(pid_t));
                qsort(sorted, n_extra, sizeof(pid_t), cmp_pid);
        }

        /* One row per process: THREADS_TOO would repeat each RSS per thread. */
        errno = 0;
        f = procps_pids_reap(s->info, PIDS_FETCH_TASKS_ONLY);
        if (!f)
                return errno > 0 ? -errno : -EIO;

        for (int i = 0; i < f->counts->total; i++) {
                struct pids_result *h = f->stacks[i]->head;
                GuestProc p = {
                        .pid = h[ITEM_PID].result.s_int,
                        .rss_kib = h[ITEM_RSS].result.ul_int,
                        .start_tics = h[ITEM_START].result.ull_int,
                };
                const char *comm = h[ITEM_CMD].result.str ?: "";
                GuestProc *g;

                snprintf(p.comm, sizeof(p.comm), "%s", comm);
                if (s->has_merge_re && guest_regex_match(&s->merge_re, comm)) {
                        g = append(&l.merge_any, &l.n_merge_any, &alloc_merge);
                        if (!g)
                                goto oom;
                        *g = p;
                }
                if (!guest_regex_match(&s->re, comm) &&
                    !(sorted && bsearch(&p.pid, sorted, n_extra, sizeof(pid_t), cmp_pid)))
                        continue;
                g = append(&l.procs, &l.n, &alloc);
                if (!g)
                        goto oom;
                *g = p;
                l.rss_kib += p.rss_kib;
        }
        if (l.n > 1)
                qsort(l.procs, l.n, sizeof(GuestProc), cmp_proc);
        if (l.n_merge_any > 1)
                qsort(l.merge_any, l.n_merge_any, sizeof(GuestProc), cmp_proc);

        guest_list_clear(ret);
        *ret = l;
        return 0;
oom:
        guest_list_clear(&l);
        return -ENOMEM;
}
