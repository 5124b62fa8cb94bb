/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Access to the kernel interfaces added by kernel-patches/:
 *   process_madvise(pidfd, NULL, 0, MADV_MERGE_ANY or MADV_UNMERGE_ANY, 0)
 *                                      PR_SET_MEMORY_MERGE for another process
 *   /sys/kernel/mm/ksm/full_scans      poll() wakes when a full scan completes
 *                                      (at most once per 100 ms)
 *
 * Paths are taken relative to a directory passed in ("/proc",
 * "/sys/kernel/mm/ksm", or a fixture tree in tests).  Functions return 0
 * (or a documented positive value) on success and a negative errno on
 * failure; results go out through *ret, written only on success.  Nothing
 * here logs.
 */
#ifndef KSMTUNED_KSM_MERGE_ANY_H
#define KSMTUNED_KSM_MERGE_ANY_H

#include <stdint.h>
#include <sys/types.h>

/* The advice values of kernel-patches/ 0001 (not in libc headers). */
#define KSM_MADV_MERGE_ANY 26
#define KSM_MADV_UNMERGE_ANY 27

/*
 * Whether the kernel takes MADV_MERGE_ANY through process_madvise(), probed
 * with a call that changes nothing: the calling process's own setting,
 * written back unchanged. Returns 1, 0 (kernel without it), negative errno.
 */
int ksm_merge_any_supported(void);

/*
 * A pidfd for the process that had pid and started start_tics clock ticks
 * after boot (field 22 of <proc_dir>/<pid>/stat), so that a pid reused since
 * it was scanned is never acted on. Returns the fd (close it with close()),
 * -ESRCH when that process is gone, or another negative errno.
 */
int ksm_pidfd_open(const char *proc_dir, pid_t pid, uint64_t start_tics);

/*
 * Enable (1) or disable (0) merging of all the anonymous memory of the
 * process pidfd refers to; disabling unmerges what merge-any merged.
 * Returns 0 or a negative errno: -EPERM (no CAP_SYS_RESOURCE, or the
 * process refuses: PR_MEMORY_MERGE_NO_REMOTE, s390 guests), -EACCES (no
 * ptrace rights), -ESRCH (gone), -EINTR, -ENOMEM; -EINVAL from a kernel
 * without the interface or when enable is neither 0 nor 1.
 */
int ksm_merge_any_set(int pidfd, int enable);

/* Start time (field 22 of proc(5) stat) of the content of a stat file. */
int ksm_stat_start_tics_parse(const char *stat_text, uint64_t *ret);

/*
 * Open <ksm_dir>/full_scans for poll() and read it once, as sysfs requires
 * before it reports changes. Returns the fd (close it with close()) or a
 * negative errno.
 */
int ksm_full_scans_open(const char *ksm_dir);

/*
 * Read the full scan counter through fd (pread at offset 0), which also
 * re-arms the notification after poll() reported POLLPRI/POLLERR.
 * Returns 0 or negative errno (-EBADMSG, -ERANGE on bad content).
 */
int ksm_full_scans_read(int fd, uint64_t *ret);

/*
 * Wait up to timeout_ms milliseconds (-1: forever) for a full scan
 * notification on fd, then re-read the counter into *ret. Returns 1 when
 * notified (counter read), 0 on timeout (*ret untouched), negative errno.
 * Kernels without kernel-patches/ 0002 never notify.
 */
int ksm_full_scans_wait(int fd, int timeout_ms, uint64_t *ret);

#endif
