/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Number parsers shared by the daemon, ksmctl and the static guest test
 * programs of tests/kernel (which compile this file alone: libc only). */

#include <stdint.h>

/* Parse a decimal integer, optionally signed, surrounding whitespace allowed,
 * nothing else. Returns 0, -EINVAL (not a number) or -ERANGE (outside [min, max]). */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* Like parse_int64 for unsigned 64-bit values; a leading '-' is -EINVAL. */
int parse_uint64(const char *s, uint64_t *ret);

/* A number as the kernel prints it in sysfs: decimal digits and at most one
 * trailing newline, nothing else. Returns 0, -EBADMSG or -ERANGE. */
int parse_kernel_u64(const char *s, uint64_t *ret);
