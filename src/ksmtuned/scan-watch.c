/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ksm-merge-any.h"
#include "log.h"
#include "units.h"
#include "scan-watch.h"

static void record(ScanWatch *w, uint64_t full_scans, uint64_t now) {
        if (full_scans == w->full_scans)
                return;
        /* One pass per change when notified; a tick may span several. */
        if (w->last_scan_usec && full_scans > w->full_scans)
                w->scan_interval_usec = (now - w->last_scan_usec) / (full_scans - w->full_scans);
        w->full_scans = full_scans;
        w->last_scan_usec = now;
}

static void close_source(ScanWatch *w) {
        w->source = sd_event_source_disable_unref(w->source);
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
        w->notified = false;
}

/* Open ksm_dir/full_scans, remember which file it is, and watch it.
 * Returns as scan_watch_attach(), or the negative errno of opening it. */
static int open_and_attach(ScanWatch *w) {
        struct stat st;
        int fd;

        fd = ksm_full_scans_open(w->ksm_dir);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) == 0) {
                w->file_dev = st.st_dev;
                w->file_ino = st.st_ino;
        }
        /* A baseline: a new file may count from elsewhere. */
        w->last_scan_usec = 0;
        (void) ksm_full_scans_read(fd, &w->full_scans);
        return scan_watch_attach(w, fd);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        ScanWatch *w = userdata;
        int r;

        (void) s, (void) usec;
        w->retry = sd_event_source_disable_unref(w->retry);
        r = open_and_attach(w);
        if (r < 0)
                log_debug_errno(r, "Cannot re-open %s/full_scans, counting scans at each tick: %m", w->ksm_dir);
        return 0;
}

/* A failed read leaves the notification pending (level-triggered epoll):
 * stop watching the fd at once, or the loop would spin, and re-open the
 * file later; ticks count scans meanwhile. */
static void read_failed(ScanWatch *w, int err) {
        uint64_t now;
        int r;

        w->n_read_errors++;
        log_warning_errno(err, "Cannot read %s/full_scans, watching it again in %.0f s: %m",
                          w->ksm_dir ? w->ksm_dir : "?", (double) w->retry_usec / USEC_PER_SEC);
        close_source(w);
        if (!w->ksm_dir || w->retry)
                return;
        r = sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(w->event, &w->retry, CLOCK_MONOTONIC, now + w->retry_usec, 0,
                                      on_retry, w);
        if (r < 0)
                log_warning_errno(r, "Cannot schedule watching full_scans again: %m");
        else
                (void) sd_event_source_set_description(w->retry, "full-scans-retry");
}

static int on_full_scans(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ScanWatch *w = userdata;
        uint64_t v;
        int r;

        (void) s, (void) revents;
        r = ksm_full_scans_read(fd, &v);        /* also re-arms the notification */
        if (r < 0) {
                read_failed(w, r);
                return 0;
        }
        if (!w->notified)
                log_debug("full_scans notifications arrive: scan times come from them");
        w->notified = true;
        record(w, v, now_usec(CLOCK_MONOTONIC));
        log_debug("Full scan %" PRIu64 " completed (%.1f s per scan)", v, (double) w->scan_interval_usec / USEC_PER_SEC);
        return 0;
}

int scan_watch_attach(ScanWatch *w, int fd) {
        int r;

        /* sysfs_notify() shows up as POLLPRI|POLLERR: EPOLLPRI in epoll. */
        r = sd_event_add_io(w->event, &w->source, fd, EPOLLPRI, on_full_scans, w);
        if (r == -EPERM) {      /* a plain file (fixture tree): nothing to watch */
                close(fd);
                return 0;
        }
        if (r < 0) {
                close(fd);
                return log_warning_errno(r, "Cannot watch full_scans: %m");
        }
        (void) sd_event_source_set_description(w->source, "full-scans");
        w->fd = fd;
        return 1;
}

int scan_watch_start(ScanWatch *w, sd_event *e, const char *ksm_dir) {
        int r;

        *w = (ScanWatch) { .fd = -1, .event = e, .retry_usec = SCAN_WATCH_RETRY_USEC };
        w->ksm_dir = strdup(ksm_dir);
        if (!w->ksm_dir)
                return log_error_errno(-ENOMEM, "Cannot watch full_scans: %m");
        r = open_and_attach(w);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_warning_errno(r, "Cannot open %s/full_scans: %m", ksm_dir);
        if (r > 0)
                log_debug("Watching %s/full_scans for completed scans", ksm_dir);
        return r;
}

int scan_watch_refresh(ScanWatch *w) {
        char path[4096];
        struct stat st;
        int r;

        if (!w->ksm_dir)
                return 0;       /* not started */
        snprintf(path, sizeof(path), "%s/full_scans", w->ksm_dir);
        if (stat(path, &st) < 0) {
                if (errno != ENOENT || (w->file_dev == 0 && w->file_ino == 0))
                        return errno == ENOENT ? 0 : -errno;
                /* Gone with its directory: nothing to watch until it is back. */
                w->retry = sd_event_source_disable_unref(w->retry);
                close_source(w);
                w->file_dev = 0;
                w->file_ino = 0;
                return 1;
        }
        if (st.st_dev == w->file_dev && st.st_ino == w->file_ino)
                return 0;
        /* The old fd would never be notified again: drop it, and a pending
         * re-open that would attach a second source. */
        w->retry = sd_event_source_disable_unref(w->retry);
        close_source(w);
        r = open_and_attach(w);
        if (r < 0)
                return r;
        return 1;
}

void scan_watch_tick(ScanWatch *w, uint64_t full_scans, uint64_t now) {
        if (w->notified)
                return;
        /* Scans completed since the last tick and no notification came */
        if (w->source && w->last_scan_usec && full_scans > w->full_scans && !w->no_notify_logged) {
                log_info("This kernel does not notify completed KSM scans (kernel-patches/ 0002): "
                         "measuring scan time at each tick");
                w->no_notify_logged = true;
        }
        record(w, full_scans, now);
}

void scan_watch_stop(ScanWatch *w) {
        w->retry = sd_event_source_disable_unref(w->retry);
        close_source(w);
        free(w->ksm_dir);
        w->ksm_dir = NULL;
}
