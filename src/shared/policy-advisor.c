/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who owns the kernel's advisor. With advisor_mode=scan-time the kernel
 * sets pages_to_scan itself and rejects writes to it (EINVAL). The adaptive
 * policy sets the rate, so it turns an advisor the admin left on off, and
 * remembers to give it back: on exit, or when another policy takes over. An
 * advisor turned back on while adaptive runs is the admin's wish: from then
 * on it is left alone.
 */
#include "config.h"

#include "policy.h"

void policy_advisor_before(const KsmConfig *c, const KsmSample *s, KsmState *state, unsigned *events) {
        KsmAdvisorState *a = &state->advisor;

        /* Our own write of advisor_mode=none was undone. */
        if (a->taken && s->ksm.advisor_mode == KSM_ADVISOR_SCAN_TIME) {
                a->taken = false;
                a->admins = true;
                *events |= KSM_ADVISOR_TAKEN_BACK;
        }
        if (a->taken && c->policy != KSM_POLICY_ADAPTIVE) {
                a->taken = false;
                *events |= KSM_ADVISOR_RESTORE;
        }
}

void policy_advisor_after(const KsmSample *s, const KsmDecision *d, KsmState *state, unsigned *events) {
        KsmAdvisorState *a = &state->advisor;
        bool turning_off = d->targets.set & (1u << KSM_KNOB_ADVISOR_MODE) &&
                           d->targets.value[KSM_KNOB_ADVISOR_MODE] == KSM_ADVISOR_NONE;
        bool left_on = d->running && !a->taken && !turning_off && ksm_has(&s->ksm, KSM_FEATURE_ADVISOR) &&
                       s->ksm.advisor_mode == KSM_ADVISOR_SCAN_TIME;

        /* Said once per stretch of ticks it holds. */
        if (left_on && !a->left_on_said)
                *events |= KSM_ADVISOR_LEFT_ON;
        a->left_on_said = left_on;
}

unsigned policy_advisor_applied(const KsmSample *s, const KsmDecision *d, unsigned written, KsmState *state) {
        KsmAdvisorState *a = &state->advisor;

        if (!(written & (1u << KSM_KNOB_ADVISOR_MODE)) || d->targets.value[KSM_KNOB_ADVISOR_MODE] != KSM_ADVISOR_NONE)
                return 0;
        if (s->ksm.advisor_mode != KSM_ADVISOR_SCAN_TIME || a->taken)
                return 0;
        a->taken = true;
        return KSM_ADVISOR_TAKEN;
}
