/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The memory line of Pressure Stall Information (/proc/pressure/memory). */
typedef struct KsmPsi {
        uint32_t some_avg10_centipct;   /* "some avg10=", hundredths of a percent */
        uint32_t full_avg10_centipct;   /* "full avg10=", 0 when the line is missing */
        uint64_t some_total_usec;       /* "some total=", microseconds stalled */
} KsmPsi;

/* Parse the text of a /proc/pressure file. The "some" line is required, the
 * "full" line optional (kernels before 5.13 lack it for cpu). Returns 0 or
 * -EBADMSG. */
int psi_parse(const char *text, KsmPsi *ret);

/* Read and parse proc/pressure/memory relative to root_fd, through held
 * (see read_file_held(); NULL: opened and closed). Returns 0, -ENOENT when
 * the kernel has no PSI, -EOPNOTSUPP when it is disabled (psi=0), or
 * another negative errno. */
int psi_read_memory(int root_fd, int *held, KsmPsi *ret);
