/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ktest-exit CODE: end the VM with qemu's exit status (CODE << 1) | 1,
 * through the isa-debug-exit device at I/O port 0xf4.  Needs
 * CONFIG_X86_IOPL_IOPERM in the guest kernel.  Returns only when the
 * device is missing, so the caller can fall back to poweroff -f.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
	int code = argc > 1 ? atoi(argv[1]) : 1;

	if (ioperm(DEBUG_EXIT_PORT, 4, 1) < 0) {
		perror("ktest-exit: ioperm");
		return 1;
	}
	outb((unsigned char)code, DEBUG_EXIT_PORT);
	fprintf(stderr, "ktest-exit: no isa-debug-exit device at %#x\n", DEBUG_EXIT_PORT);
	return 1;
}
