/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The one reader of /proc for the daemon and ksmctl: every process listing
 * and every /proc/PID/stat goes through here, with the proc directory as an
 * fd, so a fixture tree (tests, --root) takes the very path the live /proc
 * takes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest /proc/PID/stat read. */
#define PROC_STAT_MAX 4096

/* The fields of /proc/PID/stat the programs use (proc(5) numbering). */
typedef struct ProcStat {
        char comm[16];                  /* field 2, without the parentheses */
        char state;                     /* field 3: R, S, Z, ... */
        pid_t ppid;                     /* field 4 */
        uint64_t cpu_ticks;             /* fields 14 + 15: utime + stime, clock ticks */
        uint64_t start_ticks;           /* field 22: start time after boot, clock ticks */
        uint64_t rss_pages;             /* field 24: resident set, pages */
        uint64_t flags;                 /* field 9: the kernel's PF_* flags */
} ProcStat;

/* Parse the text of /proc/PID/stat. comm ends at the last ')' (it may hold
 * spaces and parentheses). Returns 0 or -EBADMSG; ret is written only on
 * success. */
int proc_stat_parse(const char *text, ProcStat *ret);

/* Open root_fd/proc as a directory. Returns an fd or negative errno. */
int proc_open(int root_fd);

/* Read proc_fd/PID/stat. Returns 0, -ESRCH when the process is gone, or
 * another negative errno (-EBADMSG: unparsable). */
int proc_read_stat(int proc_fd, pid_t pid, ProcStat *ret);

/* Read proc_fd/PID/comm without its newline (at most 15 characters).
 * Returns 0, -ESRCH when gone, or negative errno. */
int proc_read_comm(int proc_fd, pid_t pid, char comm[16]);

/* Whether the text of /proc/PID/stat is a kernel thread's (PF_KTHREAD in
 * field 9, flags). Unlike proc_stat_parse() it takes any length of comm:
 * since Linux 6.x kernel threads show their full name there. Returns 1, 0,
 * or -EBADMSG. */
int proc_stat_is_kernel_thread(const char *text);

/* Read proc_fd/PID/stat and say whether it is a kernel thread. Returns 1, 0,
 * -ESRCH when gone, or another negative errno (-EBADMSG: unparsable). */
int proc_is_kernel_thread(int proc_fd, pid_t pid);

/* Whether pid is a thread group leader (a process, not one of its threads:
 * /proc lists processes only, but /proc/TID/ also opens for threads). Reads
 * the Tgid line of proc_fd/PID/status. Returns 1, 0, or negative errno
 * (-ESRCH when gone). */
int proc_is_process(int proc_fd, pid_t pid);

/* A listing of the numeric entries of a proc directory, read in large
 * getdents64 batches (about 1 us per process). */
typedef struct ProcIter {
        int proc_fd;                    /* borrowed */
        char *buf;
        long n, off;
} ProcIter;

/* Start (or restart) listing proc_fd; the fd stays the caller's. Returns 0
 * or negative errno. */
int proc_iter_start(ProcIter *it, int proc_fd);

/* The next pid, in the order /proc gives them (ascending). Returns 1 with
 * *ret, 0 at the end, or negative errno. */
int proc_iter_next(ProcIter *it, pid_t *ret);

/* Free the listing's buffer (a cleared ProcIter is fine). */
void proc_iter_done(ProcIter *it);
