/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* The guest name on a qemu command line (/proc/PID/cmdline: arguments
 * separated by NULs, size bytes): the value of "-name" or "--name", either
 * "guest=NAME,..." anywhere in the list or a first element without '=' (qemu's
 * implied key); ",," is a literal comma. Returns 0 with a malloc'ed name,
 * -ENOENT when there is none (or it is empty), -ENOMEM. */
int guest_name_from_cmdline(const char *cmdline, size_t size, char **ret);
