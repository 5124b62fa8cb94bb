/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The parts of the libvirt glue that need neither libvirt nor a connection:
 * the KSM_LIBVIRT_URI list, where qemu pid files live, reading them, and
 * which domain events change what ksmtuned measures. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/* More would only be a typo; each connection costs a socket and a few
 * event sources. */
#define LIBVIRT_URIS_MAX 8

typedef struct LibvirtUriList {
        size_t n;
        char uri[LIBVIRT_URIS_MAX][CONF_VALUE_MAX];
} LibvirtUriList;

/* Split a list of URIs separated by blanks; "" gives an empty list. Returns 0,
 * -E2BIG for more than LIBVIRT_URIS_MAX URIs, -EEXIST when a URI is listed
 * twice (the offending URI is copied to dup, when given); ret is written only
 * on success. */
int libvirt_uri_list_split(const char *s, LibvirtUriList *ret, char *dup, size_t dup_size);

/* Directory of a connection's qemu pid files, relative to the root directory,
 * from the URI libvirt reports for an open connection: "run/libvirt/qemu" for
 * the local privileged qemu driver (qemu:///system, qemu+unix:///system),
 * NULL for anything else (other drivers, remote hosts, qemu:///session),
 * whose guests have no pid file we can read. */
const char *libvirt_uri_pid_dir(const char *uri);

/* Parse the content of a libvirt pid file: a positive decimal pid, blanks
 * and a newline allowed around it. Returns 0, -EINVAL or -ERANGE. */
int libvirt_pidfile_parse(const char *text, pid_t *ret);

/* Read dir/NAME.pid under root_fd. Returns 0, -EINVAL for a domain name that
 * cannot be a file name or bad content, or negative errno from reading. */
int libvirt_pidfile_read_at(int root_fd, const char *dir, const char *name, pid_t *ret);

#ifdef HAVE_LIBVIRT
/* Whether a lifecycle event (VIR_DOMAIN_EVENT_*) can change the guests'
 * committed memory: a qemu process appeared or went away. */
bool libvirt_event_wants_tick(int event);

/* "started (booted)", "stopped (destroyed)", "event 42 (3)" for logs. */
void libvirt_event_describe(int event, int detail, char *buf, size_t size);
#endif
