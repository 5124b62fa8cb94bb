/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "ksmd.h"
#include "macro.h"

/* Fields after the command name: state is field 3 of stat(5), utime 14 and
 * stime 15, so they are the 12th and 13th after the closing parenthesis. */
#define UTIME_AFTER_COMM 11

int proc_stat_parse(const char *text, char comm[16], uint64_t *ret_cpu_ticks) {
        const char *open = strchr(text, '('), *close = strrchr(text, ')');
        uint64_t v[2];
        const char *p;

        if (!open || !close || close < open || close - open - 1 > 15)
                return -EBADMSG;
        p = close + 1;
        for (unsigned field = 0; field < UTIME_AFTER_COMM + 2; field++) {
                char *end;

                while (*p == ' ')
                        p++;
                if (!*p)
                        return -EBADMSG;
                if (field < UTIME_AFTER_COMM) {
                        p += strcspn(p, " ");
                        continue;
                }
                if (*p < '0' || *p > '9')
                        return -EBADMSG;
                errno = 0;
                v[field - UTIME_AFTER_COMM] = strtoull(p, &end, 10);
                if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
                        return -EBADMSG;
                p = end;
        }
        if (v[0] > UINT64_MAX - v[1])
                return -EBADMSG;
        memcpy(comm, open + 1, (size_t) (close - open - 1));
        comm[close - open - 1] = '\0';
        *ret_cpu_ticks = v[0] + v[1];
        return 0;
}

int ksmd_find_pid(int root_fd, pid_t *ret) {
        _cleanup_close_ int fd = -1;
        DIR *d;
        struct dirent *de;
        int r = -ESRCH;

        fd = openat(root_fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        TAKE_FD(fd);
        /* Kernel threads start early: ksmd is among the first pids read. */
        while ((de = readdir(d))) {
                char path[64];
                _cleanup_free_ char *comm = NULL;
                char *end;
                unsigned long pid;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                pid = strtoul(de->d_name, &end, 10);
                if (*end || pid > INT32_MAX)
                        continue;
                snprintf(path, sizeof(path), "%lu/comm", pid);
                if (read_full_file_at(dirfd(d), path, 64, &comm, NULL) < 0)
                        continue;       /* gone meanwhile */
                if (strcmp(comm, "ksmd\n") == 0) {
                        *ret = (pid_t) pid;
                        r = 0;
                        break;
                }
        }
        closedir(d);
        return r;
}

int ksmd_read_cpu_usec(int root_fd, pid_t pid, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64], comm[16];
        uint64_t ticks;
        long hz = sysconf(_SC_CLK_TCK);
        int r;

        snprintf(path, sizeof(path), "proc/%d/stat", (int) pid);
        r = read_full_file_at(root_fd, path, 4096, &text, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        r = proc_stat_parse(text, comm, &ticks);
        if (r < 0)
                return r;
        if (strcmp(comm, "ksmd") != 0)
                return -ESRCH;
        if (hz <= 0)
                hz = 100;
        /* Ticks since boot times 10^6 fit 64 bits for 584 years at 1 kHz. */
        *ret = ticks * UINT64_C(1000000) / (uint64_t) hz;
        return 0;
}
