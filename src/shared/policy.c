/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "policy.h"

void policy_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
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
