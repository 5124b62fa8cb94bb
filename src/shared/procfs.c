/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "procfs.h"

/* /proc/PID/stat is about 300 bytes; comm is at most 15 characters. */
#define STATUS_MAX 65536
#define DENTS_BUF_SIZE (64 * 1024)

/* The last field of stat the programs need (rss). */
#define LAST_FIELD 24

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

static int parse_field(const char **p, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (**p < '0' || **p > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(*p, &end, 10);
        if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
                return -EBADMSG;
        *p = end;
        *ret = v;
        return 0;
}

/* Fields 3 to last_field of stat; comm is cut to 15 characters, and longer
 * than comm_max is -EBADMSG. */
static int parse_stat(const char *text, size_t comm_max, unsigned last_field, ProcStat *ret) {
        const char *open = strchr(text, '('), *close = strrchr(text, ')'), *p;
        ProcStat st = {};
        uint64_t utime = 0, stime = 0, ppid = 0;
        size_t len;

        if (!open || !close || close < open || (size_t) (close - open - 1) > comm_max || close[1] != ' ')
                return -EBADMSG;
        p = close + 1;
        for (unsigned field = 3; field <= last_field; field++) {
                uint64_t *dest = NULL;
                int r;

                while (*p == ' ')
                        p++;
                if (!*p || *p == '\n')
                        return -EBADMSG;
                switch (field) {
                case 3:
                        st.state = *p;
                        break;
                case 4:
                        dest = &ppid;
                        break;
                case 9:
                        dest = &st.flags;
                        break;
                case 14:
                        dest = &utime;
                        break;
                case 15:
                        dest = &stime;
                        break;
                case 22:
                        dest = &st.start_ticks;
                        break;
                case 24:
                        dest = &st.rss_pages;
                        break;
                }
                if (!dest) {
                        p += strcspn(p, " \n");
                        continue;
                }
                r = parse_field(&p, dest);
                if (r < 0)
                        return r;
        }
        if (utime > UINT64_MAX - stime || ppid > INT32_MAX)
                return -EBADMSG;
        st.cpu_ticks = utime + stime;
        st.ppid = (pid_t) ppid;
        len = (size_t) (close - open - 1);
        if (len > sizeof(st.comm) - 1)
                len = sizeof(st.comm) - 1;
        memcpy(st.comm, open + 1, len);
        st.comm[len] = '\0';
        *ret = st;
        return 0;
}

int proc_stat_parse(const char *text, ProcStat *ret) {
        return parse_stat(text, sizeof(ret->comm) - 1, LAST_FIELD, ret);
}

int proc_open(int root_fd) {
        int fd = openat(root_fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? negative_errno() : fd;
}

/* Read proc_fd/PID/name; a process that went away is -ESRCH. */
static int read_pid_file(int proc_fd, pid_t pid, const char *name, size_t max, char **ret) {
        char path[64];
        int r;

        snprintf(path, sizeof(path), "%d/%s", (int) pid, name);
        r = read_full_file_at(proc_fd, path, max, ret, NULL);
        /* ESRCH: the directory was open but the task is gone (read of a zombie's files). */
        return r == -ENOENT ? -ESRCH : r;
}

int proc_read_stat(int proc_fd, pid_t pid, ProcStat *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_pid_file(proc_fd, pid, "stat", PROC_STAT_MAX, &text);
        if (r < 0)
                return r;
        return proc_stat_parse(text, ret);
}

/* include/linux/sched.h: the flag ps(1) and pgrep read too. */
#define PF_KTHREAD UINT64_C(0x00200000)

int proc_stat_is_kernel_thread(const char *text) {
        ProcStat st;
        int r = parse_stat(text, SIZE_MAX, 9, &st);

        return r < 0 ? r : (st.flags & PF_KTHREAD) != 0;
}

int proc_is_kernel_thread(int proc_fd, pid_t pid) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_pid_file(proc_fd, pid, "stat", PROC_STAT_MAX, &text);
        if (r < 0)
                return r;
        return proc_stat_is_kernel_thread(text);
}

int proc_read_comm(int proc_fd, pid_t pid, char comm[16]) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_pid_file(proc_fd, pid, "comm", 64, &text);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        if (strlen(text) > 15)
                return -EBADMSG;
        strcpy(comm, text);
        return 0;
}

int proc_is_process(int proc_fd, pid_t pid) {
        _cleanup_free_ char *text = NULL;
        char line[32];
        int64_t tgid;
        const char *p;
        int r;

        r = read_pid_file(proc_fd, pid, "status", STATUS_MAX, &text);
        if (r < 0)
                return r;
        p = strstr(text, "\nTgid:");
        if (!p)
                return -EBADMSG;
        p += strlen("\nTgid:");
        snprintf(line, sizeof(line), "%.*s", (int) strcspn(p, "\n"), p);
        if (parse_int64(line, 0, INT32_MAX, &tgid) < 0)
                return -EBADMSG;
        return tgid == pid;
}

int proc_iter_start(ProcIter *it, int proc_fd) {
        if (!it->buf) {
                it->buf = malloc(DENTS_BUF_SIZE);
                if (!it->buf)
                        return -ENOMEM;
        }
        if (lseek(proc_fd, 0, SEEK_SET) < 0)
                return negative_errno();
        it->proc_fd = proc_fd;
        it->n = it->off = 0;
        return 0;
}

int proc_iter_next(ProcIter *it, pid_t *ret) {
        for (;;) {
                struct linux_dirent64 *de;
                unsigned long v;
                char *end;

                if (it->off >= it->n) {
                        it->n = syscall(SYS_getdents64, it->proc_fd, it->buf, DENTS_BUF_SIZE);
                        it->off = 0;
                        if (it->n < 0)
                                return negative_errno();
                        if (it->n == 0)
                                return 0;
                }
                de = (struct linux_dirent64 *) (it->buf + it->off);
                it->off += de->d_reclen;
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                errno = 0;
                v = strtoul(de->d_name, &end, 10);
                if (errno != 0 || *end || v > INT32_MAX)
                        continue;
                *ret = (pid_t) v;
                return 1;
        }
}

void proc_iter_done(ProcIter *it) {
        free(it->buf);
        it->buf = NULL;
        it->n = it->off = 0;
}
