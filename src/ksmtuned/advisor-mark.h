/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* That this daemon turned the kernel's KSM advisor off, kept on disk so that
 * a daemon restarted after SIGKILL, the OOM killer or a watchdog abort gives
 * it back instead of taking "none" for the admin's choice. The file is
 * DIR/advisor-taken, DIR being $RUNTIME_DIRECTORY (systemd's
 * RuntimeDirectory=), else ROOT/run/ksmtuned; /run is emptied at boot, as
 * the kernel's advisor is reset then. */

/* The mark's path for the root directory (--root) in buf. Returns buf. */
const char *advisor_mark_path(const char *root, char *buf, size_t size);

/* Whether the mark exists. */
bool advisor_mark_exists(const char *path);

/* Create (creating its directory, mode 0755) or remove the mark. Returns 0
 * or negative errno; removing a missing mark is 0. */
int advisor_mark_set(const char *path, bool taken);
