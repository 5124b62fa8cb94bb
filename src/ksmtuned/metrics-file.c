/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The edge of the metrics: collect per-guest savings, format, write atomically. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic-write.h"
#include "fileio.h"
#include "guest-name.h"
#include "ksm-stat.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "metrics.h"
#include "metrics-file.h"

/* qemu command lines run to a few KiB; libvirt's stay well under this. */
#define CMDLINE_MAX (1024 * 1024)

/* Whether the configured file is wanted: the built-in default only where
 * node_exporter's textfile directory exists. */
static bool metrics_wanted(Manager *m) {
        const char *path = m->config.metrics_file;
        char dir[CONF_VALUE_MAX];
        struct stat st;

        if (!path[0])
                return false;
        if (strcmp(path, METRICS_FILE_DEFAULT) != 0)
                return true;
        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
                return true;
        if (!m->metrics_skip_logged)
                log_debug("%s does not exist: no metrics file (set KSM_METRICS_FILE to write one)", dir);
        m->metrics_skip_logged = true;
        return false;
}

/* The guests' savings, most first, names for the top ones only (cmdlines
 * are long). Returns how many of *ret to export, or negative errno. */
static int collect_guests(Manager *m, MetricsGuest **ret, char ***ret_names) {
        size_t n = 0, top;
        MetricsGuest *g;
        char **names;

        g = calloc(m->guests.n ?: 1, sizeof(*g));
        names = calloc(m->guests.n ?: 1, sizeof(*names));
        if (!g || !names) {
                free(g);
                free(names);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->guests.n; i++) {
                const GuestProc *p = &m->guests.procs[i];
                KsmProcStat st;

                /* Gone since the scan, or a kernel without ksm_stat. */
                if (ksm_stat_read(m->root_fd, p->pid, &st) < 0)
                        continue;
                g[n++] = (MetricsGuest) {
                        .pid = p->pid,
                        .name = p->comm,
                        .merged_bytes = ksm_proc_saved_bytes(&st, m->sample.page_size_bytes),
                        .has_profit = st.present & (1u << KSM_STAT_PROCESS_PROFIT),
                        .profit_bytes = st.process_profit_bytes,
                };
        }
        top = metrics_guests_top(g, n, (size_t) m->config.metrics_top_guests);
        for (size_t i = 0; i < top; i++) {
                _cleanup_free_ char *cmdline = NULL;
                char path[64];
                size_t size;

                snprintf(path, sizeof(path), "proc/%d/cmdline", (int) g[i].pid);
                if (read_full_file_at(m->root_fd, path, CMDLINE_MAX, &cmdline, &size) >= 0 &&
                    guest_name_from_cmdline(cmdline, size, &names[i]) >= 0)
                        g[i].name = names[i];
        }
        *ret = g;
        *ret_names = names;
        return (int) top;
}

static void fill_daemon(const Manager *m, MetricsDaemon *d) {
        *d = (MetricsDaemon) {
                .policy = m->config.policy,
                .adaptive_mode = m->state.adaptive.mode,
                .last_tick_realtime_usec = m->last_tick_realtime_usec,
                .ticks_total = m->n_ticks,
                .monitor_interval_s = (uint64_t) m->config.monitor_interval_s,
                .cpu_budget_pct = (uint64_t) m->config.cpu_budget_pct,
                .reload_failures_total = m->n_reload_failures,
                .knob_reversals_total = m->state.fight.reversals_total,
                .yielded = m->state.fight.yielded,
        };
        memcpy(d->knob_write_failures, m->n_knob_failures, sizeof(d->knob_write_failures));
}

void manager_metrics_write(Manager *m) {
        _cleanup_free_ MetricsGuest *guests = NULL;
        _cleanup_free_ char *text = NULL;
        char **names = NULL;
        MetricsDaemon d;
        Metrics mt;
        size_t size;
        int n, r;

        if (!m->have_tick || !metrics_wanted(m))
                return;
        n = collect_guests(m, &guests, &names);
        if (n < 0) {
                r = n;
                goto fail;
        }
        fill_daemon(m, &d);
        mt = (Metrics) {
                .version = PACKAGE_VERSION,
                .policy = manager_policy_name(m),
                .ksm = m->sample.ksm,
                .page_size_bytes = m->sample.page_size_bytes,
                .has_mem = true,
                .mem = m->sample.mem,
                .has_ksmd_cpu = m->sample.has_ksmd_cpu,
                .ksmd_cpu_usec = m->sample.ksmd_cpu_usec,
                .guests = guests,
                .n_guests = (size_t) n,
                .daemon = &d,
        };
        /* The knobs as this tick left them, as in STATUS=. */
        mt.ksm.run = manager_knob_value(m, KSM_KNOB_RUN);
        mt.ksm.pages_to_scan = manager_knob_value(m, KSM_KNOB_PAGES_TO_SCAN);
        mt.ksm.sleep_millisecs = manager_knob_value(m, KSM_KNOB_SLEEP_MILLISECS);
        mt.ksm.advisor_mode = manager_knob_value(m, KSM_KNOB_ADVISOR_MODE);
        r = metrics_format(&mt, &text, &size);
        if (r >= 0)
                r = write_file_atomic(m->config.metrics_file, text, size, 0644);
fail:
        if (names)
                for (size_t i = 0; i < m->guests.n; i++)
                        free(names[i]);
        free(names);
        if (r < 0) {
                if (!m->metrics_error_logged)
                        log_warning_errno(r, "Cannot write the metrics to %s, retrying at each tick: %m",
                                          m->config.metrics_file);
                m->metrics_error_logged = true;
                return;
        }
        if (m->metrics_error_logged)
                log_info("Wrote the metrics to %s again", m->config.metrics_file);
        m->metrics_error_logged = false;
}
