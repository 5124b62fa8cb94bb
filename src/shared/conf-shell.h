/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "conf.h"

/* The old ksmtuned was a bash script that ran its configuration with ".":
 * a file is a list of shell assignments. This reads one line the way the
 * shell would, and refuses what the shell would read differently from what
 * the line seems to say (each refusal says what the shell does with it). */

#define SHELL_NAME_MAX 64
#define SHELL_ASSIGNMENTS_MAX 8

typedef struct ShellAssignment {
        char name[SHELL_NAME_MAX];
        char value[CONF_VALUE_MAX];     /* after quote removal */
        const char *raw;                /* the value as written, in the line */
        size_t raw_len;
} ShellAssignment;

/* Parse one line (len bytes, without its '\n'; may hold any byte). Writes up
 * to SHELL_ASSIGNMENTS_MAX assignments to ret (usually one; "A=1 B=2" is
 * two). Returns their number, 0 for a blank or comment line, or -EINVAL
 * with a reason in why ("KEY=VALUE: what the shell does"). */
int shell_parse_line(const char *line, size_t len, ShellAssignment ret[static SHELL_ASSIGNMENTS_MAX],
                     char *why, size_t why_size);
