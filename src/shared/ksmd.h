/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Find ksmd's pid by scanning root/proc for a process named "ksmd" (a kernel
 * thread, so its pid stays valid until reboot). Returns 0, -ESRCH when there
 * is none, or another negative errno. */
int ksmd_find_pid(int root_fd, pid_t *ret);

/* CPU time ksmd has used since boot (utime + stime), in microseconds, read
 * through held (see read_file_held(); NULL: opened and closed). Returns 0,
 * -ESRCH when pid is no longer ksmd, or another negative errno. */
int ksmd_read_cpu_usec(int root_fd, pid_t pid, int *held, uint64_t *ret);
