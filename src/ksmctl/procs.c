/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "guest-name.h"
#include "macro.h"
#include "procs.h"

/* qemu command lines run to a few KiB; libvirt's stay well under this. */
#define CMDLINE_MAX (1024 * 1024)

void proc_list_free(ProcList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->procs[i].name);
        free(l->procs);
        *l = (ProcList) {};
}

static int cmp_saved(const void *a, const void *b) {
        const ProcEntry *x = a, *y = b;

        if (x->saved_bytes != y->saved_bytes)
                return x->saved_bytes > y->saved_bytes ? -1 : 1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

static void name_proc(int root_fd, ProcEntry *p) {
        _cleanup_free_ char *comm = NULL, *cmdline = NULL;
        char path[64];
        size_t size;

        snprintf(path, sizeof(path), "proc/%d/comm", (int) p->pid);
        if (read_full_file_at(root_fd, path, 64, &comm, NULL) >= 0) {
                comm[strcspn(comm, "\n")] = '\0';
                snprintf(p->comm, sizeof(p->comm), "%s", comm);
        }
        /* qemu-kvm, qemu-system-*, qemu:NAME: the guest's name says more. */
        if (strncmp(p->comm, "qemu", 4) != 0)
                return;
        snprintf(path, sizeof(path), "proc/%d/cmdline", (int) p->pid);
        if (read_full_file_at(root_fd, path, CMDLINE_MAX, &cmdline, &size) >= 0)
                (void) guest_name_from_cmdline(cmdline, size, &p->name);
}

int procs_scan(int root_fd, uint64_t page_size_bytes, size_t top, ProcList *ret) {
        ProcList l = {};
        size_t alloc = 0;
        struct dirent *de;
        DIR *d;
        int fd;

        fd = openat(root_fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        while ((de = readdir(d))) {
                KsmProcStat st;
                int64_t pid;
                int r;

                if (parse_int64(de->d_name, 1, INT32_MAX, &pid) < 0)
                        continue;
                r = ksm_stat_read(root_fd, (pid_t) pid, &st);
                if (r == -EACCES || r == -EPERM)
                        l.incomplete = true;
                if (r < 0 || st.merging_pages + st.zero_pages == 0)
                        continue;
                if (l.n == alloc) {
                        size_t na = alloc ? alloc * 2 : 32;
                        ProcEntry *p = realloc(l.procs, na * sizeof(ProcEntry));

                        if (!p) {
                                closedir(d);
                                proc_list_free(&l);
                                return -ENOMEM;
                        }
                        l.procs = p;
                        alloc = na;
                }
                l.procs[l.n++] = (ProcEntry) {
                        .pid = (pid_t) pid,
                        .stat = st,
                        .saved_bytes = ksm_proc_saved_bytes(&st, page_size_bytes),
                };
        }
        closedir(d);
        if (l.n > 1)
                qsort(l.procs, l.n, sizeof(ProcEntry), cmp_saved);
        l.n_saving = l.n;
        if (l.n > top)
                l.n = top;
        /* Names only for those shown: cmdlines can be long. */
        for (size_t i = 0; i < l.n; i++)
                name_proc(root_fd, &l.procs[i]);
        *ret = l;
        return 0;
}
