/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ksm-sysfs.h"
#include "ksmctl.h"

static void ctl_vmsg(int error, const char *fmt, va_list ap) {
        char buf[1024];

        /* glibc's %m reads errno: make it the error we were given. */
        errno = error < 0 ? -error : error;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        fprintf(stderr, "%s: %s\n", program_invocation_short_name, buf);
}

void ctl_msg(int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ctl_vmsg(error, fmt, ap);
        va_end(ap);
}

int ctl_fail(int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ctl_vmsg(error, fmt, ap);
        va_end(ap);
        return CTL_EXIT_FAILURE;
}

int ctl_usage_error(const char *verb, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        ctl_vmsg(0, fmt, ap);
        va_end(ap);
        fprintf(stderr, "Try '%s%s%s --help' for more information.\n", program_invocation_short_name,
                *verb ? " " : "", verb);
        return CTL_EXIT_USAGE;
}

int ctl_common_option(Ctl *c, int opt, const char *verb) {
        switch (opt) {
        case 'h':
                if (c->verb)
                        ctl_verb_help(c->verb);
                return CTL_EXIT_OK;
        case 'r':
                if (!*optarg)
                        return ctl_usage_error(verb, "--root needs a directory");
                c->root = optarg;
                return -1;
        case ARG_PIDFILE:
                if (!*optarg)
                        return ctl_usage_error(verb, "--pidfile needs a file name");
                c->pidfile = optarg;
                return -1;
        default:
                /* getopt printed what was wrong. */
                fprintf(stderr, "Try '%s%s%s --help' for more information.\n", program_invocation_short_name,
                        *verb ? " " : "", verb);
                return CTL_EXIT_USAGE;
        }
}

const char *ctl_path(const Ctl *c, const char *rel, char *buf, size_t size) {
        size_t n = strlen(c->root);

        while (n > 0 && c->root[n - 1] == '/')
                n--;
        snprintf(buf, size, "%.*s/%s", (int) n, c->root, rel);
        return buf;
}

int ctl_root_fd(Ctl *c) {
        if (c->root_fd >= 0)
                return c->root_fd;
        c->root_fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->root_fd < 0) {
                int r = negative_errno();
                ctl_msg(r, "Cannot open the root directory %s: %m", c->root);
                return r;
        }
        return c->root_fd;
}

int ctl_open_ksm(Ctl *c) {
        char path[4096];
        int root, fd;

        root = ctl_root_fd(c);
        if (root < 0)
                return root;
        fd = ksm_sysfs_open(root);
        if (fd < 0)
                ctl_msg(fd, "Cannot open %s: %m (is this kernel built with CONFIG_KSM?)",
                        ctl_path(c, KSM_SYSFS_DIR, path, sizeof(path)));
        return fd;
}

int ctl_parse_no_options(Ctl *c, int argc, char *argv[], const char *verb) {
        static const struct option options[] = { CTL_COMMON_OPTIONS, {} };
        int opt, r;

        while ((opt = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, options, NULL)) >= 0) {
                r = ctl_common_option(c, opt, verb);
                if (r >= 0)
                        return r;
        }
        if (optind < argc)
                return ctl_usage_error(verb, "unexpected argument '%s'", argv[optind]);
        return -1;
}
