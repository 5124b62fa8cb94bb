// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A process for the daemon-side tests in the VM: it names itself argv[1],
 * fills argv[2] (MiB, or KiB with a "k" suffix) of anonymous memory with
 * identical pages, prints "ready" and waits to be killed.  Without a third
 * argument it does no madvise() or prctl(): only ksmtuned's
 * KSM_MERGE_ANY_REGEX (through process_madvise(MADV_MERGE_ANY)) can get its
 * pages merged.  With "madvise" it marks them MADV_MERGEABLE itself; with
 * "nodeN" its memory comes from NUMA node N only (mbind(MPOL_BIND)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len;
	char *mem, *end;

	int do_madvise = 0, node = -1;

	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "madvise") == 0)
			do_madvise = 1;
		else if (strncmp(argv[i], "node", 4) == 0)
			node = atoi(argv[i] + 4);
		else
			argc = 0;
	}
	if (argc < 3 || node > 63) {
		fprintf(stderr, "usage: ksm-victim NAME MIB|KIBk [madvise] [nodeN]\n");
		return 2;
	}
	len = strtoul(argv[2], &end, 10);
	len <<= *end == 'k' ? 10 : 20;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || prctl(PR_SET_NAME, argv[1], 0, 0, 0) < 0) {
		perror("ksm-victim");
		return 1;
	}
	if (node >= 0) {
		unsigned long mask = 1UL << node;

		/* MPOL_BIND (2): pages only from that node, whichever CPU touches them */
		if (syscall(SYS_mbind, mem, len, 2, &mask, 64, 0) < 0) {
			perror("ksm-victim: mbind");
			return 1;
		}
	}
	memset(mem, 0x5a, len);
	if (do_madvise && madvise(mem, len, MADV_MERGEABLE) < 0) {
		perror("ksm-victim: madvise");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
