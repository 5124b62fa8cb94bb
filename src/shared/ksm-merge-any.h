/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Access to the kernel interfaces added by kernel-patches/:
 *   /proc/<pid>/ksm_merge_any          PR_SET_MEMORY_MERGE for another process
 *   /sys/kernel/mm/ksm/full_scans      poll() wakes when a full scan completes
 *   /sys/kernel/mm/ksm/full_scans_notify   "1" when the above is available
 *
 * Every path is taken relative to a directory passed in ("/proc",
 * "/sys/kernel/mm/ksm", or a fixture tree in tests).  Functions return 0
 * (or a documented positive value) on success and a negative errno on
 * failure; results go out through *ret, written only on success.  Nothing
 * here logs.
 */
#ifndef KSMTUNED_KSM_MERGE_ANY_H
#define KSMTUNED_KSM_MERGE_ANY_H

#include <stdint.h>
#include <sys/types.h>

/* Whether <proc_dir>/self/ksm_merge_any exists. Returns 1, 0, or negative errno. */
int ksm_merge_any_supported(const char *proc_dir);

/*
 * Read pid's merge-any state (0 or 1) into *ret. Returns 0, -ENOENT when
 * the kernel lacks the file, -ESRCH when the process is gone, -EACCES or
 * -EPERM when not allowed, -EBADMSG on unexpected content.
 */
int ksm_merge_any_get(const char *proc_dir, pid_t pid, int *ret);

/*
 * Enable (1) or disable (0) merging of all of pid's anonymous memory;
 * disabling unmerges. Returns 0 or a negative errno: from the kernel
 * -EPERM (no CAP_SYS_RESOURCE or no ptrace rights), -EACCES (file mode:
 * not the owner), -ESRCH (gone), -EINTR, -ENOMEM; -ENOENT when the kernel
 * lacks the file; -EINVAL when enable is neither 0 nor 1.
 */
int ksm_merge_any_set(const char *proc_dir, pid_t pid, int enable);

/*
 * Whether poll() on <ksm_dir>/full_scans wakes when a full scan completes,
 * detected by the kernel's <ksm_dir>/full_scans_notify reading "1".
 * Returns 1, 0 (file missing or "0"), or negative errno.
 */
int ksm_full_scans_notify_supported(const char *ksm_dir);

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
 */
int ksm_full_scans_wait(int fd, int timeout_ms, uint64_t *ret);

#endif
