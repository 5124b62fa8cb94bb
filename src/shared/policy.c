/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdio.h>

#include "policy.h"

static void policy_decide_one(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                              KsmDecision *ret, KsmState *ret_state) {
        switch (c->policy) {
        case KSM_POLICY_ADAPTIVE:
                policy_adaptive_decide(c, s, prev, now_usec, ret, ret_state);
                return;
        case KSM_POLICY_COMPAT:
        default:
                policy_compat_decide(c, s, prev, ret, ret_state);
                /* A later switch to adaptive starts from fresh measurements. */
                ret_state->adaptive = (KsmAdaptiveState) {};
                return;
        }
}

void policy_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                              KsmDecision *ret, KsmState *ret_state) {
        KsmFightState fight;
        KsmDecision d;
        KsmState st;

        policy_decide_one(c, s, prev, now_usec, &d, &st);
        fight_observe(&prev->fight, &s->ksm, d.targets.set, now_usec, &fight);
        st.fight = fight;
        if (fight.yielded) {
                /* Knobs owned by someone else: neither write nor pretend. */
                d.targets = (KsmTargets) {};
                d.running = s->ksm.run == 1;
                d.next_tick_usec = 0;
                snprintf(d.reason, sizeof(d.reason),
                         "another tuner changed the KSM knobs back %u times: not writing them (one owner per host)",
                         FIGHT_REVERSALS_MAX);
        }
        *ret = d;
        *ret_state = st;
}
