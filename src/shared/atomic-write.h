/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Replace path with data atomically: a temporary file in the same directory
 * (so that the rename cannot cross file systems), written in full, fsync'ed,
 * given mode, then renamed over path. Readers (node_exporter's textfile
 * collector) see the old file or the new one, never a part. The temporary
 * file is removed on failure. Returns 0 or negative errno. */
int write_file_atomic(const char *path, const char *data, size_t size, mode_t mode);
