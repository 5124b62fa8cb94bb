/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "guest-name.h"
#include "guest-rules.h"
#include "macro.h"
#include "procfs.h"
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

static void name_proc(const char *root, int proc_fd, ProcEntry *p) {
        _cleanup_free_ char *cmdline = NULL;
        char path[64];
        size_t size;

        (void) proc_read_comm(proc_fd, p->pid, p->comm);
        /* A Proxmox VE guest: its name is in its qemu-server configuration. */
        if (guest_pve_name(root, proc_fd, GUEST_PIDFILES_DEFAULT, p->pid, &p->name) >= 0)
                return;
        /* qemu-kvm, qemu-system-*, qemu:NAME, kvm: the guest's name says more. */
        if (strncmp(p->comm, "qemu", 4) != 0 && strcmp(p->comm, "kvm") != 0)
                return;
        snprintf(path, sizeof(path), "%d/cmdline", (int) p->pid);
        if (read_full_file_at(proc_fd, path, CMDLINE_MAX, &cmdline, &size) >= 0)
                (void) guest_name_from_cmdline(cmdline, size, &p->name);
}

int procs_scan(const char *root, int root_fd, uint64_t page_size_bytes, size_t top, ProcList *ret) {
        _cleanup_close_ int fd = -1;
        ProcList l = {};
        ProcIter it = {};
        size_t alloc = 0;
        pid_t pid;
        int r;

        fd = proc_open(root_fd);
        if (fd < 0)
                return fd;
        r = proc_iter_start(&it, fd);
        while (r >= 0 && (r = proc_iter_next(&it, &pid)) > 0) {
                KsmProcStat st;
                int k = ksm_stat_read(root_fd, pid, &st);

                if (k == -EACCES || k == -EPERM)
                        l.incomplete = true;
                if (k < 0 || st.merging_pages + st.zero_pages == 0)
                        continue;
                if (ARRAY_RESERVE_ONE(l.procs, alloc, l.n, 32) < 0) {
                        r = -ENOMEM;
                        break;
                }
                l.procs[l.n++] = (ProcEntry) {
                        .pid = pid,
                        .stat = st,
                        .saved_bytes = ksm_proc_saved_bytes(&st, page_size_bytes),
                };
        }
        proc_iter_done(&it);
        if (r < 0) {
                proc_list_free(&l);
                return r;
        }
        if (l.n > 1)
                qsort(l.procs, l.n, sizeof(ProcEntry), cmp_saved);
        l.n_saving = l.n;
        if (l.n > top)
                l.n = top;
        /* Names only for those shown: cmdlines can be long. */
        for (size_t i = 0; i < l.n; i++)
                name_proc(root, fd, &l.procs[i]);
        *ret = l;
        return 0;
}
