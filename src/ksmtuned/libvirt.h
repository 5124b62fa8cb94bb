/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Connections to libvirt: domain lifecycle events as a retune trigger, and
 * the pids of running guests whatever their process name. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct LibvirtWatcher LibvirtWatcher;

/* Called when guests may have come or gone: a lifecycle event that changes
 * committed memory, or a (re)connection. */
typedef void (*LibvirtChangeFn)(void *userdata);

#ifdef HAVE_LIBVIRT

/* Whether this build can talk to libvirt at all. */
static inline bool libvirt_built(void) {
        return true;
}

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

#else

/* Built without libvirt (--without-libvirt): no watcher, and no guests from
 * it; the callers need no conditionals. */
static inline bool libvirt_built(void) {
        return false;
}

static inline int libvirt_watcher_new(sd_event *e, const char *uris, int root_fd,
                                      LibvirtChangeFn on_change, void *userdata, LibvirtWatcher **ret) {
        (void) e, (void) uris, (void) root_fd, (void) on_change, (void) userdata, (void) ret;
        return -EOPNOTSUPP;
}

static inline LibvirtWatcher *libvirt_watcher_free(LibvirtWatcher *w) {
        (void) w;
        return NULL;
}

static inline int libvirt_watcher_get_pids(LibvirtWatcher *w, pid_t **ret, size_t *ret_n) {
        (void) w;
        *ret = NULL;
        *ret_n = 0;
        return 0;
}

#endif
