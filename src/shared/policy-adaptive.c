/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive policy: run KSM when memory is short and there is something
 * to merge, at a rate set by measurements rather than fixed steps.
 *
 * When: pressure is MemAvailable (or the old free figure without it) less
 * what KSM already saves, that is the memory there would be without KSM,
 * compared with the compat threshold; or memory stall time from PSI.
 * Judging without the savings means a successful merge does not end the
 * "need": the old script's figures grew as merging worked, it stopped or
 * slowed, and its next start began from scratch.
 *
 * How fast: ksmd only picks up a new process on its next pass, hashes a page
 * on one pass and merges it on the one after (a page is only compared once
 * its checksum held still for a pass). So a new guest, or guest memory that
 * grew, plans up to three passes: the rest of this one, one to checksum and
 * one to merge, to be done within KSM_BURST_SECS each. The rate is the work
 * left (pages not yet covered by this pass plus the planned passes) over the
 * time left. After that a pass continues only as fast as it still saves
 * (savings per scanned page), down to a trickle of one pass per
 * KSM_TRICKLE_SECS as soon as scanning saves nothing new, or a whole pass
 * saved nothing; a trickle that saves again speeds up. Every rate is capped
 * by ksmd's measured CPU cost per page against KSM_CPU_BUDGET, a token bucket
 * over a minute, so a burst may briefly use more than the budget.
 *
 * The policy owns pages_to_scan: it turns the kernel's advisor off while it
 * runs (the daemon restores the admin's setting on exit) instead of fighting
 * it, and uses smart_scan and use_zero_pages where the kernel has them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "units.h"

#define NSEC_PER_USEC UINT64_C(1000)
#define PPM UINT64_C(1000000)

/* The rest of this pass, a pass to checksum the new pages, a pass to merge. */
#define BURST_PASSES 3
/* The CPU budget is an average over this window; unused budget is saved up
 * to this much so a burst can go faster, spent over SPEND_USEC. */
#define CPU_WINDOW_USEC (60 * USEC_PER_SEC)
#define CPU_SPEND_USEC (10 * USEC_PER_SEC)
/* A burst may use at most this many times the budget while credit lasts. */
#define CPU_BURST_FACTOR 4
/* Before the first measurement: ksmd's cost per page when it merges, on the
 * machines we measured (1 us to checksum, 7-9 us to search the trees). */
#define COST_GUESS_NSEC 8000
/* A measurement of the cost needs this many scanned pages to mean anything. */
#define MIN_MEASURE_PAGES 2000
/* A pass that keeps saving is done within a minute. */
#define STEADY_PASS_USEC (60 * USEC_PER_SEC)
/* Savings per scanned page at which a pass deserves the steady rate, and
 * below which it saves "nothing" (1 page in 1,000). */
#define YIELD_FULL_PPM 10000
#define YIELD_MIN_PPM 1000
/* A pass that adds fewer pages than this (or 1/1000 of the memory) saved nothing new. */
#define PASS_GAIN_MIN_PAGES 256
/* Guest memory that grows by more than 1/16, and at least 64 MiB, is new work. */
#define GROWTH_MIN_KIB (64 * 1024)
/* ksmd's batches: 20 ms apart (the kernel's default) unless a batch would be
 * smaller than MIN_BATCH pages, then further apart, up to 1 s. */
#define SLEEP_MS 20
#define SLEEP_MAX_MS 1000
#define MIN_BATCH_PAGES 100
#define MAX_BATCH_PAGES 100000
/* How soon to look again, by mode. */
#define TICK_BURST_USEC (1 * USEC_PER_SEC)
#define TICK_STEADY_USEC (2 * USEC_PER_SEC)

static const char *const mode_names[_KSM_ADAPTIVE_MODE_MAX] = {
        [KSM_ADAPTIVE_STOPPED] = "stopped",
        [KSM_ADAPTIVE_BURST] = "burst",
        [KSM_ADAPTIVE_STEADY] = "steady",
        [KSM_ADAPTIVE_TRICKLE] = "trickle",
};

const char *policy_adaptive_mode_name(KsmAdaptiveMode mode) {
        return mode >= 0 && mode < _KSM_ADAPTIVE_MODE_MAX ? mode_names[mode] : "unknown";
}

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

static uint64_t sub_sat(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

static uint64_t saved_pages(const KsmKnobs *k) {
        return k->pages_sharing + k->ksm_zero_pages;
}

/* What one tick measured, derived from the sample and the previous state. */
typedef struct Measure {
        uint64_t page_kib;
        uint64_t avail_kib;             /* MemAvailable, or free + buffers + cached */
        uint64_t judged_kib;            /* avail less what KSM saves: avail without KSM */
        uint64_t thres_kib;
        bool mem_pressure, psi_pressure;
        uint64_t mergeable_pages;       /* the memory a pass covers */
        uint64_t scanned_pages;         /* pages_scanned or an estimate */
        uint64_t saved;                 /* pages */
        bool pass_ended;
        bool grew;                      /* guest memory grew enough to plan passes */
} Measure;

static uint64_t scanned_pages(const KsmSample *s, const KsmAdaptiveState *p, uint64_t dt_usec) {
        const KsmKnobs *k = &s->ksm;

        if (ksm_has(k, KSM_FEATURE_PAGES_SCANNED))
                return k->pages_scanned;
        /* Older kernels: at most pages_to_scan per sleep_millisecs while running. */
        if (!p->have_prev || k->run != 1 || k->sleep_millisecs == 0)
                return p->prev_scanned_pages;
        return p->prev_scanned_pages + k->pages_to_scan * (dt_usec / 1000) / k->sleep_millisecs;
}

static void measure(const KsmConfig *c, const KsmSample *s, const KsmAdaptiveState *p, uint64_t now_usec,
                    Measure *m, KsmAdaptiveState *st) {
        const KsmKnobs *k = &s->ksm;
        uint64_t page_bytes = s->page_size_bytes ?: 4096;
        uint64_t dt = p->have_prev && now_usec > p->prev_usec ? now_usec - p->prev_usec : 0;
        uint64_t ksm_pages = k->pages_shared + k->pages_sharing + k->pages_unshared + k->pages_volatile;
        uint64_t cap = (uint64_t) c->cpu_budget_pct * CPU_WINDOW_USEC / 100;

        *m = (Measure) { .page_kib = max_u64(page_bytes / 1024, 1) };
        m->avail_kib = s->mem.has_mem_available ? s->mem.mem_available_kib :
                       s->mem.mem_free_kib + s->mem.buffers_kib + s->mem.cached_kib;
        m->saved = saved_pages(k);
        m->judged_kib = sub_sat(m->avail_kib, m->saved * m->page_kib);
        m->thres_kib = policy_compat_threshold_kib(c, s->mem.mem_total_kib);
        m->mem_pressure = m->judged_kib < m->thres_kib;
        m->psi_pressure = s->has_psi && c->psi_thres_pct > 0 &&
                          s->psi.some_avg10_centipct >= (uint64_t) c->psi_thres_pct * 100;
        m->mergeable_pages = max_u64(s->committed_kib / m->page_kib, ksm_pages);
        m->scanned_pages = scanned_pages(s, p, dt);

        if (!p->have_prev) {
                /* First look: a full bucket, and this pass starts now. */
                st->cpu_credit_usec = (int64_t) cap;
                st->pass_start_scanned_pages = m->scanned_pages;
                st->pass_start_saved_pages = m->saved;
                st->last_pass_gain_pages = UINT64_MAX;  /* unknown: not "nothing" */
                goto done;
        }

        uint64_t dscan = sub_sat(m->scanned_pages, p->prev_scanned_pages);
        if (s->has_ksmd_cpu && p->prev_ksmd_cpu_usec <= s->ksmd_cpu_usec) {
                uint64_t dcpu = s->ksmd_cpu_usec - p->prev_ksmd_cpu_usec;
                int64_t credit = p->cpu_credit_usec + (int64_t) (dt * (uint64_t) c->cpu_budget_pct / 100) - (int64_t) dcpu;

                /* Debt is kept whole, saving is capped at one window. */
                st->cpu_credit_usec = credit > (int64_t) cap ? (int64_t) cap : credit;
                if (dscan >= MIN_MEASURE_PAGES) {
                        uint64_t cost = dcpu * NSEC_PER_USEC / dscan;
                        /* Mostly the new figure: the cost changes several fold
                         * between a checksum pass and a merge pass. */
                        st->cost_nsec_per_page = p->cost_nsec_per_page ?
                                                 (p->cost_nsec_per_page + 3 * cost) / 4 : cost;
                }
        }
        if (dscan >= MIN_MEASURE_PAGES)
                st->yield_ppm = min_u64(sub_sat(m->saved, p->prev_saved_pages) * PPM / dscan, PPM);

        if (k->full_scans != p->prev_full_scans) {
                uint64_t gain = sub_sat(m->saved, p->pass_start_saved_pages);

                m->pass_ended = true;
                st->last_pass_gain_pages = gain;
                st->pass_start_scanned_pages = m->scanned_pages;
                st->pass_start_saved_pages = m->saved;
        }
        m->grew = s->committed_kib > p->prev_committed_kib + max_u64(p->prev_committed_kib / 16, GROWTH_MIN_KIB);
done:
        st->have_prev = true;
        st->prev_usec = now_usec;
        st->prev_ksmd_cpu_usec = s->ksmd_cpu_usec;
        st->prev_scanned_pages = m->scanned_pages;
        st->prev_saved_pages = m->saved;
        st->prev_committed_kib = s->committed_kib;
        st->prev_full_scans = k->full_scans;
}

/* The CPU share ksmd may use now, in ppm of one CPU. */
static uint64_t cpu_allowed_ppm(const KsmConfig *c, const KsmAdaptiveState *st) {
        int64_t budget = c->cpu_budget_pct * 10000;
        int64_t ceiling = budget * CPU_BURST_FACTOR;
        int64_t allowed = budget + st->cpu_credit_usec * (int64_t) PPM / (int64_t) CPU_SPEND_USEC;

        if (ceiling > (int64_t) PPM)
                ceiling = (int64_t) PPM;
        if (allowed > ceiling)
                allowed = ceiling;
        /* In debt: half the budget until it is paid back. */
        if (allowed < budget / 2)
                allowed = budget / 2;
        return (uint64_t) allowed;
}

/* pages_to_scan and sleep_millisecs for a rate, given the cost of a page:
 * a batch of n pages takes n * cost, then ksmd sleeps, so
 * rate = n / (sleep + n * cost). */
static void rate_to_knobs(uint64_t rate, uint64_t cost_nsec, uint64_t *ret_pages, uint64_t *ret_sleep_ms) {
        uint64_t sleep_ms = SLEEP_MS, busy_ppm, n;

        rate = max_u64(rate, 1);
        if (rate * SLEEP_MS / 1000 < MIN_BATCH_PAGES) {
                sleep_ms = min_u64(MIN_BATCH_PAGES * 1000 / rate, SLEEP_MAX_MS);
                *ret_pages = max_u64(rate * sleep_ms / 1000, 1);
                *ret_sleep_ms = sleep_ms;
                return;
        }
        busy_ppm = min_u64(rate * cost_nsec / 1000, PPM * 95 / 100);
        /* rate and sleep are bounded far below 2^40, the product fits. */
        n = rate * sleep_ms * 1000 / (PPM - busy_ppm);
        *ret_pages = min_u64(max_u64(n, 1), MAX_BATCH_PAGES);
        *ret_sleep_ms = sleep_ms;
}

static void format_mib(char *buf, size_t size, uint64_t kib) {
        snprintf(buf, size, "%" PRIu64 " MiB", kib / 1024);
}

/* A reason longer than KSM_REASON_MAX is cut on purpose: it is one line. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
void policy_adaptive_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                            KsmDecision *ret, KsmState *ret_state) {
        const KsmAdaptiveState *p = &prev->adaptive;
        KsmState state = *prev;
        KsmAdaptiveState *st = &state.adaptive;
        KsmDecision d = {};
        Measure m;
        char judged[32], thres[32];
        uint64_t rate, cost, cpu_ppm, pages, sleep_ms, gain_min;
        bool pressure, gaining, planned;
        const char *why;

        measure(c, s, p, now_usec, &m, st);
        d.thres_kib = m.thres_kib;
        d.free_kib = m.avail_kib;
        pressure = m.mem_pressure || m.psi_pressure;
        format_mib(judged, sizeof(judged), m.judged_kib);
        format_mib(thres, sizeof(thres), m.thres_kib);

        if (s->n_guests == 0 && s->committed_kib == 0 && m.mergeable_pages == 0) {
                st->mode = KSM_ADAPTIVE_STOPPED;
                snprintf(d.reason, sizeof(d.reason), "stop: no guests and no mergeable memory");
                goto stop;
        }

        gain_min = max_u64(PASS_GAIN_MIN_PAGES, m.mergeable_pages / 1000);
        planned = s->ksm.full_scans < p->burst_until_full_scans;
        gaining = (p->mode == KSM_ADAPTIVE_BURST && planned) ||
                  (p->mode == KSM_ADAPTIVE_STEADY && p->have_prev && st->yield_ppm >= YIELD_MIN_PPM);

        if (!pressure && !(p->mode != KSM_ADAPTIVE_STOPPED && gaining)) {
                st->mode = KSM_ADAPTIVE_STOPPED;
                snprintf(d.reason, sizeof(d.reason),
                         "stop: available without KSM's savings %s >= threshold %s%s, nothing left to gain",
                         judged, thres, s->has_psi ? " and no memory stalls" : "");
                goto stop;
        }

        /* Plan passes for new guests, grown guests, or a start from rest;
         * without pressure only the work already planned is finished. */
        if (pressure && (s->guests_changed || m.grew || p->mode == KSM_ADAPTIVE_STOPPED)) {
                st->burst_until_full_scans = s->ksm.full_scans + BURST_PASSES;
                st->burst_deadline_usec = now_usec + BURST_PASSES * (uint64_t) c->burst_secs * USEC_PER_SEC;
                planned = true;
        }

        cost = st->cost_nsec_per_page ?: COST_GUESS_NSEC;
        cpu_ppm = cpu_allowed_ppm(c, st);
        uint64_t trickle = max_u64(m.mergeable_pages / (uint64_t) c->trickle_secs, 1);
        uint64_t in_pass = sub_sat(m.scanned_pages, st->pass_start_scanned_pages);
        uint64_t uncovered = sub_sat(m.mergeable_pages, in_pass);

        if (planned) {
                uint64_t passes_after = sub_sat(st->burst_until_full_scans, s->ksm.full_scans + 1);
                uint64_t work = uncovered + passes_after * m.mergeable_pages;
                uint64_t left = max_u64(sub_sat(st->burst_deadline_usec, now_usec), USEC_PER_SEC);

                st->mode = KSM_ADAPTIVE_BURST;
                rate = work * USEC_PER_SEC / left;
                why = s->guests_changed ? "guests changed" : m.grew ? "guest memory grew" :
                      p->mode == KSM_ADAPTIVE_STOPPED ? "start" : "planned passes";
        } else if (m.pass_ended && st->last_pass_gain_pages < gain_min) {
                st->mode = KSM_ADAPTIVE_TRICKLE;
                rate = trickle;
                why = "the last pass saved nothing new";
        } else if (p->mode != KSM_ADAPTIVE_BURST && st->yield_ppm < YIELD_MIN_PPM) {
                /* No need to finish a pass that saves nothing to know it. */
                st->mode = KSM_ADAPTIVE_TRICKLE;
                rate = trickle;
                why = "scanning saves nothing new";
        } else {
                /* As fast as the pass still pays: full steady rate at 1 % of
                 * scanned pages saved, down to the trickle at nothing. */
                uint64_t steady = m.mergeable_pages * USEC_PER_SEC / STEADY_PASS_USEC;

                st->mode = KSM_ADAPTIVE_STEADY;
                rate = max_u64(trickle, steady * min_u64(st->yield_ppm, YIELD_FULL_PPM) / YIELD_FULL_PPM);
                why = "passes still save";
        }
        if (st->mode != KSM_ADAPTIVE_BURST)
                st->burst_until_full_scans = 0;

        /* The CPU cap, from ksmd's measured cost per page. */
        uint64_t rate_cap = max_u64(cpu_ppm * 1000 / cost, 1);
        bool capped = rate > rate_cap;
        if (capped)
                rate = rate_cap;
        st->rate_pages_per_sec = rate;
        rate_to_knobs(rate, cost, &pages, &sleep_ms);

        d.running = true;
        if (s->advisor_is_admins && s->ksm.advisor_mode == KSM_ADVISOR_SCAN_TIME)
                /* The admin turned the advisor back on while we ran: it owns
                 * the rate now, and pages_to_scan would fail with EINVAL. */
                why = "the kernel's advisor sets the rate";
        else {
                if (ksm_has(&s->ksm, KSM_FEATURE_ADVISOR) && !s->advisor_is_admins)
                        ksm_targets_set(&d.targets, KSM_KNOB_ADVISOR_MODE, KSM_ADVISOR_NONE);
                ksm_targets_set(&d.targets, KSM_KNOB_PAGES_TO_SCAN, pages);
                ksm_targets_set(&d.targets, KSM_KNOB_SLEEP_MILLISECS, sleep_ms);
        }
        if (ksm_has(&s->ksm, KSM_FEATURE_SMART_SCAN))
                ksm_targets_set(&d.targets, KSM_KNOB_SMART_SCAN, 1);
        if (ksm_has(&s->ksm, KSM_FEATURE_USE_ZERO_PAGES))
                ksm_targets_set(&d.targets, KSM_KNOB_USE_ZERO_PAGES, 1);
        ksm_targets_set(&d.targets, KSM_KNOB_RUN, 1);
        d.next_tick_usec = st->mode == KSM_ADAPTIVE_BURST ? TICK_BURST_USEC :
                           st->mode == KSM_ADAPTIVE_STEADY ? TICK_STEADY_USEC : 0;

        char unc[32], merg[32], press[96];

        format_mib(unc, sizeof(unc), uncovered * m.page_kib);
        format_mib(merg, sizeof(merg), m.mergeable_pages * m.page_kib);
        if (m.mem_pressure)
                snprintf(press, sizeof(press), "available without KSM's savings %s < %s", judged, thres);
        else if (m.psi_pressure)
                snprintf(press, sizeof(press), "memory stalls %" PRIu32 ".%02" PRIu32 "%% >= %" PRId64 "%%",
                         s->psi.some_avg10_centipct / 100, s->psi.some_avg10_centipct % 100, c->psi_thres_pct);
        else
                snprintf(press, sizeof(press), "no pressure, finishing");
        snprintf(d.reason, sizeof(d.reason),
                 "%s: %s; %s of %s not yet in this pass; %" PRIu64 " pages/s%s (%" PRIu64 ".%" PRIu64 " us/page, CPU %" PRIu64 "%%); %s",
                 mode_names[st->mode], why, unc, merg, rate, capped ? " capped" : "",
                 cost / 1000, cost % 1000 / 100, cpu_ppm / 10000, press);
        goto done;
stop:
        st->burst_until_full_scans = 0;
        st->rate_pages_per_sec = 0;
        ksm_targets_set(&d.targets, KSM_KNOB_RUN, 0);
done:
        *ret = d;
        *ret_state = state;
}
#pragma GCC diagnostic pop
