/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "ksm-defaults.h"
#include "ksm-sysfs.h"
#include "ksmctl.h"
#include "meminfo.h"
#include "units.h"
#include "unmerge.h"

/* Values are written as the old ksmctl wrote them: a number and a newline. */
static int write_knob(Ctl *c, int ksm_fd, const char *name, uint64_t value) {
        char buf[32], rel[128], path[4096];
        int r;

        snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);
        r = write_string_file_at(ksm_fd, name, buf);
        if (r < 0) {
                snprintf(rel, sizeof(rel), KSM_SYSFS_DIR "/%s", name);
                ctl_msg(r, "Cannot write %" PRIu64 " to %s: %m", value, ctl_path(c, rel, path, sizeof(path)));
        }
        return r;
}

/* KSM_MAX_KERNEL_PAGES as ksm.service gives it: the environment (its
 * EnvironmentFile=), else the first of /etc/default/ksm, /etc/sysconfig/ksm
 * that exists. An empty value counts as unset, as in the old ksmctl.
 * Returns 0 with a malloc'ed value (NULL when unset) and where it came from. */
static int configured_max_kernel_pages(Ctl *c, char **ret, char *from, size_t from_size) {
        static const char *const files[] = { KSM_DEFAULTS_DEBIAN, KSM_DEFAULTS_FEDORA };
        const char *env = getenv("KSM_MAX_KERNEL_PAGES");
        char path[4096];
        int root, r;

        *ret = NULL;
        if (env && *env) {
                snprintf(from, from_size, "the environment");
                *ret = strdup(env);
                return *ret ? 0 : -ENOMEM;
        }
        root = ctl_root_fd(c);
        if (root < 0)
                return root;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL, *v = NULL;
                unsigned line;

                r = read_full_file_at(root, files[i], 1 << 20, &text, NULL);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return ctl_msg(r, "Cannot read %s: %m", ctl_path(c, files[i], path, sizeof(path))), r;
                r = envfile_get(text, "KSM_MAX_KERNEL_PAGES", &v, &line);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                snprintf(from, from_size, "%s:%u", ctl_path(c, files[i], path, sizeof(path)), line);
                if (*v)
                        *ret = TAKE_PTR(v);
                return 0;
        }
        return 0;
}

static int default_max_kernel_pages(Ctl *c, uint64_t *ret) {
        KsmMeminfo mem;
        char path[4096];
        int root, r;

        root = ctl_root_fd(c);
        if (root < 0)
                return root;
        r = meminfo_read(root, NULL, &mem);
        if (r < 0)
                return ctl_msg(r, "Cannot read %s: %m", ctl_path(c, "proc/meminfo", path, sizeof(path))), r;
        *ret = ksm_max_kernel_pages_default(mem.mem_total_kib, page_size());
        return 0;
}

/* Kernels before 2.6.33 cap KSM's unswappable pages; the old ksmctl set the
 * cap before starting. Failure to write it did not stop the old one either. */
static int apply_max_kernel_pages(Ctl *c, int ksm_fd) {
        _cleanup_free_ char *value = NULL;
        char from[4200];
        uint64_t pages;
        int r;

        r = configured_max_kernel_pages(c, &value, from, sizeof(from));
        if (r < 0)
                return r;
        if (faccessat(ksm_fd, "max_kernel_pages", R_OK, 0) < 0) {
                if (value)
                        ctl_msg(0, "Notice: KSM_MAX_KERNEL_PAGES=%s (from %s) ignored: this kernel has no "
                                "max_kernel_pages (KSM pages are swappable since 2.6.33)", value, from);
                return 0;
        }
        if (!value || ksm_max_kernel_pages_parse(value, &pages) < 0) {
                r = default_max_kernel_pages(c, &pages);
                if (r < 0)
                        return r;
                if (value)
                        ctl_msg(0, "Warning: KSM_MAX_KERNEL_PAGES=%s (from %s) is not a number of pages; "
                                "using half of RAM, %" PRIu64 " pages", value, from, pages);
        }
        (void) write_knob(c, ksm_fd, "max_kernel_pages", pages);
        return 0;
}

int verb_start(Ctl *c, int argc, char *argv[]) {
        _cleanup_close_ int ksm_fd = -1;
        int r;

        r = ctl_parse_no_options(c, argc, argv, "start");
        if (r >= 0)
                return r;
        ksm_fd = ctl_open_ksm(c);
        if (ksm_fd < 0)
                return CTL_EXIT_FAILURE;
        if (apply_max_kernel_pages(c, ksm_fd) < 0)
                return CTL_EXIT_FAILURE;
        return write_knob(c, ksm_fd, "run", 1) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

static int unmerge(Ctl *c, int ksm_fd, bool force) {
        char need[32], margin[32], avail[32], missing[32], path[4096];
        KsmMeminfo mem;
        KsmKnobs k;
        UnmergeCheck u;
        int r;

        r = meminfo_read(c->root_fd, NULL, &mem);
        if (r < 0)
                return ctl_fail(r, "Cannot read %s: %m", ctl_path(c, "proc/meminfo", path, sizeof(path)));
        r = ksm_sysfs_read(ksm_fd, &k);
        if (r < 0)
                return ctl_fail(r, "Cannot read %s: %m", ctl_path(c, KSM_SYSFS_DIR, path, sizeof(path)));
        unmerge_check(&mem, &k, page_size(), &u);
        format_bytes(u.need_bytes, need, sizeof(need));
        format_bytes(u.margin_bytes, margin, sizeof(margin));
        format_bytes(u.available_bytes, avail, sizeof(avail));
        format_bytes(u.missing_bytes, missing, sizeof(missing));
        if (!u.ok && !force)
                return ctl_fail(0, "Refusing to unmerge: it allocates %s (%" PRIu64 " pages_sharing + %" PRIu64
                                " ksm_zero_pages) and needs %s spare besides, but only %s is available: "
                                "%s missing. Free memory first, or use --force.",
                                need, k.pages_sharing, k.ksm_zero_pages, margin, avail, missing);
        if (!u.ok)
                ctl_msg(0, "Warning: unmerging anyway (--force) with %s missing", missing);
        printf("Unmerging %s (%" PRIu64 " pages_sharing + %" PRIu64 " ksm_zero_pages), %s available\n",
               need, k.pages_sharing, k.ksm_zero_pages, avail);
        fflush(stdout);
        /* The kernel unmerges inside this write; it returns when done. */
        return write_knob(c, ksm_fd, "run", 2) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int verb_stop(Ctl *c, int argc, char *argv[]) {
        enum { ARG_UNMERGE = ARG_FIRST_VERB_OPTION, ARG_FORCE };
        static const struct option options[] = {
                CTL_COMMON_OPTIONS,
                { "unmerge", no_argument, NULL, ARG_UNMERGE },
                { "force",   no_argument, NULL, ARG_FORCE },
                {}
        };
        _cleanup_close_ int ksm_fd = -1;
        bool do_unmerge = false, force = false;
        int opt, r;

        while ((opt = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, options, NULL)) >= 0)
                switch (opt) {
                case ARG_UNMERGE:
                        do_unmerge = true;
                        break;
                case ARG_FORCE:
                        force = true;
                        break;
                default:
                        r = ctl_common_option(c, opt, "stop");
                        if (r >= 0)
                                return r;
                }
        if (optind < argc)
                return ctl_usage_error("stop", "unexpected argument '%s'", argv[optind]);
        if (force && !do_unmerge)
                return ctl_usage_error("stop", "--force only makes sense with --unmerge");

        ksm_fd = ctl_open_ksm(c);
        if (ksm_fd < 0)
                return CTL_EXIT_FAILURE;
        if (do_unmerge)
                return unmerge(c, ksm_fd, force);
        return write_knob(c, ksm_fd, "run", 0) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}
