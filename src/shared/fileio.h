/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse-util.h"
#include <sys/types.h>

/* openat() that never blocks and accepts only a regular file: O_NONBLOCK,
 * O_CLOEXEC and O_NOCTTY are added to flags. Returns the fd, -EISDIR for a
 * directory, -EBADFD for a FIFO, socket or device, or another negative errno. */
int open_regular_at(int dirfd, const char *path, int flags, mode_t mode);

/* Reopen *fd when dirfd/path (a directory opened once and kept) no longer
 * names the directory *fd refers to: it was replaced (a remounted /proc or
 * sysfs, a fixture tree rebuilt). Returns 0 when unchanged, 1 when *fd was
 * replaced by a fresh O_DIRECTORY fd (the old one closed), or negative errno
 * when the path cannot be opened now (*fd kept). */
int dir_fd_refresh(int dirfd, const char *path, int *fd);

/* strerror() for the errors above, with "not a regular file" for -EBADFD. */
const char *file_strerror(int r);

/* Read a whole (small) file at dirfd/path into a NUL-terminated malloc'ed
 * buffer; at most max_size bytes; only a regular file (see open_regular_at).
 * Returns 0 or negative errno (-EFBIG when larger). */
int read_full_file_at(int dirfd, const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Read a whole regular file (a configuration file) into a NUL-terminated
 * malloc'ed buffer, at most max_size bytes; *ret_size counts NUL bytes inside.
 * Never blocks: a FIFO, device or socket is refused with -EBADFD, a
 * directory with -EISDIR. Returns 0 or negative errno (-EFBIG when larger). */
int read_regular_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Read a one-line unsigned decimal file (sysfs style). Returns 0 or negative errno
 * (-EINVAL when the content is not a number). */
int read_u64_file_at(int dirfd, const char *path, uint64_t *ret);

/* Read dirfd/path (a regular file) into buf with one pread() at offset 0,
 * NUL-terminated, through *held: an fd kept by an earlier read is read
 * again (a read at offset 0 shows a procfs or sysfs file afresh: one system
 * call instead of open, the regular-file check, read and close); if that
 * fails it is closed and the file opened again once, and kept. held NULL:
 * opened and closed (a fixture tree's files are replaced, not rewritten).
 * Returns the length, -EFBIG when the content does not fit size - 1 bytes,
 * or negative errno. */
ssize_t read_file_held(int dirfd, const char *path, int *held, char *buf, size_t size);

/* Whether fd lies on procfs or sysfs, where read_file_held() may keep files open. */
bool fd_on_kernel_fs(int fd);

/* Write a string to an existing file at dirfd/path (truncating, never
 * creating) in one write(); only a regular file (see open_regular_at).
 * Returns 0 or negative errno from open() or write(). */
int write_string_file_at(int dirfd, const char *path, const char *s);
