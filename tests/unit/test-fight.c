/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "fight.h"
#include "macro.h"
#include "policy.h"

#define MIN_USEC (UINT64_C(60) * 1000000)
#define PTS (1u << KSM_KNOB_PAGES_TO_SCAN)
#define RUN (1u << KSM_KNOB_RUN)

/* Each row: a sequence of ticks. At each, the knobs are read (pages_to_scan,
 * run), observed, and then "we" write pages_to_scan=100 and run=1 (as a
 * policy that corrects every tick would). */
static void test_sequences(void **state) {
        static const struct {
                const char *name;
                unsigned n;
                struct { uint64_t pts, run, minute; } tick[6];
                unsigned want_reversed_last;    /* knobs changed back at the last tick */
                uint64_t want_total;
                bool want_yielded;
        } rows[] = {
                { "nobody else: our values stay", 4,
                  { { 5, 0, 0 }, { 100, 1, 1 }, { 100, 1, 2 }, { 100, 1, 3 } }, 0, 0, false },
                { "first tick: nothing written before, nothing reversed", 1, { { 7, 0, 0 } }, 0, 0, false },
                { "one reversal of two knobs counts once", 2, { { 5, 0, 0 }, { 64, 0, 1 } }, PTS | RUN, 1, false },
                { "two reversals: still correcting", 3, { { 5, 0, 0 }, { 64, 1, 1 }, { 100, 0, 2 } }, RUN, 2, false },
                { "three reversals within the window: yield", 4,
                  { { 5, 0, 0 }, { 64, 1, 1 }, { 100, 0, 2 }, { 64, 1, 3 } }, PTS, 3, true },
                { "three reversals, the last after the window: a new window", 4,
                  { { 5, 0, 0 }, { 64, 1, 1 }, { 100, 0, 2 }, { 64, 1, 20 } }, PTS, 3, false },
                { "reversals apart, correct ticks between: still counted", 6,
                  { { 5, 0, 0 }, { 64, 1, 1 }, { 100, 1, 2 }, { 64, 1, 3 }, { 100, 1, 4 }, { 64, 1, 5 } },
                  PTS, 3, true },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                KsmFightState f = {};
                KsmTargets t = {};

                ksm_targets_set(&t, KSM_KNOB_PAGES_TO_SCAN, 100);
                ksm_targets_set(&t, KSM_KNOB_RUN, 1);
                for (unsigned j = 0; j < rows[i].n; j++) {
                        KsmKnobs k = { .pages_to_scan = rows[i].tick[j].pts, .run = rows[i].tick[j].run };
                        unsigned written = 0;

                        fight_observe(&f, &k, t.set, rows[i].tick[j].minute * MIN_USEC + 1, &f);
                        if (j + 1 == rows[i].n)
                                break;
                        /* Write what differs, as ksm_sysfs_apply does. */
                        if (k.pages_to_scan != 100)
                                written |= PTS;
                        if (k.run != 1)
                                written |= RUN;
                        fight_note_writes(&f, &t, written, &f);
                }
                if (f.last_reversed != rows[i].want_reversed_last || f.reversals_total != rows[i].want_total ||
                    f.yielded != rows[i].want_yielded)
                        fail_msg("row '%s': expected reversed=%#x total=%llu yielded=%d, got %#x %llu %d", rows[i].name,
                                 rows[i].want_reversed_last, (unsigned long long) rows[i].want_total,
                                 rows[i].want_yielded, f.last_reversed, (unsigned long long) f.reversals_total,
                                 f.yielded);
        }
}

/* The advisor's mode is not a reversal: the manager gives it to the admin. */
static void test_advisor_not_counted(void **state) {
        KsmFightState f = {};
        KsmTargets t = {};
        KsmKnobs k = { .advisor_mode = KSM_ADVISOR_SCAN_TIME };

        (void) state;
        ksm_targets_set(&t, KSM_KNOB_ADVISOR_MODE, KSM_ADVISOR_NONE);
        fight_note_writes(&f, &t, 1u << KSM_KNOB_ADVISOR_MODE, &f);
        fight_observe(&f, &k, ~0u, 1, &f);
        assert_int_equal(f.last_reversed, 0);
        assert_int_equal(f.reversals_total, 0);
}

/* A knob the decision no longer sets is not ours: the kernel's advisor may
 * move pages_to_scan, for one. */
static void test_unwanted_forgotten(void **state) {
        KsmFightState f = {};
        KsmTargets t = {};
        KsmKnobs k = { .pages_to_scan = 2000 };

        (void) state;
        ksm_targets_set(&t, KSM_KNOB_PAGES_TO_SCAN, 100);
        fight_note_writes(&f, &t, PTS, &f);
        fight_observe(&f, &k, RUN, 1, &f);
        assert_int_equal(f.last_reversed, 0);
        assert_int_equal(f.written.set, 0);
        fight_observe(&f, &k, PTS | RUN, 2, &f);
        assert_int_equal(f.reversals_total, 0);
}

/* Once yielded, policy_decide writes nothing and says why; the state keeps it. */
static void test_policy_yields(void **state) {
        KsmConfig c;
        KsmState prev = { .fight = { .window_reversals = FIGHT_REVERSALS_MAX - 1, .window_start_usec = 1 } };
        KsmSample s = { .mem = { .mem_total_kib = 16 << 20, .mem_free_kib = 1 << 20 }, .committed_kib = 15 << 20,
                        .ksm = { .run = 1, .pages_to_scan = 64 } };
        KsmDecision d;
        KsmState st;

        (void) state;
        conf_init_defaults(&c);
        ksm_targets_set(&prev.fight.written, KSM_KNOB_PAGES_TO_SCAN, 364);
        policy_decide(&c, &s, &prev, 2, &d, &st);
        assert_true(st.fight.yielded);
        assert_int_equal(d.targets.set, 0);
        assert_true(d.running);
        assert_non_null(strstr(d.reason, "another tuner"));
        /* Without the reversal the same policy writes. */
        prev.fight.written = (KsmTargets) {};
        policy_decide(&c, &s, &prev, 2, &d, &st);
        assert_false(st.fight.yielded);
        assert_int_not_equal(d.targets.set, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sequences),
                cmocka_unit_test(test_advisor_not_counted),
                cmocka_unit_test(test_unwanted_forgotten),
                cmocka_unit_test(test_policy_yields),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
