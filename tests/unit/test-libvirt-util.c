/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#endif

#include "libvirt-util.h"
#include "macro.h"

typedef struct SplitRow {
        const char *in;
        int want_r;
        size_t want_n;
        const char *want[3];            /* the first URIs */
        const char *want_dup;
} SplitRow;

static const SplitRow split_rows[] = {
        { "", 0, 0, {}, NULL },
        { "   \t ", 0, 0, {}, NULL },
        { "qemu:///system", 0, 1, { "qemu:///system" }, NULL },
        { "  qemu:///system  ", 0, 1, { "qemu:///system" }, NULL },
        { "qemu:///system lxc:///system", 0, 2, { "qemu:///system", "lxc:///system" }, NULL },
        { "qemu:///system\tlxc:///system  test+unix:///default", 0, 3,
          { "qemu:///system", "lxc:///system", "test+unix:///default" }, NULL },
        { "qemu+ssh://root@host/system?keyfile=/k", 0, 1, { "qemu+ssh://root@host/system?keyfile=/k" }, NULL },
        /* exactly the maximum */
        { "a:// b:// c:// d:// e:// f:// g:// h://", 0, 8, { "a://", "b://", "c://" }, NULL },
        { "a:// b:// c:// d:// e:// f:// g:// h:// i://", -E2BIG, 0, {}, NULL },
        { "qemu:///system lxc:///system qemu:///system", -EEXIST, 0, {}, "qemu:///system" },
        /* different URIs for the same driver are different connections */
        { "qemu:///system qemu:///session", 0, 2, { "qemu:///system", "qemu:///session" }, NULL },
};

static void test_uri_list_split(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(split_rows); i++) {
                const SplitRow *row = &split_rows[i];
                LibvirtUriList l, before;
                char dup[64] = "";
                int r;

                memset(&l, 0x5a, sizeof(l));
                before = l;
                r = libvirt_uri_list_split(row->in, &l, dup, sizeof(dup));
                if (r != row->want_r)
                        fail_msg("'%s': expected %d, got %d", row->in, row->want_r, r);
                if (r < 0) {
                        if (memcmp(&l, &before, sizeof(l)) != 0)
                                fail_msg("'%s': output written on failure", row->in);
                        if (row->want_dup && strcmp(dup, row->want_dup) != 0)
                                fail_msg("'%s': expected duplicate '%s', got '%s'", row->in, row->want_dup, dup);
                        continue;
                }
                if (l.n != row->want_n)
                        fail_msg("'%s': expected %zu URIs, got %zu", row->in, row->want_n, l.n);
                for (size_t j = 0; j < ELEMENTSOF(row->want) && row->want[j]; j++)
                        if (strcmp(l.uri[j], row->want[j]) != 0)
                                fail_msg("'%s': URI %zu: expected '%s', got '%s'", row->in, j, row->want[j], l.uri[j]);
        }
}

static void test_uri_pid_dir(void **state) {
        static const struct { const char *uri; const char *want; } rows[] = {
                { "qemu:///system", "run/libvirt/qemu" },
                { "qemu+unix:///system", "run/libvirt/qemu" },
                { "qemu+unix:///system?socket=/tmp/x/libvirt-sock", "run/libvirt/qemu" },
                { "qemu:///system?mode=legacy", "run/libvirt/qemu" },
                { "qemu:///session", NULL },
                { "qemu:///systemd", NULL },
                { "qemu:///system/x", NULL },
                { "qemu://otherhost/system", NULL },
                { "qemu+ssh://root@otherhost/system", NULL },
                { "qemu+tcp:///system", NULL },
                { "qemu:///embed?root=/tmp/x", NULL },
                { "test+unix:///default", NULL },
                { "test:///default", NULL },
                { "lxc:///system", NULL },
                { "xen:///system", NULL },
                { "", NULL },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const char *got = libvirt_uri_pid_dir(rows[i].uri);

                if (!got != !rows[i].want || (got && strcmp(got, rows[i].want) != 0))
                        fail_msg("'%s': expected %s, got %s", rows[i].uri,
                                 rows[i].want ? rows[i].want : "NULL", got ? got : "NULL");
        }
}

static void test_pidfile_parse(void **state) {
        static const struct { const char *text; int want_r; pid_t want; } rows[] = {
                { "1234", 0, 1234 },
                { "1234\n", 0, 1234 },
                { " 42 \n", 0, 42 },
                { "1", 0, 1 },
                { "2147483647\n", 0, 2147483647 },
                { "2147483648\n", -ERANGE, 0 },
                { "0\n", -ERANGE, 0 },
                { "-5\n", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "\n", -EINVAL, 0 },
                { "12ab\n", -EINVAL, 0 },
                { "12 34\n", -EINVAL, 0 },
                { "0x10\n", -EINVAL, 0 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                pid_t pid = -7;
                int r = libvirt_pidfile_parse(rows[i].text, &pid);

                if (r != rows[i].want_r)
                        fail_msg("'%s': expected %d, got %d", rows[i].text, rows[i].want_r, r);
                if (r == 0 && pid != rows[i].want)
                        fail_msg("'%s': expected pid %d, got %d", rows[i].text, (int) rows[i].want, (int) pid);
                if (r < 0 && pid != -7)
                        fail_msg("'%s': output written on failure", rows[i].text);
        }
}

static void write_file(int dirfd, const char *path, const char *text) {
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

/* A fixture root: ROOT/run/libvirt/qemu/NAME.pid, read through the root fd
 * as the daemon reads the real /run. */
static void test_pidfile_read_at(void **state) {
        char root[] = "/tmp/test-libvirt-util.XXXXXX";
        int root_fd;
        pid_t pid = -7;

        (void) state;
        assert_non_null(mkdtemp(root));
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        assert_int_equal(mkdirat(root_fd, "run", 0755), 0);
        assert_int_equal(mkdirat(root_fd, "run/libvirt", 0755), 0);
        assert_int_equal(mkdirat(root_fd, "run/libvirt/qemu", 0755), 0);
        write_file(root_fd, "run/libvirt/qemu/guest1.pid", "4242");
        write_file(root_fd, "run/libvirt/qemu/bad.pid", "hello\n");
        write_file(root_fd, "run/libvirt/qemu/big.pid", "1111111111111111111111111111111111111111111111111111111111111111111111\n");

        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "guest1", &pid), 0);
        assert_int_equal(pid, 4242);
        pid = -7;
        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "missing", &pid), -ENOENT);
        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "bad", &pid), -EINVAL);
        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "big", &pid), -EFBIG);
        /* Names that would leave the directory are refused before any open. */
        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "../qemu/guest1", &pid), -EINVAL);
        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "..", &pid), -EINVAL);
        assert_int_equal(libvirt_pidfile_read_at(root_fd, "run/libvirt/qemu", "", &pid), -EINVAL);
        assert_int_equal(pid, -7);

        unlinkat(root_fd, "run/libvirt/qemu/guest1.pid", 0);
        unlinkat(root_fd, "run/libvirt/qemu/bad.pid", 0);
        unlinkat(root_fd, "run/libvirt/qemu/big.pid", 0);
        unlinkat(root_fd, "run/libvirt/qemu", AT_REMOVEDIR);
        unlinkat(root_fd, "run/libvirt", AT_REMOVEDIR);
        unlinkat(root_fd, "run", AT_REMOVEDIR);
        close(root_fd);
        assert_int_equal(rmdir(root), 0);
}

#ifdef HAVE_LIBVIRT
static void test_event_filter(void **state) {
        static const struct { int event; bool want; } rows[] = {
                { VIR_DOMAIN_EVENT_DEFINED, false },
                { VIR_DOMAIN_EVENT_UNDEFINED, false },
                { VIR_DOMAIN_EVENT_STARTED, true },
                { VIR_DOMAIN_EVENT_SUSPENDED, false },
                { VIR_DOMAIN_EVENT_RESUMED, false },
                { VIR_DOMAIN_EVENT_STOPPED, true },
                { VIR_DOMAIN_EVENT_SHUTDOWN, false },
                { VIR_DOMAIN_EVENT_PMSUSPENDED, false },
                { VIR_DOMAIN_EVENT_CRASHED, true },
                { 99, false },
                { -1, false },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (libvirt_event_wants_tick(rows[i].event) != rows[i].want)
                        fail_msg("event %d: expected %s", rows[i].event, rows[i].want ? "a tick" : "no tick");
}

static void test_event_describe(void **state) {
        static const struct { int event, detail; const char *want; } rows[] = {
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, "started (booted)" },
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED, "started (migrated)" },
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_RESTORED, "started (restored)" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, "stopped (destroyed)" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, "stopped (migrated)" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, "stopped (from snapshot)" },
                { VIR_DOMAIN_EVENT_STARTED, 77, "started (77)" },
                { VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_PANICKED, "crashed (0)" },
                { VIR_DOMAIN_EVENT_RESUMED, 0, "resumed (0)" },
                { 42, 3, "event 42 (3)" },
                { -1, -1, "event -1 (-1)" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                char buf[64];

                libvirt_event_describe(rows[i].event, rows[i].detail, buf, sizeof(buf));
                if (strcmp(buf, rows[i].want) != 0)
                        fail_msg("event %d/%d: expected '%s', got '%s'", rows[i].event, rows[i].detail, rows[i].want, buf);
        }
}
#endif

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uri_list_split),
                cmocka_unit_test(test_uri_pid_dir),
                cmocka_unit_test(test_pidfile_parse),
                cmocka_unit_test(test_pidfile_read_at),
#ifdef HAVE_LIBVIRT
                cmocka_unit_test(test_event_filter),
                cmocka_unit_test(test_event_describe),
#endif
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
