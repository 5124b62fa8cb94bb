/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest tests for the kernel-patches series, run as root by the guest's
 * /init.  Each test runs in its own child process (a crash or a hang fails
 * that test only) and prints one line:
 *
 *   KTEST PASS <name>
 *   KTEST FAIL <name>: <what was expected, what came>
 *
 * Usage: ksm-test [name...]   (no name: all tests, in order)
 * Exit status: 0 if every test passed, 1 otherwise, 2 when not started in
 * the test VM (ktest.run=1 on the kernel command line).
 */
#define _GNU_SOURCE

#include "ktest.h"
#include "ksm-merge-any.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534
/* Pages per test process and distinct contents among them */
#define NPAGES 1024
#define NPATTERNS 8
/* TCG is slow, and lockdep slows it further: generous, but bounded */
#define MERGE_TIMEOUT_MS 60000
#define TEST_TIMEOUT_S 180

static void ksm_fast(void)
{
	ksm_knob_set("pages_to_scan", 5000);
	ksm_knob_set("sleep_millisecs", 10);
	ksm_knob_set("run", 1);
}

static const char *errname(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "success";
	case -EPERM: return "EPERM";
	case -EACCES: return "EACCES";
	case -ESRCH: return "ESRCH";
	case -EINVAL: return "EINVAL";
	case -ENOENT: return "ENOENT";
	case -EINTR: return "EINTR";
	case -ENOMEM: return "ENOMEM";
	case -EBADMSG: return "EBADMSG";
	default:
		snprintf(buf, sizeof(buf), "errno %d", -err);
		return buf;
	}
}

#define EXPECT_ERR(what, got, want) do {					\
	int got_ = (got);							\
	if (got_ != (want))							\
		return kt_fail("%s: expected %s, got %s", what, errname(want),	\
			       errname(got_));					\
} while (0)

/* ---- the tests ---- */

static int test_features(void)
{
	int r = ksm_merge_any_supported();

	if (r != 1)
		return kt_fail("ksm_merge_any_supported: expected 1 (process_madvise(MADV_MERGE_ANY)), got %d", r);
	/* v2 has no flag file: the notification is detected by its arrival */
	if (access(KSM_DIR "/full_scans_notify", F_OK) == 0)
		return kt_fail("%s/full_scans_notify exists: expected no flag file", KSM_DIR);
	return 0;
}

/* Regression: MADV_MERGEABLE still merges. */
static int test_madvise_merges(void)
{
	void *p = dup_pages_map(NPAGES, NPATTERNS, 1);
	long merged;
	unsigned long sharing;

	if (madvise(p, NPAGES * PAGE, MADV_MERGEABLE) < 0)
		return kt_fail("madvise(MADV_MERGEABLE): %s", strerror(errno));
	ksm_fast();
	merged = wait_merging_pages(getpid(), NPAGES, 1, MERGE_TIMEOUT_MS);
	if (merged < NPAGES)
		return kt_fail("ksm_merging_pages: expected >= %d within %d ms, got %ld",
			       NPAGES, MERGE_TIMEOUT_MS, merged);
	sharing = ksm_knob_get("pages_sharing");
	if (sharing < NPAGES - NPATTERNS)
		return kt_fail("pages_sharing: expected >= %d, got %lu",
			       NPAGES - NPATTERNS, sharing);
	return 0;
}

/*
 * The daemon's path: a pidfd checked against the start time, then
 * MADV_MERGE_ANY, for a process that never asked; a stale start time (a
 * reused pid) is refused before anything is done.
 */
static int test_merge_any_helper(void)
{
	char path[64], text[1024];
	uint64_t started = 0;
	long merged;
	ssize_t n;
	int fd, pidfd;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return kt_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		dup_pages_map(NPAGES, NPATTERNS, 3);
		for (;;)
			pause();
	}
	ksm_fast();
	sleep_ms(300);
	snprintf(path, sizeof(path), PROC_DIR "/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return kt_fail("read %s: %s", path, strerror(errno));
	text[n] = '\0';
	EXPECT_ERR("start time", ksm_stat_start_tics_parse(text, &started), 0);
	EXPECT_ERR("pidfd with a stale start time", ksm_pidfd_open(PROC_DIR, pid, started + 1), -ESRCH);
	pidfd = ksm_pidfd_open(PROC_DIR, pid, started);
	if (pidfd < 0)
		return kt_fail("ksm_pidfd_open: %s", errname(pidfd));
	if (proc_pid_number(pid, "ksm_merging_pages") != 0)
		return kt_fail("merged before MADV_MERGE_ANY");
	EXPECT_ERR("enable", ksm_merge_any_set(pidfd, 1), 0);
	merged = wait_merging_pages(pid, NPAGES / 2, 1, MERGE_TIMEOUT_MS);
	if (merged < NPAGES / 2)
		return kt_fail("ksm_merging_pages: expected >= %d within %d ms, got %ld",
			       NPAGES / 2, MERGE_TIMEOUT_MS, merged);
	EXPECT_ERR("disable", ksm_merge_any_set(pidfd, 0), 0);
	if (proc_pid_ksm_kib(pid) != 0)
		return kt_fail("KSM memory after disabling: %ld kB", proc_pid_ksm_kib(pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_ERR("enable after exit", ksm_merge_any_set(pidfd, 1), -ESRCH);
	close(pidfd);
	return 0;
}

/* Something for ksmd to scan, so that only `run` decides whether it does. */
static void *register_mergeable(unsigned int seed)
{
	void *p = dup_pages_map(256, 4, seed);

	if (madvise(p, 256 * PAGE, MADV_MERGEABLE) < 0) {
		perror("ktest: madvise");
		exit(2);
	}
	return p;
}

/* run=0: no scan completes, so poll() must time out. */
static int test_poll_quiet_when_stopped(void)
{
	uint64_t before = 0, after = 0, seen = 12345;
	int fd, r;

	register_mergeable(11);
	ksm_knob_set("sleep_millisecs", 10);
	ksm_knob_set("run", 0);
	/* ksmd notifies after dropping its mutex: let a last one land */
	sleep_ms(200);
	fd = ksm_full_scans_open(KSM_DIR);
	if (fd < 0)
		return kt_fail("open full_scans: %s", errname(fd));
	EXPECT_ERR("read", ksm_full_scans_read(fd, &before), 0);
	r = ksm_full_scans_wait(fd, 2000, &seen);
	if (r != 0)
		return kt_fail("poll with run=0: expected a 2 s timeout, got %d (counter %llu)",
			       r, (unsigned long long)seen);
	EXPECT_ERR("read", ksm_full_scans_read(fd, &after), 0);
	if (after != before)
		return kt_fail("full_scans moved with run=0: %llu -> %llu",
			       (unsigned long long)before, (unsigned long long)after);
	close(fd);
	return 0;
}

/* run=1: each wake-up comes with a larger counter, and not before a scan. */
static int test_poll_wakes_per_scan(void)
{
	uint64_t prev = 0, now = 0;
	struct pollfd pfd;
	fd_set except;
	struct timeval tv = { 30, 0 };
	int fd, r;

	register_mergeable(12);
	ksm_knob_set("run", 0);
	ksm_knob_set("pages_to_scan", 5000);
	ksm_knob_set("sleep_millisecs", 200);
	sleep_ms(200);	/* as above */
	fd = ksm_full_scans_open(KSM_DIR);
	if (fd < 0)
		return kt_fail("open full_scans: %s", errname(fd));
	EXPECT_ERR("read", ksm_full_scans_read(fd, &prev), 0);
	ksm_knob_set("run", 1);

	for (int i = 0; i < 3; i++) {
		int64_t t0 = now_ms();

		r = ksm_full_scans_wait(fd, 30000, &now);
		if (r != 1)
			return kt_fail("poll %d: expected a wake-up within 30 s, got %d", i, r);
		if (now <= prev)
			return kt_fail("poll %d woke but full_scans did not grow: %llu -> %llu",
				       i, (unsigned long long)prev, (unsigned long long)now);
		/* Just re-armed; the next scan is ~200 ms away */
		pfd = (struct pollfd){ .fd = fd, .events = POLLPRI };
		r = poll(&pfd, 1, 0);
		if (r != 0)
			return kt_fail("poll right after re-reading: expected nothing pending, got revents %#x (after %lld ms)",
				       pfd.revents, (long long)(now_ms() - t0));
		prev = now;
	}

	/* select() sees the same thing as an exceptional condition */
	FD_ZERO(&except);
	FD_SET(fd, &except);
	r = select(fd + 1, NULL, NULL, &except, &tv);
	if (r != 1 || !FD_ISSET(fd, &except))
		return kt_fail("select: expected fd in exceptfds within 30 s, got %d", r);
	EXPECT_ERR("read after select", ksm_full_scans_read(fd, &now), 0);
	if (now <= prev)
		return kt_fail("select woke but full_scans did not grow: %llu -> %llu",
			       (unsigned long long)prev, (unsigned long long)now);
	close(fd);
	return 0;
}

/* run=2 resets the counter to 0, and says so. */
static int test_poll_run2_resets(void)
{
	uint64_t v = 0;
	int fd, r;

	register_mergeable(13);
	ksm_fast();
	fd = ksm_full_scans_open(KSM_DIR);
	if (fd < 0)
		return kt_fail("open full_scans: %s", errname(fd));
	/* Make sure the counter is not already 0 */
	r = ksm_full_scans_wait(fd, 30000, &v);
	if (r != 1 || v == 0)
		return kt_fail("no full scan within 30 s (%d, %llu)", r, (unsigned long long)v);
	ksm_knob_set("run", 2);
	r = ksm_full_scans_wait(fd, 5000, &v);
	if (r != 1)
		return kt_fail("run=2: expected a wake-up, got %d", r);
	if (v != 0)
		return kt_fail("run=2: expected full_scans 0, got %llu", (unsigned long long)v);
	ksm_knob_set("run", 0);
	close(fd);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	{ "features", test_features },
	{ "madvise-merges", test_madvise_merges },
	{ "merge-any-helper", test_merge_any_helper },
	{ "full-scans-poll-quiet-when-stopped", test_poll_quiet_when_stopped },
	{ "full-scans-poll-wakes-per-scan", test_poll_wakes_per_scan },
	{ "full-scans-poll-run2-resets", test_poll_run2_resets },
};

/* Run one test in a child; print its KTEST line. Returns 0 if it passed. */
static int run_one(const char *name, int (*fn)(void))
{
	char msg[600] = "";
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		printf("KTEST FAIL %s: pipe: %s\n", name, strerror(errno));
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		const char *why;
		int r;

		close(p[0]);
		/* The child and its targets form one process group */
		setpgid(0, 0);
		alarm(TEST_TIMEOUT_S);
		kt_begin();
		r = fn();
		why = kt_failure();
		if (r < 0 && !why)
			why = "failed without a reason";
		if (why && write(p[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(why ? 1 : 0);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	/* Clean up targets the test left behind when it failed */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;

	if (WIFSIGNALED(status)) {
		printf("KTEST FAIL %s: killed by signal %d%s\n", name, WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timed out)" : "");
		return -1;
	}
	if (WEXITSTATUS(status) != 0 || msg[0]) {
		printf("KTEST FAIL %s: %s\n", name,
		       msg[0] ? msg : "exited with an error before a result");
		return -1;
	}
	printf("KTEST PASS %s\n", name);
	return 0;
}

/* Only in the test VM: these tests rewrite the global KSM settings. */
static int in_test_vm(void)
{
	char cmdline[4096] = "";
	FILE *f = fopen(PROC_DIR "/cmdline", "re");

	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = '\0';
		fclose(f);
	}
	return strstr(cmdline, "ktest.run=1") != NULL;
}

int main(int argc, char **argv)
{
	int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!in_test_vm()) {
		fprintf(stderr, "ksm-test: not in the test VM (no ktest.run=1 on the kernel command line): refusing to touch KSM\n");
		return 2;
	}
	for (int a = 1; a < argc; a++) {
		size_t i;

		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			if (strcmp(argv[a], tests[i].name) == 0)
				break;
		if (i == sizeof(tests) / sizeof(tests[0])) {
			printf("KTEST FAIL %s: no such test\n", argv[a]);
			failed = 1;
		}
	}
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int selected = argc < 2;

		for (int a = 1; a < argc; a++)
			selected |= strcmp(argv[a], tests[i].name) == 0;
		if (selected && run_one(tests[i].name, tests[i].fn) < 0)
			failed = 1;
	}
	return failed;
}
