/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* syscall() */
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
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_GET_MEMORY_MERGE
#define PR_GET_MEMORY_MERGE 68
#endif

/* A counter from sysfs; room for garbage so we can reject it. */
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

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int process_madvise_whole(int pidfd, int advice)
{
	return syscall(SYS_process_madvise, pidfd, NULL, 0, advice, 0) < 0 ? -errno : 0;
}

int ksm_merge_any_supported(void)
{
	int pidfd, on, r;

	on = prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0);
	if (on < 0)
		return errno == EINVAL ? 0 : -errno;	/* before Linux 6.4 */
	pidfd = sys_pidfd_open(getpid());
	if (pidfd < 0)
		return errno == ENOSYS ? 0 : -errno;
	/* Our own setting again: a no-op that needs no privilege */
	r = process_madvise_whole(pidfd, on ? KSM_MADV_MERGE_ANY : KSM_MADV_UNMERGE_ANY);
	close(pidfd);
	if (r == -EINVAL || r == -ENOSYS)
		return 0;
	return r < 0 ? r : 1;
}

int ksm_stat_start_tics_parse(const char *stat_text, uint64_t *ret)
{
	const char *p = strrchr(stat_text, ')');	/* comm may hold spaces and ')' */
	uint64_t v;
	char *end;

	if (!p)
		return -EBADMSG;
	p++;
	/* After the name: state is field 3, starttime field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EBADMSG;
	}
	p++;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EBADMSG;
	*ret = v;
	return 0;
}

int ksm_pidfd_open(const char *proc_dir, pid_t pid, uint64_t start_tics)
{
	char path[PATH_MAX], text[1024];
	uint64_t started;
	int pidfd, fd, r;
	ssize_t n;

	if (pid <= 0)
		return -EINVAL;
	r = snprintf(path, sizeof(path), "%s/%ld/stat", proc_dir, (long)pid);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	/*
	 * The pidfd first, then the start time: if the pid was reused before
	 * pidfd_open(), the start time read now is the new process's and
	 * differs; once the pidfd is open, it cannot name another process.
	 */
	pidfd = sys_pidfd_open(pid);
	if (pidfd < 0)
		return -errno;
	fd = open_regular_at(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0) {
		r = fd == -ENOENT ? -ESRCH : fd;
		goto fail;
	}
	n = read(fd, text, sizeof(text) - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		goto fail;
	text[n] = '\0';
	r = ksm_stat_start_tics_parse(text, &started);
	if (r < 0)
		goto fail;
	if (started != start_tics) {
		r = -ESRCH;
		goto fail;
	}
	return pidfd;
fail:
	close(pidfd);
	return r == -ENOENT ? -ESRCH : r;
}

int ksm_merge_any_set(int pidfd, int enable)
{
	if (enable != 0 && enable != 1)
		return -EINVAL;
	return process_madvise_whole(pidfd, enable ? KSM_MADV_MERGE_ANY : KSM_MADV_UNMERGE_ANY);
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
