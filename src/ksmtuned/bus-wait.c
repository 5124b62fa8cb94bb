/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-wait.h"
#include "macro.h"

/* sd-bus's, without $DBUS_SYSTEM_BUS_ADDRESS. */
#define SYSTEM_BUS_ADDRESS_DEFAULT "unix:path=/run/dbus/system_bus_socket"
#define UNIX_PATH "unix:path="
/* Directories created between a failed watch and its parent's watch: look
 * again this many times at most. */
#define REWATCH_TRIES 16

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int bus_address_socket_path(const char *address, char *ret, size_t size) {
        size_t n = 0;

        if (!address || strncmp(address, UNIX_PATH, strlen(UNIX_PATH)) != 0 || size == 0)
                return -EINVAL;
        for (const char *p = address + strlen(UNIX_PATH); *p; p++) {
                char c = *p;

                /* Another key, or a list of addresses: sd-bus may connect to any. */
                if (c == ',' || c == ';')
                        return -EINVAL;
                if (c == '%') {
                        int hi = hex_value(p[1]), lo = hex_value(hi < 0 ? '\0' : p[2]);

                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = (char) (hi << 4 | lo);
                        p += 2;
                }
                if (c == '\0' || n + 1 >= size)
                        return -EINVAL;
                ret[n++] = c;
        }
        ret[n] = '\0';
        return ret[0] == '/' ? 0 : -EINVAL;
}

bool bus_wait_active(const BusWait *w) {
        return w->source && w->wd >= 0;
}

/* Watch the socket's directory, or its nearest existing parent, for the
 * next step down (w->next). The old watch goes once the new one is set:
 * removing a watch queues an event of its own (IN_IGNORED), which
 * on_inotify() then ignores as another watch's. */
static int rewatch(BusWait *w) {
        int fd = sd_event_source_get_io_fd(w->source), old = w->wd, r = -ELOOP;

        w->wd = -1;
        for (unsigned tries = 0; tries < REWATCH_TRIES; tries++) {
                char dir[sizeof(w->socket)], *slash;
                const char *next;
                struct stat st;
                size_t len;
                int wd;

                snprintf(dir, sizeof(dir), "%s", w->socket);
                for (;;) {
                        slash = strrchr(dir, '/');
                        if (!slash) {
                                r = -ENOENT;    /* not absolute: refused by bus_wait_start() already */
                                goto done;
                        }
                        slash[slash == dir] = '\0';     /* the root stays "/" */
                        wd = inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |
                                                        IN_MOVE_SELF | IN_ONLYDIR);
                        if (wd >= 0)
                                break;
                        if ((errno != ENOENT && errno != ENOTDIR) || slash == dir) {
                                r = negative_errno();
                                goto done;
                        }
                }
                /* The next step down, unless it appeared before the watch. */
                len = strlen(dir);
                next = w->socket + len + (len > 1);
                snprintf(w->next, sizeof(w->next), "%.*s", (int) strcspn(next, "/"), next);
                snprintf(dir, sizeof(dir), "%.*s", (int) (next - w->socket + strlen(w->next)), w->socket);
                if (lstat(dir, &st) < 0) {
                        w->wd = wd;
                        r = 0;
                        break;
                }
                if (wd != old)
                        (void) inotify_rm_watch(fd, wd);
                if (strcmp(dir, w->socket) == 0) {
                        r = 0;          /* the socket itself is there: nothing to wait for */
                        break;
                }
        }
done:
        if (old >= 0 && old != w->wd)
                (void) inotify_rm_watch(fd, old);
        return r;
}

/* Whether an event may change what to watch: the next step down appeared
 * (or the socket's attributes changed), the watched directory went away,
 * or events were lost. */
static bool concerns(const BusWait *w, const struct inotify_event *ev) {
        if (ev->mask & IN_Q_OVERFLOW)
                return true;
        if (ev->wd != w->wd)
                return false;
        if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
                return true;
        return ev->len > 0 && strcmp(ev->name, w->next) == 0;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        BusWait *w = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;
        ssize_t n;

        (void) s, (void) revents;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                for (size_t off = 0; off + sizeof(struct inotify_event) <= (size_t) n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) (buf + off);

                        changed = changed || concerns(w, ev);
                        off += sizeof(struct inotify_event) + ev->len;
                }
        if (!changed)
                return 0;
        /* The socket is there, or the watch moves down to what appeared. */
        if (rewatch(w) < 0 || w->wd < 0)
                w->on_change(w->userdata);
        return 0;
}

int bus_wait_start(BusWait *w, sd_event *event, const char *address, void (*on_change)(void *userdata),
                   void *userdata) {
        _cleanup_close_ int fd = -1;
        int r;

        bus_wait_stop(w);
        r = bus_address_socket_path(address ?: SYSTEM_BUS_ADDRESS_DEFAULT, w->socket, sizeof(w->socket));
        if (r < 0)
                return r;
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = sd_event_add_io(event, &w->source, fd, EPOLLIN, on_inotify, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(w->source, true);
        TAKE_FD(fd);
        (void) sd_event_source_set_description(w->source, "bus-wait");
        w->on_change = on_change;
        w->userdata = userdata;
        r = rewatch(w);
        if (r < 0 || w->wd < 0)
                bus_wait_stop(w);
        return r < 0 ? r : w->source != NULL;
}

void bus_wait_stop(BusWait *w) {
        w->source = sd_event_source_disable_unref(w->source);
        w->wd = -1;
}
