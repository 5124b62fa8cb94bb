/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Ways other than the process name to tell a guest, and how much memory one
 * commits: a cgroup (systemd-machined's machine.slice, or cgroups the admin
 * names), a pid file (Proxmox VE's /var/run/qemu-server/VMID.pid), and the
 * proportional set size. All read under a root directory fd.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* KSM_GUEST_CGROUPS default: where systemd-machined registers libvirt and
 * nspawn machines. */
#define GUEST_CGROUPS_DEFAULT "machine.slice"
/* KSM_GUEST_PIDFILES default: Proxmox VE's qemu-server. */
#define GUEST_PIDFILES_DEFAULT "/var/run/qemu-server/*.pid"

typedef enum GuestMeasure {
        GUEST_MEASURE_RSS,              /* /proc/PID/stat rss: the old script's measure */
        GUEST_MEASURE_PSS,              /* /proc/PID/smaps_rollup Pss: shared pages split between sharers */
        _GUEST_MEASURE_MAX,
} GuestMeasure;

/* "rss" or "pss" to a GuestMeasure. Returns 0 or -EINVAL. */
int guest_measure_from_string(const char *s, GuestMeasure *ret);
/* "rss", "pss"; NULL for an unknown value. */
const char *guest_measure_to_string(GuestMeasure m);

/* Check a blank-separated list of cgroup names: each a single path
 * component (no '/'), not "." or "..". Returns 0 or -EINVAL. */
int guest_cgroups_check(const char *list);

/* Check a blank-separated list of absolute glob patterns. Returns 0 or -EINVAL. */
int guest_pidfiles_check(const char *list);

/* Whether the cgroup v2 path in the text of /proc/PID/cgroup (the "0::"
 * line) has a component named in list (blank-separated). */
bool guest_cgroup_text_matches(const char *text, const char *list);

/* Whether proc_fd/PID/cgroup names a cgroup in list. Returns 1, 0, or
 * negative errno (-ESRCH: gone). */
int guest_cgroup_matches(int proc_fd, pid_t pid, const char *list);

/* The pids in the pid files matching the globs in list (blank-separated,
 * absolute, taken under root; root "/" or "" for the host). A file whose
 * process started after the file was last written is stale (the pid was
 * reused) and skipped; so are unreadable files and files without a pid.
 * Returns how many pids (a malloc'ed array in *ret, NULL for none) or
 * negative errno (-ENOMEM). */
int guest_pidfiles_read(const char *root, int proc_fd, const char *list, pid_t **ret);

/* The guest name of a Proxmox VE guest: the vmid is the pid file's name
 * (VMID.pid under a KSM_GUEST_PIDFILES glob holding pid), the name the
 * "name:" line of root/etc/pve/qemu-server/VMID.conf. Returns 0 with a
 * malloc'ed name, -ENOENT when pid is in no such pid file or there is no
 * name, or negative errno. */
int guest_pve_name(const char *root, int proc_fd, const char *pidfiles, pid_t pid, char **ret);

/* Proportional set size of pid, KiB, from proc_fd/PID/smaps_rollup.
 * Returns 0, -ESRCH when gone, -EBADMSG, or negative errno. */
int guest_read_pss_kib(int proc_fd, pid_t pid, uint64_t *ret);
