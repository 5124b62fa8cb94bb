/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "ksmd.h"
#include "macro.h"
#include "procfs.h"
#include "units.h"

int ksmd_find_pid(int root_fd, pid_t *ret) {
        _cleanup_close_ int fd = -1;
        ProcIter it = {};
        pid_t pid;
        int r;

        fd = proc_open(root_fd);
        if (fd < 0)
                return fd;
        r = proc_iter_start(&it, fd);
        /* Kernel threads start early: ksmd is among the first pids read. */
        while (r >= 0 && (r = proc_iter_next(&it, &pid)) > 0) {
                char comm[16];

                if (proc_read_comm(fd, pid, comm) < 0)
                        continue;       /* gone meanwhile */
                if (strcmp(comm, "ksmd") == 0) {
                        *ret = pid;
                        break;
                }
        }
        proc_iter_done(&it);
        return r < 0 ? r : r == 0 ? -ESRCH : 0;
}

int ksmd_read_cpu_usec(int root_fd, pid_t pid, int *held, uint64_t *ret) {
        char path[64], buf[PROC_STAT_MAX + 2];
        ProcStat st;
        long hz = sysconf(_SC_CLK_TCK);
        ssize_t n;
        int r;

        snprintf(path, sizeof(path), "proc/%d/stat", (int) pid);
        n = read_file_held(root_fd, path, held, buf, sizeof(buf));
        if (n < 0)
                return n == -ENOENT ? -ESRCH : (int) n;
        r = proc_stat_parse(buf, &st);
        if (r < 0)
                return r;
        if (strcmp(st.comm, "ksmd") != 0)
                return -ESRCH;
        if (hz <= 0)
                hz = 100;
        /* Ticks since boot times 10^6 fit 64 bits for 584 years at 1 kHz. */
        *ret = st.cpu_ticks * USEC_PER_SEC / (uint64_t) hz;
        return 0;
}
