/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Exit statuses, as --help documents them. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2,
};

typedef struct Ctl Ctl;

/* One verb of the table in main.c. */
typedef struct Verb {
        const char *name;
        int (*run)(Ctl *c, int argc, char *argv[]);
        const char *synopsis;           /* after "ksmctl VERB" */
        const char *summary;            /* one line for the overview */
        const char *help;               /* the rest of "ksmctl VERB --help" */
} Verb;

/* Options every verb accepts, before or after the verb. */
struct Ctl {
        const char *root;               /* --root DIR: /proc, /sys and /etc/{default,sysconfig}/ksm under it */
        int root_fd;                    /* opened on first use, -1 before */
        const char *pidfile;            /* --pidfile FILE: the only place to look for the daemon */
        const Verb *verb;               /* the verb being run: its --help */
};

enum { ARG_ROOT = 0x100, ARG_PIDFILE, ARG_FIRST_VERB_OPTION };

/* getopt_long entries for the common options; the short ones are "hr:". */
#define CTL_COMMON_OPTIONS                                              \
        { "help",    no_argument,       NULL, 'h' },                    \
        { "root",    required_argument, NULL, 'r' },                    \
        { "pidfile", required_argument, NULL, ARG_PIDFILE }

#define CTL_COMMON_SHORTOPTS "hr:"

/* Handle a common option (or getopt's '?') met while parsing verb's options.
 * Returns -1 to go on parsing, else the exit status to return now (0 after
 * --help, CTL_EXIT_USAGE for an unknown option). */
int ctl_common_option(Ctl *c, int opt, const char *verb);

/* Parse a verb that takes only the common options. Returns -1 to go on,
 * else the exit status to end with (help shown, or a usage error). */
int ctl_parse_no_options(Ctl *c, int argc, char *argv[], const char *verb);

/* Complain about a stray argument; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *verb, const char *fmt, ...) _printf_(2, 3);

/* Print "ksmctl: message" to stderr. %m is strerror(error). ctl_fail returns
 * CTL_EXIT_FAILURE so a verb can "return ctl_fail(...)". */
void ctl_msg(int error, const char *fmt, ...) _printf_(2, 3);
int ctl_fail(int error, const char *fmt, ...) _printf_(2, 3);

/* The root directory fd (opened once). Returns fd or negative errno (reported). */
int ctl_root_fd(Ctl *c);

/* Open ROOT/sys/kernel/mm/ksm. Returns fd or negative errno (reported). */
int ctl_open_ksm(Ctl *c);

/* "ROOT/rel" for messages ("/rel" when the root is "/"). Returns buf. */
const char *ctl_path(const Ctl *c, const char *rel, char *buf, size_t size);

/* The verbs. Each returns an exit status. argv[0] is the verb. */
int verb_start(Ctl *c, int argc, char *argv[]);
int verb_stop(Ctl *c, int argc, char *argv[]);
int verb_retune(Ctl *c, int argc, char *argv[]);
int verb_reload(Ctl *c, int argc, char *argv[]);
int verb_status(Ctl *c, int argc, char *argv[]);
int verb_metrics(Ctl *c, int argc, char *argv[]);
int verb_doctor(Ctl *c, int argc, char *argv[]);

/* Print ksmctl's --help, listing the n verbs. */
void ctl_help(const Verb *verbs, size_t n);

/* Print a verb's --help. */
void ctl_verb_help(const Verb *v);
