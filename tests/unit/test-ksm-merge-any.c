/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for src/shared/ksm-merge-any.c against a fixture tree of plain
 * files made in a temporary directory.  The kernel side (permissions, poll
 * wake-ups) is tested in the guest by tests/kernel/.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixture.h"

#include "ksm-merge-any.h"

typedef struct {
	char root[1024];	/* short enough for every path below to fit */
	char proc[PATH_MAX];
	char ksm[PATH_MAX];
} Fixture;

static void make_dir(const char *root, const char *rel)
{
	char path[PATH_MAX];

	assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path));
	assert_int_equal(mkdir(path, 0755), 0);
}

static void get_file(const char *root, const char *rel, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void remove_tree(const char *path)
{
	char cmd[PATH_MAX + 16];

	/* Only ever a directory made by mkdtemp() below. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/*
 * proc/self/ksm_merge_any         "0\n"   (feature present)
 * proc/100/ksm_merge_any          "1\n"
 * proc/101/ksm_merge_any          "0\n"
 * proc/102/ksm_merge_any          garbage rows, rewritten per test
 * proc/103/                       process without the file (old kernel)
 * (no proc/104)                   process gone
 * ksm/full_scans                  counter
 * ksm/full_scans_notify           "1\n"
 */
static int setup(void **state)
{
	Fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	if (!fx)
		return -1;
	snprintf(fx->root, sizeof(fx->root), "%s/test-ksm-merge-any.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx->root)) {
		free(fx);
		return -1;
	}
	snprintf(fx->proc, sizeof(fx->proc), "%s/proc", fx->root);
	snprintf(fx->ksm, sizeof(fx->ksm), "%s/ksm", fx->root);
	make_dir(fx->root, "proc");
	make_dir(fx->root, "proc/self");
	make_dir(fx->root, "proc/100");
	make_dir(fx->root, "proc/101");
	make_dir(fx->root, "proc/102");
	make_dir(fx->root, "proc/103");
	make_dir(fx->root, "ksm");
	fixture_put(fx->root, "proc/self/ksm_merge_any", "0\n");
	fixture_put(fx->root, "proc/100/ksm_merge_any", "1\n");
	fixture_put(fx->root, "proc/101/ksm_merge_any", "0\n");
	fixture_put(fx->root, "proc/102/ksm_merge_any", "x\n");
	fixture_put(fx->root, "ksm/full_scans", "42\n");
	fixture_put(fx->root, "ksm/full_scans_notify", "1\n");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	Fixture *fx = *state;

	remove_tree(fx->root);
	free(fx);
	return 0;
}

static void test_supported(void **state)
{
	Fixture *fx = *state;
	char path[PATH_MAX];

	assert_int_equal(ksm_merge_any_supported(fx->proc), 1);
	snprintf(path, sizeof(path), "%s/ksm", fx->root);   /* no self/ in it */
	assert_int_equal(ksm_merge_any_supported(path), 0);
	snprintf(path, sizeof(path), "%s/nonexistent", fx->root);
	assert_int_equal(ksm_merge_any_supported(path), 0);
}

static void test_get(void **state)
{
	static const struct {
		pid_t pid;
		int ret;
		int value;
	} rows[] = {
		{ 100, 0, 1 },
		{ 101, 0, 0 },
		{ 102, -EBADMSG, -1 },	/* "x\n" */
		{ 103, -ENOENT, -1 },	/* kernel without the file */
		{ 104, -ESRCH, -1 },	/* process gone */
		{ 0, -EINVAL, -1 },
		{ -5, -EINVAL, -1 },
	};
	Fixture *fx = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int v = -1;
		int r = ksm_merge_any_get(fx->proc, rows[i].pid, &v);

		if (r != rows[i].ret || v != rows[i].value)
			fail_msg("pid %d: expected %d/%d, got %d/%d", (int)rows[i].pid,
				 rows[i].ret, rows[i].value, r, v);
	}
}

static void test_get_content(void **state)
{
	static const struct {
		const char *content;
		int ret;
		int value;
	} rows[] = {
		{ "0\n", 0, 0 },
		{ "1\n", 0, 1 },
		{ "1", 0, 1 },
		{ "0", 0, 0 },
		{ "", -EBADMSG, -1 },
		{ "\n", -EBADMSG, -1 },
		{ "2\n", -EBADMSG, -1 },
		{ "10\n", -EBADMSG, -1 },
		{ "1\n\n", -EBADMSG, -1 },
		{ " 1\n", -EBADMSG, -1 },
		{ "1 \n", -EBADMSG, -1 },
	};
	Fixture *fx = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int v = -1;
		int r;

		fixture_put(fx->root, "proc/102/ksm_merge_any", rows[i].content);
		r = ksm_merge_any_get(fx->proc, 102, &v);
		if (r != rows[i].ret || v != rows[i].value)
			fail_msg("content \"%s\": expected %d/%d, got %d/%d", rows[i].content,
				 rows[i].ret, rows[i].value, r, v);
	}
}

static void test_set(void **state)
{
	Fixture *fx = *state;
	char buf[16];
	int v = -1;

	assert_int_equal(ksm_merge_any_set(fx->proc, 101, 1), 0);
	get_file(fx->root, "proc/101/ksm_merge_any", buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	assert_int_equal(ksm_merge_any_get(fx->proc, 101, &v), 0);
	assert_int_equal(v, 1);

	assert_int_equal(ksm_merge_any_set(fx->proc, 101, 0), 0);
	get_file(fx->root, "proc/101/ksm_merge_any", buf, sizeof(buf));
	assert_string_equal(buf, "0\n");

	/* Bad arguments never reach the file */
	assert_int_equal(ksm_merge_any_set(fx->proc, 101, 2), -EINVAL);
	assert_int_equal(ksm_merge_any_set(fx->proc, 101, -1), -EINVAL);
	get_file(fx->root, "proc/101/ksm_merge_any", buf, sizeof(buf));
	assert_string_equal(buf, "0\n");

	assert_int_equal(ksm_merge_any_set(fx->proc, 103, 1), -ENOENT);
	assert_int_equal(ksm_merge_any_set(fx->proc, 104, 1), -ESRCH);
	assert_int_equal(ksm_merge_any_set(fx->proc, 0, 1), -EINVAL);
}

static void test_set_not_writable(void **state)
{
	Fixture *fx = *state;
	char path[PATH_MAX];

	/* root ignores file modes: only meaningful unprivileged */
	if (geteuid() == 0)
		return;
	snprintf(path, sizeof(path), "%s/proc/100/ksm_merge_any", fx->root);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(ksm_merge_any_set(fx->proc, 100, 0), -EACCES);
	assert_int_equal(chmod(path, 0600), 0);
}

static void test_long_path(void **state)
{
	char dir[PATH_MAX + 8];
	int v;

	(void)state;
	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_int_equal(ksm_merge_any_get(dir, 1, &v), -ENAMETOOLONG);
	assert_int_equal(ksm_merge_any_set(dir, 1, 1), -ENAMETOOLONG);
	assert_int_equal(ksm_merge_any_supported(dir), -ENAMETOOLONG);
	assert_int_equal(ksm_full_scans_open(dir), -ENAMETOOLONG);
}

static void test_notify_supported(void **state)
{
	static const struct {
		const char *content;	/* NULL: file missing */
		int ret;
	} rows[] = {
		{ "1\n", 1 },
		{ "0\n", 0 },
		{ NULL, 0 },
		{ "yes\n", -EBADMSG },
		{ "", -EBADMSG },
	};
	Fixture *fx = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/ksm/full_scans_notify", fx->root);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r;

		if (rows[i].content)
			fixture_put(fx->root, "ksm/full_scans_notify", rows[i].content);
		else
			unlink(path);
		r = ksm_full_scans_notify_supported(fx->ksm);
		if (r != rows[i].ret)
			fail_msg("full_scans_notify \"%s\": expected %d, got %d",
				 rows[i].content ? rows[i].content : "(missing)",
				 rows[i].ret, r);
	}
}

static void test_full_scans_read(void **state)
{
	static const struct {
		const char *content;
		int ret;
		uint64_t value;
	} rows[] = {
		{ "0\n", 0, 0 },
		{ "42\n", 0, 42 },
		{ "42", 0, 42 },
		{ "18446744073709551615\n", 0, UINT64_MAX },
		{ "18446744073709551616\n", -ERANGE, 7 },
		{ "99999999999999999999999\n", -ERANGE, 7 },
		{ "", -EBADMSG, 7 },
		{ "-1\n", -EBADMSG, 7 },
		{ "12a\n", -EBADMSG, 7 },
		{ "12\n\n", -EBADMSG, 7 },
		{ " 12\n", -EBADMSG, 7 },
	};
	Fixture *fx = *state;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = 7;
		int fd, r;

		fixture_put(fx->root, "ksm/full_scans", rows[i].content);
		fd = ksm_full_scans_open(fx->ksm);
		if (rows[i].ret < 0) {
			/* open reads once, so bad content already fails there */
			if (fd != rows[i].ret)
				fail_msg("open with \"%s\": expected %d, got %d",
					 rows[i].content, rows[i].ret, fd);
			continue;
		}
		assert_true(fd >= 0);
		r = ksm_full_scans_read(fd, &v);
		if (r != rows[i].ret || v != rows[i].value)
			fail_msg("\"%s\": expected %d/%llu, got %d/%llu", rows[i].content,
				 rows[i].ret, (unsigned long long)rows[i].value, r,
				 (unsigned long long)v);
		close(fd);
	}
}

static void test_full_scans_reread(void **state)
{
	Fixture *fx = *state;
	uint64_t v = 0;
	int fd;

	fixture_put(fx->root, "ksm/full_scans", "5\n");
	fd = ksm_full_scans_open(fx->ksm);
	assert_true(fd >= 0);
	/* A changed value is seen on the same fd: pread from offset 0 */
	fixture_put(fx->root, "ksm/full_scans", "6\n");
	assert_int_equal(ksm_full_scans_read(fd, &v), 0);
	assert_int_equal(v, 6);
	assert_int_equal(ksm_full_scans_read(fd, &v), 0);
	assert_int_equal(v, 6);
	/* A regular file never reports POLLPRI: the wait times out */
	v = 9;
	assert_int_equal(ksm_full_scans_wait(fd, 10, &v), 0);
	assert_int_equal(v, 9);
	close(fd);
	assert_int_equal(ksm_full_scans_read(fd, &v), -EBADF);
}

static void test_full_scans_missing(void **state)
{
	Fixture *fx = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/nonexistent", fx->root);
	assert_int_equal(ksm_full_scans_open(path), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_supported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_not_writable, setup, teardown),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test_setup_teardown(test_notify_supported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_scans_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_scans_reread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_scans_missing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
