/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "guest-rules.h"
#include "macro.h"

static void test_cgroup_text(void **state) {
        static const struct { const char *text, *list; bool match; } rows[] = {
                { "0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt/emulator\n", "machine.slice", true },
                { "0::/machine.slice\n", "machine.slice", true },
                { "0::/machine.sliced/x\n", "machine.slice", false },
                { "0::/a/machine.slice.d\n", "machine.slice", false },
                { "0::/user.slice/user-0.slice/session-1.scope\n", "machine.slice", false },
                { "0::/lxc.payload.c1/init.scope\n", "machine.slice  lxc.payload.c1", true },
                { "0::/lxc.payload.c1\n", "", false },
                { "0::/\n", "machine.slice", false },
                /* Hybrid hierarchy: only the unified line counts. */
                { "12:name=systemd:/machine.slice/x\n0::/user.slice\n", "machine.slice", false },
                { "12:memory:/x\n1:name=systemd:/\n0::/machine.slice/vm.scope\n", "machine.slice", true },
                { "1:name=systemd:/machine.slice\n", "machine.slice", false },    /* v1 only */
                { "", "machine.slice", false },
                { "0::", "machine.slice", false },
                { "0::/machine.slice", "machine.slice", true },                  /* no newline */
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (guest_cgroup_text_matches(rows[i].text, rows[i].list) != rows[i].match)
                        fail_msg("row %zu (%s in '%s'): expected %s", i, rows[i].list, rows[i].text,
                                 rows[i].match ? "a match" : "no match");
}

static void test_lists_and_measure(void **state) {
        static const struct { const char *list; int cgroups, pidfiles; } rows[] = {
                { "", 0, 0 },
                { "machine.slice", 0, -EINVAL },
                { "machine.slice lxc.payload", 0, -EINVAL },
                { "/var/run/qemu-server/*.pid", -EINVAL, 0 },
                { "/run/a/*.pid  /run/b/[0-9]*.pid", -EINVAL, 0 },
                { "a/b", -EINVAL, -EINVAL },
                { ".", -EINVAL, -EINVAL },
                { "..", -EINVAL, -EINVAL },
                { "x ..", -EINVAL, -EINVAL },
                { "...", 0, -EINVAL },
        };
        GuestMeasure m = _GUEST_MEASURE_MAX;

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                int c = guest_cgroups_check(rows[i].list), p = guest_pidfiles_check(rows[i].list);
                if (c != rows[i].cgroups || p != rows[i].pidfiles)
                        fail_msg("'%s': expected cgroups %d pidfiles %d, got %d %d", rows[i].list, rows[i].cgroups,
                                 rows[i].pidfiles, c, p);
        }
        assert_int_equal(guest_measure_from_string("rss", &m), 0);
        assert_int_equal(m, GUEST_MEASURE_RSS);
        assert_int_equal(guest_measure_from_string("pss", &m), 0);
        assert_int_equal(m, GUEST_MEASURE_PSS);
        assert_int_equal(guest_measure_from_string("PSS", &m), -EINVAL);
        assert_int_equal(guest_measure_from_string("", &m), -EINVAL);
        assert_int_equal(m, GUEST_MEASURE_PSS);
        assert_string_equal(guest_measure_to_string(GUEST_MEASURE_RSS), "rss");
        assert_null(guest_measure_to_string(_GUEST_MEASURE_MAX));
}

static void make_dirs(const char *root, const char *rel) {
        char cmd[700];

        snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
        assert_int_equal(system(cmd), 0);
}

/* smaps_rollup's Pss line, and what is not one. */
static void test_pss(void **state) {
        static const struct { const char *text; int ret; uint64_t kib; } rows[] = {
                { "55d0-7ffc ---p 00000000 00:00 0  [rollup]\nRss:    1050160 kB\nPss:    1048714 kB\n"
                  "Pss_Dirty:  1048000 kB\n", 0, 1048714 },
                { "x [rollup]\nRss: 4 kB\nPss:\t0 kB\n", 0, 0 },
                { "x [rollup]\nRss: 4 kB\n", -EBADMSG, 0 },
                { "x [rollup]\nPss: 12\n", -EBADMSG, 0 },
                { "x [rollup]\nPss: -1 kB\n", -EBADMSG, 0 },
                { "x [rollup]\nPss: 99999999999999999999999 kB\n", -EBADMSG, 0 },
                { "Pss: 5 kB\n", -EBADMSG, 0 },                 /* the header line comes first */
        };
        char root[] = "/tmp/test-guest-rules.XXXXXX", cmd[600];
        _cleanup_close_ int fd = -1;

        (void) state;
        assert_non_null(mkdtemp(root));
        make_dirs(root, "7");
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                uint64_t kib = 77;
                int r;

                fixture_put(root, "7/smaps_rollup", rows[i].text);
                r = guest_read_pss_kib(fd, 7, &kib);
                if (r != rows[i].ret || (r == 0 && kib != rows[i].kib) || (r < 0 && kib != 77))
                        fail_msg("row %zu: expected %d/%ju, got %d/%ju", i, rows[i].ret, (uintmax_t) rows[i].kib, r,
                                 (uintmax_t) kib);
        }
        uint64_t kib;
        assert_int_equal(guest_read_pss_kib(fd, 8, &kib), -ESRCH);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

/* Pid files under a root, Proxmox VE names from the qemu-server files. */
static void test_pidfiles_and_pve_names(void **state) {
        char root[] = "/tmp/test-guest-rules.XXXXXX", cmd[600], path[600], btime[64];
        _cleanup_close_ int root_fd = -1, proc_fd = -1;
        pid_t *pids = NULL;
        char *name = NULL;
        long hz = sysconf(_SC_CLK_TCK);
        int n;

        (void) state;
        assert_non_null(mkdtemp(root));
        make_dirs(root, "proc/100");
        make_dirs(root, "proc/200");
        make_dirs(root, "proc/300");
        make_dirs(root, "var/run/qemu-server");
        make_dirs(root, "etc/pve/qemu-server");
        /* Booted an hour ago; 100 and 200 started at boot, 300 a minute ago. */
        snprintf(btime, sizeof(btime), "cpu 1 2 3\nbtime %ld\nprocesses 9\n", (long) time(NULL) - 3600);
        fixture_put(root, "proc/stat", btime);
        fixture_put(root, "proc/100/stat", "100 (kvm) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 10\n");
        fixture_put(root, "proc/200/stat", "200 (kvm) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 10\n");
        snprintf(cmd, sizeof(cmd), "300 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %ld 0 10\n", 3540 * hz);
        fixture_put(root, "proc/300/stat", cmd);
        fixture_put(root, "var/run/qemu-server/100.pid", "100\n");
        fixture_put(root, "var/run/qemu-server/101.pid", "200");
        fixture_put(root, "var/run/qemu-server/102.pid", "garbage\n");
        fixture_put(root, "var/run/qemu-server/103.pid", "300\n");       /* stale: see below */
        fixture_put(root, "var/run/qemu-server/104.pid", "0\n");
        fixture_put(root, "var/run/qemu-server/105.pidx", "100\n");
        snprintf(path, sizeof(path), "%s/var/run/qemu-server/103.pid", root);
        struct utimbuf old = { .actime = time(NULL) - 600, .modtime = time(NULL) - 600 };
        assert_int_equal(utime(path, &old), 0);
        snprintf(cmd, sizeof(cmd), "mkfifo '%s/var/run/qemu-server/106.pid'", root);
        assert_int_equal(system(cmd), 0);                                       /* never read: it would block */
        fixture_put(root, "etc/pve/qemu-server/100.conf", "#comment\nboot: c\nname: web01\n[snap]\nname: old\n");
        fixture_put(root, "etc/pve/qemu-server/101.conf", "memory: 512\n[snap]\nname: in-a-snapshot\n");

        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        proc_fd = openat(root_fd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(proc_fd >= 0);

        n = guest_pidfiles_read(root, proc_fd, GUEST_PIDFILES_DEFAULT, &pids);
        assert_int_equal(n, 2);
        assert_true((pids[0] == 100 && pids[1] == 200) || (pids[0] == 200 && pids[1] == 100));
        free(pids);
        pids = NULL;
        assert_int_equal(guest_pidfiles_read(root, proc_fd, "/nowhere/*.pid", &pids), 0);
        assert_null(pids);

        assert_int_equal(guest_pve_name(root, proc_fd, GUEST_PIDFILES_DEFAULT, 100, &name), 0);
        assert_string_equal(name, "web01");
        free(name);
        name = NULL;
        assert_int_equal(guest_pve_name(root, proc_fd, GUEST_PIDFILES_DEFAULT, 200, &name), -ENOENT);
        assert_int_equal(guest_pve_name(root, proc_fd, GUEST_PIDFILES_DEFAULT, 300, &name), -ENOENT);
        assert_int_equal(guest_pve_name(root, proc_fd, GUEST_PIDFILES_DEFAULT, 999, &name), -ENOENT);
        assert_null(name);

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cgroup_text),
                cmocka_unit_test(test_lists_and_measure),
                cmocka_unit_test(test_pss),
                cmocka_unit_test(test_pidfiles_and_pve_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
