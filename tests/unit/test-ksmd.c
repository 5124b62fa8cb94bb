/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksmd.h"
#include "macro.h"

static void make_dir(const char *root, const char *rel) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        assert_int_equal(mkdir(path, 0755), 0);
}

/* A fixture /proc: a few processes, ksmd among them, found by name. */
static void test_find_and_read(void **state) {
        char root[] = "/tmp/test-ksmd.XXXXXX", cmd[600];
        pid_t pid = 0;
        uint64_t usec = 0;
        long hz = sysconf(_SC_CLK_TCK);
        int fd;

        (void) state;
        assert_non_null(mkdtemp(root));
        fd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(ksmd_find_pid(fd, &pid), -ENOENT);

        make_dir(root, "proc");
        make_dir(root, "proc/self");
        make_dir(root, "proc/1");
        make_dir(root, "proc/37");
        make_dir(root, "proc/400");
        fixture_put(root, "proc/1/comm", "systemd\n");
        fixture_put(root, "proc/400/comm", "ksmdx\n");
        assert_int_equal(ksmd_find_pid(fd, &pid), -ESRCH);

        fixture_put(root, "proc/37/comm", "ksmd\n");
        fixture_put(root, "proc/37/stat", "37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 150 50 0 0 25 5 1 0 16 0 0\n");
        assert_int_equal(ksmd_find_pid(fd, &pid), 0);
        assert_int_equal(pid, 37);
        assert_int_equal(ksmd_read_cpu_usec(fd, pid, NULL, &usec), 0);
        assert_int_equal(usec, (uint64_t) 200 * 1000000 / (uint64_t) hz);

        /* Another process now holds the pid: not ksmd any more. */
        fixture_put(root, "proc/37/stat", "37 (bash) S 2 0 0 0 -1 0 0 0 0 0 1 1 0 0 25 5 1 0 16 0 0\n");
        assert_int_equal(ksmd_read_cpu_usec(fd, pid, NULL, &usec), -ESRCH);
        assert_int_equal(ksmd_read_cpu_usec(fd, 999, NULL, &usec), -ESRCH);

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_find_and_read),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
