/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* libvirt's event loop (virEventRegisterImpl) run by sd-event: libvirt's fd
 * watches become sd-event I/O sources and its timeouts time sources, so
 * connections, keepalives and domain events are served by the daemon's one
 * thread. */

#include <systemd/sd-event.h>

/* Register the bridge with libvirt, once per process and before any
 * connection is opened (libvirt_dl_open() first). Returns 0, or -EBUSY when
 * already registered with another event loop. */
int libvirt_event_register(sd_event *e);

/* Run the free callbacks libvirt handed over with removed watches and
 * timeouts now, rather than on the next loop iteration: call after closing
 * connections when the loop will not run again. */
void libvirt_event_flush(void);

/* Number of watches and timeouts libvirt has registered (for tests and
 * debug logs). */
unsigned libvirt_event_count(void);
