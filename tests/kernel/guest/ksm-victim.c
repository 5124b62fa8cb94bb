// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A process for the daemon-side test in the VM: it names itself argv[1],
 * fills argv[2] MiB of anonymous memory with identical pages WITHOUT any
 * madvise() or prctl(), prints "ready" and waits to be killed. Only
 * ksmtuned's KSM_MERGE_ANY_REGEX (through /proc/<pid>/ksm_merge_any) can
 * get its pages merged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len;
	char *mem;

	if (argc != 3) {
		fprintf(stderr, "usage: ksm-victim NAME MIB\n");
		return 2;
	}
	len = strtoul(argv[2], NULL, 10) << 20;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || prctl(PR_SET_NAME, argv[1], 0, 0, 0) < 0) {
		perror("ksm-victim");
		return 1;
	}
	memset(mem, 0x5a, len);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
