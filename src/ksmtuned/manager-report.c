/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the manager tells after a tick: failed writes (once each), one log
 * line per decision that changes something, STATUS= for the service
 * manager, and the knob values the bus shows. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "decision-log.h"
#include "log.h"
#include "manager.h"
#include "units.h"

static void log_apply(Manager *m, const KsmApplyResult *a) {
        for (KsmKnob k = 0; k < _KSM_KNOB_MAX; k++) {
                unsigned bit = 1u << k;

                if (a->written & bit)
                        m->failed_logged &= ~bit;
                if (a->failed & bit)
                        m->n_knob_failures[k]++;
                if (!(a->failed & bit) || (m->failed_logged & bit))
                        continue;
                m->failed_logged |= bit;
                log_warning_errno(a->error[k], "Cannot write %" PRIu64 " to %s/" KSM_SYSFS_DIR "/%s: %m%s",
                                  m->decision.targets.value[k], m->opts.root, ksm_knob_name(k),
                                  k == KSM_KNOB_PAGES_TO_SCAN && a->error[k] == -EINVAL &&
                                  m->sample.ksm.advisor_mode == KSM_ADVISOR_SCAN_TIME ?
                                  " (the kernel's advisor owns it)" : "");
        }
}

static void describe_writes(const Manager *m, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (KsmKnob k = 0; k < _KSM_KNOB_MAX && n < size; k++)
                if (m->applied.written & (1u << k))
                        n += (size_t) snprintf(buf + n, size - n, " %s=%" PRIu64,
                                               ksm_knob_name(k), m->decision.targets.value[k]);
}

void manager_report_tick(Manager *m) {
        const KsmSample *s = &m->sample;
        const KsmDecision *d = &m->decision;
        char writes[256], status[256];

        log_apply(m, &m->applied);
        /* One line per decision that changes something; the rest at debug. */
        describe_writes(m, writes, sizeof(writes));
        manager_log_decision(m, writes);
        log_debug("Tick %" PRIu64 ": committed %" PRIu64 " KiB in %u guest(s), free %" PRIu64 " KiB, threshold %" PRIu64 " KiB",
                  m->n_ticks, s->committed_kib, s->n_guests, d->free_kib, d->thres_kib);

        manager_status_line(m, status, sizeof(status));
        (void) sd_notifyf(false, "STATUS=%s (%s)", status, d->reason);
}

uint64_t manager_knob_value(const Manager *m, KsmKnob knob) {
        if (m->applied.written & (1u << knob))
                return m->decision.targets.value[knob];
        return ksm_knobs_get(&m->sample.ksm, knob);
}

const char *manager_policy_name(const Manager *m) {
        return conf_policy_name(m->config.policy);
}

void manager_status_line(const Manager *m, char *buf, size_t size) {
        const KsmKnobs *k = &m->sample.ksm;
        char saved[32], scan[48] = "", mode[32] = "";
        uint64_t run, pages, sleep_ms;

        if (!m->have_tick) {
                snprintf(buf, size, "Starting");
                return;
        }
        /* Show what the knobs are after this tick's writes. */
        run = manager_knob_value(m, KSM_KNOB_RUN);
        pages = manager_knob_value(m, KSM_KNOB_PAGES_TO_SCAN);
        sleep_ms = manager_knob_value(m, KSM_KNOB_SLEEP_MILLISECS);
        format_bytes(ksm_saved_bytes(k, page_size()), saved, sizeof(saved));
        if (m->scan_watch.scan_interval_usec)
                snprintf(scan, sizeof(scan), ", full scan every %.1f s",
                         (double) m->scan_watch.scan_interval_usec / USEC_PER_SEC);
        if (m->config.policy == KSM_POLICY_ADAPTIVE)
                snprintf(mode, sizeof(mode), " (%s)", policy_adaptive_mode_name(m->state.adaptive.mode));
        if (run == 1)
                snprintf(buf, size, "KSM running%s: %" PRIu64 " pages every %" PRIu64 " ms%s, %s saved%s",
                         mode, pages, sleep_ms, scan, saved,
                         m->opts.dry_run ? " (dry run)" : "");
        else
                snprintf(buf, size, "KSM stopped, %s saved%s", saved, m->opts.dry_run ? " (dry run)" : "");
}
