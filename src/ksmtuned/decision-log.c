/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "decision-log.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "units.h"

enum {
        F_REASON, F_POLICY, F_MODE, F_RUN, F_PAGES_TO_SCAN, F_SLEEP_MILLISECS, F_SAVED_BYTES, F_FREE_KIB,
        F_THRESHOLD_KIB, F_GUESTS, F_DRY_RUN, _F_MAX
};

void manager_log_decision(const Manager *m, const char *writes) {
        const KsmDecision *d = &m->decision;
        char f[_F_MAX][KSM_REASON_MAX + 32];
        const char *fields[_F_MAX];
        const char *mode;

        /* compat has no modes: running or stopped says it. */
        if (m->config.policy == KSM_POLICY_ADAPTIVE)
                mode = policy_adaptive_mode_name(m->state.adaptive.mode);
        else
                mode = d->running ? "running" : "stopped";
        snprintf(f[F_REASON], sizeof(f[0]), "KSMTUNED_REASON=%s", d->reason);
        snprintf(f[F_POLICY], sizeof(f[0]), "KSMTUNED_POLICY=%s", manager_policy_name(m));
        snprintf(f[F_MODE], sizeof(f[0]), "KSMTUNED_MODE=%s", mode);
        snprintf(f[F_RUN], sizeof(f[0]), "KSMTUNED_RUN=%" PRIu64, manager_knob_value(m, KSM_KNOB_RUN));
        snprintf(f[F_PAGES_TO_SCAN], sizeof(f[0]), "KSMTUNED_PAGES_TO_SCAN=%" PRIu64,
                 manager_knob_value(m, KSM_KNOB_PAGES_TO_SCAN));
        snprintf(f[F_SLEEP_MILLISECS], sizeof(f[0]), "KSMTUNED_SLEEP_MILLISECS=%" PRIu64,
                 manager_knob_value(m, KSM_KNOB_SLEEP_MILLISECS));
        snprintf(f[F_SAVED_BYTES], sizeof(f[0]), "KSMTUNED_SAVED_BYTES=%" PRIu64,
                 ksm_saved_bytes(&m->sample.ksm, m->sample.page_size_bytes ?: page_size()));
        snprintf(f[F_FREE_KIB], sizeof(f[0]), "KSMTUNED_FREE_KIB=%" PRIu64, d->free_kib);
        snprintf(f[F_THRESHOLD_KIB], sizeof(f[0]), "KSMTUNED_THRESHOLD_KIB=%" PRIu64, d->thres_kib);
        snprintf(f[F_GUESTS], sizeof(f[0]), "KSMTUNED_GUESTS=%u", m->sample.n_guests);
        snprintf(f[F_DRY_RUN], sizeof(f[0]), "KSMTUNED_DRY_RUN=%d", m->opts.dry_run ? 1 : 0);
        for (size_t i = 0; i < _F_MAX; i++)
                fields[i] = f[i];

        if (m->applied.written)
                log_struct(LOG_INFO, fields, _F_MAX, "%s%s: %s", m->opts.dry_run ? "Would set (dry run)" : "Set",
                           writes, d->reason);
        else
                log_struct(LOG_DEBUG, fields, _F_MAX, "No change: %s", d->reason);
}
