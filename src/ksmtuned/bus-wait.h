/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

/* Waiting for the system bus to appear without waking up for it: an
 * inotify watch on its socket's directory, or on the nearest existing
 * parent while that directory is missing. */

/* The socket path of a D-Bus address that is one plain unix:path= entry
 * (%-escapes decoded). Returns 0, or -EINVAL for any other form (a list,
 * other keys, abstract or tcp addresses): then there is nothing to watch. */
int bus_address_socket_path(const char *address, char *ret, size_t size);

typedef struct BusWait {
        sd_event_source *source;        /* the inotify fd's */
        int wd;                         /* -1: no watch */
        char socket[4096];              /* what to wait for */
        char next[256];                 /* the name to appear next in the watched directory */
        void (*on_change)(void *userdata);
        void *userdata;
} BusWait;

#define BUS_WAIT_NULL ((BusWait) { .wd = -1 })

/* Watch for address's socket (NULL: the system bus's default address):
 * on_change is called whenever something appears on the way to it, and
 * once the socket is there. Returns 1 when watching, 0 when the socket
 * exists already (nothing to wait for), or negative errno when the address
 * cannot be watched (see bus_address_socket_path()) or inotify fails. */
int bus_wait_start(BusWait *w, sd_event *event, const char *address, void (*on_change)(void *userdata),
                   void *userdata);

/* Stop watching (a no-op when not watching). */
void bus_wait_stop(BusWait *w);

/* Whether w is watching (the socket is still missing, as far as it knows). */
bool bus_wait_active(const BusWait *w);
