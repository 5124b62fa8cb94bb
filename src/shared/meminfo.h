/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The /proc/meminfo fields the policies use, all in KiB. */
typedef struct KsmMeminfo {
        uint64_t mem_total_kib;
        uint64_t mem_free_kib;
        uint64_t mem_available_kib;
        uint64_t buffers_kib;
        uint64_t cached_kib;
        bool has_mem_available;         /* kernels before 3.14 lack MemAvailable */
} KsmMeminfo;

/* Parse the text of /proc/meminfo. MemTotal, MemFree, Buffers and Cached are
 * required, MemTotal must be non-zero. Returns 0, -EBADMSG on malformed or
 * missing fields, -ERANGE on values that overflow 64 bits when scaled to KiB. */
int meminfo_parse(const char *text, KsmMeminfo *ret);

/* Read and parse proc/meminfo relative to root_fd, through held (see
 * read_file_held(); NULL: opened and closed). Returns 0 or negative errno. */
int meminfo_read(int root_fd, int *held, KsmMeminfo *ret);
