/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int open_regular_at(int dirfd, const char *path, int flags, mode_t mode) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        /* O_NONBLOCK: opening a FIFO without a writer (or a device) must not
         * wait; on a regular file the flag changes nothing. */
        fd = openat(dirfd, path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return TAKE_FD(fd);
}

int dir_fd_refresh(int dirfd, const char *path, int *fd) {
        struct stat now, held;
        int nfd;

        /* Two stat calls a tick: cheap next to the reads they protect. */
        if (fstatat(dirfd, path, &now, 0) == 0 && fstat(*fd, &held) == 0 &&
            now.st_dev == held.st_dev && now.st_ino == held.st_ino)
                return 0;
        nfd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (nfd < 0)
                return negative_errno();
        close(*fd);
        *fd = nfd;
        return 1;
}

const char *file_strerror(int r) {
        return r == -EBADFD ? "not a regular file" : strerror(r < 0 ? -r : r);
}

static int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        /* /proc and /sys files report st_size 0 or 4096: read until EOF. */
        for (;;) {
                if (size + 1 >= alloc) {
                        size_t n = alloc ? alloc * 2 : 4096;
                        char *p;

                        if (alloc > max_size + 1)
                                return -EFBIG;
                        p = realloc(buf, n);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        alloc = n;
                }
                ssize_t k = read(fd, buf + size, alloc - size - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                size += (size_t) k;
                if (size > max_size)
                        return -EFBIG;
        }
        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int read_full_file_at(int dirfd, const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;

        fd = open_regular_at(dirfd, path, O_RDONLY, 0);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, max_size, ret, ret_size);
}

int read_regular_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        return read_full_file_at(AT_FDCWD, path, max_size, ret, ret_size);
}

static ssize_t pread_whole(int fd, char *buf, size_t size) {
        ssize_t n;

        do
                n = pread(fd, buf, size - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        if ((size_t) n >= size - 1)
                return -EFBIG;
        buf[n] = '\0';
        return n;
}

ssize_t read_file_held(int dirfd, const char *path, int *held, char *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        if (size < 2)
                return -EINVAL;
        if (held && *held >= 0) {
                n = pread_whole(*held, buf, size);
                if (n >= 0)
                        return n;
                closep(held);
        }
        fd = open_regular_at(dirfd, path, O_RDONLY, 0);
        if (fd < 0)
                return fd;
        n = pread_whole(fd, buf, size);
        if (n >= 0 && held)
                *held = TAKE_FD(fd);
        return n;
}

bool fd_on_kernel_fs(int fd) {
        struct statfs sf;

        return fstatfs(fd, &sf) == 0 && (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC);
}

int read_u64_file_at(int dirfd, const char *path, uint64_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_full_file_at(dirfd, path, 4096, &s, NULL);
        if (r < 0)
                return r;
        return parse_uint64(s, ret);
}

int write_string_file_at(int dirfd, const char *path, const char *s) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(s);
        ssize_t k;

        /* O_TRUNC as the shell's "echo 1 > run" does: sysfs ignores it and
         * plain files (fixture trees) then hold exactly what was written. */
        fd = open_regular_at(dirfd, path, O_WRONLY | O_TRUNC, 0);
        if (fd < 0)
                return fd;
        /* sysfs takes a value in one write(); a short write is an error. */
        do
                k = write(fd, s, len);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        if ((size_t) k != len)
                return -EIO;
        return 0;
}
