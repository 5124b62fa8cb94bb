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

#include "fileio.h"
#include "macro.h"

static void test_parse_int64(void **state) {
        static const struct { const char *s; int64_t min, max; int r; int64_t want; } rows[] = {
                { "0", 0, 10, 0, 0 },
                { " 10\n", 0, 10, 0, 10 },
                { "+5", 0, 10, 0, 5 },
                { "-5", -10, 10, 0, -5 },
                { "11", 0, 10, -ERANGE, 0 },
                { "-1", 0, 10, -ERANGE, 0 },
                { "9223372036854775807", INT64_MIN, INT64_MAX, 0, INT64_MAX },
                { "9223372036854775808", INT64_MIN, INT64_MAX, -ERANGE, 0 },
                { "-9223372036854775808", INT64_MIN, INT64_MAX, 0, INT64_MIN },
                { "", 0, 10, -EINVAL, 0 },
                { "   ", 0, 10, -EINVAL, 0 },
                { "x", 0, 10, -EINVAL, 0 },
                { "1x", 0, 10, -EINVAL, 0 },
                { "0x10", 0, 100, -EINVAL, 0 },
                { "1 2", 0, 100, -EINVAL, 0 },
                { "- 1", -10, 10, -EINVAL, 0 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                int64_t v = 42;
                int r = parse_int64(rows[i].s, rows[i].min, rows[i].max, &v);
                if (r != rows[i].r || (r == 0 && v != rows[i].want) || (r < 0 && v != 42))
                        fail_msg("'%s': expected %d/%jd, got %d/%jd", rows[i].s, rows[i].r,
                                 (intmax_t) rows[i].want, r, (intmax_t) v);
        }
}

static void test_parse_uint64(void **state) {
        uint64_t v;

        (void) state;
        assert_int_equal(parse_uint64("18446744073709551615\n", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(parse_uint64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_uint64("-1", &v), -EINVAL);
        assert_int_equal(parse_uint64("", &v), -EINVAL);
}

static void test_files(void **state) {
        char dir[] = "/tmp/test-fileio.XXXXXX";
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        size_t size;
        int fd;

        (void) state;
        assert_non_null(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        /* No O_CREAT: writing a missing knob must fail, not create it. */
        assert_int_equal(write_string_file_at(fd, "knob", "5"), -ENOENT);
        close(openat(fd, "knob", O_CREAT | O_WRONLY, 0644));
        assert_int_equal(write_string_file_at(fd, "knob", "5\n"), 0);
        assert_int_equal(read_u64_file_at(fd, "knob", &v), 0);
        assert_int_equal(v, 5);
        assert_int_equal(read_full_file_at(fd, "knob", 100, &s, &size), 0);
        assert_int_equal(size, 2);
        assert_int_equal(read_full_file_at(fd, "knob", 1, &s, &size), -EFBIG);
        assert_int_equal(read_full_file_at(fd, "missing", 100, &s, &size), -ENOENT);
        /* Real sysfs and procfs files report a size of 0 or 4096. */
        free(s);
        s = NULL;
        assert_int_equal(read_full_file_at(AT_FDCWD, "/proc/self/status", 1 << 20, &s, &size), 0);
        assert_true(size > 100 && strlen(s) == size);
        unlinkat(fd, "knob", 0);
        close(fd);
        rmdir(dir);
}

/* A FIFO (no writer, or no reader) or a device in place of a knob, a /proc
 * file, the config or LOGFILE: refused at once, never a blocking open. */
static void test_not_regular(void **state) {
        char dir[] = "/tmp/test-fileio.XXXXXX";
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int fd;

        (void) state;
        assert_non_null(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(mkfifoat(fd, "fifo", 0600), 0);
        alarm(10);      /* the old code blocked here forever */
        assert_int_equal(read_full_file_at(fd, "fifo", 100, &s, NULL), -EBADFD);
        assert_int_equal(read_u64_file_at(fd, "fifo", &v), -EBADFD);
        /* No reader: a blocking open would wait, O_NONBLOCK gives ENXIO. */
        assert_int_equal(write_string_file_at(fd, "fifo", "1"), -ENXIO);
        assert_int_equal(read_full_file_at(AT_FDCWD, "/dev/zero", 100, &s, NULL), -EBADFD);
        assert_int_equal(write_string_file_at(AT_FDCWD, "/dev/null", "1"), -EBADFD);
        assert_int_equal(read_full_file_at(AT_FDCWD, dir, 100, &s, NULL), -EISDIR);
        assert_string_equal(file_strerror(-EBADFD), "not a regular file");
        assert_string_equal(file_strerror(-ENOENT), strerror(ENOENT));
        alarm(0);
        assert_null(s);
        unlinkat(fd, "fifo", 0);
        close(fd);
        rmdir(dir);
}

/* A configuration file: regular files only, and never a blocking open. */
static void test_regular_file(void **state) {
        char dir[] = "/tmp/test-fileio.XXXXXX", path[64];
        char *s = NULL;
        size_t size = 0;
        FILE *f;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/conf", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite("A=1\0\0B=2\n", 1, 10, f), 10);
        fclose(f);
        /* The size counts the NUL bytes, so a caller can refuse them. */
        assert_int_equal(read_regular_file(path, 100, &s, &size), 0);
        assert_int_equal(size, 10);
        assert_memory_equal(s, "A=1\0\0B=2\n", 11);
        free(s);
        assert_int_equal(read_regular_file(path, 9, &s, &size), -EFBIG);
        /* A FIFO without a writer: a blocking open would hang here. */
        snprintf(path, sizeof(path), "%s/fifo", dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(read_regular_file(path, 100, &s, &size), -EBADFD);
        unlink(path);
        assert_int_equal(read_regular_file(dir, 100, &s, &size), -EISDIR);
        assert_int_equal(read_regular_file("/dev/null", 100, &s, &size), -EBADFD);
        snprintf(path, sizeof(path), "%s/missing", dir);
        assert_int_equal(read_regular_file(path, 100, &s, &size), -ENOENT);
        snprintf(path, sizeof(path), "%s/conf", dir);
        unlink(path);
        rmdir(dir);
}

/* read_file_held(): one pread a read, the fd kept for the next one. */
static void test_read_held(void **state) {
        char dir[] = "/tmp/test-fileio.XXXXXX", buf[16], first[64], again[64];
        int fd, held = -1, kept;

        (void) state;
        assert_non_null(mkdtemp(dir));
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(read_file_held(fd, "v", &held, buf, sizeof(buf)), -ENOENT);
        assert_int_equal(held, -1);
        close(openat(fd, "v", O_CREAT | O_WRONLY, 0644));
        assert_int_equal(write_string_file_at(fd, "v", "12\n"), 0);
        assert_int_equal(read_file_held(fd, "v", &held, buf, sizeof(buf)), 3);
        assert_string_equal(buf, "12\n");
        assert_true(held >= 0);
        kept = held;
        /* Rewritten in place: the kept fd reads the new value. */
        assert_int_equal(write_string_file_at(fd, "v", "345\n"), 0);
        assert_int_equal(read_file_held(fd, "v", &held, buf, sizeof(buf)), 4);
        assert_string_equal(buf, "345\n");
        assert_int_equal(held, kept);
        /* Too long for the buffer. */
        assert_int_equal(write_string_file_at(fd, "v", "0123456789abcdef"), 0);
        assert_int_equal(read_file_held(fd, "v", &held, buf, sizeof(buf)), -EFBIG);
        assert_int_equal(write_string_file_at(fd, "v", "7\n"), 0);
        /* A kept fd that fails (here a directory's) is dropped, the file
         * opened again and kept. */
        close(held);
        held = open(dir, O_RDONLY | O_DIRECTORY);
        assert_int_equal(read_file_held(fd, "v", &held, buf, sizeof(buf)), 2);
        assert_string_equal(buf, "7\n");
        assert_true(held >= 0);
        close(held);
        /* Without a slot: opened and closed, so a replaced file is read. */
        assert_int_equal(read_file_held(fd, "v", NULL, buf, sizeof(buf)), 2);
        assert_false(fd_on_kernel_fs(fd));
        unlinkat(fd, "v", 0);
        close(fd);
        rmdir(dir);

        /* procfs shows its files afresh at each read from offset 0. */
        held = -1;
        fd = open("/proc", O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_true(fd_on_kernel_fs(fd));
        assert_true(read_file_held(fd, "uptime", &held, first, sizeof(first)) > 0);
        kept = held;
        usleep(50 * 1000);      /* uptime counts hundredths of a second */
        assert_true(read_file_held(fd, "uptime", &held, again, sizeof(again)) > 0);
        assert_int_equal(held, kept);
        assert_string_not_equal(first, again);
        close(held);
        close(fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_int64),
                cmocka_unit_test(test_parse_uint64),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_not_regular),
                cmocka_unit_test(test_regular_file),
                cmocka_unit_test(test_read_held),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
