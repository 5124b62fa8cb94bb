/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "psi.h"

typedef struct Row {
        const char *name, *text;
        int ret;
        uint32_t some, full;
        uint64_t total;
} Row;

static const Row rows[] = {
        { "idle host, both lines",
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
          0, 0, 0, 0 },
        { "stalls",
          "some avg10=12.34 avg60=5.00 avg300=1.10 total=987654321\nfull avg10=3.21 avg60=1.00 avg300=0.10 total=5\n",
          0, 1234, 321, 987654321 },
        { "100 percent is the most there is",
          "some avg10=100.00 avg60=100.00 avg300=100.00 total=1\n", 0, 10000, 0, 1 },
        { "some line only (no newline at the end)",
          "some avg10=1.50 avg60=0.00 avg300=0.00 total=42", 0, 150, 0, 42 },
        { "one decimal is read as tenths", "some avg10=7.5 avg60=0 avg300=0 total=0\n", 0, 750, 0, 0 },
        { "above 100 percent", "some avg10=100.01 avg60=0.00 avg300=0.00 total=0\n", .ret = -EBADMSG },
        { "no some line", "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", .ret = -EBADMSG },
        { "empty", "", .ret = -EBADMSG },
        { "some twice", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
          .ret = -EBADMSG },
        { "garbage value", "some avg10=x avg60=0.00 avg300=0.00 total=0\n", .ret = -EBADMSG },
        { "missing total", "some avg10=0.00 avg60=0.00 avg300=0.00\n", .ret = -EBADMSG },
        { "trailing garbage after total", "some avg10=0.00 avg60=0.00 avg300=0.00 total=12x\n", .ret = -EBADMSG },
        { "unknown line", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsometimes\n", .ret = -EBADMSG },
};

static void test_parse(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const Row *r = &rows[i];
                KsmPsi p = { .some_avg10_centipct = 4242 };
                int ret = psi_parse(r->text, &p);

                if (ret != r->ret)
                        fail_msg("%s: expected %d, got %d", r->name, r->ret, ret);
                if (ret < 0) {
                        if (p.some_avg10_centipct != 4242)
                                fail_msg("%s: output written on failure", r->name);
                        continue;
                }
                if (p.some_avg10_centipct != r->some || p.full_avg10_centipct != r->full || p.some_total_usec != r->total)
                        fail_msg("%s: expected %u/%u/%ju, got %u/%u/%ju", r->name, r->some, r->full, (uintmax_t) r->total,
                                 p.some_avg10_centipct, p.full_avg10_centipct, (uintmax_t) p.some_total_usec);
        }
}

/* Through a root directory: present, and absent (a kernel without PSI). */
static void test_read_root(void **state) {
        char root[] = "/tmp/test-psi.XXXXXX", path[256];
        KsmPsi p;
        int fd;
        FILE *f;

        (void) state;
        assert_non_null(mkdtemp(root));
        fd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(psi_read_memory(fd, NULL, &p), -ENOENT);

        snprintf(path, sizeof(path), "%s/proc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/proc/pressure", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/proc/pressure/memory", root);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("some avg10=20.00 avg60=0.00 avg300=0.00 total=7\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=1\n", f);
        fclose(f);
        assert_int_equal(psi_read_memory(fd, NULL, &p), 0);
        assert_int_equal(p.some_avg10_centipct, 2000);
        assert_int_equal(p.full_avg10_centipct, 100);

        unlink(path);
        snprintf(path, sizeof(path), "%s/proc/pressure", root);
        rmdir(path);
        snprintf(path, sizeof(path), "%s/proc", root);
        rmdir(path);
        rmdir(root);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_read_root),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
