/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "units.h"

/* How often ksmd completes a full scan: from the kernel's notification on
 * full_scans (kernel-patches/ 0002) once one has arrived, else from the
 * counter as seen at each tick. A kernel without the notification is told
 * apart by behaviour: full_scans grows between ticks and nothing arrives. */
typedef struct ScanWatch {
        sd_event *event;
        sd_event_source *source;        /* io source on fd; NULL: not watching */
        sd_event_source *retry;         /* timer re-opening fd after a failed read */
        int fd;
        char *ksm_dir;
        dev_t file_dev;                 /* the full_scans last opened, watched or not */
        ino_t file_ino;                 /* (0, 0): none yet */
        uint64_t retry_usec;            /* delay before re-opening after a failed read */
        bool notified;                  /* a notification has arrived since (re)opening */
        bool no_notify_logged;
        unsigned n_read_errors;         /* failed reads since start */
        uint64_t full_scans;            /* last value seen */
        uint64_t last_scan_usec;        /* CLOCK_MONOTONIC when it was seen to change */
        uint64_t scan_interval_usec;    /* time the last full scan took; 0 unknown */
} ScanWatch;

/* Default delay before re-opening full_scans after a failed read. */
#define SCAN_WATCH_RETRY_USEC (5 * USEC_PER_SEC)

/* Watch ksm_dir/full_scans for notifications. Returns 1 when watching, 0
 * when the caller must rely on scan_watch_tick() alone (no file), negative
 * errno on failure (logged). */
int scan_watch_start(ScanWatch *w, sd_event *e, const char *ksm_dir);

/* Watch an already opened and read fd (scan_watch_start(), tests); takes
 * ownership of fd. Returns 1, 0 when fd cannot be polled (a plain file),
 * or negative errno (logged); fd is closed unless 1. */
int scan_watch_attach(ScanWatch *w, int fd);

/* Feed the counter read at a tick: used until a notification has arrived. */
void scan_watch_tick(ScanWatch *w, uint64_t full_scans, uint64_t now_usec);

/* Reopen ksm_dir/full_scans when the file last opened there was replaced
 * (a remounted sysfs, a rebuilt fixture root) and watch the new one; stop
 * watching when it is gone. Returns 0 unchanged, 1 reopened (or dropped),
 * or negative errno from opening it (ticks count scans meanwhile). */
int scan_watch_refresh(ScanWatch *w);

void scan_watch_stop(ScanWatch *w);
