/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "fight.h"

void fight_observe(const KsmFightState *prev, const KsmKnobs *now, unsigned wanted, uint64_t now_usec,
                   KsmFightState *ret) {
        KsmFightState f = *prev;
        unsigned reversed = 0;

        f.written.set &= wanted & ~(1u << KSM_KNOB_ADVISOR_MODE);
        for (KsmKnob k = 0; k < _KSM_KNOB_MAX; k++)
                if ((f.written.set & (1u << k)) && ksm_knobs_get(now, k) != f.written.value[k])
                        reversed |= 1u << k;
        /* Ours again only once written again. */
        f.written.set &= ~reversed;
        f.last_reversed = reversed;
        if (reversed) {
                /* One tick with several knobs changed back is one reversal:
                 * the other tuner wrote once. */
                if (f.window_reversals == 0 || now_usec - f.window_start_usec > FIGHT_WINDOW_USEC) {
                        f.window_start_usec = now_usec;
                        f.window_reversals = 0;
                }
                f.window_reversals++;
                f.reversals_total++;
                if (f.window_reversals >= FIGHT_REVERSALS_MAX)
                        f.yielded = true;
        }
        *ret = f;
}

void fight_note_writes(const KsmFightState *prev, const KsmTargets *t, unsigned written, KsmFightState *ret) {
        KsmFightState f = *prev;

        for (KsmKnob k = 0; k < _KSM_KNOB_MAX; k++)
                if (written & (1u << k))
                        ksm_targets_set(&f.written, k, t->value[k]);
        *ret = f;
}
