/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "macro.h"
#include "policy.h"

#define GIB(n) ((uint64_t) (n) * 1048576)      /* in KiB */
#define ON KSM_ADVISOR_SCAN_TIME
#define OFF KSM_ADVISOR_NONE

/* One tick of the advisor bookkeeping: the state and sample before, the
 * decision's running flag and write, and what must come out. */
typedef struct Row {
        const char *name;
        KsmPolicyKind policy;
        KsmAdvisorState prev;
        KsmAdvisorMode mode;            /* advisor_mode as read this tick */
        bool no_advisor;                /* a kernel without the advisor */
        bool running;                   /* policy_advisor_after: the decision runs KSM */
        bool written_none;              /* policy_advisor_applied: advisor_mode=none was written */
        KsmAdvisorState want;
        unsigned want_events;
} Row;

static const Row rows[] = {
        { "adaptive keeps an advisor it took while it stays off",
          KSM_POLICY_ADAPTIVE, .prev = { .taken = true }, .mode = OFF, .running = true,
          .want = { .taken = true } },
        { "the admin turned it back on: it is theirs from now on",
          KSM_POLICY_ADAPTIVE, .prev = { .taken = true }, .mode = ON, .running = true,
          .want = { .admins = true, .left_on_said = true }, .want_events = KSM_ADVISOR_TAKEN_BACK | KSM_ADVISOR_LEFT_ON },
        { "a switch to compat gives a taken advisor back",
          KSM_POLICY_COMPAT, .prev = { .taken = true }, .mode = OFF, .running = true,
          .want = {}, .want_events = KSM_ADVISOR_RESTORE },
        { "turned back on and compat: nothing to restore",
          KSM_POLICY_COMPAT, .prev = { .taken = true }, .mode = ON, .running = false,
          .want = { .admins = true }, .want_events = KSM_ADVISOR_TAKEN_BACK },
        { "compat with the advisor on and KSM running: said once",
          KSM_POLICY_COMPAT, .mode = ON, .running = true,
          .want = { .left_on_said = true }, .want_events = KSM_ADVISOR_LEFT_ON },
        { "said already: not again",
          KSM_POLICY_COMPAT, .prev = { .left_on_said = true }, .mode = ON, .running = true,
          .want = { .left_on_said = true } },
        { "KSM stopped: the notice may come again later",
          KSM_POLICY_COMPAT, .prev = { .left_on_said = true }, .mode = ON, .running = false,
          .want = {} },
        { "no advisor in this kernel: nothing to say",
          KSM_POLICY_ADAPTIVE, .mode = OFF, .no_advisor = true, .running = true, .want = {} },
        { "adaptive's write turned the admin's advisor off: taken",
          KSM_POLICY_ADAPTIVE, .mode = ON, .running = true, .written_none = true,
          .want = { .taken = true }, .want_events = KSM_ADVISOR_TAKEN },
        { "the admin's advisor is left alone while it is theirs",
          KSM_POLICY_ADAPTIVE, .prev = { .admins = true, .left_on_said = true }, .mode = ON, .running = true,
          .want = { .admins = true, .left_on_said = true } },
        { "advisor already off: writing none takes nothing",
          KSM_POLICY_ADAPTIVE, .mode = OFF, .running = true, .written_none = true, .want = {} },
        { "taken already: not taken twice",
          KSM_POLICY_ADAPTIVE, .prev = { .taken = true }, .mode = OFF, .running = true, .written_none = true,
          .want = { .taken = true } },
};

static void make_sample(const Row *r, KsmSample *s) {
        *s = (KsmSample) {
                .ksm = { .advisor_mode = r->mode,
                         .features = r->no_advisor ? 0 : 1u << KSM_FEATURE_ADVISOR },
        };
}

static void check_state(const Row *r, const KsmAdvisorState *got, unsigned events) {
        if (got->taken != r->want.taken || got->admins != r->want.admins || got->left_on_said != r->want.left_on_said)
                fail_msg("%s: expected taken=%d admins=%d said=%d, got %d %d %d", r->name, r->want.taken,
                         r->want.admins, r->want.left_on_said, got->taken, got->admins, got->left_on_said);
        if (events != r->want_events)
                fail_msg("%s: expected events 0x%x, got 0x%x", r->name, r->want_events, events);
}

/* The three steps of one tick, each pure, as the manager calls them. */
static void test_steps(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const Row *r = &rows[i];
                KsmConfig c = { .policy = r->policy };
                KsmSample s;
                KsmState st = { .advisor = r->prev };
                KsmDecision d = { .running = r->running };
                unsigned events = 0;

                make_sample(r, &s);
                if (r->written_none)
                        ksm_targets_set(&d.targets, KSM_KNOB_ADVISOR_MODE, KSM_ADVISOR_NONE);
                policy_advisor_before(&c, &s, &st, &events);
                policy_advisor_after(&s, &d, &st, &events);
                events |= policy_advisor_applied(&s, &d, r->written_none ? 1u << KSM_KNOB_ADVISOR_MODE : 0, &st);
                check_state(r, &st.advisor, events);
        }
}

/* Through the dispatcher: the advisor state and events come out of
 * policy_decide() with the decision. */
static void test_decide(void **state) {
        KsmConfig c;
        KsmSample s = {
                .mem = { .mem_total_kib = GIB(24), .mem_available_kib = GIB(2), .has_mem_available = true },
                .committed_kib = GIB(6), .n_guests = 6, .page_size_bytes = 4096,
                .ksm = { .run = 1, .pages_to_scan = 100, .sleep_millisecs = 20, .advisor_mode = ON,
                         .features = 1u << KSM_FEATURE_ADVISOR },
        };
        KsmState prev = {}, next;
        KsmDecision d;

        (void) state;
        conf_init_defaults(&c);
        c.policy = KSM_POLICY_ADAPTIVE;
        /* Adaptive under pressure turns the admin's advisor off ... */
        policy_decide(&c, &s, &prev, 1000000, &d, &next);
        assert_true(d.running);
        assert_int_equal(d.targets.value[KSM_KNOB_ADVISOR_MODE], KSM_ADVISOR_NONE);
        assert_int_equal(d.advisor_events, 0);
        assert_int_equal(policy_advisor_applied(&s, &d, d.targets.set, &next), KSM_ADVISOR_TAKEN);
        assert_true(next.advisor.taken);

        /* ... and a switch to compat gives it back. */
        prev = next;
        s.ksm.advisor_mode = OFF;
        c.policy = KSM_POLICY_COMPAT;
        policy_decide(&c, &s, &prev, 2000000, &d, &next);
        assert_int_equal(d.advisor_events, KSM_ADVISOR_RESTORE);
        assert_false(next.advisor.taken);
}

/* The guest-event latch: an event counts for exactly one decision. */
static void test_guest_events(void **state) {
        KsmConfig c;
        KsmSample s = { .guest_events = 3 };
        KsmState prev = { .guest_events_seen = 2 }, next;
        KsmDecision d;

        (void) state;
        conf_init_defaults(&c);
        assert_true(policy_guests_changed(&s, &prev));
        policy_decide(&c, &s, &prev, 0, &d, &next);
        assert_int_equal(next.guest_events_seen, 3);
        assert_false(policy_guests_changed(&s, &next));
        s.guests_changed = true;        /* a new pid in the scan */
        assert_true(policy_guests_changed(&s, &next));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_steps),
                cmocka_unit_test(test_decide),
                cmocka_unit_test(test_guest_events),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
