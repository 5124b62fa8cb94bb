/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Replace path with data atomically: a temporary file in the same directory
 * (so that the rename cannot cross file systems), written in full, given
 * mode, then renamed over path. Readers (node_exporter's textfile collector)
 * see the old file or the new one, never a part. The temporary file is
 * removed on failure. Returns 0 or negative errno.
 *
 * No fsync(): both files written so are worth nothing after a power loss
 * (the metrics are rewritten at the next tick, the advisor mark lives in
 * /run), and an fsync() per tick on a busy disk would stall the event loop
 * for as long as the disk takes. */
int write_file_atomic(const char *path, const char *data, size_t size, mode_t mode);
