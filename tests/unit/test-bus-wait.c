/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Waiting for the system bus's socket: which addresses can be watched, and
 * a real inotify watch that follows directories as they appear. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-wait.h"
#include "macro.h"

static void test_address(void **state) {
        static const struct {
                const char *address;
                int ret;
                const char *path;
        } rows[] = {
                { "unix:path=/run/dbus/system_bus_socket", 0, "/run/dbus/system_bus_socket" },
                { "unix:path=/tmp/a%20b/s%2cock", 0, "/tmp/a b/s,ock" },
                { "unix:path=/x", 0, "/x" },
                { "unix:path=", -EINVAL, NULL },
                { "unix:path=relative/sock", -EINVAL, NULL },
                { "unix:path=/a,guid=0123", -EINVAL, NULL },            /* another key */
                { "unix:path=/a;unix:path=/b", -EINVAL, NULL },         /* a list */
                { "unix:abstract=/a", -EINVAL, NULL },
                { "tcp:host=localhost,port=1", -EINVAL, NULL },
                { "unix:path=/a%2", -EINVAL, NULL },                    /* a cut escape */
                { "unix:path=/a%zz", -EINVAL, NULL },
                { "unix:path=/a%00b", -EINVAL, NULL },                  /* a NUL */
                { "", -EINVAL, NULL },
                { NULL, -EINVAL, NULL },
        };
        char path[4096], tiny[4];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                int r = bus_address_socket_path(rows[i].address, path, sizeof(path));

                if (r != rows[i].ret)
                        fail_msg("%s: %d, expected %d", rows[i].address ?: "(null)", r, rows[i].ret);
                if (r == 0)
                        assert_string_equal(path, rows[i].path);
        }
        assert_int_equal(bus_address_socket_path("unix:path=/abcd", tiny, sizeof(tiny)), -EINVAL);
}

static unsigned n_changes;

static void on_change(void *userdata) {
        (void) userdata;
        n_changes++;
}

/* Run the loop until nothing is pending (inotify events are queued by the
 * time mkdir() returns); a watch that wakes itself up fails. */
static void settle(sd_event *e) {
        unsigned n = 0;

        while (sd_event_run(e, 0) > 0)
                assert_true(++n < 10);
}

/* Make dir/name and let the watch see it (on_change counts what it reports). */
static void make_dir(sd_event *e, const char *dir, const char *name) {
        char path[256];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(mkdir(path, 0755), 0);
        settle(e);
}

static void test_watch(void **state) {
        static const char *const made[] = { "a/b/socket", "a/b", "a/other", "a" };
        char dir[] = "/tmp/test-bus-wait.XXXXXX", path[256], address[300];
        BusWait w = BUS_WAIT_NULL;
        sd_event *e = NULL;
        int fd;

        (void) state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(sd_event_new(&e), 0);
        snprintf(path, sizeof(path), "%s/a/b/socket", dir);
        snprintf(address, sizeof(address), "unix:path=%s", path);
        n_changes = 0;

        /* Neither a/ nor a/b/ exist: the temporary directory is watched. */
        assert_int_equal(bus_wait_start(&w, e, address, on_change, NULL), 1);
        assert_true(bus_wait_active(&w));
        settle(e);
        make_dir(e, dir, "a");                  /* the watch moves down to a/ */
        make_dir(e, dir, "a/other");            /* something else: nobody wakes up */
        make_dir(e, dir, "a/b");
        assert_int_equal(n_changes, 0);
        assert_true(bus_wait_active(&w));
        /* The socket appears (a file stands in for it). */
        fd = open(path, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        close(fd);
        settle(e);
        assert_true(n_changes >= 1);
        bus_wait_stop(&w);
        assert_false(bus_wait_active(&w));

        /* There already: nothing to wait for. */
        assert_int_equal(bus_wait_start(&w, e, address, on_change, NULL), 0);
        assert_false(bus_wait_active(&w));
        /* An address that names no single socket cannot be watched. */
        assert_int_equal(bus_wait_start(&w, e, "tcp:host=localhost,port=1", on_change, NULL), -EINVAL);
        assert_false(bus_wait_active(&w));
        bus_wait_stop(&w);

        for (size_t i = 0; i < ELEMENTSOF(made); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
                (void) remove(path);
        }
        rmdir(dir);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_address),
                cmocka_unit_test(test_watch),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
