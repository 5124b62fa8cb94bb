/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --help of ksmctl and of each verb, from the verbs table main.c passes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "bus-names.h"
#include "ksmctl.h"

static const char common_help[] =
        "  -r, --root DIR     read /proc, /sys and /etc/{default,sysconfig}/ksm under DIR\n"
        "      --pidfile FILE look for ksmtuned's pid in FILE only (default " KSMTUNED_PIDFILE ",\n"
        "                     then a process named ksmtuned)\n"
        "  -h, --help         print this help and exit\n";

static const char exit_help[] =
        "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n";

void ctl_verb_help(const Verb *v) {
        printf("Usage: %s [OPTION]... %s %s\n%c%s.\n\n%s\nCommon options:\n%s\n%s",
               program_invocation_short_name, v->name, v->synopsis,
               v->summary[0] - 'a' + 'A', v->summary + 1, v->help, common_help, exit_help);
}

void ctl_help(const Verb *verbs, size_t n) {
        printf("Usage: %s [OPTION]... VERB [VERB-OPTION]...\n"
               "Control Kernel Samepage Merging (KSM) and the ksmtuned daemon.\n\nCommands:\n",
               program_invocation_short_name);
        for (size_t i = 0; i < n; i++) {
                char head[64];

                snprintf(head, sizeof(head), "%s %s", verbs[i].name, verbs[i].synopsis);
                printf("  %-26s %s\n", head, verbs[i].summary);
        }
        printf("\nOptions:\n%s"
               "  -V, --version      print the version and exit\n\n"
               "'%s VERB --help' describes a verb and its options.\n%s",
               common_help, program_invocation_short_name, exit_help);
}
