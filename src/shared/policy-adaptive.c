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
 * How fast: ksmd only picks up a new process on its next pass, hashes a page on
 * one pass and merges it on the one after (a page is only compared once its
 * checksum held still for a pass). So a new guest, or guest memory that grew,
 * plans up to three passes: the rest of this one, one to checksum and one to
 * merge, to be done within KSM_BURST_SECS each. The rate is the work left
 * (pages not yet covered by this pass plus the planned passes) over the time
 * left. The last planned pass runs to its end: a new page's twin among older
 * pages that never merged may lie anywhere after it in ksmd's list (a guest
 * goes in behind ksmd's cursor, wherever that stands), and merges where ksmd
 * reaches that twin, once the new page is in that pass's unstable tree. A
 * last planned pass that saw pages for the first time (a guest still filling
 * its memory when ksmd went by it before) adds one more pass, their second
 * look. A burst ends before its last planned pass when a pass that looked at
 * every page saw none for the first time: every page had its second look (a
 * second guest that came while the first was being seen plans three passes of
 * its own, which it may not need). Guests going away (a guest event while guest
 * memory fell) plan nothing: there is nothing new to merge. After that a pass
 * continues only as fast as it still saves (savings per scanned page). Once
 * the planned passes are done, a whole pass saved nothing new, or scanning
 * saves nothing, ksmd stops (idle: merged pages stay merged) while memory is
 * short, until new guests come or grow, or KSM_TRICKLE_SECS went by. Then one
 * whole pass looks for memory that changed, and goes on as a steady pass if it
 * saved, or idles again. Pages that changed and held still merge on their
 * second look, so at most two looks later. No scanning after the work is
 * done: a slow pass at all times costs as much ksmd CPU per pass as a look,
 * and costs it while nothing has changed yet. Every rate is capped by ksmd's
 * measured CPU cost per page against KSM_CPU_BUDGET, a token bucket holding
 * two minutes of it, so a burst may use more than the budget for a while, and
 * scans at the budget once it is spent.
 *
 * The policy owns pages_to_scan: it turns the kernel's advisor off while it
 * runs (the daemon restores the admin's setting on exit) instead of fighting
 * it, and uses smart_scan and use_zero_pages where the kernel has them. The
 * last planned pass of a burst, and a pass that gives new pages their
 * second look, run with smart_scan off: smart_scan skips pages that did not
 * merge for a few passes, and an older guest's pages that never had a match
 * are what a new guest's pages may match on their second look; both must be
 * in that pass's unstable tree. (smart_scan is turned off at the first tick
 * of such a pass: the sliver of it before that tick runs as before.) A
 * pass that may end the burst and has less than two ticks left finishes in
 * one batch, after which ksmd sleeps at the head of its list and is
 * stopped there: guests that come later go in at the end of its list,
 * behind every older guest (see park_if_ending()). The park holds until
 * that pass ends (park_holds()).
 *
 * Guest memory grew when it rose by a sixteenth, and at least 64 MiB: in a
 * burst from the tick before (a step re-plans three passes, and a guest
 * filling its memory in a burst would take many), out of one from the last
 * tick of the burst (the least since), so that a guest filling its memory
 * over many ticks while ksmd rests adds up to a step.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arith.h"
#include "macro.h"
#include "policy.h"
#include "units.h"

#define PPM UINT64_C(1000000)

/* The rest of this pass, a pass to checksum the new pages, a pass to merge. */
#define BURST_PASSES 3
/* Unused CPU budget is saved up to this much of it, so a burst can go
 * faster, and spent over SPEND_USEC. Two minutes: the first passes over
 * six new 1 GiB guests take some 18 s of ksmd at 7 us per page, more than
 * one minute of a 20 % budget holds. */
#define CPU_SAVE_USEC (120 * USEC_PER_SEC)
#define CPU_SPEND_USEC (10 * USEC_PER_SEC)
_Static_assert(CPU_SPEND_USEC % PPM == 0, "cpu_allowed_ppm() divides by CPU_SPEND_USEC / PPM");
/* A year of one CPU: more debt than that is absurd input. */
#define CPU_DEBT_MAX_USEC ((int64_t) (365 * 24 * 3600 * USEC_PER_SEC))
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
/* The end of a parked pass is judged four times a second: ksmd scans up
 * to a million pages a second in a burst. */
#define TICK_PARK_USEC (USEC_PER_SEC / 4)
/* ksmd's batch was cut to stop it: run=0 this soon after. */
#define STOP_TICK_USEC (USEC_PER_SEC / 4)
/* ksmd's sleep after the last batch of a pass that may end a burst: longer
 * than TICK_PARK_USEC and its slack. */
#define PARK_SLEEP_MS 1000
/* A park holds until its pass ends, for at most this many ticks (3 s at
 * TICK_PARK_USEC: the batch is at most two ticks' pages at the planned
 * rate). */
#define PARK_MAX_TICKS 12
/* Stopped, but guests just came or their memory grows (a guest fills its
 * RAM for a while after it starts, and a process event announces it before
 * that): look again this soon, until the memory settles. */
#define TICK_SETTLE_USEC (2 * USEC_PER_SEC)

static const char *const mode_names[_KSM_ADAPTIVE_MODE_MAX] = {
        [KSM_ADAPTIVE_STOPPED] = "stopped",
        [KSM_ADAPTIVE_BURST] = "burst",
        [KSM_ADAPTIVE_STEADY] = "steady",
        [KSM_ADAPTIVE_IDLE] = "idle",
        [KSM_ADAPTIVE_LOOK] = "look",
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

/* The CPU share ksmd may use now, in ppm of one CPU. */
static uint64_t cpu_allowed_ppm(const KsmConfig *c, const KsmAdaptiveState *st) {
        int64_t budget = c->cpu_budget_pct * 10000;
        int64_t ceiling = budget * CPU_BURST_FACTOR;
        /* credit * PPM / CPU_SPEND_USEC, divided first: the same integer
         * (CPU_SPEND_USEC is a multiple of PPM), and no overflow for any
         * credit (found by tests/fuzz/fuzz-policy). */
        int64_t allowed = budget + st->cpu_credit_usec / (int64_t) (CPU_SPEND_USEC / PPM);

        if (ceiling > (int64_t) PPM)
                ceiling = (int64_t) PPM;
        if (allowed > ceiling)
                allowed = ceiling;
        /* In debt: the budget itself. The planned passes go on at the
         * average the budget allows (the same CPU for the same pages, only
         * sooner than at less), and the debt is paid back once the bursts
         * end: an idle ksmd uses none of it. */
        if (allowed < budget)
                allowed = budget;
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

/* What one tick measured, derived from the sample and the previous state. */
typedef struct Measure {
        uint64_t page_kib;
        uint64_t avail_kib;             /* MemAvailable, or free + buffers + cached */
        uint64_t judged_kib;            /* avail less what KSM saves: avail without KSM */
        uint64_t thres_kib;
        bool mem_pressure, psi_pressure;
        bool pressure;                  /* either of them */
        uint64_t mergeable_pages;       /* the memory a pass covers */
        uint64_t scanned_pages;         /* pages_scanned or an estimate */
        uint64_t saved;                 /* pages */
        uint64_t ksm_pages;             /* pages ksmd has an item for: shared, sharing, unshared, volatile */
        bool pass_ended;
        uint64_t grow_base_kib;         /* guest memory growth counts from (holds_growth_base()) */
        bool grew;                      /* guest memory grew enough to plan passes */
        bool second_look_due;           /* the last planned pass saw new pages (second_look_due()) */
        bool guests_changed;            /* guests came or went since the last decision */
        bool guests_arrived;            /* ... and it was not only guests going away */
        uint64_t gain_min;              /* fewer saved pages than this is "nothing new" */
} Measure;

/* The scan rate this tick chose and what it rests on, for the knobs and the reason. */
typedef struct Plan {
        uint64_t rate;                  /* pages/s, after the CPU cap */
        bool capped;                    /* the CPU budget lowered it */
        uint64_t uncovered_pages;       /* mergeable pages this pass has not reached */
        uint64_t cost_nsec;             /* ksmd CPU per page, measured or guessed */
        uint64_t cpu_ppm;               /* the CPU share allowed now */
        bool look_at_all;               /* smart_scan off: the last planned pass */
        bool park;                      /* finish the pass in one batch, then ksmd sleeps at its head */
        const char *why;
} Plan;

static uint64_t scanned_pages(const KsmSample *s, const KsmAdaptiveState *p, uint64_t dt_usec) {
        const KsmKnobs *k = &s->ksm;

        if (ksm_has(k, KSM_FEATURE_PAGES_SCANNED))
                return k->pages_scanned;
        /* Older kernels: at most pages_to_scan per sleep_millisecs while running. */
        if (!p->have_prev || k->run != 1 || k->sleep_millisecs == 0)
                return p->prev_scanned_pages;
        return p->prev_scanned_pages + k->pages_to_scan * (dt_usec / USEC_PER_MSEC) / k->sleep_millisecs;
}

/* The figures of this tick alone: memory, pressure, pages to cover. */
static void measure_now(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t dt_usec,
                        Measure *m) {
        const KsmKnobs *k = &s->ksm;
        uint64_t page_bytes = s->page_size_bytes ?: 4096;

        *m = (Measure) { .page_kib = max_u64(page_bytes / 1024, 1) };
        m->ksm_pages = sat_add_u64(sat_add_u64(k->pages_shared, k->pages_sharing),
                                   sat_add_u64(k->pages_unshared, k->pages_volatile));
        m->avail_kib = s->mem.has_mem_available ? s->mem.mem_available_kib :
                       sat_add_u64(sat_add_u64(s->mem.mem_free_kib, s->mem.buffers_kib), s->mem.cached_kib);
        m->saved = ksm_saved_pages(k);
        m->judged_kib = sub_sat(m->avail_kib, sat_mul_u64(m->saved, m->page_kib));
        m->thres_kib = policy_compat_threshold_kib(c, s->mem.mem_total_kib);
        m->mem_pressure = m->judged_kib < m->thres_kib;
        m->psi_pressure = s->has_psi && c->psi_thres_pct > 0 &&
                          s->psi.some_avg10_centipct >= (uint64_t) c->psi_thres_pct * 100;
        m->pressure = m->mem_pressure || m->psi_pressure;
        m->mergeable_pages = max_u64(s->committed_kib / m->page_kib, m->ksm_pages);
        m->scanned_pages = scanned_pages(s, &prev->adaptive, dt_usec);
        m->guests_changed = policy_guests_changed(s, prev);
        /* A guest event while guest memory fell by a growth step is guests
         * going away: nothing new to merge, no reason to scan harder. A new
         * pid in the scan is an arrival whatever the memory says. */
        m->guests_arrived = s->guests_changed ||
                            (m->guests_changed && s->committed_kib + GROWTH_MIN_KIB > prev->adaptive.prev_committed_kib);
        m->gain_min = max_u64(PASS_GAIN_MIN_PAGES, m->mergeable_pages / 1000);
}

/* Whether ksmd saw pages for the first time since the last tick: its items
 * (shared + sharing + unshared + volatile) rose. Pages moving between those
 * states (merged, put in the unstable tree, skipped by smart_scan) keep the
 * sum; the items of pages merged into the zero page are dropped on the
 * next pass and lower it. */
static bool pages_first_seen(const KsmAdaptiveState *p, const Measure *m) {
        return sub_sat(m->ksm_pages, p->prev_ksm_pages) >= m->gain_min;
}

/* ksmd's CPU since the last tick: the budget's credit, and its cost per page. */
static void measure_cpu(const KsmConfig *c, const KsmSample *s, const KsmAdaptiveState *p, uint64_t dt_usec,
                        uint64_t dscan, KsmAdaptiveState *st) {
        uint64_t cap = (uint64_t) c->cpu_budget_pct * CPU_SAVE_USEC / 100;
        uint64_t dcpu;
        int64_t credit;

        if (!s->has_ksmd_cpu || p->prev_ksmd_cpu_usec > s->ksmd_cpu_usec)
                return;
        dcpu = s->ksmd_cpu_usec - p->prev_ksmd_cpu_usec;
        /* A jump of ksmd's CPU time or of the clock (absurd input) must not
         * overflow: saturate, then bound the debt. */
        credit = sat_add_i64(p->cpu_credit_usec, u64_to_i64_sat(sat_mul_u64(dt_usec, (uint64_t) c->cpu_budget_pct) / 100));
        credit = sat_add_i64(credit, -u64_to_i64_sat(dcpu));
        /* Debt is kept whole (down to CPU_DEBT_MAX_USEC), saving is capped at CPU_SAVE_USEC of budget. */
        if (credit < -CPU_DEBT_MAX_USEC)
                credit = -CPU_DEBT_MAX_USEC;
        st->cpu_credit_usec = credit > (int64_t) cap ? (int64_t) cap : credit;
        if (dscan >= MIN_MEASURE_PAGES) {
                uint64_t cost = dcpu * NSEC_PER_USEC / dscan;
                /* Mostly the new figure: the cost changes several fold
                 * between a checksum pass and a merge pass. */
                st->cost_nsec_per_page = p->cost_nsec_per_page ? (p->cost_nsec_per_page + 3 * cost) / 4 : cost;
        }
}

/* Start a pass here: on the first look (not watched from its start), and
 * when ksmd finished one. */
static void pass_begin(const Measure *m, bool whole, KsmAdaptiveState *st) {
        st->pass_start_scanned_pages = m->scanned_pages;
        st->pass_start_saved_pages = m->saved;
        st->pass_whole = whole;
        st->pass_saw_new = false;
        st->pass_looked_at_all = true;
}

/* Whether ksmd looked at every page since the last tick: smart_scan off,
 * or a kernel without it. */
static bool looking_at_all(const KsmSample *s) {
        return !ksm_has(&s->ksm, KSM_FEATURE_SMART_SCAN) || s->ksm.smart_scan == 0;
}

/* Modes in which guest memory growth counts from the last tick of the
 * burst before (the least since), not from the tick before: ksmd idles,
 * looks or goes steady under pressure, and a guest that fills its memory
 * over many ticks adds up to a growth step. */
static bool holds_growth_base(KsmAdaptiveMode mode) {
        return mode == KSM_ADAPTIVE_IDLE || mode == KSM_ADAPTIVE_LOOK || mode == KSM_ADAPTIVE_STEADY;
}

/* The last planned pass of a burst just ended and saw pages for the first
 * time (a guest still filling its memory when ksmd went by it in the
 * passes before): they need one more pass, their second look. */
static bool second_look_due(const KsmAdaptiveState *p, const KsmAdaptiveState *st, const KsmSample *s,
                            const Measure *m) {
        return p->mode == KSM_ADAPTIVE_BURST && m->pass_ended && p->burst_until_full_scans > 0 &&
               s->ksm.full_scans >= p->burst_until_full_scans && st->prev_pass_saw_new;
}

/* What changed since the previous tick; the state remembers this sample. */
static void measure(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                    Measure *m, KsmAdaptiveState *st) {
        const KsmAdaptiveState *p = &prev->adaptive;
        uint64_t dt = p->have_prev && now_usec > p->prev_usec ? now_usec - p->prev_usec : 0;

        measure_now(c, s, prev, dt, m);
        if (!p->have_prev) {
                /* First look: a full bucket, and this pass starts now. */
                st->cpu_credit_usec = (int64_t) ((uint64_t) c->cpu_budget_pct * CPU_SAVE_USEC / 100);
                pass_begin(m, false, st);
                st->last_pass_gain_pages = UINT64_MAX;  /* unknown: not "nothing" */
                st->yield_base_scanned_pages = m->scanned_pages;
                st->yield_base_saved_pages = m->saved;
        } else {
                uint64_t dscan = sub_sat(m->scanned_pages, p->prev_scanned_pages);

                measure_cpu(c, s, p, dt, dscan, st);
                /* Over as many ticks as it takes to scan enough pages: at
                 * the slowest steady rate a tick alone never does, and a
                 * yield that is never measured again would hold forever. */
                uint64_t yscan = sub_sat(m->scanned_pages, p->yield_base_scanned_pages);

                if (yscan >= MIN_MEASURE_PAGES) {
                        st->yield_ppm = min_u64(sub_sat(m->saved, p->yield_base_saved_pages) * PPM / yscan, PPM);
                        st->yield_base_scanned_pages = m->scanned_pages;
                        st->yield_base_saved_pages = m->saved;
                }
                bool seen = pages_first_seen(p, m);
                /* New pages seen in the tick that ended a pass may be the
                 * old pass's tail or the new pass's head (a guest that came
                 * while ksmd ran goes in right behind its cursor, at the
                 * head of the next pass): both passes count them. Counting
                 * them for one only ended a burst before the second look of
                 * a guest at the next pass's head. */
                bool boundary = s->ksm.full_scans != p->prev_full_scans;

                if (seen)
                        st->pass_saw_new = true;
                /* The sample holds smart_scan as it was since the last tick. */
                if (!looking_at_all(s))
                        st->pass_looked_at_all = false;
                if (boundary) {
                        m->pass_ended = true;
                        st->last_pass_gain_pages = sub_sat(m->saved, p->pass_start_saved_pages);
                        st->prev_pass_saw_new = st->pass_saw_new;
                        /* Watched whole, one pass, smart_scan off all through. */
                        st->prev_pass_looked_at_all = st->pass_looked_at_all && p->pass_whole &&
                                                      s->ksm.full_scans == p->prev_full_scans + 1;
                        pass_begin(m, true, st);
                        st->pass_saw_new = seen;
                }
                m->grow_base_kib = holds_growth_base(p->mode) ? p->grow_base_kib : p->prev_committed_kib;
                m->grew = s->committed_kib > m->grow_base_kib + max_u64(m->grow_base_kib / 16, GROWTH_MIN_KIB);
                m->second_look_due = second_look_due(p, st, s, m);
        }
        st->have_prev = true;
        st->prev_usec = now_usec;
        st->prev_ksmd_cpu_usec = s->ksmd_cpu_usec;
        st->prev_scanned_pages = m->scanned_pages;
        st->prev_committed_kib = s->committed_kib;
        st->prev_full_scans = s->ksm.full_scans;
        st->prev_ksm_pages = m->ksm_pages;
}

/* Whether KSM should scan at all: memory pressure, or work under way that
 * still pays (planned passes, or a steady pass that saves). */
static bool wants_scan(const KsmAdaptiveState *p, const KsmAdaptiveState *st, const KsmSample *s, const Measure *m) {
        bool planned = s->ksm.full_scans < p->burst_until_full_scans || m->second_look_due;
        bool gaining = (p->mode == KSM_ADAPTIVE_BURST && planned) ||
                       (p->mode == KSM_ADAPTIVE_STEADY && p->have_prev && st->yield_ppm >= YIELD_MIN_PPM);

        return m->pressure || (p->mode != KSM_ADAPTIVE_STOPPED && gaining);
}

/* Plan passes for new guests, grown guests, or a start from rest; without
 * pressure only the work already planned is finished. Returns whether
 * passes are planned. */
static bool plan_passes(const KsmConfig *c, const KsmSample *s, const KsmAdaptiveState *p, const Measure *m,
                        uint64_t now_usec, KsmAdaptiveState *st) {
        if (m->pressure && (m->guests_arrived || m->grew || p->mode == KSM_ADAPTIVE_STOPPED)) {
                st->burst_until_full_scans = s->ksm.full_scans + BURST_PASSES;
                st->burst_deadline_usec = now_usec + BURST_PASSES * (uint64_t) c->burst_secs * USEC_PER_SEC;
                st->burst_planned_full_scans = s->ksm.full_scans;
                if (p->mode != KSM_ADAPTIVE_BURST)
                        st->burst_first_full_scans = s->ksm.full_scans;
                return true;
        }
        /* Done early: the pass that just ended looked at every page and saw
         * none for the first time, so every page ksmd knows had its second
         * look with every older page in the unstable tree. Not before the
         * pass after the one that planned the burst: new guests go in
         * behind ksmd's cursor, and are first seen in the next pass. */
        if (m->pass_ended && s->ksm.full_scans < st->burst_until_full_scans && !st->prev_pass_saw_new &&
            st->prev_pass_looked_at_all && s->ksm.full_scans >= st->burst_planned_full_scans + 2)
                st->burst_until_full_scans = s->ksm.full_scans;
        /* One more pass for the pages the last one saw first, and one
         * after each pass that still sees new pages. */
        if (m->second_look_due) {
                st->burst_until_full_scans = s->ksm.full_scans + 1;
                st->burst_deadline_usec = now_usec + (uint64_t) c->burst_secs * USEC_PER_SEC;
        }
        return s->ksm.full_scans < st->burst_until_full_scans;
}

/* Nothing new to merge: ksmd stops (merged pages stay merged) until the
 * next look, KSM_TRICKLE_SECS from now, or new guests. */
static void go_idle(const KsmConfig *c, uint64_t now_usec, KsmAdaptiveState *st, Plan *plan, const char *why) {
        st->mode = KSM_ADAPTIVE_IDLE;
        st->idle_until_usec = sat_add_u64(now_usec, (uint64_t) c->trickle_secs * USEC_PER_SEC);
        plan->rate = 0;
        plan->why = why;
}

/* As fast as the pass still pays: full steady rate at 1 % of scanned
 * pages saved, down to a pass per KSM_TRICKLE_SECS at nothing. */
static void go_steady(const KsmConfig *c, const Measure *m, KsmAdaptiveState *st, Plan *plan, const char *why) {
        uint64_t steady = m->mergeable_pages * USEC_PER_SEC / STEADY_PASS_USEC;
        uint64_t slowest = max_u64(m->mergeable_pages / (uint64_t) c->trickle_secs, 1);

        st->mode = KSM_ADAPTIVE_STEADY;
        plan->rate = max_u64(slowest, steady * min_u64(st->yield_ppm, YIELD_FULL_PPM) / YIELD_FULL_PPM);
        plan->why = why;
}

/* Idle until the next look is due; a look runs one whole pass (the pages
 * of the memory, wherever ksmd's cursor stands) at the steady rate with
 * smart_scan on, then goes on as steady if it saved, or idles again. */
static void idle_or_look(const KsmConfig *c, const KsmAdaptiveState *p, const Measure *m, uint64_t now_usec,
                         KsmAdaptiveState *st, Plan *plan) {
        if (p->mode == KSM_ADAPTIVE_IDLE && now_usec < p->idle_until_usec) {
                st->mode = KSM_ADAPTIVE_IDLE;
                plan->why = "waiting for the next look";
                return;
        }
        if (p->mode == KSM_ADAPTIVE_IDLE) {
                st->look_start_scanned_pages = m->scanned_pages;
                st->look_start_saved_pages = m->saved;
        }
        if (sub_sat(m->scanned_pages, st->look_start_scanned_pages) >= m->mergeable_pages) {
                if (sub_sat(m->saved, st->look_start_saved_pages) < m->gain_min)
                        go_idle(c, now_usec, st, plan, "the look saved nothing new");
                else
                        go_steady(c, m, st, plan, "the look saved");
                return;
        }
        st->mode = KSM_ADAPTIVE_LOOK;
        plan->rate = m->mergeable_pages * USEC_PER_SEC / STEADY_PASS_USEC;
        plan->why = "a pass for memory that changed";
}

/* The mode and the rate it wants, before the CPU cap. */
static void choose_rate(const KsmConfig *c, const KsmSample *s, const KsmAdaptiveState *p, const Measure *m,
                        bool planned, uint64_t now_usec, KsmAdaptiveState *st, Plan *plan) {
        uint64_t in_pass = sub_sat(m->scanned_pages, st->pass_start_scanned_pages);

        plan->uncovered_pages = sub_sat(m->mergeable_pages, in_pass);
        if (planned) {
                uint64_t passes_after = sub_sat(st->burst_until_full_scans, s->ksm.full_scans + 1);
                uint64_t work = plan->uncovered_pages + passes_after * m->mergeable_pages;
                uint64_t left = max_u64(sub_sat(st->burst_deadline_usec, now_usec), USEC_PER_SEC);

                st->mode = KSM_ADAPTIVE_BURST;
                plan->rate = work * USEC_PER_SEC / left;
                /* smart_scan off in the last planned pass, and in one that
                 * gives new pages their second look: an older guest's page
                 * that smart_scan skips may be what they match. Not in the
                 * pass a burst starts in: the pages the pass before saw
                 * were a burst before, and its new guests are not in it. */
                plan->look_at_all = passes_after == 0 ||
                                    (st->prev_pass_saw_new && s->ksm.full_scans > st->burst_first_full_scans);
                plan->why = m->guests_arrived ? "guests changed" : m->grew ? "guest memory grew" :
                            p->mode == KSM_ADAPTIVE_STOPPED ? "start" :
                            m->second_look_due ? "a second look for pages the last pass saw first" :
                            "planned passes";
        } else if (p->mode == KSM_ADAPTIVE_IDLE || p->mode == KSM_ADAPTIVE_LOOK) {
                idle_or_look(c, p, m, now_usec, st, plan);
        } else if (p->mode == KSM_ADAPTIVE_BURST) {
                /* The last planned pass ran to its end: every new page had
                 * its two looks. */
                go_idle(c, now_usec, st, plan, "the planned passes are done");
        } else if (m->pass_ended && st->last_pass_gain_pages < m->gain_min) {
                go_idle(c, now_usec, st, plan, "the last pass saved nothing new");
        } else if (p->mode != KSM_ADAPTIVE_BURST && st->yield_ppm < YIELD_MIN_PPM) {
                /* No need to finish a pass that saves nothing to know it. */
                go_idle(c, now_usec, st, plan, "scanning saves nothing new");
        } else
                go_steady(c, m, st, plan, "passes still save");
        if (st->mode != KSM_ADAPTIVE_BURST)
                st->burst_until_full_scans = 0;
}

/* The CPU cap, from ksmd's measured cost per page. */
static void cap_rate(const KsmConfig *c, KsmAdaptiveState *st, Plan *plan) {
        uint64_t rate_cap;

        plan->cost_nsec = st->cost_nsec_per_page ?: COST_GUESS_NSEC;
        plan->cpu_ppm = cpu_allowed_ppm(c, st);
        rate_cap = max_u64(plan->cpu_ppm * 1000 / plan->cost_nsec, 1);
        plan->capped = plan->rate > rate_cap;
        if (plan->capped)
                plan->rate = rate_cap;
        st->rate_pages_per_sec = plan->rate;
}

/* A pass shorter than a tick cannot be singled out: then the whole burst
 * looks at every page. Judged at the rate ksmd gets, after the cap: the
 * planned rate soars as a deadline nears. */
static void look_at_all_if_short(const Measure *m, const KsmAdaptiveState *st, Plan *plan) {
        if (st->mode == KSM_ADAPTIVE_BURST && plan->rate * TICK_BURST_USEC / USEC_PER_SEC >= m->mergeable_pages)
                plan->look_at_all = true;
}

/* The end of a pass that may end the burst (the last planned one, or one
 * that gives new pages their second look and may see nothing new) may
 * come before the next tick (within two ticks at the planned rate: ksmd
 * may go faster, and the pass is shorter than the memory by the pages
 * already mapped to the zero page): ksmd finishes it in one batch of up to
 * two ticks' pages and then sleeps PARK_SLEEP_MS at the head of its list,
 * where run=0 at the next tick leaves its cursor. A guest that comes while
 * ksmd is stopped goes in behind the cursor: at the end of the list, behind
 * every older guest, so that its second look finds their unmerged pages in
 * the unstable tree, and the pass that gives it ends right after it.
 * Stopped a little into a pass, it would go in at the start, and its twins
 * among older pages would merge at their own places, further on: that pass
 * would have to run through every older guest after the new one. */
static void park_if_ending(const KsmSample *s, const KsmAdaptiveState *st, Plan *plan) {
        bool may_end = s->ksm.full_scans + 1 >= st->burst_until_full_scans || plan->look_at_all;

        plan->park = st->mode == KSM_ADAPTIVE_BURST && may_end &&
                     plan->uncovered_pages <= 2 * plan->rate * TICK_BURST_USEC / USEC_PER_SEC;
}

/* The knobs of a running scan. The policy owns pages_to_scan and turns the
 * kernel's advisor off for it, unless the admin turned the advisor back on. */
static void set_scan_targets(const KsmSample *s, const KsmAdvisorState *a, Plan *plan, KsmTargets *t) {
        uint64_t pages, sleep_ms;

        if (a->admins && s->ksm.advisor_mode == KSM_ADVISOR_SCAN_TIME) {
                /* The admin turned the advisor back on while we ran: it owns
                 * the rate now, and pages_to_scan would fail with EINVAL. */
                plan->why = "the kernel's advisor sets the rate";
                plan->park = false;
        } else {
                rate_to_knobs(plan->rate, plan->cost_nsec, &pages, &sleep_ms);
                if (plan->park) {
                        /* Twice what is left, the pass's end ends the batch;
                         * at most two ticks' pages at the planned rate. */
                        pages = min_u64(2 * plan->uncovered_pages, 2 * plan->rate) + MIN_BATCH_PAGES;
                        sleep_ms = PARK_SLEEP_MS;
                }
                if (ksm_has(&s->ksm, KSM_FEATURE_ADVISOR) && !a->admins)
                        ksm_targets_set(t, KSM_KNOB_ADVISOR_MODE, KSM_ADVISOR_NONE);
                ksm_targets_set(t, KSM_KNOB_PAGES_TO_SCAN, pages);
                ksm_targets_set(t, KSM_KNOB_SLEEP_MILLISECS, sleep_ms);
        }
        if (ksm_has(&s->ksm, KSM_FEATURE_SMART_SCAN))
                ksm_targets_set(t, KSM_KNOB_SMART_SCAN, plan->look_at_all ? 0 : 1);
        if (ksm_has(&s->ksm, KSM_FEATURE_USE_ZERO_PAGES))
                ksm_targets_set(t, KSM_KNOB_USE_ZERO_PAGES, 1);
        ksm_targets_set(t, KSM_KNOB_RUN, 1);
}

/* A reason is one line: a longer one is cut on purpose. */
_printf_(3, 4)
static void reason_printf(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

static void reason_append(char *buf, size_t size, const char *text) {
        size_t n = strlen(buf);

        if (n < size)
                reason_printf(buf + n, size - n, "%s", text);
}

static const char *mib(char buf[static 32], uint64_t kib) {
        reason_printf(buf, 32, "%" PRIu64 " MiB", kib / 1024);
        return buf;
}

/* What drives a running scan: memory, stalls, or work being finished. */
static void format_pressure(const KsmConfig *c, const KsmSample *s, const Measure *m, char *buf, size_t size) {
        char judged[32], thres[32];

        if (m->mem_pressure)
                reason_printf(buf, size, "available without KSM's savings %s < %s",
                              mib(judged, m->judged_kib), mib(thres, m->thres_kib));
        else if (m->psi_pressure)
                reason_printf(buf, size, "memory stalls %" PRIu32 ".%02" PRIu32 "%% >= %" PRId64 "%%",
                              s->psi.some_avg10_centipct / 100, s->psi.some_avg10_centipct % 100, c->psi_thres_pct);
        else
                reason_printf(buf, size, "no pressure, finishing");
}

static void format_scan_reason(const KsmConfig *c, const KsmSample *s, const Measure *m,
                               const KsmAdaptiveState *st, const Plan *plan, KsmDecision *d) {
        char unc[32], merg[32], press[128];

        format_pressure(c, s, m, press, sizeof(press));
        reason_printf(d->reason, sizeof(d->reason),
                      "%s: %s; %s of %s not yet in this pass; %" PRIu64 " pages/s%s (%" PRIu64 ".%" PRIu64
                      " us/page, CPU %" PRIu64 "%%); %s",
                      mode_names[st->mode], plan->why, mib(unc, plan->uncovered_pages * m->page_kib),
                      mib(merg, m->mergeable_pages * m->page_kib), plan->rate, plan->capped ? " capped" : "",
                      plan->cost_nsec / 1000, plan->cost_nsec % 1000 / 100, plan->cpu_ppm / 10000, press);
}

/* No guest and nothing in KSM: there is nothing to scan for. */
static bool nothing_to_merge(const KsmSample *s, const Measure *m) {
        return s->n_guests == 0 && s->committed_kib == 0 && m->mergeable_pages == 0;
}

/* A park holds until its pass ends, whatever a tick decides. ksmd runs the
 * batch the park set to the end of the pass: neither a smaller
 * pages_to_scan nor a cut stops a batch under way, and run=0 would wait for
 * it on the mutex (stop_ksmd()). So the park's knobs stay, and the tick
 * after the pass ended stops ksmd at the head of its list. Not after
 * PARK_MAX_TICKS (a pass that guest memory made longer than the batch),
 * nor once the knobs are no longer the park's. */
static bool park_holds(const KsmSample *s, const KsmAdaptiveState *p) {
        const KsmKnobs *k = &s->ksm;

        return p->parked && k->full_scans == p->prev_full_scans && k->run == 1 && p->park_ticks < PARK_MAX_TICKS &&
               (k->sleep_millisecs == PARK_SLEEP_MS || k->sleep_millisecs == PARK_SLEEP_MS + 1) &&
               !ksm_advisor_sets_rate(k);
}

/* The park's batch and sleep stay. A park set while ksmd was in a batch of
 * the usual size starts its own only after that one and the park's sleep:
 * a tick that sees ksmd scan nothing wakes it (writing a new
 * sleep_millisecs wakes ksmd). */
static void hold_park(const KsmSample *s, const KsmAdaptiveState *p, const Measure *m, KsmAdaptiveState *st,
                      KsmDecision *d) {
        uint64_t sleep_ms = s->ksm.sleep_millisecs;

        d->targets.set &= ~((1u << KSM_KNOB_PAGES_TO_SCAN) | (1u << KSM_KNOB_SLEEP_MILLISECS));
        if (sub_sat(m->scanned_pages, p->prev_scanned_pages) < MIN_BATCH_PAGES)
                ksm_targets_set(&d->targets, KSM_KNOB_SLEEP_MILLISECS,
                                sleep_ms == PARK_SLEEP_MS ? PARK_SLEEP_MS + 1 : PARK_SLEEP_MS);
        d->running = true;
        d->next_tick_usec = TICK_PARK_USEC;
        st->parked = true;
        st->park_ticks = p->park_ticks + 1;
}

/* ksmd stops; merged pages stay merged. Writing run=0 waits for ksmd's
 * batch to end, on a mutex the writer spins on while ksmd runs: 35 ms of
 * the daemon's CPU for a batch of 25,000 pages (bench/RESULTS.md). So a
 * batch larger than MIN_BATCH_PAGES is cut to that first, and run=0
 * written at a tick STOP_TICK_USEC later; once only, should the cut fail. */
static void stop_ksmd(const KsmSample *s, const Measure *m, const KsmAdaptiveState *p, KsmAdaptiveState *st,
                      KsmDecision *d) {
        /* ksmd finished the pass it was parked for and sleeps: no batch to wait for. */
        bool sleeps_at_head = p->parked && s->ksm.full_scans != p->prev_full_scans;

        st->burst_until_full_scans = 0;
        st->rate_pages_per_sec = 0;
        if (park_holds(s, p)) {
                hold_park(s, p, m, st, d);
                reason_append(d->reason, sizeof(d->reason), "; run=0 at the end of the parked pass");
                return;
        }
        if (s->ksm.run == 1 && s->ksm.pages_to_scan > MIN_BATCH_PAGES && !p->stop_pending && !sleeps_at_head &&
            !ksm_advisor_sets_rate(&s->ksm)) {
                st->stop_pending = true;
                ksm_targets_set(&d->targets, KSM_KNOB_PAGES_TO_SCAN, MIN_BATCH_PAGES);
                d->running = true;
                d->next_tick_usec = STOP_TICK_USEC;
                reason_append(d->reason, sizeof(d->reason), "; ksmd's batch cut first, run=0 at the next tick");
                return;
        }
        if (ksm_has(&s->ksm, KSM_FEATURE_SMART_SCAN))
                ksm_targets_set(&d->targets, KSM_KNOB_SMART_SCAN, 1);
        ksm_targets_set(&d->targets, KSM_KNOB_RUN, 0);
}

static void decide_stop(const KsmSample *s, const Measure *m, const KsmAdaptiveState *p, KsmAdaptiveState *st,
                        KsmDecision *d) {
        char judged[32], thres[32];

        if (nothing_to_merge(s, m))
                reason_printf(d->reason, sizeof(d->reason), "stop: no guests and no mergeable memory");
        else
                reason_printf(d->reason, sizeof(d->reason),
                              "stop: available without KSM's savings %s >= threshold %s%s, nothing left to gain",
                              mib(judged, m->judged_kib), mib(thres, m->thres_kib),
                              s->has_psi ? " and no memory stalls" : "");
        st->mode = KSM_ADAPTIVE_STOPPED;
        stop_ksmd(s, m, p, st, d);
}

/* Memory is short, but there is nothing new to merge: no scanning until
 * the next look or new guests. */
static void decide_idle(const KsmConfig *c, const KsmSample *s, const Measure *m, const Plan *plan,
                        uint64_t now_usec, const KsmAdaptiveState *p, KsmAdaptiveState *st, KsmDecision *d) {
        char press[128];

        format_pressure(c, s, m, press, sizeof(press));
        reason_printf(d->reason, sizeof(d->reason), "idle: %s; next look in %" PRIu64 " s; %s", plan->why,
                      sub_sat(st->idle_until_usec, now_usec) / USEC_PER_SEC, press);
        stop_ksmd(s, m, p, st, d);
}

void policy_adaptive_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                            KsmDecision *ret, KsmState *ret_state) {
        const KsmAdaptiveState *p = &prev->adaptive;
        KsmState state = *prev;
        KsmAdaptiveState *st = &state.adaptive;
        KsmDecision d = {};
        Measure m;
        Plan plan = {};

        st->stop_pending = false;
        st->parked = false;
        st->park_ticks = 0;
        measure(c, s, prev, now_usec, &m, st);
        d.thres_kib = m.thres_kib;
        d.free_kib = m.avail_kib;
        if (nothing_to_merge(s, &m) || !wants_scan(p, st, s, &m)) {
                decide_stop(s, &m, p, st, &d);
                if (s->n_guests > 0 && (m.guests_changed || m.grew) && !st->stop_pending && !st->parked)
                        d.next_tick_usec = TICK_SETTLE_USEC;
        } else {
                bool planned = plan_passes(c, s, p, &m, now_usec, st);

                choose_rate(c, s, p, &m, planned, now_usec, st, &plan);
                if (st->mode == KSM_ADAPTIVE_IDLE && !m.pressure)
                        /* The planned passes were finished without pressure. */
                        decide_stop(s, &m, p, st, &d);
                else if (st->mode == KSM_ADAPTIVE_IDLE)
                        decide_idle(c, s, &m, &plan, now_usec, p, st, &d);
                else {
                        cap_rate(c, st, &plan);
                        look_at_all_if_short(&m, st, &plan);
                        park_if_ending(s, st, &plan);
                        set_scan_targets(s, &prev->advisor, &plan, &d.targets);
                        st->parked = plan.park;
                        d.running = true;
                        d.next_tick_usec = plan.park ? TICK_PARK_USEC :
                                           st->mode == KSM_ADAPTIVE_BURST ? TICK_BURST_USEC : TICK_STEADY_USEC;
                        format_scan_reason(c, s, &m, st, &plan, &d);
                        if (park_holds(s, p)) {
                                hold_park(s, p, &m, st, &d);
                                reason_append(d.reason, sizeof(d.reason), "; parked until the pass ends");
                        }
                }
        }
        st->grow_base_kib = p->have_prev && holds_growth_base(st->mode) ? min_u64(m.grow_base_kib, s->committed_kib) :
                            s->committed_kib;
        *ret = d;
        *ret_state = state;
}
