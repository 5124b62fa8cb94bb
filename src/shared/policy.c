/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>

#include "policy.h"

bool policy_guests_changed(const KsmSample *s, const KsmState *prev) {
        return s->guests_changed || s->guest_events != prev->guest_events_seen;
}

/* Another tuner changing our values back (fight.h): once it has done so
 * often enough, the knobs are its own and the decision writes nothing. */
static void policy_fight(const KsmSample *s, const KsmState *prev, uint64_t now_usec, KsmDecision *d,
                         KsmState *st) {
        fight_observe(&prev->fight, &s->ksm, d->targets.set, now_usec, &st->fight);
        if (!st->fight.yielded)
                return;
        d->targets = (KsmTargets) {};
        d->running = s->ksm.run == 1;
        d->next_tick_usec = 0;
        snprintf(d->reason, sizeof(d->reason),
                 "another tuner changed the KSM knobs back %u times: not writing them (one owner per host)",
                 FIGHT_REVERSALS_MAX);
}

void policy_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                   KsmDecision *ret, KsmState *ret_state) {
        KsmState in = *prev;
        unsigned events = 0;

        policy_advisor_before(c, s, &in, &events);
        switch (c->policy) {
        case KSM_POLICY_ADAPTIVE:
                policy_adaptive_decide(c, s, &in, now_usec, ret, ret_state);
                break;
        case KSM_POLICY_COMPAT:
        default:
                policy_compat_decide(c, s, &in, ret, ret_state);
                /* A later switch to adaptive starts from fresh measurements. */
                ret_state->adaptive = (KsmAdaptiveState) {};
                break;
        }
        policy_fight(s, prev, now_usec, ret, ret_state);
        ret_state->guest_events_seen = s->guest_events;
        ret->advisor_events = events;
        policy_advisor_after(s, ret, ret_state, &ret->advisor_events);
}
