/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for src/ksmtuned/scan-watch.c with a real sd-event loop: a
 * failed read of full_scans must not leave the event loop spinning on the
 * still pending notification, and ticks stand in for notifications until
 * one has arrived.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixture.h"
#include "macro.h"
#include "scan-watch.h"

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) usec, (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* An fd that stays POLLPRI and cannot be pread(): a socket with urgent data
 * pending, as full_scans stays notified after a read that failed. */
static void test_failed_read_rearms(void **state) {
        char dir[] = "/tmp/test-scan-watch.XXXXXX", path[sizeof(dir) + 16];
        sd_event_source *deadline = NULL;
        ScanWatch w = { .fd = -1 };
        uint64_t now, iterations;
        sd_event *e = NULL;
        int sv[2];

        (void) state;
        assert_non_null(mkdtemp(dir));
        fixture_put(dir, "full_scans", "7\n");  /* re-opened later: a plain file, not pollable */
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        if (send(sv[1], "!", 1, MSG_OOB) != 1)
                fail_msg("MSG_OOB on AF_UNIX sockets: %s (kernel without CONFIG_AF_UNIX_OOB?)", strerror(errno));

        w.event = e;
        w.retry_usec = 100 * 1000;
        w.ksm_dir = strdup(dir);
        assert_non_null(w.ksm_dir);
        assert_int_equal(scan_watch_attach(&w, sv[0]), 1);
        assert_true(sd_event_now(e, CLOCK_MONOTONIC, &now) >= 0);
        assert_int_equal(sd_event_add_time(e, &deadline, CLOCK_MONOTONIC, now + 400 * 1000, 0, on_deadline, NULL), 0);
        assert_int_equal(sd_event_loop(e), 0);

        /* One failed read, then no more dispatches: the source was dropped,
         * and the retry 100 ms later found a file it cannot poll. */
        assert_int_equal(w.n_read_errors, 1);
        assert_null(w.source);
        assert_null(w.retry);
        assert_int_equal(w.fd, -1);
        assert_int_equal(sd_event_get_iteration(e, &iterations), 0);
        if (iterations > 10)
                fail_msg("event loop spun: %llu iterations in 400 ms", (unsigned long long) iterations);

        scan_watch_stop(&w);
        sd_event_source_unref(deadline);
        sd_event_unref(e);
        close(sv[1]);
        snprintf(path, sizeof(path), "%s/full_scans", dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* Until a notification arrives, each tick measures the scan time. */
static void test_tick_until_notified(void **state) {
        ScanWatch w = { .fd = -1 };

        (void) state;
        scan_watch_tick(&w, 10, 1000000);
        assert_int_equal(w.full_scans, 10);
        assert_int_equal(w.scan_interval_usec, 0);             /* one sample: unknown */
        scan_watch_tick(&w, 14, 9000000);
        assert_int_equal(w.scan_interval_usec, 2000000);       /* 8 s for 4 scans */
        scan_watch_tick(&w, 14, 12000000);                     /* no change: no sample */
        assert_int_equal(w.scan_interval_usec, 2000000);
        w.notified = true;                                      /* notifications win */
        scan_watch_tick(&w, 20, 13000000);
        assert_int_equal(w.full_scans, 14);
}

#define SYSFS_FULL_SCANS "/sys/kernel/mm/ksm/full_scans"

/* A fixture KSM directory whose full_scans is the kernel's (a symlink to
 * sysfs: a file that can be polled) and is replaced under the watch, as a
 * remounted sysfs or a rebuilt fixture root replaces it: the watch follows
 * the file now at the path instead of keeping a handle nothing notifies. */
static void test_replaced_file_reopened(void **state) {
        char dir[] = "/tmp/test-scan-watch.XXXXXX", path[sizeof(dir) + 16], tmp[sizeof(dir) + 16];
        ScanWatch w = { .fd = -1 };
        sd_event *e = NULL;
        int held;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/full_scans", dir);
        snprintf(tmp, sizeof(tmp), "%s/new", dir);
        assert_int_equal(symlink(SYSFS_FULL_SCANS, path), 0);
        assert_int_equal(sd_event_new(&e), 0);

        assert_int_equal(scan_watch_start(&w, e, dir), 1);
        assert_non_null(w.source);
        held = w.fd;
        assert_int_equal(scan_watch_refresh(&w), 0);            /* unchanged: the same fd */
        assert_int_equal(w.fd, held);

        /* Replaced by a plain file (not pollable): the sysfs handle is
         * dropped, ticks count scans, the new counter is the baseline. */
        fixture_put(dir, "new", "4242\n");
        assert_int_equal(rename(tmp, path), 0);
        assert_int_equal(scan_watch_refresh(&w), 1);
        assert_null(w.source);
        assert_int_equal(w.fd, -1);
        assert_int_equal(w.full_scans, 4242);
        assert_int_equal(scan_watch_refresh(&w), 0);            /* not reopened at every tick */

        /* The kernel's file again: watched again. */
        assert_int_equal(symlink(SYSFS_FULL_SCANS, tmp), 0);
        assert_int_equal(rename(tmp, path), 0);
        assert_int_equal(scan_watch_refresh(&w), 1);
        assert_non_null(w.source);
        assert_true(w.fd >= 0);

        /* Gone with its directory: nothing held; back: watched. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(scan_watch_refresh(&w), 1);
        assert_null(w.source);
        assert_int_equal(w.fd, -1);
        assert_int_equal(scan_watch_refresh(&w), 0);
        assert_int_equal(symlink(SYSFS_FULL_SCANS, path), 0);
        assert_int_equal(scan_watch_refresh(&w), 1);
        assert_non_null(w.source);

        scan_watch_stop(&w);
        sd_event_unref(e);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_failed_read_rearms),
                cmocka_unit_test(test_tick_until_notified),
                cmocka_unit_test(test_replaced_file_reopened),
        };
        int r;

        if (access(SYSFS_FULL_SCANS, R_OK) == 0)
                return cmocka_run_group_tests(tests, NULL, NULL);
        /* Without it, the others still run; the whole is a skip. */
        r = _cmocka_run_group_tests("scan-watch", tests, ELEMENTSOF(tests) - 1, NULL, NULL);
        if (r == 0)
                printf("SKIP test_replaced_file_reopened: no " SYSFS_FULL_SCANS " (a kernel without CONFIG_KSM)\n");
        return r == 0 ? 77 : r;
}
