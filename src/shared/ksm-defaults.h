/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* The files ksm.service reads (EnvironmentFile=), Debian's then Fedora's,
 * relative to the root directory. */
#define KSM_DEFAULTS_DEBIAN "etc/default/ksm"
#define KSM_DEFAULTS_FEDORA "etc/sysconfig/ksm"

/* Find the last assignment to key in shell-style KEY=value text (an
 * EnvironmentFile= or /etc/default file): blank lines and '#' comments
 * skipped, an "export " prefix and one level of single or double quotes
 * removed, surrounding blanks ignored. Returns 0 with a malloc'ed value and
 * its 1-based line number, -ENOENT when key is not assigned, -ENOMEM. */
int envfile_get(const char *text, const char *key, char **ret_value, unsigned *ret_line);

/* KSM_MAX_KERNEL_PAGES as the old ksmctl read it (strtoll with base 0:
 * decimal, 0x hex or 0 octal), a number of pages >= 0 and below 2^63.
 * Surrounding blanks allowed. Returns 0 or -EINVAL. */
int ksm_max_kernel_pages_parse(const char *s, uint64_t *ret);

/* The old ksmctl's default when KSM_MAX_KERNEL_PAGES is unset: half of RAM,
 * in pages. */
uint64_t ksm_max_kernel_pages_default(uint64_t mem_total_kib, uint64_t page_size_bytes);
