/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE

#include "ktest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static char failure[512];

int kt_fail(const char *fmt, ...)
{
	va_list ap;

	if (failure[0])
		return -1;	/* keep the first, it is the cause */
	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
	return -1;
}

const char *kt_failure(void)
{
	return failure[0] ? failure : NULL;
}

void kt_begin(void)
{
	failure[0] = '\0';
}

static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

void ksm_knob_set(const char *name, unsigned long value)
{
	char path[256], buf[32];
	int fd, len;

	snprintf(path, sizeof(path), KSM_DIR "/%s", name);
	len = snprintf(buf, sizeof(buf), "%lu", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)len) != len) {
		fprintf(stderr, "ktest: cannot write %s to %s: %s\n", buf, path,
			strerror(errno));
		exit(2);
	}
	close(fd);
}

unsigned long ksm_knob_get(const char *name)
{
	char path[256], buf[64];
	int r;

	snprintf(path, sizeof(path), KSM_DIR "/%s", name);
	r = read_text(path, buf, sizeof(buf));
	if (r < 0) {
		fprintf(stderr, "ktest: cannot read %s: %s\n", path, strerror(-r));
		exit(2);
	}
	return strtoul(buf, NULL, 10);
}

long proc_pid_number(pid_t pid, const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), PROC_DIR "/%ld/%s", (long)pid, name);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

long proc_pid_ksm_kib(pid_t pid)
{
	char path[256], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), PROC_DIR "/%ld/smaps_rollup", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "KSM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

void *dup_pages_map(size_t npages, unsigned int patterns, unsigned int seed)
{
	unsigned char *p;

	p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("ktest: mmap");
		exit(2);
	}
	for (size_t i = 0; i < npages; i++) {
		unsigned int pattern = (unsigned int)(i % patterns);

		/* Non-zero, distinct per pattern and per seed */
		memset(p + i * PAGE, 0x11 + (int)(pattern * 7 + seed * 31) % 200, PAGE);
		memcpy(p + i * PAGE, &seed, sizeof(seed));
		memcpy(p + i * PAGE + sizeof(seed), &pattern, sizeof(pattern));
	}
	return p;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long wait_merging_pages(pid_t pid, long min, int at_least, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	long v;

	for (;;) {
		v = proc_pid_number(pid, "ksm_merging_pages");
		if (at_least ? v >= min : (v >= 0 && v <= min))
			return v;
		if (now_ms() >= deadline)
			return v;
		sleep_ms(50);
	}
}
