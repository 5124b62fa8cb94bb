/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt-dl.h"
#include "libvirt-event.h"
#include "libvirt-util.h"
#include "libvirt.h"
#include "log.h"
#include "macro.h"
#include "units.h"

/* Reconnect quickly after a libvirtd restart, but do not knock every second
 * on a host where it is simply not running. */
#define RETRY_FIRST_MS UINT64_C(1000)
#define RETRY_MAX_MS UINT64_C(60000)
/* A ping every 5 s, 3 unanswered: a hung libvirtd is noticed within 20 s. */
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3

typedef struct LibvirtConn {
        struct LibvirtWatcher *w;
        const char *uri;                /* in w->uris */
        virConnectPtr conn;             /* NULL while disconnected */
        int callback_id;                /* lifecycle callback, -1 when none */
        const char *pid_dir;            /* NULL: this driver's guests have no pid file for us */
        bool closed;                    /* libvirt closed it: tear down from the retry timer */
        bool failure_logged;            /* said once that it cannot connect */
        uint64_t backoff_ms;
        sd_event_source *retry;
} LibvirtConn;

struct LibvirtWatcher {
        int root_fd;
        LibvirtChangeFn on_change;
        void *userdata;
        LibvirtUriList uris;
        LibvirtConn conns[LIBVIRT_URIS_MAX];
};

/* Instead of libvirt's default handler, which prints to stderr: every error
 * is also returned by the failing call, and logged there, once. */
static void on_libvirt_error(void *userdata, virErrorPtr err) {
        (void) userdata;
        log_debug("libvirt: %s", err && err->message ? err->message : "unknown error");
}

static const char *last_error(void) {
        const char *msg = sym_virGetLastErrorMessage();

        return msg ? msg : "unknown error";
}

/* Once per process: load the library, silence its stderr and give it our
 * event loop, before the first connection as libvirt requires. */
static int libvirt_setup(sd_event *e) {
        static int done = 0;
        char err[256];
        int r;

        if (done)
                return done > 0 ? 0 : -EOPNOTSUPP;
        r = libvirt_dl_open(err, sizeof(err));
        if (r < 0) {
                log_warning("Cannot load libvirt (%s): guests are found by process name only", err);
                done = -1;
                return r;
        }
        sym_virSetErrorFunc(NULL, on_libvirt_error);
        if (sym_virInitialize() < 0) {
                log_warning("Cannot initialize libvirt (%s): guests are found by process name only", last_error());
                done = -1;
                return -EOPNOTSUPP;
        }
        r = libvirt_event_register(e);
        if (r < 0) {
                log_warning_errno(r, "Cannot run libvirt's event loop: %m");
                done = -1;
                return -EOPNOTSUPP;
        }
        done = 1;
        return 0;
}

static void schedule_retry(LibvirtConn *c) {
        int r;

        r = sd_event_source_set_time_relative(c->retry, c->backoff_ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot schedule a reconnection to libvirt at %s: %m", c->uri);
}

static const char *close_reason(int reason) {
        switch (reason) {
        case VIR_CONNECT_CLOSE_REASON_ERROR:
                return "I/O error";
        case VIR_CONNECT_CLOSE_REASON_EOF:
                return "libvirtd went away";
        case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
                return "keepalive timeout";
        case VIR_CONNECT_CLOSE_REASON_CLIENT:
                return "closed";
        default:
                return "unknown reason";
        }
}

/* libvirt calls this from inside its own I/O handling: only take note; the
 * connection is released from the retry timer. */
static void on_close(virConnectPtr conn, int reason, void *opaque) {
        LibvirtConn *c = opaque;

        (void) conn;
        if (c->closed)
                return;
        c->closed = true;
        /* This is the one line about the outage; failed attempts go to debug. */
        c->failure_logged = true;
        log_warning("Lost the connection to libvirt at %s (%s); reconnecting in the background",
                    c->uri, close_reason(reason));
        c->backoff_ms = RETRY_FIRST_MS;
        schedule_retry(c);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        LibvirtConn *c = opaque;
        const char *name = sym_virDomainGetName(dom);
        char what[64];

        (void) conn;
        libvirt_event_describe(event, detail, what, sizeof(what));
        log_debug("libvirt %s: domain %s %s", c->uri, name ? name : "?", what);
        if (libvirt_event_wants_tick(event))
                c->w->on_change(c->w->userdata);
        return 0;
}

static void conn_teardown(LibvirtConn *c) {
        if (!c->conn)
                return;
        /* On a connection libvirtd closed these fail; the errors go to debug. */
        if (c->callback_id >= 0)
                (void) sym_virConnectDomainEventDeregisterAny(c->conn, c->callback_id);
        (void) sym_virConnectUnregisterCloseCallback(c->conn, on_close);
        (void) sym_virConnectClose(c->conn);
        sym_virResetLastError();
        c->conn = NULL;
        c->callback_id = -1;
        c->pid_dir = NULL;
        c->closed = false;
}

/* Open, subscribe, find where pid files are. Returns 0, or -EIO with
 * libvirt's message in err. */
static int conn_open(LibvirtConn *c, char *err, size_t err_size) {
        char *uri;
        int r;

        /* Read-only is all we need: events and the domain list. */
        c->conn = sym_virConnectOpenReadOnly(c->uri);
        if (!c->conn)
                goto fail;
        sym_virConnSetErrorFunc(c->conn, NULL, on_libvirt_error);
        if (sym_virConnectRegisterCloseCallback(c->conn, on_close, c, NULL) < 0)
                goto fail;
        /* 1: the driver is local (no keepalive needed); -1: logged at debug. */
        r = sym_virConnectSetKeepAlive(c->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
        if (r < 0)
                log_debug("No keepalive on %s: %s", c->uri, last_error());
        c->callback_id = sym_virConnectDomainEventRegisterAny(c->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                               VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), c, NULL);
        if (c->callback_id < 0)
                goto fail;
        /* The canonical URI, after aliases and defaults. */
        uri = sym_virConnectGetURI(c->conn);
        c->pid_dir = uri ? libvirt_uri_pid_dir(uri) : NULL;
        log_debug("libvirt %s is %s: %s", c->uri, uri ? uri : "?",
                  c->pid_dir ? "guest pids from pid files" : "no pid files, guests by process name only");
        free(uri);
        return 0;
fail:
        snprintf(err, err_size, "%s", last_error());
        conn_teardown(c);
        return -EIO;
}

static int conn_connect(LibvirtConn *c, bool notify) {
        char err[512];
        int r;

        r = conn_open(c, err, sizeof(err));
        if (r < 0) {
                if (!c->failure_logged)
                        log_notice("Cannot connect to libvirt at %s (%s); retrying in the background", c->uri, err);
                else
                        log_debug("libvirt at %s still unreachable (%s); next attempt in %" PRIu64 " s",
                                  c->uri, err, c->backoff_ms / 1000);
                c->failure_logged = true;
                return r;
        }
        log_info("Connected to libvirt at %s, watching domain events", c->uri);
        /* Constant across reconnections unless watches or timeouts leak. */
        log_debug("libvirt event sources in use: %u", libvirt_event_count());
        c->failure_logged = false;
        c->backoff_ms = RETRY_FIRST_MS;
        /* Guests may have come and gone while we were away. */
        if (notify)
                c->w->on_change(c->w->userdata);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        LibvirtConn *c = userdata;

        (void) s, (void) usec;
        conn_teardown(c);
        if (conn_connect(c, true) < 0) {
                c->backoff_ms = c->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : c->backoff_ms * 2;
                schedule_retry(c);
        }
        return 0;
}

int libvirt_watcher_new(sd_event *e, const char *uris, int root_fd,
                        LibvirtChangeFn on_change, void *userdata, LibvirtWatcher **ret) {
        LibvirtWatcher *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return log_error_errno(ENOMEM, "Out of memory");
        *w = (LibvirtWatcher) { .root_fd = root_fd, .on_change = on_change, .userdata = userdata };
        r = libvirt_uri_list_split(uris, &w->uris, NULL, 0);
        if (r < 0) {
                log_error_errno(r, "Bad KSM_LIBVIRT_URI \"%s\": %m", uris);
                free(w);
                return -EINVAL;
        }
        r = libvirt_setup(e);
        if (r < 0) {
                free(w);
                return r;
        }
        for (size_t i = 0; i < w->uris.n; i++) {
                LibvirtConn *c = &w->conns[i];

                *c = (LibvirtConn) { .w = w, .uri = w->uris.uri[i], .callback_id = -1, .backoff_ms = RETRY_FIRST_MS };
                r = sd_event_add_time(e, &c->retry, CLOCK_MONOTONIC, UINT64_MAX, 0, on_retry, c);
                if (r < 0) {
                        log_error_errno(r, "Cannot create the libvirt reconnection timer: %m");
                        libvirt_watcher_free(w);
                        return r;
                }
                (void) sd_event_source_set_description(c->retry, "libvirt-reconnect");
                /* The daemon ticks right after start: no need to be told. */
                if (conn_connect(c, false) < 0)
                        schedule_retry(c);
        }
        *ret = w;
        return 0;
}

LibvirtWatcher *libvirt_watcher_free(LibvirtWatcher *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->uris.n; i++) {
                w->conns[i].retry = sd_event_source_disable_unref(w->conns[i].retry);
                conn_teardown(&w->conns[i]);
        }
        libvirt_event_flush();
        free(w);
        return NULL;
}

/* Append the pids of c's running guests to *pids. Returns 0 or -ENOMEM. */
static int conn_get_pids(LibvirtWatcher *w, LibvirtConn *c, pid_t **pids, size_t *n, size_t *alloc) {
        virDomainPtr *doms = NULL;
        int k, r = 0;

        k = sym_virConnectListAllDomains(c->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        if (k < 0) {
                /* A dead connection is reported through on_close. */
                log_debug("Cannot list the guests of libvirt at %s: %s", c->uri, last_error());
                return 0;
        }
        for (int i = 0; i < k; i++) {
                const char *name = sym_virDomainGetName(doms[i]);
                pid_t pid;
                int q;

                q = name ? libvirt_pidfile_read_at(w->root_fd, c->pid_dir, name, &pid) : -EINVAL;
                if (q < 0)
                        /* A guest starting or stopping right now has none. */
                        log_debug_errno(q, "No pid for guest %s of %s: %m", name ? name : "?", c->uri);
                else if (r == 0) {
                        r = ARRAY_RESERVE_ONE(*pids, *alloc, *n, 16);
                        if (r == 0)
                                (*pids)[(*n)++] = pid;
                }
                sym_virDomainFree(doms[i]);
        }
        free(doms);
        return r;
}

int libvirt_watcher_get_pids(LibvirtWatcher *w, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, alloc = 0;
        int r;

        for (size_t i = 0; i < w->uris.n; i++) {
                LibvirtConn *c = &w->conns[i];

                if (!c->conn || c->closed || !c->pid_dir)
                        continue;
                r = conn_get_pids(w, c, &pids, &n, &alloc);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}
