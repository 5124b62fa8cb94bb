/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for src/shared/ksm-merge-any.c: start-time checked pidfds on
 * real child processes, full_scans against a fixture tree of plain files.
 * The kernel side (permissions, poll wake-ups) is tested in the guest by
 * tests/kernel/.
 */

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
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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

static void remove_tree(const char *path)
{
	char cmd[PATH_MAX + 16];

	/* Only ever a directory made by mkdtemp() below. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* ksm/full_scans: the counter */
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
	make_dir(fx->root, "ksm");
	fixture_put(fx->root, "ksm/full_scans", "42\n");
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

static void test_start_tics_parse(void **state)
{
	static const struct {
		const char *text;
		int ret;
		uint64_t value;
	} rows[] = {
		{ "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 3 0 98765 1000 200 1\n",
		  0, 98765 },
		/* comm with spaces and parentheses: the last ')' ends it */
		{ "7 (a) b) c) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 1 1\n", 0, 42 },
		{ "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551615 1\n", 0, UINT64_MAX },
		{ "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616 1\n", -EBADMSG, 5 },
		{ "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n", -EBADMSG, 5 },	/* too short */
		{ "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -4 1\n", -EBADMSG, 5 },
		{ "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4x 1\n", -EBADMSG, 5 },
		{ "7 x R 1 7 7", -EBADMSG, 5 },						/* no comm */
		{ "", -EBADMSG, 5 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = 5;
		int r = ksm_stat_start_tics_parse(rows[i].text, &v);

		if (r != rows[i].ret || v != rows[i].value)
			fail_msg("row %zu: expected %d/%llu, got %d/%llu", i, rows[i].ret,
				 (unsigned long long)rows[i].value, r, (unsigned long long)v);
	}
}

static uint64_t start_tics_of(pid_t pid)
{
	char path[64], text[1024];
	uint64_t v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	assert_true(n > 0);
	text[n] = '\0';
	close(fd);
	assert_int_equal(ksm_stat_start_tics_parse(text, &v), 0);
	return v;
}

/* A pidfd names the scanned process only: same pid and start time. */
static void test_pidfd_open(void **state)
{
	uint64_t started;
	int fd, status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	started = start_tics_of(pid);
	fd = ksm_pidfd_open("/proc", pid, started);
	assert_true(fd >= 0);
	close(fd);
	/* Another start time: the pid was reused since the scan */
	assert_int_equal(ksm_pidfd_open("/proc", pid, started + 1), -ESRCH);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* Reaped: gone */
	assert_int_equal(ksm_pidfd_open("/proc", pid, started), -ESRCH);
	assert_int_equal(ksm_pidfd_open("/proc", 0, started), -EINVAL);
	assert_int_equal(ksm_pidfd_open("/proc", -1, started), -EINVAL);
}

static void test_set(void **state)
{
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0), r;

	(void)state;
	assert_true(self >= 0);
	assert_int_equal(ksm_merge_any_set(self, 2), -EINVAL);
	assert_int_equal(ksm_merge_any_set(self, -1), -EINVAL);
	/* A kernel without the interface says EINVAL; one with it takes a
	 * no-op on the caller's own mm (merge-any is off here) */
	r = ksm_merge_any_supported();
	assert_true(r == 0 || r == 1);
	assert_int_equal(ksm_merge_any_set(self, 0), r == 1 ? 0 : -EINVAL);
	close(self);
	assert_int_equal(ksm_merge_any_set(self, 0), -EBADF);
}

static void test_long_path(void **state)
{
	char dir[PATH_MAX + 8];

	(void)state;
	memset(dir, 'a', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_int_equal(ksm_pidfd_open(dir, getpid(), 1), -ENAMETOOLONG);
	assert_int_equal(ksm_full_scans_open(dir), -ENAMETOOLONG);
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
		cmocka_unit_test(test_start_tics_parse),
		cmocka_unit_test(test_pidfd_open),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test_setup_teardown(test_full_scans_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_scans_reread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_scans_missing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
