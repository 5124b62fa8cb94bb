/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small helpers shared by the guest test programs.  They run as the only
 * user of a throw-away VM, so they abort on setup errors instead of
 * recovering: a test that cannot set itself up has failed.
 */
#ifndef KTEST_H
#define KTEST_H

#include <stdint.h>
#include <sys/types.h>

/* Host headers may predate Linux 6.4. */
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif
#ifndef PR_GET_MEMORY_MERGE
#define PR_GET_MEMORY_MERGE 68
#endif

#define KSM_DIR "/sys/kernel/mm/ksm"
#define PROC_DIR "/proc"
#define PAGE 4096UL

/* Record a failure of the current test (printf format); returns -1. */
int kt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first failure recorded since kt_begin(), or NULL. */
const char *kt_failure(void);
/* Forget the previous test's failure. */
void kt_begin(void);

/* Write a KSM sysfs knob ("run", "pages_to_scan"...); exits on error. */
void ksm_knob_set(const char *name, unsigned long value);
/* Read a KSM sysfs counter; exits on error. */
unsigned long ksm_knob_get(const char *name);
/* Read /proc/<pid>/<name> as a number; returns -1 if unreadable. */
long proc_pid_number(pid_t pid, const char *name);

/*
 * The "KSM:" field of /proc/<pid>/smaps_rollup in KiB: the KSM pages
 * mapped right now, read from the page tables, unlike ksm_merging_pages,
 * which ksmd updates on its next pass.  Returns -1 if unreadable.
 */
long proc_pid_ksm_kib(pid_t pid);

/*
 * Map npages anonymous pages filled with `patterns` different contents,
 * each repeated npages / patterns times.  seed makes the contents of one
 * test differ from another's.
 */
void *dup_pages_map(size_t npages, unsigned int patterns, unsigned int seed);

/* Monotonic milliseconds. */
int64_t now_ms(void);
/* Sleep ms milliseconds. */
void sleep_ms(unsigned int ms);

/*
 * Poll /proc/<pid>/ksm_merging_pages every 50 ms until it is >= min
 * (at_least) or <= min (!at_least), up to timeout_ms. Returns the last
 * value read.
 */
long wait_merging_pages(pid_t pid, long min, int at_least, int timeout_ms);

#endif
