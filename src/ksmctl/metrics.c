/* SPDX-License-Identifier: GPL-2.0-or-later */
/* "ksmctl metrics": the daemon's textfile metrics, without the daemon. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "fileio.h"
#include "ksmctl.h"
#include "ksmd.h"
#include "metrics.h"
#include "procs.h"
#include "units.h"

static int metrics_print(Ctl *c, size_t top) {
        _cleanup_close_ int ksm_fd = -1;
        _cleanup_free_ MetricsGuest *guests = NULL;
        _cleanup_free_ char *text = NULL;
        Metrics m = { .version = PACKAGE_VERSION, .page_size_bytes = page_size() };
        ProcList procs = {};
        DaemonInfo d;
        char path[4096];
        size_t size;
        pid_t ksmd;
        int root, r;

        ksm_fd = ctl_open_ksm(c);
        if (ksm_fd < 0)
                return CTL_EXIT_FAILURE;
        r = ksm_sysfs_read(ksm_fd, &m.ksm);
        if (r < 0)
                return ctl_fail(r, "Cannot read %s: %m", ctl_path(c, KSM_SYSFS_DIR, path, sizeof(path)));
        root = ctl_root_fd(c);
        /* The rest is optional, as in status: a missing family, not a failure. */
        m.has_mem = meminfo_read(root, NULL, &m.mem) >= 0;
        if (ksmd_find_pid(root, &ksmd) >= 0 && ksmd_read_cpu_usec(root, ksmd, NULL, &m.ksmd_cpu_usec) >= 0)
                m.has_ksmd_cpu = true;
        r = procs_scan(c->root, root, m.page_size_bytes, top, &procs);
        if (r < 0)
                ctl_msg(r, "Cannot list %s: %m", ctl_path(c, "proc", path, sizeof(path)));
        if (procs.n > 0) {
                guests = calloc(procs.n, sizeof(*guests));
                if (!guests) {
                        proc_list_free(&procs);
                        return ctl_fail(ENOMEM, "Out of memory");
                }
        }
        for (size_t i = 0; i < procs.n; i++) {
                const ProcEntry *p = &procs.procs[i];

                guests[i] = (MetricsGuest) {
                        .pid = p->pid,
                        .name = p->name ?: p->comm,
                        .merged_bytes = p->saved_bytes,
                        .has_profit = p->stat.present & (1u << KSM_STAT_PROCESS_PROFIT),
                        .profit_bytes = p->stat.process_profit_bytes,
                };
        }
        m.guests = guests;
        m.n_guests = procs.n;
        daemon_query(c, &d);
        if (d.on_bus)
                m.policy = d.policy;
        r = metrics_format(&m, &text, &size);
        if (r >= 0 && fwrite(text, 1, size, stdout) != size)
                r = -EIO;
        proc_list_free(&procs);
        if (r < 0)
                return ctl_fail(r, "Cannot print the metrics: %m");
        return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(errno, "Cannot write the metrics: %m");
}

int verb_metrics(Ctl *c, int argc, char *argv[]) {
        enum { ARG_TOP = ARG_FIRST_VERB_OPTION };
        static const struct option options[] = {
                CTL_COMMON_OPTIONS,
                { "top", required_argument, NULL, ARG_TOP },
                {}
        };
        size_t top = METRICS_TOP_GUESTS_DEFAULT;
        int opt, r;

        while ((opt = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, options, NULL)) >= 0)
                switch (opt) {
                case ARG_TOP: {
                        int64_t v;

                        if (parse_int64(optarg, 0, 100000, &v) < 0)
                                return ctl_usage_error("metrics", "--top needs a number from 0 to 100000, not '%s'",
                                                       optarg);
                        top = (size_t) v;
                        break;
                }
                default:
                        r = ctl_common_option(c, opt, "metrics");
                        if (r >= 0)
                                return r;
                }
        if (optind < argc)
                return ctl_usage_error("metrics", "unexpected argument '%s'", argv[optind]);
        return metrics_print(c, top);
}
