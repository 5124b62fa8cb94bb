/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest-rules.h"

/* The old ksmtuned's pgrep pattern: qemu-kvm, qemu-system-*, and the
 * "qemu:NAME" process titles some distributions set. */
#define GUEST_REGEX_DEFAULT "^(qemu(-(kvm|system-.+)|:.{1,11})|kvm)$"

typedef struct GuestProc {
        pid_t pid;
        uint64_t start_tics;            /* start time after boot, clock ticks: tells reused pids apart */
        uint64_t rss_kib;
        char comm[16];
} GuestProc;

typedef struct GuestList {
        GuestProc *procs;               /* sorted by pid */
        size_t n;
        uint64_t rss_kib;               /* sum over procs */
        GuestProc *merge_any;           /* processes matching the merge-any pattern seen
                                         * new or young at this scan, sorted by pid */
        size_t n_merge_any;
        size_t n_pss_unread;            /* KSM_GUEST_MEMORY=pss: guests counted by RSS, their
                                         * smaps_rollup unreadable (another user's, without
                                         * CAP_SYS_PTRACE) */
} GuestList;

typedef struct GuestScanner GuestScanner;

/* Compile an extended regex for process names, refusing one whose cost
 * (regex_cost) is above REGEX_COST_MAX before compiling it. Returns 0,
 * -E2BIG (too complex), -EINVAL or -ENOMEM; on error a description goes to
 * errbuf when given. */
int guest_regex_compile(const char *pattern, regex_t *ret, char *errbuf, size_t errbuf_size);

/* Whether a process name (comm, at most 15 characters) matches. */
bool guest_regex_match(const regex_t *re, const char *comm);

/* How many patterns guest_regex_compile() compiled in this process (for
 * tests: a reload that keeps its patterns compiles none). */
unsigned long guest_regex_compilations(void);

/* A compiled pattern with its text, shared by reference: the configuration
 * that validated it and the scanner that uses it hold the same one. */
typedef struct GuestPattern GuestPattern;

/* Compile text (guest_regex_compile). Returns 0, -E2BIG, -EINVAL or
 * -ENOMEM, with a description in errbuf when given; one reference. */
int guest_pattern_new(const char *text, GuestPattern **ret, char *errbuf, size_t errbuf_size);
GuestPattern *guest_pattern_ref(GuestPattern *p);
/* Drop a reference; the last one frees it. NULL is fine. Returns NULL. */
GuestPattern *guest_pattern_unref(GuestPattern *p);
const char *guest_pattern_text(const GuestPattern *p);
bool guest_pattern_match(const GuestPattern *p, const char *comm);

/* A scanner over root_fd/proc for the processes whose name matches pattern
 * (it takes a reference). It remembers which processes are not guests and
 * only looks at new, young (< 10 s) and guest processes again. Returns 0,
 * -ENOMEM, or the errno of opening proc. */
int guest_scanner_new(int root_fd, GuestPattern *pattern, GuestScanner **ret);
GuestScanner *guest_scanner_free(GuestScanner *s);

/* Also report processes whose name matches pattern (NULL for none; the
 * scanner takes a reference) in GuestList.merge_any: all of them at the next
 * scan, then those that are new or young. */
void guest_scanner_set_merge_any(GuestScanner *s, GuestPattern *pattern);

/* Also count as guests the processes in the cgroups named in cgroups and
 * the pids in the pid files globbed by pidfiles (both blank-separated lists,
 * NULL or "" for none; the globs are taken under root), and measure each
 * guest's memory as measure says. Returns 0, -EINVAL (a bad list), -ENOMEM. */
int guest_scanner_set_rules(GuestScanner *s, const char *root, const char *cgroups, const char *pidfiles,
                            GuestMeasure measure);

/* Whether pid is a guest by its name or cgroup (for process events; pid
 * files and extra pids are for the scan). Returns 1, 0, -ESRCH when it is
 * gone, or negative errno. */
int guest_scanner_check_pid(GuestScanner *s, pid_t pid);

/* Reopen root_fd/proc when it was replaced since the scanner opened it (see
 * dir_fd_refresh). Returns 0 unchanged, 1 reopened, or negative errno. */
int guest_scanner_refresh(GuestScanner *s, int root_fd);

/* Whether the scanner's proc is procfs, whose files may be held open
 * between reads (read_file_held()); false in a fixture tree. */
bool guest_scanner_on_procfs(const GuestScanner *s);

/* Find guests: processes whose name or cgroup matches, plus the pids in
 * extra (for example from libvirt) and in the pid files whatever their
 * name, each counted once. Returns 0 or
 * negative errno; ret is replaced on success. */
int guest_scanner_scan(GuestScanner *s, const pid_t *extra, size_t n_extra, GuestList *ret);

void guest_list_clear(GuestList *l);

/* Whether pid is in the (sorted) list. */
bool guest_list_contains(const GuestList *l, pid_t pid);
