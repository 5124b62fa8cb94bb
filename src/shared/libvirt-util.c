/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#endif

#include "fileio.h"
#include "libvirt-util.h"
#include "macro.h"

int libvirt_uri_list_split(const char *s, LibvirtUriList *ret, char *dup, size_t dup_size) {
        LibvirtUriList l = { .n = 0 };

        for (;;) {
                size_t len;

                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;
                len = strcspn(s, " \t\n\r\f\v");
                if (l.n == LIBVIRT_URIS_MAX)
                        return -E2BIG;
                /* A config value is shorter than CONF_VALUE_MAX, so is each word. */
                if (len >= sizeof(l.uri[0]))
                        return -E2BIG;
                memcpy(l.uri[l.n], s, len);
                l.uri[l.n][len] = '\0';
                for (size_t i = 0; i < l.n; i++)
                        if (strcmp(l.uri[i], l.uri[l.n]) == 0) {
                                if (dup)
                                        snprintf(dup, dup_size, "%s", l.uri[i]);
                                return -EEXIST;
                        }
                l.n++;
                s += len;
        }
        *ret = l;
        return 0;
}

const char *libvirt_uri_pid_dir(const char *uri) {
        const char *p;

        /* driver[+transport]://[host]/path[?query]: only the local qemu
         * driver's privileged instance writes pid files under /run. */
        if (strncmp(uri, "qemu", 4) != 0)
                return NULL;
        p = uri + 4;
        if (strncmp(p, "+unix", 5) == 0)
                p += 5;
        if (strncmp(p, ":///system", 10) != 0)
                return NULL;
        p += 10;
        if (*p && *p != '?')
                return NULL;
        return "run/libvirt/qemu";
}

int libvirt_pidfile_parse(const char *text, pid_t *ret) {
        int64_t v;
        int r;

        r = parse_int64(text, 1, INT_MAX, &v);
        if (r < 0)
                return r;
        *ret = (pid_t) v;
        return 0;
}

int libvirt_pidfile_read_at(int root_fd, const char *dir, const char *name, pid_t *ret) {
        _cleanup_free_ char *text = NULL;
        char path[PATH_MAX];
        pid_t pid;
        int r;

        /* libvirt refuses '/' in domain names; never build a path out of one. */
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
        if ((size_t) snprintf(path, sizeof(path), "%s/%s.pid", dir, name) >= sizeof(path))
                return -ENAMETOOLONG;
        r = read_full_file_at(root_fd, path, 64, &text, NULL);
        if (r < 0)
                return r;
        r = libvirt_pidfile_parse(text, &pid);
        if (r < 0)
                return -EINVAL;
        *ret = pid;
        return 0;
}

#ifdef HAVE_LIBVIRT
bool libvirt_event_wants_tick(int event) {
        /* Committed memory is the RSS of qemu processes: it changes when one
         * starts (boot, restore, incoming migration) or ends (shutdown,
         * destroy, crash, save, outgoing migration). A paused or
         * PM-suspended guest keeps its memory, so SUSPENDED, RESUMED and
         * PMSUSPENDED change nothing we measure; DEFINED/UNDEFINED concern
         * inactive configurations; SHUTDOWN precedes STOPPED. */
        switch (event) {
        case VIR_DOMAIN_EVENT_STARTED:
        case VIR_DOMAIN_EVENT_STOPPED:
        case VIR_DOMAIN_EVENT_CRASHED:
                return true;
        default:
                return false;
        }
}

void libvirt_event_describe(int event, int detail, char *buf, size_t size) {
        static const char *const events[] = {
                [VIR_DOMAIN_EVENT_DEFINED] = "defined",
                [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
                [VIR_DOMAIN_EVENT_STARTED] = "started",
                [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
                [VIR_DOMAIN_EVENT_RESUMED] = "resumed",
                [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
                [VIR_DOMAIN_EVENT_SHUTDOWN] = "shutdown",
                [VIR_DOMAIN_EVENT_PMSUSPENDED] = "pmsuspended",
                [VIR_DOMAIN_EVENT_CRASHED] = "crashed",
        };
        static const char *const started[] = {
                [VIR_DOMAIN_EVENT_STARTED_BOOTED] = "booted",
                [VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "migrated",
                [VIR_DOMAIN_EVENT_STARTED_RESTORED] = "restored",
                [VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "from snapshot",
                [VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "wakeup",
        };
        static const char *const stopped[] = {
                [VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "shutdown",
                [VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "destroyed",
                [VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "crashed",
                [VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "migrated",
                [VIR_DOMAIN_EVENT_STOPPED_SAVED] = "saved",
                [VIR_DOMAIN_EVENT_STOPPED_FAILED] = "failed",
                [VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "from snapshot",
        };
        const char *e = NULL, *d = NULL;

        if (event >= 0 && (size_t) event < ELEMENTSOF(events))
                e = events[event];
        if (event == VIR_DOMAIN_EVENT_STARTED && detail >= 0 && (size_t) detail < ELEMENTSOF(started))
                d = started[detail];
        else if (event == VIR_DOMAIN_EVENT_STOPPED && detail >= 0 && (size_t) detail < ELEMENTSOF(stopped))
                d = stopped[detail];

        if (e && d)
                snprintf(buf, size, "%s (%s)", e, d);
        else if (e)
                snprintf(buf, size, "%s (%d)", e, detail);
        else
                snprintf(buf, size, "event %d (%d)", event, detail);
}
#endif
