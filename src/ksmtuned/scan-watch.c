/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ksm-merge-any.h"
#include "log.h"
#include "scan-watch.h"
#include "units.h"

static void record(ScanWatch *w, uint64_t full_scans, uint64_t now) {
        if (full_scans == w->full_scans)
                return;
        /* One pass per change when notified; a tick may span several. */
        if (w->last_scan_usec && full_scans > w->full_scans)
                w->scan_interval_usec = (now - w->last_scan_usec) / (full_scans - w->full_scans);
        w->full_scans = full_scans;
        w->last_scan_usec = now;
}

static int on_full_scans(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ScanWatch *w = userdata;
        uint64_t v;
        int r;

        (void) s, (void) revents;
        r = ksm_full_scans_read(fd, &v);        /* also re-arms the notification */
        if (r < 0) {
                log_warning_errno(r, "Cannot read full_scans: %m");
                return 0;
        }
        record(w, v, now_usec(CLOCK_MONOTONIC));
        log_debug("Full scan %" PRIu64 " completed (%.1f s per scan)", v, (double) w->scan_interval_usec / USEC_PER_SEC);
        return 0;
}

int scan_watch_start(ScanWatch *w, sd_event *e, const char *ksm_dir) {
        int fd, r;

        *w = (ScanWatch) { .fd = -1 };
        r = ksm_full_scans_notify_supported(ksm_dir);
        if (r <= 0)
                return 0;
        fd = ksm_full_scans_open(ksm_dir);
        if (fd < 0)
                return log_warning_errno(fd, "Cannot open %s/full_scans: %m", ksm_dir);
        /* sysfs_notify() shows up as POLLPRI|POLLERR: EPOLLPRI in epoll. */
        r = sd_event_add_io(e, &w->source, fd, EPOLLPRI, on_full_scans, w);
        if (r < 0) {
                close(fd);
                return log_warning_errno(r, "Cannot watch %s/full_scans: %m", ksm_dir);
        }
        (void) sd_event_source_set_description(w->source, "full-scans");
        w->fd = fd;
        (void) ksm_full_scans_read(fd, &w->full_scans);
        log_debug("Watching %s/full_scans for completed scans", ksm_dir);
        return 1;
}

void scan_watch_tick(ScanWatch *w, uint64_t full_scans, uint64_t now) {
        if (!w->source)
                record(w, full_scans, now);
}

void scan_watch_stop(ScanWatch *w) {
        w->source = sd_event_source_disable_unref(w->source);
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
}
