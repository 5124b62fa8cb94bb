/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* How often ksmd completes a full scan: from the kernel's notification on
 * full_scans where it has one (kernel-patches/ 0002), else from the counter
 * as seen at each tick. */
typedef struct ScanWatch {
        sd_event_source *source;        /* NULL: no notification, polling */
        int fd;
        uint64_t full_scans;            /* last value seen */
        uint64_t last_scan_usec;        /* CLOCK_MONOTONIC when it was seen to change */
        uint64_t scan_interval_usec;    /* time the last full scan took; 0 unknown */
} ScanWatch;

/* Watch ksm_dir/full_scans without polling when the kernel supports it.
 * Returns 1 when notified, 0 when the caller must feed scan_watch_tick(),
 * negative errno on failure (logged). */
int scan_watch_start(ScanWatch *w, sd_event *e, const char *ksm_dir);

/* Feed the counter read at a tick (ignored when notified). */
void scan_watch_tick(ScanWatch *w, uint64_t full_scans, uint64_t now_usec);

void scan_watch_stop(ScanWatch *w);
