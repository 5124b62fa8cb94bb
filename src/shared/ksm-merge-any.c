/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "ksm-merge-any.h"
#include "fileio.h"
#include "parse-util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "0\n" or "1\n" from the kernel; room for garbage so we can reject it. */
#define SMALL_READ 32

static int build_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int build_pid_path(char *buf, size_t size, const char *proc_dir, pid_t pid,
			  const char *name)
{
	int n;

	if (pid <= 0)
		return -EINVAL;
	if (name)
		n = snprintf(buf, size, "%s/%ld/%s", proc_dir, (long)pid, name);
	else
		n = snprintf(buf, size, "%s/%ld", proc_dir, (long)pid);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * ENOENT from the file means either "no such process" or "kernel without
 * the patch": tell them apart by the /proc/<pid> directory.
 */
static int pid_open_error(const char *proc_dir, pid_t pid, int err)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	if (err != ENOENT)
		return -err;
	r = build_pid_path(path, sizeof(path), proc_dir, pid, NULL);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return -ENOENT;
}

/* Read a small file through fd from offset 0 into a NUL-terminated buf. */
static int pread_small(int fd, char *buf, size_t size)
{
	ssize_t n;

	do
		n = pread(fd, buf, size - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* Accept exactly "0" or "1", with or without one trailing newline. */
static int parse_kernel_flag(const char *s, int *ret)
{
	uint64_t v;
	int r = parse_kernel_u64(s, &v);

	if (r < 0 || v > 1 || s[0] != (char)('0' + v))
		return -EBADMSG;
	*ret = (int)v;
	return 0;
}

int ksm_merge_any_supported(const char *proc_dir)
{
	char path[PATH_MAX];
	int r;

	r = build_path(path, sizeof(path), proc_dir, "self/ksm_merge_any");
	if (r < 0)
		return r;
	if (access(path, F_OK) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

int ksm_merge_any_get(const char *proc_dir, pid_t pid, int *ret)
{
	char path[PATH_MAX], buf[SMALL_READ];
	int fd, r, v;

	r = build_pid_path(path, sizeof(path), proc_dir, pid, "ksm_merge_any");
	if (r < 0)
		return r;
	fd = open_regular_at(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0)
		return pid_open_error(proc_dir, pid, -fd);
	r = pread_small(fd, buf, sizeof(buf));
	close(fd);
	if (r < 0)
		return r;
	r = parse_kernel_flag(buf, &v);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int ksm_merge_any_set(const char *proc_dir, pid_t pid, int enable)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r = 0;

	if (enable != 0 && enable != 1)
		return -EINVAL;
	r = build_pid_path(path, sizeof(path), proc_dir, pid, "ksm_merge_any");
	if (r < 0)
		return r;
	fd = open_regular_at(AT_FDCWD, path, O_WRONLY, 0);
	if (fd < 0)
		return pid_open_error(proc_dir, pid, -fd);
	do
		n = write(fd, enable ? "1\n" : "0\n", 2);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if (n != 2)
		r = -EIO;
	if (close(fd) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	return r;
}

int ksm_full_scans_notify_supported(const char *ksm_dir)
{
	char path[PATH_MAX], buf[SMALL_READ];
	int fd, r, v;

	r = build_path(path, sizeof(path), ksm_dir, "full_scans_notify");
	if (r < 0)
		return r;
	fd = open_regular_at(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	r = pread_small(fd, buf, sizeof(buf));
	close(fd);
	if (r < 0)
		return r;
	r = parse_kernel_flag(buf, &v);
	return r < 0 ? r : v;
}

int ksm_full_scans_open(const char *ksm_dir)
{
	char path[PATH_MAX];
	uint64_t unused;
	int fd, r;

	r = build_path(path, sizeof(path), ksm_dir, "full_scans");
	if (r < 0)
		return r;
	fd = open_regular_at(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	r = ksm_full_scans_read(fd, &unused);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int ksm_full_scans_read(int fd, uint64_t *ret)
{
	char buf[SMALL_READ];
	int r;

	r = pread_small(fd, buf, sizeof(buf));
	if (r < 0)
		return r;
	return parse_kernel_u64(buf, ret);
}

int ksm_full_scans_wait(int fd, int timeout_ms, uint64_t *ret)
{
	struct pollfd pfd = { .fd = fd, .events = POLLPRI };
	int n, r;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	r = ksm_full_scans_read(fd, ret);
	return r < 0 ? r : 1;
}
