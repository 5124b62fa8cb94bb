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
#define NO_WRITE UINT64_MAX

typedef struct Row {
        const char *name;
        /* config changes from the defaults; 0 = keep */
        int64_t coef, cnst, min, max, sleep_msec;
        /* sample */
        uint64_t total, free_kib, committed;
        bool advisor;
        int64_t prev_npages;
        /* expected */
        uint64_t run, pages, sleep;     /* NO_WRITE: not written */
        int64_t npages;
} Row;

static const Row rows[] = {
        /* 16 GiB: thres = 3355443 KiB, sleep = 10 ms */
        { "plenty free, no guests: stop, write run only",
          .total = GIB(16), .free_kib = 10000000, .committed = 0, .prev_npages = 364,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .npages = 364 },
        { "committed + thres == total: not below, so run (decay from 0 clamps to MIN)",
          .total = GIB(16), .free_kib = 10000000, .committed = GIB(16) - 3355443, .prev_npages = 0,
          .run = 1, .pages = 64, .sleep = 10, .npages = 64 },
        { "committed + thres one below total: stop",
          .total = GIB(16), .free_kib = 10000000, .committed = GIB(16) - 3355444, .prev_npages = 0,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .npages = 0 },
        { "free == thres: not above, so run; not below, so decay",
          .total = GIB(16), .free_kib = 3355443, .committed = 0, .prev_npages = 300,
          .run = 1, .pages = 250, .sleep = 10, .npages = 250 },
        { "free one below thres: boost",
          .total = GIB(16), .free_kib = 3355442, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 10, .npages = 300 },
        { "boost clamps at MAX",
          .total = GIB(16), .free_kib = 1000, .committed = GIB(15), .prev_npages = 1200,
          .run = 1, .pages = 1250, .sleep = 10, .npages = 1250 },
        { "decay clamps at MIN",
          .total = GIB(16), .free_kib = 5000000, .committed = GIB(15), .prev_npages = 100,
          .run = 1, .pages = 64, .sleep = 10, .npages = 64 },
        { "MIN > MAX, below MIN: the script's order makes MIN win",
          .min = 100, .max = 50,
          .total = GIB(16), .free_kib = 5000000, .committed = GIB(15), .prev_npages = 120,
          .run = 1, .pages = 100, .sleep = 10, .npages = 100 },
        { "MIN > MAX, above MIN: MAX wins",
          .min = 100, .max = 50,
          .total = GIB(16), .free_kib = 1000, .committed = GIB(15), .prev_npages = 0,
          .run = 1, .pages = 50, .sleep = 10, .npages = 50 },
        { "64 GiB host: sleep 2 ms raised to the 10 ms floor",
          .total = GIB(64), .free_kib = 1000, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 10, .npages = 300 },
        { "64 GiB host, SLEEP_MSEC=100: 25 ms",
          .sleep_msec = 100,
          .total = GIB(64), .free_kib = 1000, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 25, .npages = 300 },
        { "2 GiB host: sleep 80 ms",
          .total = GIB(2), .free_kib = 1000, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 80, .npages = 300 },
        { "16 GiB + 1 KiB host: 9 ms is <= 10, so 10",
          .total = GIB(16) + 1, .free_kib = 1000, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 10, .npages = 300 },
        { "tiny host: CONST 2048 beats 20 % of 8000; free 2000 < 2048 boosts",
          .total = 8000, .free_kib = 2000, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 20971, .npages = 300 },
        { "tiny host: free 2049 > CONST and committed small: stop",
          .total = 8000, .free_kib = 2049, .committed = 0, .prev_npages = 0,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .npages = 0 },
        { "CONST equal to the percentage is not larger: percentage kept",
          .cnst = 1600,
          .total = 8000, .free_kib = 1599, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 20971, .npages = 300 },
        { "1 TiB host, busy: no overflow, boost",
          .total = GIB(1024), .free_kib = 100000000, .committed = 900000000, .prev_npages = 0,
          .run = 1, .pages = 300, .sleep = 10, .npages = 300 },
        { "64 TiB host, busy, free above 20 %: decay",
          .total = GIB(65536), .free_kib = UINT64_C(20000000000), .committed = UINT64_C(60000000000), .prev_npages = 500,
          .run = 1, .pages = 450, .sleep = 10, .npages = 450 },
        { "64 TiB host, idle: stop",
          .total = GIB(65536), .free_kib = UINT64_C(60000000000), .committed = 0, .prev_npages = 500,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .npages = 500 },
        { "committed near 2^64 saturates instead of wrapping to a stop",
          .total = GIB(16), .free_kib = 10000000, .committed = UINT64_MAX - 10, .prev_npages = 0,
          .run = 1, .pages = 64, .sleep = 10, .npages = 64 },
        { "advisor on: pages_to_scan left to the kernel",
          .advisor = true,
          .total = GIB(16), .free_kib = 1000, .committed = 0, .prev_npages = 0,
          .run = 1, .pages = NO_WRITE, .sleep = 10, .npages = 300 },
        { "COEF 0 and CONST 0: threshold 0, free 0 is not above it: run, decay",
          .coef = -1, .cnst = -1,
          .total = GIB(16), .free_kib = 0, .committed = 0, .prev_npages = 500,
          .run = 1, .pages = 450, .sleep = 10, .npages = 450 },
};

static uint64_t target(const KsmDecision *d, KsmKnob k) {
        return (d->targets.set & (1u << k)) ? d->targets.value[k] : NO_WRITE;
}

static void run_row(const Row *row) {
        KsmConfig c;
        KsmSample s = {};
        KsmState prev = { .npages = row->prev_npages }, st;
        KsmDecision d;

        conf_init_defaults(&c);
        if (row->coef)
                c.thres_coef_pct = row->coef < 0 ? 0 : row->coef;
        if (row->cnst)
                c.thres_const_kib = row->cnst < 0 ? 0 : row->cnst;
        if (row->min)
                c.npages_min = row->min;
        if (row->max)
                c.npages_max = row->max;
        if (row->sleep_msec)
                c.sleep_msec = row->sleep_msec;
        s.mem.mem_total_kib = row->total;
        s.mem.mem_free_kib = row->free_kib / 2;
        s.mem.buffers_kib = row->free_kib / 4;
        s.mem.cached_kib = row->free_kib - row->free_kib / 2 - row->free_kib / 4;
        s.committed_kib = row->committed;
        if (row->advisor) {
                s.ksm.features |= 1u << KSM_FEATURE_ADVISOR;
                s.ksm.advisor_mode = KSM_ADVISOR_SCAN_TIME;
        }

        policy_compat_decide(&c, &s, &prev, &d, &st);

        if (target(&d, KSM_KNOB_RUN) != row->run || target(&d, KSM_KNOB_PAGES_TO_SCAN) != row->pages ||
            target(&d, KSM_KNOB_SLEEP_MILLISECS) != row->sleep || st.npages != row->npages)
                fail_msg("row '%s': expected run=%jd pages=%jd sleep=%jd npages=%jd, got run=%jd pages=%jd sleep=%jd npages=%jd (%s)",
                         row->name, (intmax_t) row->run, (intmax_t) row->pages, (intmax_t) row->sleep,
                         (intmax_t) row->npages, (intmax_t) target(&d, KSM_KNOB_RUN),
                         (intmax_t) target(&d, KSM_KNOB_PAGES_TO_SCAN), (intmax_t) target(&d, KSM_KNOB_SLEEP_MILLISECS),
                         (intmax_t) st.npages, d.reason);
        /* Only these three knobs, ever. */
        assert_int_equal(d.targets.set & ~((1u << KSM_KNOB_RUN) | (1u << KSM_KNOB_PAGES_TO_SCAN) |
                                           (1u << KSM_KNOB_SLEEP_MILLISECS)), 0);
        assert_int_equal(d.running, row->run == 1);
        assert_true(strlen(d.reason) > 10);
}

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                run_row(&rows[i]);
}

/* Absurd meminfo: exact threshold, sums that saturate instead of wrapping. */
static void test_absurd_input(void **state) {
        KsmConfig c;
        KsmSample s = {};
        KsmState prev = { .npages = 0 }, st;
        KsmDecision d;

        (void) state;
        conf_init_defaults(&c);
        /* 20 % of 2^64 - 1 KiB, exactly (the old product wrapped). */
        assert_true(policy_compat_threshold_kib(&c, UINT64_MAX) == UINT64_C(3689348814741910323));
        c.thres_coef_pct = 100;
        assert_true(policy_compat_threshold_kib(&c, UINT64_MAX) == UINT64_MAX);
        conf_init_defaults(&c);

        /* MemFree + Buffers + Cached = 2^64 + 5 wrapped to 5: a boost on an
         * idle host. Saturated, it is plenty free: stop. */
        s.mem.mem_total_kib = UINT64_MAX;
        s.mem.mem_free_kib = UINT64_C(1) << 63;
        s.mem.buffers_kib = UINT64_C(1) << 63;
        s.mem.cached_kib = 5;
        policy_compat_decide(&c, &s, &prev, &d, &st);
        assert_true(d.free_kib == UINT64_MAX);
        assert_int_equal(target(&d, KSM_KNOB_RUN), 0);
}

/* npages survives a stop: the next start continues from it. */
static void test_npages_kept_across_stop(void **state) {
        KsmConfig c;
        KsmSample s = {};
        KsmState st = { 0 }, next;
        KsmDecision d;
        const struct { uint64_t free_kib, committed; uint64_t run; int64_t npages; } seq[] = {
                { 1000, GIB(15), 1, 300 },      /* boost */
                { 1000, GIB(15), 1, 600 },      /* boost */
                { 10000000, 0, 0, 600 },        /* stop: npages kept */
                { 10000000, 0, 0, 600 },
                { 1000, GIB(15), 1, 900 },      /* boost from 600, not from 0 */
                { 5000000, GIB(15), 1, 850 },   /* decay */
        };

        (void) state;
        conf_init_defaults(&c);
        s.mem.mem_total_kib = GIB(16);
        for (size_t i = 0; i < ELEMENTSOF(seq); i++) {
                s.mem.mem_free_kib = seq[i].free_kib;
                s.committed_kib = seq[i].committed;
                policy_compat_decide(&c, &s, &st, &d, &next);
                assert_int_equal(d.targets.value[KSM_KNOB_RUN], seq[i].run);
                if (next.npages != seq[i].npages)
                        fail_msg("step %zu: expected npages %jd, got %jd", i, (intmax_t) seq[i].npages, (intmax_t) next.npages);
                st = next;
        }
}

static void test_helpers(void **state) {
        KsmConfig c;

        (void) state;
        conf_init_defaults(&c);
        assert_int_equal(policy_compat_threshold_kib(&c, GIB(16)), 3355443);
        assert_int_equal(policy_compat_threshold_kib(&c, 10240), 2048);
        assert_int_equal(policy_compat_threshold_kib(&c, 10241), 2048);
        assert_int_equal(policy_compat_threshold_kib(&c, 10245), 2049);
        assert_int_equal(policy_compat_sleep_ms(&c, GIB(16)), 10);
        assert_int_equal(policy_compat_sleep_ms(&c, GIB(8)), 20);
        assert_int_equal(policy_compat_sleep_ms(&c, 1), UINT64_C(167772160));
        c.sleep_msec = 1000000;
        assert_int_equal(policy_compat_sleep_ms(&c, 1), UINT32_MAX);
        assert_int_equal(policy_compat_sleep_ms(&c, 0), UINT32_MAX);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_absurd_input),
                cmocka_unit_test(test_npages_kept_across_stop),
                cmocka_unit_test(test_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
