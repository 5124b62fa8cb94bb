/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Connections to libvirt: domain lifecycle events as a retune trigger, and
 * the pids of running guests whatever their process name. */

#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct LibvirtWatcher LibvirtWatcher;

/* Called when guests may have come or gone: a lifecycle event that changes
 * committed memory, or a (re)connection. */
typedef void (*LibvirtChangeFn)(void *userdata);

/* Load libvirt, run its event loop in e and connect to each URI of the
 * blank-separated list uris (read-only connections). A URI that cannot be
 * reached is logged once and retried in the background, 1 s doubling to
 * 60 s; so is a connection that closes later. Pid files are read under
 * root_fd. Returns 0, or -EOPNOTSUPP when libvirt cannot be loaded, -EINVAL
 * for a bad list, -ENOMEM (all logged). */
int libvirt_watcher_new(sd_event *e, const char *uris, int root_fd,
                        LibvirtChangeFn on_change, void *userdata, LibvirtWatcher **ret);

/* Close every connection. Returns NULL. */
LibvirtWatcher *libvirt_watcher_free(LibvirtWatcher *w);

/* Pids of the running guests of all open connections that have pid files
 * (the local qemu driver); guests without one are skipped. *ret is a malloc'ed
 * array (NULL when empty). Returns 0 or -ENOMEM. */
int libvirt_watcher_get_pids(LibvirtWatcher *w, pid_t **ret, size_t *ret_n);
