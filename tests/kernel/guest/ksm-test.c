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

/* ---- a target process that never asks for KSM itself ---- */

typedef struct {
	pid_t pid;
	int cmd;	/* parent -> child */
	int reply;	/* child -> parent */
} Target;

enum {
	CMD_PRCTL_GET = 'g',	/* reply: prctl(PR_GET_MEMORY_MERGE) as a byte */
	CMD_EXEC = 'e',		/* execve busybox sleep: a new mm */
	CMD_QUIT = 'q',
};

static void target_main(int cmd, int reply, uid_t uid, unsigned int seed)
{
	volatile unsigned char *mem;
	char c;

	if (uid != 0) {
		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
			_exit(3);
		/* setuid() cleared it: let same-uid processes ptrace us */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	}
	mem = dup_pages_map(NPAGES, NPATTERNS, seed);
	c = 'r';
	if (write(reply, &c, 1) != 1)
		_exit(3);
	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case CMD_PRCTL_GET:
			c = (char)prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0);
			if (write(reply, &c, 1) != 1)
				_exit(3);
			break;
		case CMD_EXEC:
			execl("/bin/busybox", "sleep", "600", (char *)NULL);
			_exit(4);
		default:
			(void)mem[0];
			_exit(0);
		}
	}
	_exit(0);
}

/* Start a target owned by uid; returns 0 once its pages are in place. */
static int target_spawn(Target *t, uid_t uid, unsigned int seed)
{
	int down[2], up[2];
	char c;

	if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0)
		return kt_fail("pipe: %s", strerror(errno));
	t->pid = fork();
	if (t->pid < 0)
		return kt_fail("fork: %s", strerror(errno));
	if (t->pid == 0) {
		close(down[1]);
		close(up[0]);
		target_main(down[0], up[1], uid, seed);
	}
	close(down[0]);
	close(up[1]);
	t->cmd = down[1];
	t->reply = up[0];
	if (read(t->reply, &c, 1) != 1 || c != 'r')
		return kt_fail("target %d did not start", (int)t->pid);
	return 0;
}

/* What the target itself sees through prctl(PR_GET_MEMORY_MERGE). */
static int target_prctl_get(Target *t)
{
	char c = CMD_PRCTL_GET;

	if (write(t->cmd, &c, 1) != 1 || read(t->reply, &c, 1) != 1)
		return -1;
	return c;
}

/* Make the target exit and reap it. */
static void target_stop(Target *t)
{
	char c = CMD_QUIT;

	if (t->pid <= 0)
		return;
	if (write(t->cmd, &c, 1) != 1)
		kill(t->pid, SIGKILL);
	waitpid(t->pid, NULL, 0);
	close(t->cmd);
	close(t->reply);
	t->pid = 0;
}

/* Run fn in a child with credentials reduced by drop(); returns fn's result. */
static int as_child(int (*drop)(void), int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return kt_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int r = drop();

		if (r < 0)
			_exit(200);
		r = fn(arg);
		/* errno values are small: pass them through the exit status */
		_exit(r < 0 ? -r : 0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return kt_fail("helper child %d died", (int)pid);
	if (WEXITSTATUS(status) == 200)
		return kt_fail("helper child could not drop privileges");
	return -WEXITSTATUS(status);
}

static int drop_to_nobody(void)
{
	/* A non-root uid without SECBIT_KEEP_CAPS loses every capability */
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return -errno;
	return 0;
}

static int drop_cap_sys_resource(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	data[CAP_SYS_RESOURCE / 32].effective &= ~(1U << (CAP_SYS_RESOURCE % 32));
	data[CAP_SYS_RESOURCE / 32].permitted &= ~(1U << (CAP_SYS_RESOURCE % 32));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

static int no_drop(void)
{
	return 0;
}

static int set_enable(void *arg)
{
	return ksm_merge_any_set(PROC_DIR, *(pid_t *)arg, 1);
}

static int get_value(void *arg)
{
	int v, r = ksm_merge_any_get(PROC_DIR, *(pid_t *)arg, &v);

	return r < 0 ? r : (v == 0 ? 0 : -EBADE);
}

static int write_fd_one(void *arg)
{
	int fd = *(int *)arg;

	return write(fd, "1", 1) == 1 ? 0 : -errno;
}

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
	int r = ksm_merge_any_supported(PROC_DIR);

	if (r != 1)
		return kt_fail("ksm_merge_any_supported: expected 1 (file present), got %d", r);
	r = ksm_full_scans_notify_supported(KSM_DIR);
	if (r != 1)
		return kt_fail("ksm_full_scans_notify_supported: expected 1, got %d", r);
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

/* The new file enables merging for a process that never asked for it. */
static int test_merge_any_enable(void)
{
	Target t = { 0 };
	long merged;
	int v = -1;

	if (target_spawn(&t, 0, 2) < 0)
		return -1;
	ksm_fast();
	EXPECT_ERR("read before enabling", ksm_merge_any_get(PROC_DIR, t.pid, &v), 0);
	if (v != 0)
		return kt_fail("ksm_merge_any before enabling: expected 0, got %d", v);
	sleep_ms(500);
	merged = proc_pid_number(t.pid, "ksm_merging_pages");
	if (merged != 0)
		return kt_fail("ksm_merging_pages before enabling: expected 0, got %ld", merged);

	EXPECT_ERR("write 1", ksm_merge_any_set(PROC_DIR, t.pid, 1), 0);
	EXPECT_ERR("read after enabling", ksm_merge_any_get(PROC_DIR, t.pid, &v), 0);
	if (v != 1)
		return kt_fail("ksm_merge_any after enabling: expected 1, got %d", v);
	v = target_prctl_get(&t);
	if (v != 1)
		return kt_fail("PR_GET_MEMORY_MERGE in the target: expected 1, got %d", v);
	/* Enabling twice is not an error, as with the prctl */
	EXPECT_ERR("write 1 again", ksm_merge_any_set(PROC_DIR, t.pid, 1), 0);

	merged = wait_merging_pages(t.pid, NPAGES, 1, MERGE_TIMEOUT_MS);
	if (merged < NPAGES)
		return kt_fail("target ksm_merging_pages: expected >= %d within %d ms, got %ld",
			       NPAGES, MERGE_TIMEOUT_MS, merged);
	if (ksm_knob_get("pages_sharing") < NPAGES - NPATTERNS)
		return kt_fail("pages_sharing: expected >= %d, got %lu",
			       NPAGES - NPATTERNS, ksm_knob_get("pages_sharing"));
	target_stop(&t);
	return 0;
}

/* Writing 0 unmerges at once and keeps the process unmerged. */
static int test_merge_any_disable(void)
{
	Target t = { 0 };
	long merged, kib;
	int v = -1;

	if (target_spawn(&t, 0, 3) < 0)
		return -1;
	ksm_fast();
	EXPECT_ERR("write 1", ksm_merge_any_set(PROC_DIR, t.pid, 1), 0);
	merged = wait_merging_pages(t.pid, NPAGES, 1, MERGE_TIMEOUT_MS);
	if (merged < NPAGES)
		return kt_fail("target ksm_merging_pages: expected >= %d, got %ld",
			       NPAGES, merged);

	kib = proc_pid_ksm_kib(t.pid);
	if (kib < (long)(NPAGES * PAGE / 1024))
		return kt_fail("smaps_rollup KSM: expected >= %lu kB, got %ld",
			       NPAGES * PAGE / 1024, kib);

	EXPECT_ERR("write 0", ksm_merge_any_set(PROC_DIR, t.pid, 0), 0);
	/* Unmerging is synchronous: no KSM page mapped once write() returned */
	kib = proc_pid_ksm_kib(t.pid);
	if (kib != 0)
		return kt_fail("smaps_rollup KSM right after writing 0: expected 0 kB, got %ld",
			       kib);
	EXPECT_ERR("read after disabling", ksm_merge_any_get(PROC_DIR, t.pid, &v), 0);
	if (v != 0)
		return kt_fail("ksm_merge_any after disabling: expected 0, got %d", v);
	v = target_prctl_get(&t);
	if (v != 0)
		return kt_fail("PR_GET_MEMORY_MERGE in the target: expected 0, got %d", v);
	/* ksmd drops its own count on its next pass, and merges nothing again */
	merged = wait_merging_pages(t.pid, 0, 0, MERGE_TIMEOUT_MS);
	if (merged != 0)
		return kt_fail("ksm_merging_pages after writing 0: expected 0 within %d ms, got %ld",
			       MERGE_TIMEOUT_MS, merged);
	sleep_ms(1000);
	merged = proc_pid_number(t.pid, "ksm_merging_pages");
	kib = proc_pid_ksm_kib(t.pid);
	if (merged != 0 || kib != 0)
		return kt_fail("1 s later: expected nothing merged, got ksm_merging_pages %ld, KSM %ld kB",
			       merged, kib);
	target_stop(&t);
	return 0;
}

/* Same uid, ptrace would be allowed, but no CAP_SYS_RESOURCE: EPERM. */
static int test_eperm_unprivileged(void)
{
	Target t = { 0 };

	if (target_spawn(&t, NOBODY, 4) < 0)
		return -1;
	EXPECT_ERR("uid 65534 writing to its own uid's process",
		   as_child(drop_to_nobody, set_enable, &t.pid), -EPERM);
	/* Reading needs only ptrace-read rights, which it has */
	EXPECT_ERR("uid 65534 reading its own uid's process",
		   as_child(drop_to_nobody, get_value, &t.pid), 0);
	target_stop(&t);
	return 0;
}

/* Root, but without CAP_SYS_RESOURCE: EPERM. */
static int test_eperm_no_cap(void)
{
	Target t = { 0 };

	if (target_spawn(&t, 0, 5) < 0)
		return -1;
	EXPECT_ERR("root without CAP_SYS_RESOURCE",
		   as_child(drop_cap_sys_resource, set_enable, &t.pid), -EPERM);
	EXPECT_ERR("root with CAP_SYS_RESOURCE", as_child(no_drop, set_enable, &t.pid), 0);
	target_stop(&t);
	return 0;
}

/* Another user's process: the file mode refuses before our checks run. */
static int test_eacces_other_owner(void)
{
	Target t = { 0 };

	if (target_spawn(&t, 0, 6) < 0)
		return -1;
	EXPECT_ERR("uid 65534 writing to root's process",
		   as_child(drop_to_nobody, set_enable, &t.pid), -EACCES);
	target_stop(&t);
	return 0;
}

/* The checks use the opener's credentials: a privileged fd keeps working. */
static int test_creds_at_open(void)
{
	char path[64];
	Target t = { 0 };
	int fd, v = -1;

	if (target_spawn(&t, 0, 7) < 0)
		return -1;
	snprintf(path, sizeof(path), PROC_DIR "/%d/ksm_merge_any", (int)t.pid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return kt_fail("open %s: %s", path, strerror(errno));
	EXPECT_ERR("uid 65534 writing through root's fd",
		   as_child(drop_to_nobody, write_fd_one, &fd), 0);
	close(fd);
	EXPECT_ERR("read", ksm_merge_any_get(PROC_DIR, t.pid, &v), 0);
	if (v != 1)
		return kt_fail("ksm_merge_any: expected 1, got %d", v);
	target_stop(&t);
	return 0;
}

/* A file opened while the process lived: ESRCH once it is reaped. */
static int test_esrch_exited(void)
{
	char path[64], buf[8];
	Target t = { 0 };
	pid_t pid;
	int wfd, rfd, v;

	if (target_spawn(&t, 0, 8) < 0)
		return -1;
	pid = t.pid;
	snprintf(path, sizeof(path), PROC_DIR "/%d/ksm_merge_any", (int)pid);
	wfd = open(path, O_WRONLY);
	rfd = open(path, O_RDONLY);
	if (wfd < 0 || rfd < 0)
		return kt_fail("open %s: %s", path, strerror(errno));
	target_stop(&t);	/* exits and is reaped */

	errno = 0;
	if (write(wfd, "1", 1) != -1 || errno != ESRCH)
		return kt_fail("write after exit: expected ESRCH, got %s",
			       errno ? strerror(errno) : "success");
	errno = 0;
	if (read(rfd, buf, sizeof(buf)) != -1 || errno != ESRCH)
		return kt_fail("read after exit: expected ESRCH, got %s",
			       errno ? strerror(errno) : "success");
	close(wfd);
	close(rfd);
	EXPECT_ERR("helper set on a reaped pid", ksm_merge_any_set(PROC_DIR, pid, 1), -ESRCH);
	EXPECT_ERR("helper get on a reaped pid", ksm_merge_any_get(PROC_DIR, pid, &v), -ESRCH);
	return 0;
}

/* A kernel thread has no mm. */
static int test_esrch_kthread(void)
{
	char comm[32] = "";
	FILE *f = fopen(PROC_DIR "/2/comm", "r");

	if (!f || !fgets(comm, sizeof(comm), f) || strcmp(comm, "kthreadd\n") != 0)
		return kt_fail("pid 2 is not kthreadd (comm '%s')", comm);
	fclose(f);
	EXPECT_ERR("writing to kthreadd", ksm_merge_any_set(PROC_DIR, 2, 1), -ESRCH);
	return 0;
}

/* A file opened before execve() does not reach the new program's mm. */
static int test_esrch_after_exec(void)
{
	char path[64], comm[32] = "", c = CMD_EXEC;
	Target t = { 0 };
	int64_t deadline;
	int fd, v = -1;

	if (target_spawn(&t, 0, 9) < 0)
		return -1;
	snprintf(path, sizeof(path), PROC_DIR "/%d/ksm_merge_any", (int)t.pid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return kt_fail("open %s: %s", path, strerror(errno));
	if (write(t.cmd, &c, 1) != 1)
		return kt_fail("cannot ask target to exec");
	snprintf(path, sizeof(path), PROC_DIR "/%d/comm", (int)t.pid);
	for (deadline = now_ms() + 10000; now_ms() < deadline; sleep_ms(20)) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		if (strcmp(comm, "busybox\n") == 0)
			break;
	}
	if (strcmp(comm, "busybox\n") != 0)
		return kt_fail("target did not exec busybox (comm '%s')", comm);

	errno = 0;
	if (write(fd, "1", 1) != -1 || errno != ESRCH)
		return kt_fail("write through a pre-exec fd: expected ESRCH, got %s",
			       errno ? strerror(errno) : "success");
	close(fd);
	EXPECT_ERR("write through a fresh fd", ksm_merge_any_set(PROC_DIR, t.pid, 1), 0);
	EXPECT_ERR("read", ksm_merge_any_get(PROC_DIR, t.pid, &v), 0);
	if (v != 1)
		return kt_fail("ksm_merge_any of the new program: expected 1, got %d", v);
	kill(t.pid, SIGKILL);
	waitpid(t.pid, NULL, 0);
	return 0;
}

static int test_einval(void)
{
	static const char *const bad[] = { "2", "x", "2\n", "-1", "1x", "01x", "10", " " };
	char path[64];
	Target t = { 0 };
	int fd, v = -1;

	if (target_spawn(&t, 0, 10) < 0)
		return -1;
	snprintf(path, sizeof(path), PROC_DIR "/%d/ksm_merge_any", (int)t.pid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return kt_fail("open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (write(fd, bad[i], strlen(bad[i])) != -1 || errno != EINVAL)
			return kt_fail("writing \"%s\": expected EINVAL, got %s", bad[i],
				       errno ? strerror(errno) : "success");
	}
	close(fd);
	EXPECT_ERR("read", ksm_merge_any_get(PROC_DIR, t.pid, &v), 0);
	if (v != 0)
		return kt_fail("ksm_merge_any after bad writes: expected 0, got %d", v);
	EXPECT_ERR("helper with enable=2", ksm_merge_any_set(PROC_DIR, t.pid, 2), -EINVAL);
	target_stop(&t);
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
	{ "merge-any-enable", test_merge_any_enable },
	{ "merge-any-disable-unmerges", test_merge_any_disable },
	{ "merge-any-eperm-unprivileged", test_eperm_unprivileged },
	{ "merge-any-eperm-no-cap", test_eperm_no_cap },
	{ "merge-any-eacces-other-owner", test_eacces_other_owner },
	{ "merge-any-creds-at-open", test_creds_at_open },
	{ "merge-any-esrch-exited", test_esrch_exited },
	{ "merge-any-esrch-kthread", test_esrch_kthread },
	{ "merge-any-esrch-after-exec", test_esrch_after_exec },
	{ "merge-any-einval", test_einval },
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
