/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "libvirt-dl.h"
#include "libvirt-event.h"
#include "log.h"
#include "units.h"

/* One libvirt watch (fd) or timeout. libvirt identifies them by positive
 * ints, which we hand out. */
typedef struct EventSource {
        int id;
        bool is_timeout;
        sd_event_source *source;
        int fd;                         /* as libvirt gave it, passed back to its callback */
        int timeout_ms;                 /* -1 off, 0 every iteration, else period */
        virEventHandleCallback handle_cb;
        virEventTimeoutCallback timeout_cb;
        void *opaque;
        virFreeCallback ff;
        struct EventSource *next;
} EventSource;

/* virEventRegisterImpl() is process-wide and final, so is this state. */
static sd_event *loop;
static EventSource *sources;            /* live; a handful per connection */
static EventSource *to_free;            /* removed, free callback not run yet */
static sd_event_source *free_source;    /* runs the free callbacks */
static int last_id;
static unsigned n_sources;

static uint32_t to_epoll(int events) {
        return (events & VIR_EVENT_HANDLE_READABLE ? EPOLLIN : 0) |
               (events & VIR_EVENT_HANDLE_WRITABLE ? EPOLLOUT : 0) |
               (events & VIR_EVENT_HANDLE_ERROR ? EPOLLERR : 0) |
               (events & VIR_EVENT_HANDLE_HANGUP ? EPOLLHUP : 0);
}

static int from_epoll(uint32_t revents) {
        return (revents & EPOLLIN ? VIR_EVENT_HANDLE_READABLE : 0) |
               (revents & EPOLLOUT ? VIR_EVENT_HANDLE_WRITABLE : 0) |
               (revents & EPOLLERR ? VIR_EVENT_HANDLE_ERROR : 0) |
               (revents & EPOLLHUP ? VIR_EVENT_HANDLE_HANGUP : 0);
}

static EventSource *find(int id, bool is_timeout) {
        for (EventSource *s = sources; s; s = s->next)
                if (s->id == id && s->is_timeout == is_timeout)
                        return s;
        return NULL;
}

static int next_id(void) {
        /* Wrapping would take 2^31 registrations; stay positive anyway. */
        if (last_id == INT32_MAX)
                last_id = 0;
        return ++last_id;
}

static void link_source(EventSource *s) {
        s->next = sources;
        sources = s;
        n_sources++;
}

static void unlink_source(EventSource *s) {
        for (EventSource **p = &sources; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        n_sources--;
                        return;
                }
}

static void run_free_callbacks(void) {
        while (to_free) {
                EventSource *s = to_free;

                to_free = s->next;
                s->ff(s->opaque);
                free(s);
        }
}

static int on_free(sd_event_source *es, void *userdata) {
        (void) es, (void) userdata;
        run_free_callbacks();
        return 0;
}

/* libvirt's contract: the free callback runs after the remove call returns
 * ("not synchronously"), because it may take locks the remover holds. */
static void release(EventSource *s) {
        unlink_source(s);
        s->source = sd_event_source_disable_unref(s->source);
        if (!s->ff) {
                free(s);
                return;
        }
        s->next = to_free;
        to_free = s;
        /* -ESTALE: the loop has finished; libvirt_event_flush() runs them. */
        (void) sd_event_source_set_enabled(free_source, SD_EVENT_ONESHOT);
}

/* The callbacks below may remove their own source: copy what is needed
 * first and touch nothing afterwards. */
static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        EventSource *s = userdata;
        virEventHandleCallback cb = s->handle_cb;
        void *opaque = s->opaque;
        int id = s->id, vfd = s->fd;

        (void) es, (void) fd;
        cb(id, vfd, from_epoll(revents), opaque);
        return 0;
}

static int timeout_arm(EventSource *s) {
        int r;

        if (s->timeout_ms < 0)
                return sd_event_source_set_enabled(s->source, SD_EVENT_OFF);
        /* 0 means "on every iteration" to libvirt: due now, re-armed after each call. */
        r = sd_event_source_set_time_relative(s->source, (uint64_t) s->timeout_ms * USEC_PER_MSEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->source, SD_EVENT_ONESHOT);
}

static int on_time(sd_event_source *es, uint64_t usec, void *userdata) {
        EventSource *s = userdata;
        virEventTimeoutCallback cb = s->timeout_cb;
        void *opaque = s->opaque;
        int id = s->id, r;

        (void) es, (void) usec;
        /* Periodic: arm the next period before the callback, which may
         * change or remove the timeout. */
        r = timeout_arm(s);
        if (r < 0)
                log_debug_errno(r, "Cannot re-arm libvirt timeout %d: %m", id);
        cb(id, opaque);
        return 0;
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff) {
        EventSource *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        *s = (EventSource) { .fd = fd, .handle_cb = cb, .opaque = opaque, .ff = ff };
        r = sd_event_add_io(loop, &s->source, fd, to_epoll(events), on_io, s);
        if (r == -EEXIST) {
                /* epoll takes each fd once; libvirt may watch one fd twice.
                 * A duplicate is a distinct epoll entry; sd-event closes it. */
                int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

                r = copy < 0 ? -errno : sd_event_add_io(loop, &s->source, copy, to_epoll(events), on_io, s);
                if (r >= 0)
                        (void) sd_event_source_set_io_fd_own(s->source, true);
                else if (copy >= 0)
                        close(copy);
        }
        if (r >= 0 && events == 0)
                r = sd_event_source_set_enabled(s->source, SD_EVENT_OFF);
        if (r < 0) {
                log_debug_errno(r, "Cannot watch fd %d for libvirt: %m", fd);
                sd_event_source_disable_unref(s->source);
                free(s);
                return -1;
        }
        (void) sd_event_source_set_description(s->source, "libvirt-io");
        s->id = next_id();
        link_source(s);
        return s->id;
}

static void update_handle(int id, int events) {
        EventSource *s = find(id, false);
        int r;

        if (!s)
                return;
        if (events == 0)
                r = sd_event_source_set_enabled(s->source, SD_EVENT_OFF);
        else {
                r = sd_event_source_set_io_events(s->source, to_epoll(events));
                if (r >= 0)
                        r = sd_event_source_set_enabled(s->source, SD_EVENT_ON);
        }
        if (r < 0 && r != -ESTALE)      /* -ESTALE: at exit, closing connections */
                log_debug_errno(r, "Cannot update libvirt watch %d: %m", id);
}

static int remove_handle(int id) {
        EventSource *s = find(id, false);

        if (!s)
                return -1;
        release(s);
        return 0;
}

static int add_timeout(int timeout_ms, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff) {
        EventSource *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        *s = (EventSource) { .is_timeout = true, .fd = -1, .timeout_ms = timeout_ms,
                             .timeout_cb = cb, .opaque = opaque, .ff = ff };
        /* 1 µs accuracy: keepalive and retransmit periods are exact. */
        r = sd_event_add_time(loop, &s->source, CLOCK_MONOTONIC, UINT64_MAX, 1, on_time, s);
        if (r >= 0)
                r = timeout_arm(s);
        if (r < 0) {
                log_debug_errno(r, "Cannot add a libvirt timeout: %m");
                sd_event_source_disable_unref(s->source);
                free(s);
                return -1;
        }
        (void) sd_event_source_set_description(s->source, "libvirt-timeout");
        s->id = next_id();
        link_source(s);
        return s->id;
}

static void update_timeout(int id, int timeout_ms) {
        EventSource *s = find(id, true);
        int r;

        if (!s)
                return;
        s->timeout_ms = timeout_ms;
        r = timeout_arm(s);
        if (r < 0 && r != -ESTALE)
                log_debug_errno(r, "Cannot update libvirt timeout %d: %m", id);
}

static int remove_timeout(int id) {
        EventSource *s = find(id, true);

        if (!s)
                return -1;
        release(s);
        return 0;
}

int libvirt_event_register(sd_event *e) {
        int r;

        if (loop)
                return loop == e ? 0 : -EBUSY;
        r = sd_event_add_defer(e, &free_source, on_free, NULL);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(free_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(free_source, "libvirt-free");
        loop = sd_event_ref(e);
        sym_virEventRegisterImpl(add_handle, update_handle, remove_handle,
                                 add_timeout, update_timeout, remove_timeout);
        return 0;
}

void libvirt_event_flush(void) {
        run_free_callbacks();
}

unsigned libvirt_event_count(void) {
        return n_sources;
}
