/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "policy.h"

#define GIB(n) ((uint64_t) (n) * 1048576)      /* in KiB */
#define SEC(n) ((uint64_t) (n) * 1000000)      /* in usec */
#define NO_WRITE UINT64_MAX
#define ANY (NO_WRITE - 1)     /* written, any value */
#define NOW SEC(1000)
/* 24 GiB host: KSM_THRES_COEF=90 gives 22649241 KiB, the default 20 gives 5033164 KiB. */
#define TOTAL GIB(24)
/* 6 GiB of guests is 1572864 pages of 4 KiB. */
#define M_PAGES UINT64_C(1572864)

typedef struct Row {
        const char *name;
        /* config, 0 = default */
        int64_t coef, budget;
        bool psi_off;
        /* sample */
        uint64_t avail, committed, saved, unshared, full_scans, scanned, ksmd_cpu, volatile_pages, guest_events;
        unsigned n_guests;
        bool no_mem_available, guests_changed, has_psi, no_advisor, advisor_on, advisor_is_admins;
        uint32_t psi_some;
        /* previous state */
        KsmAdaptiveState prev;
        /* expected */
        uint64_t run, pages, sleep, advisor, next_tick;
        KsmAdaptiveMode mode;
        const char *reason;     /* a substring of the reason: the cause, not the figures */
        bool look_at_all;       /* the last planned pass of a burst: smart_scan=0 */
        uint64_t rate_min, rate_max;    /* the scan rate chosen, pages/s; both 0: not checked */
} Row;

/* The state a tick 1 s earlier left; make() defaults the pass start to
 * 1,000,000 scanned pages and the guests to 6 GiB when a row leaves them 0. */
#define PREV(...) { .have_prev = true, .prev_usec = NOW - SEC(1), .prev_ksmd_cpu_usec = SEC(10), \
                    .prev_scanned_pages = 1000000, .prev_full_scans = 12, __VA_ARGS__ }

static const Row rows[] = {
        { "no guests and nothing in KSM: stop",
          .coef = 90, .avail = GIB(16),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE,
          .mode = KSM_ADAPTIVE_STOPPED, .reason = "stop: no guests and no mergeable memory" },
        { "plenty of memory: stay stopped with guests, look again in 2 s while they settle",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .guests_changed = true,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = SEC(2),
          .mode = KSM_ADAPTIVE_STOPPED, .reason = "nothing left to gain" },
        { "pressure on the first look: burst at the CPU ceiling (3 passes in 15 s wanted 314572 pages/s)",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .guests_changed = true,
          .full_scans = 10, .scanned = 1000000, .advisor_on = true,
          .run = 1, .pages = 10000, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: guests changed", .rate_min = 100000, .rate_max = 100000 },      /* 80 % at 8 us/page */
        { "burst over the CPU budget: the budget itself until the debt is paid",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 900000,
          .prev = PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 13, .burst_deadline_usec = NOW + SEC(10),
                       .pass_start_scanned_pages = 600000, .cost_nsec_per_page = 8000),
          .run = 1, .pages = 571, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .look_at_all = true,
          .reason = "burst: planned passes", .rate_min = 22857, .rate_max = 22857 },  /* in debt: 20 % at 8.75 us/page */
        { "the planned passes are done, the last tick still saved: idle all the same",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 13, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 13, .cpu_credit_usec = SEC(12),
                       .yield_base_saved_pages = 450000, .pass_start_saved_pages = 100000),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: the planned passes are done" },
        { "steady, but scanning saves nothing: idle before the pass ends",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_STEADY, .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12),
                       .yield_base_saved_pages = 500000, .pass_start_saved_pages = 500000),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: scanning saves nothing new; next look in 1800 s; available without" },
        { "idle: a whole pass saved nothing new",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 13, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_STEADY, .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12),
                       .yield_base_saved_pages = 500000, .pass_start_saved_pages = 499800),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: the last pass saved nothing new" },
        { "idle until the next look",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 12, .scanned = 1000000, .ksmd_cpu = SEC(10),
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .idle_until_usec = NOW + SEC(1)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: waiting for the next look; next look in 1 s" },
        { "the next look is due: a whole pass at the steady rate, smart_scan on",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 12, .scanned = 1000000, .ksmd_cpu = SEC(10),
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .idle_until_usec = NOW, .cpu_credit_usec = SEC(12)),
          .run = 1, .pages = 553, .sleep = 20, .advisor = 0, .next_tick = SEC(2), .mode = KSM_ADAPTIVE_LOOK,
          .reason = "look: a pass for memory that changed", .rate_min = 26214, .rate_max = 26214 },  /* a pass a minute */
        { "a look that saves nothing goes on to the end of its pass",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 13, .scanned = 2500000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_LOOK, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .cpu_credit_usec = SEC(12), .prev_scanned_pages = 2400000,
                       .look_start_scanned_pages = 2500000 - M_PAGES + 1, .look_start_saved_pages = 500000),
          .run = 1, .pages = 553, .sleep = 20, .advisor = 0, .next_tick = SEC(2), .mode = KSM_ADAPTIVE_LOOK,
          .reason = "look: a pass for memory that changed" },
        { "a look that covered the memory and saved nothing: idle again",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500255,
          .full_scans = 13, .scanned = 2500000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_LOOK, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .prev_scanned_pages = 2400000,
                       .look_start_scanned_pages = 2500000 - M_PAGES, .look_start_saved_pages = 500000),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: the look saved nothing new; next look in 1800 s" },
        { "a look that covered the memory and saved: steady",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 501573,
          .full_scans = 13, .scanned = 2500000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_LOOK, .cost_nsec_per_page = 2000,
                       .prev_scanned_pages = 2400000, .cpu_credit_usec = SEC(12), .yield_ppm = 10000,
                       .yield_base_scanned_pages = 2499000, .yield_base_saved_pages = 501573,
                       .look_start_scanned_pages = 2500000 - M_PAGES, .look_start_saved_pages = 500000),
          .run = 1, .pages = 553, .sleep = 20, .advisor = 0, .next_tick = SEC(2), .mode = KSM_ADAPTIVE_STEADY,
          .reason = "steady: the look saved" },
        { "no pressure and nothing left to gain: stop, merged pages stay",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10),
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .yield_base_saved_pages = 500000, .idle_until_usec = NOW + SEC(60)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .mode = KSM_ADAPTIVE_STOPPED,
          .reason = "nothing left to gain" },
        { "no pressure but planned passes left: finish them",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 400000,
          .prev = PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 13, .burst_deadline_usec = NOW + SEC(5),
                       .cost_nsec_per_page = 4000, .cpu_credit_usec = SEC(12)),
          .run = 1, .pages = 20000, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .look_at_all = true,
          .reason = "no pressure, finishing", .rate_min = 200000, .rate_max = 200000 },    /* 80 % at 4 us/page */
        { "no pressure, steady and still saving: go on",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 510000,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_STEADY, .yield_base_saved_pages = 500000, .cpu_credit_usec = SEC(12)),
          .run = 1, .pages = 553, .sleep = 20, .advisor = 0, .next_tick = SEC(2), .mode = KSM_ADAPTIVE_STEADY,
          .reason = "no pressure, finishing" },
        { "memory stalls over KSM_PSI_THRES: pressure with plenty of memory",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .has_psi = true, .psi_some = 1500,
          .run = 1, .pages = 10000, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "memory stalls", .rate_min = 100000, .rate_max = 100000 },
        { "memory stalls just under KSM_PSI_THRES: stop",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .has_psi = true, .psi_some = 999,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .mode = KSM_ADAPTIVE_STOPPED,
          .reason = "and no memory stalls, nothing left to gain" },
        { "memory stalls exactly at KSM_PSI_THRES: pressure",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .has_psi = true, .psi_some = 1000,
          .run = 1, .pages = 10000, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "memory stalls" },
        { "KSM_PSI_THRES=0: stalls ignored",
          .psi_off = true, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .has_psi = true, .psi_some = 5000,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .mode = KSM_ADAPTIVE_STOPPED,
          .reason = "nothing left to gain" },
        { "no PSI on this kernel: memory alone decides",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .mode = KSM_ADAPTIVE_STOPPED,
          .reason = "nothing left to gain" },
        { "what KSM saves does not end the need: 22 GiB available but 2 GiB of it saved",
          .coef = 90, .avail = GIB(22), .committed = GIB(6), .n_guests = 6, .saved = 524288,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 524288,
                       .idle_until_usec = NOW + SEC(60)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "available without KSM's savings 20480 MiB < 22118 MiB" },
        { "the same without savings: no pressure, stop",
          .coef = 90, .avail = GIB(22), .committed = GIB(6), .n_guests = 6,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .idle_until_usec = NOW + SEC(60)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .mode = KSM_ADAPTIVE_STOPPED,
          .reason = "nothing left to gain" },
        { "a new guest while idle: burst",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .guests_changed = true,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12),
                       .idle_until_usec = NOW + SEC(60)),
          .run = 1, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST, .pages = 16028, .sleep = 20,
          .reason = "burst: guests changed", .rate_min = 300000, .rate_max = 320000 },  /* 3 passes less this one's part in 15 s */
        { "guest memory grew by more than 1/16: burst",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .prev_committed_kib = GIB(4),
                       .idle_until_usec = NOW + SEC(60)),
          .run = 1, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST, .pages = NO_WRITE - 1, .sleep = 20,
          .reason = "burst: guest memory grew" },
        { "guest memory grew by less than 1/16: no burst",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .prev_committed_kib = GIB(6) - 102400,
                       .idle_until_usec = NOW + SEC(60)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: waiting for the next look" },
        { "the admin turned the advisor back on: run, leave the rate to it",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .advisor_on = true, .advisor_is_admins = true,
          .full_scans = 12, .scanned = 1100000,
          .prev = PREV(.mode = KSM_ADAPTIVE_STEADY, .yield_ppm = 10000, .yield_base_scanned_pages = 1100000 - 100),
          .run = 1, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = SEC(2), .mode = KSM_ADAPTIVE_STEADY,
          .reason = "steady: the kernel's advisor sets the rate" },
        { "a kernel without the advisor: advisor_mode not written",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .guests_changed = true, .no_advisor = true,
          .run = 1, .pages = 10000, .sleep = 20, .advisor = NO_WRITE, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: guests changed" },
        { "no MemAvailable: free + buffers + cached",
          .no_mem_available = true, .avail = GIB(2), .committed = GIB(6), .n_guests = 6,
          .run = 1, .pages = 10000, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "available without KSM's savings 2048 MiB < 4915 MiB" },
        { "no guest processes but pages in KSM: merge those",
          .coef = 90, .avail = GIB(16), .unshared = 300000,
          .run = 1, .pages = 2307, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: start", .rate_min = 60000, .rate_max = 60000 },        /* 3 passes of 300,000 pages in 15 s */
        { "KSM_CPU_BUDGET=100: the ceiling is one CPU, less 5 % so ksmd sleeps at all",
          .coef = 90, .budget = 100, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .guests_changed = true,
          .run = 1, .pages = 50000, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: guests changed", .rate_min = 125000, .rate_max = 125000 },     /* 1 CPU at 8 us/page */
        /* A new page's twin among older pages that never merged may lie
         * anywhere further on in the pass: the last planned pass runs to
         * its end, however long KSM's counters stood still. */
        { "last planned pass: saved, then still for most of the memory: the burst goes on",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000, .volatile_pages = 50000,
          .full_scans = 12, .scanned = 1500000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 13, .burst_deadline_usec = NOW + SEC(5),
                       .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12), .yield_base_saved_pages = 500000,
                       .pass_start_saved_pages = 100000, .pass_start_scanned_pages = 100000),
          .run = 1, .pages = ANY, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .look_at_all = true,
          .reason = "burst: planned passes" },
        { "not the last planned pass: smart_scan stays on",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000, .volatile_pages = 50000,
          .full_scans = 12, .scanned = 1500000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 14, .burst_deadline_usec = NOW + SEC(10),
                       .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12), .yield_base_saved_pages = 500000,
                       .pass_start_saved_pages = 100000),
          .run = 1, .pages = ANY, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: planned passes" },
        { "a guest went away (an event, guest memory fell by 1 GiB): no burst, idle stays",
          .coef = 90, .avail = GIB(16), .committed = GIB(5), .n_guests = 5, .saved = 500000, .guest_events = 1,
          .full_scans = 12, .scanned = 1000000, .ksmd_cpu = SEC(10),
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .idle_until_usec = NOW + SEC(60)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: waiting for the next look" },
        { "a guest event with guest memory as before (a start): burst",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000, .guest_events = 1,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .idle_until_usec = NOW + SEC(60)),
          .run = 1, .pages = ANY, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: guests changed" },
        { "a new guest pid in the scan while memory fell: burst all the same",
          .coef = 90, .avail = GIB(16), .committed = GIB(5), .n_guests = 6, .saved = 500000, .guests_changed = true,
          .full_scans = 12, .scanned = 1100000, .ksmd_cpu = SEC(10) + 200000,
          .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000, .yield_base_saved_pages = 500000,
                       .idle_until_usec = NOW + SEC(60)),
          .run = 1, .pages = ANY, .sleep = 20, .advisor = 0, .next_tick = SEC(1), .mode = KSM_ADAPTIVE_BURST,
          .reason = "burst: guests changed" },
        { "stopped while guest memory grows: look again in 2 s",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .prev = PREV(.mode = KSM_ADAPTIVE_STOPPED, .prev_committed_kib = GIB(5)),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = SEC(2),
          .mode = KSM_ADAPTIVE_STOPPED, .reason = "nothing left to gain" },
        { "stopped, guests settled: the monitor interval",
          .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
          .prev = PREV(.mode = KSM_ADAPTIVE_STOPPED, .prev_committed_kib = GIB(6) - 1024),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0,
          .mode = KSM_ADAPTIVE_STOPPED, .reason = "nothing left to gain" },
        { "steady at its slowest rate: the yield is measured over several ticks, nothing saved: idle",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 12, .scanned = 1001600, .ksmd_cpu = SEC(10) + 3000,
          .prev = PREV(.mode = KSM_ADAPTIVE_STEADY, .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12),
                       .prev_scanned_pages = 1000000, .yield_ppm = 5000,
                       .yield_base_scanned_pages = 998400, .yield_base_saved_pages = 500000),
          .run = 0, .pages = NO_WRITE, .sleep = NO_WRITE, .advisor = NO_WRITE, .next_tick = 0, .mode = KSM_ADAPTIVE_IDLE,
          .reason = "idle: scanning saves nothing new" },
        { "steady at its slowest rate: too few pages since the last measure, the yield holds",
          .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
          .full_scans = 12, .scanned = 1001600, .ksmd_cpu = SEC(10) + 3000,
          .prev = PREV(.mode = KSM_ADAPTIVE_STEADY, .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(12),
                       .prev_scanned_pages = 1000000, .yield_ppm = 5000,
                       .yield_base_scanned_pages = 999601, .yield_base_saved_pages = 500000),
          .run = 1, .pages = ANY, .sleep = ANY, .advisor = 0, .next_tick = SEC(2), .mode = KSM_ADAPTIVE_STEADY,
          .reason = "steady: passes still save" },
};

static void make(const Row *r, KsmConfig *c, KsmSample *s, KsmState *st) {
        conf_init_defaults(c);
        c->policy = KSM_POLICY_ADAPTIVE;
        if (r->coef)
                c->thres_coef_pct = r->coef;
        if (r->budget)
                c->cpu_budget_pct = r->budget;
        if (r->psi_off)
                c->psi_thres_pct = 0;

        *s = (KsmSample) {
                .mem = {
                        .mem_total_kib = TOTAL,
                        .mem_available_kib = r->no_mem_available ? 0 : r->avail,
                        .has_mem_available = !r->no_mem_available,
                        .mem_free_kib = r->no_mem_available ? r->avail / 2 : 1000,
                        .cached_kib = r->no_mem_available ? r->avail - r->avail / 2 : 0,
                },
                .committed_kib = r->committed,
                .n_guests = r->n_guests,
                .page_size_bytes = 4096,
                .guests_changed = r->guests_changed,
                .guest_events = r->guest_events,
                .has_psi = r->has_psi,
                .psi = { .some_avg10_centipct = r->psi_some },
                .has_ksmd_cpu = true,
                .ksmd_cpu_usec = r->ksmd_cpu ?: SEC(10),
                .ksm = {
                        .run = 1, .pages_to_scan = 100, .sleep_millisecs = 20,
                        .pages_sharing = r->saved, .pages_unshared = r->unshared,
                        .pages_volatile = r->volatile_pages,
                        .full_scans = r->full_scans, .pages_scanned = r->scanned,
                        .advisor_mode = r->advisor_on ? KSM_ADVISOR_SCAN_TIME : KSM_ADVISOR_NONE,
                        .features = (1u << KSM_FEATURE_PAGES_SCANNED) | (1u << KSM_FEATURE_SMART_SCAN) |
                                    (1u << KSM_FEATURE_USE_ZERO_PAGES) | (1u << KSM_FEATURE_ZERO_PAGES) |
                                    (r->no_advisor ? 0 : 1u << KSM_FEATURE_ADVISOR),
                },
        };
        *st = (KsmState) { .adaptive = r->prev, .advisor.admins = r->advisor_is_admins };
        if (st->adaptive.have_prev && st->adaptive.pass_start_scanned_pages == 0)
                st->adaptive.pass_start_scanned_pages = 1000000;
        /* The yield was last measured at the previous tick unless a row says otherwise. */
        if (st->adaptive.have_prev && st->adaptive.yield_base_scanned_pages == 0)
                st->adaptive.yield_base_scanned_pages = st->adaptive.prev_scanned_pages;
        if (st->adaptive.have_prev && st->adaptive.prev_committed_kib == 0)
                st->adaptive.prev_committed_kib = GIB(6);
        /* ksmd saw no pages for the first time since the tick before,
         * unless a row says otherwise. */
        if (st->adaptive.have_prev && st->adaptive.prev_ksm_pages == 0)
                st->adaptive.prev_ksm_pages = r->saved + r->unshared + r->volatile_pages;
        /* Growth counts from the tick before unless a row says otherwise. */
        if (st->adaptive.have_prev && st->adaptive.grow_base_kib == 0)
                st->adaptive.grow_base_kib = st->adaptive.prev_committed_kib;
}

static uint64_t written(const KsmDecision *d, KsmKnob k) {
        return d->targets.set & (1u << k) ? d->targets.value[k] : NO_WRITE;
}

static void check_knob(const Row *r, const KsmDecision *d, KsmKnob k, uint64_t want) {
        uint64_t got = written(d, k);

        if (want == NO_WRITE - 1)       /* any value, but written */
                want = got == NO_WRITE ? 0 : got;
        if (got != want)
                fail_msg("%s: %s: expected %s%" PRIu64 ", got %s%" PRIu64 " (reason: %s)", r->name, ksm_knob_name(k),
                         want == NO_WRITE ? "no write " : "", want, got == NO_WRITE ? "no write " : "", got, d->reason);
}

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const Row *r = &rows[i];
                KsmConfig c;
                KsmSample s;
                KsmState prev, next;
                KsmDecision d;

                make(r, &c, &s, &prev);
                policy_decide(&c, &s, &prev, NOW, &d, &next);
                check_knob(r, &d, KSM_KNOB_RUN, r->run);
                check_knob(r, &d, KSM_KNOB_PAGES_TO_SCAN, r->pages);
                check_knob(r, &d, KSM_KNOB_SLEEP_MILLISECS, r->sleep);
                check_knob(r, &d, KSM_KNOB_ADVISOR_MODE, r->advisor);
                /* Never run=2: unmerging can run a full host out of memory. */
                if (d.running) {
                        check_knob(r, &d, KSM_KNOB_SMART_SCAN, r->look_at_all ? 0 : 1);
                        check_knob(r, &d, KSM_KNOB_USE_ZERO_PAGES, 1);
                }
                if (d.running != (r->run == 1))
                        fail_msg("%s: running is %d for run=%" PRIu64, r->name, d.running, r->run);
                if (next.adaptive.mode != r->mode)
                        fail_msg("%s: expected mode %s, got %s", r->name, policy_adaptive_mode_name(r->mode),
                                 policy_adaptive_mode_name(next.adaptive.mode));
                if (d.next_tick_usec != r->next_tick)
                        fail_msg("%s: expected next tick in %" PRIu64 " us, got %" PRIu64, r->name, r->next_tick, d.next_tick_usec);
                if (!strstr(d.reason, r->reason))
                        fail_msg("%s: expected the reason to contain \"%s\", got \"%s\"", r->name, r->reason, d.reason);
                if ((r->rate_min || r->rate_max) &&
                    (next.adaptive.rate_pages_per_sec < r->rate_min || next.adaptive.rate_pages_per_sec > r->rate_max))
                        fail_msg("%s: expected a rate of %" PRIu64 "-%" PRIu64 " pages/s, got %" PRIu64, r->name,
                                 r->rate_min, r->rate_max, next.adaptive.rate_pages_per_sec);
                if (!next.adaptive.have_prev || next.adaptive.prev_usec != NOW)
                        fail_msg("%s: the sample was not remembered", r->name);
        }
}

/* The reason line itself, where its wording and figures are the point. */
static void test_reason_line(void **state) {
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        (void) state;
        make(&rows[2], &c, &s, &prev);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_string_equal(d.reason, "burst: guests changed; 6144 MiB of 6144 MiB not yet in this pass; "
                            "100000 pages/s capped (8.0 us/page, CPU 80%); "
                            "available without KSM's savings 16384 MiB < 22118 MiB");
        make(&rows[1], &c, &s, &prev);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_string_equal(d.reason, "stop: available without KSM's savings 16384 MiB >= threshold 4915 MiB, "
                            "nothing left to gain");
}

/* What the burst rows above assume about the measurements they carry. */
static void test_measurements(void **state) {
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        (void) state;
        /* Row "burst over the CPU budget": 0.9 s of ksmd in 1 s for 100,000 pages. */
        make(&rows[3], &c, &s, &prev);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.cost_nsec_per_page, (8000 + 3 * 9000) / 4);
        assert_int_equal(next.adaptive.cpu_credit_usec, 200000 - 900000);
        assert_int_equal(next.adaptive.burst_until_full_scans, 13);

        /* First look: a full bucket (20 % of two minutes), the pass begins here. */
        make(&rows[2], &c, &s, &prev);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.cpu_credit_usec, SEC(24));
        assert_int_equal(next.adaptive.burst_until_full_scans, 10 + 3);
        assert_int_equal(next.adaptive.burst_deadline_usec, NOW + SEC(15));
        assert_int_equal(next.adaptive.pass_start_scanned_pages, 1000000);

        /* Saving is capped at two minutes of budget. */
        make(&rows[4], &c, &s, &prev);
        prev.adaptive.cpu_credit_usec = SEC(24);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.cpu_credit_usec, SEC(24));
        assert_int_equal(next.adaptive.last_pass_gain_pages, 400000);
        assert_int_equal(next.adaptive.yield_ppm, 500000);
        assert_int_equal(next.adaptive.burst_until_full_scans, 0);
}

/* A model of ksmd: each page costs cost_nsec, a batch of pages_to_scan runs,
 * then it sleeps. Fed to the policy tick by tick (1 s), with guests changing
 * every 10 s so it keeps bursting, ksmd's CPU must stay within the budget
 * over minutes, while a first burst may go well above it. */
static void test_cpu_budget_held(void **state) {
        KsmConfig c;
        KsmSample s;
        KsmState st = {}, next;
        KsmDecision d;
        uint64_t cpu = 0, scanned = 0, cost = 6000, first10 = 0, pages = 100, sleep_ms = 20;

        (void) state;
        conf_init_defaults(&c);
        c.policy = KSM_POLICY_ADAPTIVE;
        c.thres_coef_pct = 90;
        for (unsigned t = 0; t <= 600; t++) {
                s = (KsmSample) {
                        .mem = { .mem_total_kib = TOTAL, .mem_available_kib = GIB(10), .has_mem_available = true },
                        .committed_kib = GIB(6), .n_guests = 6, .page_size_bytes = 4096,
                        .guests_changed = t % 10 == 0, .has_ksmd_cpu = true, .ksmd_cpu_usec = cpu,
                        .ksm = { .run = 1, .pages_to_scan = pages, .sleep_millisecs = sleep_ms,
                                 .pages_scanned = scanned, .full_scans = scanned / M_PAGES,
                                 .features = 1u << KSM_FEATURE_PAGES_SCANNED },
                };
                policy_decide(&c, &s, &st, SEC(t), &d, &next);
                st = next;
                assert_true(d.running);
                pages = d.targets.value[KSM_KNOB_PAGES_TO_SCAN];
                sleep_ms = d.targets.value[KSM_KNOB_SLEEP_MILLISECS];
                /* One second of ksmd at these knobs. */
                uint64_t batch_usec = pages * cost / 1000, period_usec = batch_usec + sleep_ms * 1000;
                uint64_t busy = SEC(1) * batch_usec / period_usec;
                cpu += busy;
                scanned += busy * 1000 / cost;
                if (t == 9)
                        first10 = cpu;
        }
        /* The first 10 s may spend the saved-up minute: well over 20 %. */
        if (first10 < SEC(4))
                fail_msg("first 10 s used %" PRIu64 " us of ksmd, expected a burst above 4 s", first10);
        /* Ten minutes: 20 % of 600 s plus two minutes of credit, at most. */
        if (cpu > SEC(120) + SEC(24) + SEC(2))
                fail_msg("ksmd used %" PRIu64 " us in 600 s, over the 20 %% budget", cpu);
        if (cpu < SEC(100))
                fail_msg("ksmd used only %" PRIu64 " us in 600 s of constant bursts: the budget is not used", cpu);
}

/* ksmd's CPU time or the clock jumping by 2^63 and more: no signed
 * overflow (UBSan in the sanitizer build), a bounded debt, sane knobs. */
static void test_absurd_jumps(void **state) {
        static const struct { uint64_t cpu, now; } steps[] = {
                { SEC(10), SEC(1) },
                { UINT64_MAX, SEC(2) },         /* ksmd's CPU jumps to the top */
                { UINT64_MAX, SEC(3) },
                { UINT64_MAX, UINT64_MAX },     /* and the clock too */
                { 0, UINT64_MAX },              /* and back: a new ksmd */
                { UINT64_C(1) << 63, UINT64_MAX },
        };
        KsmConfig c;
        KsmState st = {}, next;
        KsmDecision d;

        (void) state;
        conf_init_defaults(&c);
        c.policy = KSM_POLICY_ADAPTIVE;
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                KsmSample s = {
                        .mem = { .mem_total_kib = TOTAL, .mem_available_kib = 1000, .has_mem_available = true },
                        .committed_kib = GIB(6), .n_guests = 6, .page_size_bytes = 4096,
                        .has_ksmd_cpu = true, .ksmd_cpu_usec = steps[i].cpu,
                        .ksm = { .run = 1, .pages_to_scan = 100, .sleep_millisecs = 20,
                                 .pages_scanned = UINT64_MAX - 5, .pages_sharing = UINT64_MAX,
                                 .features = 1u << KSM_FEATURE_PAGES_SCANNED },
                };
                policy_decide(&c, &s, &st, steps[i].now, &d, &next);
                st = next;
                assert_true(st.adaptive.cpu_credit_usec >= -(INT64_C(365) * 24 * 3600 * 1000000));
                if (d.targets.set & (1u << KSM_KNOB_RUN))
                        assert_true(d.targets.value[KSM_KNOB_RUN] <= 1);
                if (d.targets.set & (1u << KSM_KNOB_SLEEP_MILLISECS))
                        assert_true(d.targets.value[KSM_KNOB_SLEEP_MILLISECS] <= UINT32_MAX);
                if (d.targets.set & (1u << KSM_KNOB_PAGES_TO_SCAN))
                        assert_true(d.targets.value[KSM_KNOB_PAGES_TO_SCAN] >= 1 &&
                                    d.targets.value[KSM_KNOB_PAGES_TO_SCAN] <= UINT32_MAX);
        }
}

/* The dispatcher: compat by default, and its state does not leak into adaptive. */
static void test_dispatch(void **state) {
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        (void) state;
        make(&rows[3], &c, &s, &prev);
        c.policy = KSM_POLICY_COMPAT;
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(d.next_tick_usec, 0);
        assert_false(next.adaptive.have_prev);
        assert_int_equal(next.npages, 64 + 300 > 1250 ? 1250 : 300);
        assert_string_equal(conf_policy_name(KSM_POLICY_COMPAT), "compat");
        assert_string_equal(conf_policy_name(KSM_POLICY_ADAPTIVE), "adaptive");
        assert_null(conf_policy_name(_KSM_POLICY_MAX));
        assert_string_equal(policy_adaptive_mode_name(KSM_ADAPTIVE_IDLE), "idle");
        assert_string_equal(policy_adaptive_mode_name(KSM_ADAPTIVE_LOOK), "look");
}

/* Stopping ksmd from a large batch: run=0 waits for the batch on a mutex
 * the writer spins on, so the batch is cut first and run=0 written a tick
 * later (or at once: a small batch, the admin's advisor owning the rate, or
 * a cut that did not take). Two rows of the table: a scan that saves
 * nothing (idle), and a stop. */
static void test_stop_cuts_the_batch_first(void **state) {
        static const char idle[] = "steady at its slowest rate: the yield is measured over several ticks, nothing saved: idle",
                          stop[] = "no pressure and nothing left to gain: stop, merged pages stay";
        static const struct {
                const char *row;
                uint64_t pages_to_scan;
                bool advisor_on, pending;
                bool cut;
        } cases[] = {
                { idle, 20000, false, false, true },
                { idle, 100, false, false, false },
                { idle, 20000, true, false, false },
                { idle, 20000, false, true, false },
                { stop, 20000, false, false, true },
        };
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *name = cases[i].row;
                const Row *r = NULL;
                KsmConfig c;
                KsmSample s;
                KsmState prev, next;
                KsmDecision d;

                for (size_t k = 0; k < ELEMENTSOF(rows); k++)
                        if (strcmp(rows[k].name, name) == 0)
                                r = &rows[k];
                assert_non_null(r);
                make(r, &c, &s, &prev);
                s.ksm.pages_to_scan = cases[i].pages_to_scan;
                if (cases[i].advisor_on)
                        s.ksm.advisor_mode = KSM_ADVISOR_SCAN_TIME;
                prev.adaptive.stop_pending = cases[i].pending;
                policy_decide(&c, &s, &prev, NOW, &d, &next);
                assert_int_equal(next.adaptive.mode, r->mode);
                assert_int_equal(next.adaptive.stop_pending, cases[i].cut);
                assert_int_equal(d.running, cases[i].cut);
                if (cases[i].cut) {
                        assert_int_equal(written(&d, KSM_KNOB_PAGES_TO_SCAN), 100);
                        assert_int_equal(written(&d, KSM_KNOB_RUN), NO_WRITE);
                        assert_int_equal(d.next_tick_usec, SEC(1) / 4);
                        assert_non_null(strstr(d.reason, "ksmd's batch cut first, run=0 at the next tick"));
                        /* The next tick stops it, whether the cut took or not. */
                        prev = next;
                        prev.adaptive.prev_usec = NOW;
                        policy_decide(&c, &s, &prev, NOW + SEC(1) / 4, &d, &next);
                        assert_int_equal(next.adaptive.mode, r->mode);
                        assert_false(next.adaptive.stop_pending);
                        assert_false(d.running);
                }
                assert_int_equal(written(&d, KSM_KNOB_RUN), 0);
                assert_int_equal(written(&d, KSM_KNOB_SMART_SCAN), 1);
        }
}

/* The last planned pass (12) of a burst, from 1,000,000 pages scanned, due
 * in this long. */
static void last_pass(const Row *r, uint64_t due_usec, KsmConfig *c, KsmSample *s, KsmState *prev) {
        make(r, c, s, prev);
        prev->adaptive = (KsmAdaptiveState) PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 13,
                                                 .burst_deadline_usec = NOW + due_usec, .cost_nsec_per_page = 2000,
                                                 .cpu_credit_usec = SEC(12), .pass_start_scanned_pages = 1000000,
                                                 .prev_committed_kib = GIB(6),
                                                 .prev_ksm_pages = r->saved + r->unshared + r->volatile_pages);
}

/* The last planned pass (12) with 50,000 pages left and a second to go:
 * ksmd finishes it in one batch and sleeps 1 s at the head of its list;
 * the tick 250 ms later sees the pass ended and stops ksmd there at once,
 * with no batch to cut. */
static void test_park_at_the_pass_end(void **state) {
        const Row r = { .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
                        .full_scans = 12, .scanned = 1000000 + M_PAGES - 50000, .ksmd_cpu = SEC(10) + 200000 };
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        (void) state;
        last_pass(&r, 0, &c, &s, &prev);
        prev.adaptive.pass_start_saved_pages = 500000;
        prev.adaptive.prev_scanned_pages = prev.adaptive.yield_base_scanned_pages = 1000000 + M_PAGES - 150000;
        prev.adaptive.yield_base_saved_pages = 500000;
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_BURST);
        assert_true(next.adaptive.parked);
        assert_int_equal(written(&d, KSM_KNOB_PAGES_TO_SCAN), 2 * 50000 + 100);
        assert_int_equal(written(&d, KSM_KNOB_SLEEP_MILLISECS), 1000);
        assert_int_equal(written(&d, KSM_KNOB_RUN), 1);
        assert_int_equal(d.next_tick_usec, SEC(1) / 4);

        /* 250 ms later: the pass ended, the burst with it. */
        prev = next;
        s.ksm.full_scans = 13;
        s.ksm.pages_scanned += 50000;
        s.ksm.pages_to_scan = 2 * 50000 + 100;
        s.ksm.sleep_millisecs = 1000;
        s.ksmd_cpu_usec += 100000;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 4, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_IDLE);
        assert_false(d.running);
        assert_false(next.adaptive.stop_pending);
        assert_int_equal(written(&d, KSM_KNOB_RUN), 0);
        assert_non_null(strstr(d.reason, "idle: the planned passes are done"));

        /* The same pass not yet ended: the park holds, its batch and
         * sleep untouched, judged again 250 ms later. */
        s.ksm.full_scans = 12;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 4, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_BURST);
        assert_true(next.adaptive.parked);
        assert_int_equal(next.adaptive.park_ticks, 1);
        assert_int_equal(written(&d, KSM_KNOB_PAGES_TO_SCAN), NO_WRITE);
        assert_int_equal(written(&d, KSM_KNOB_SLEEP_MILLISECS), NO_WRITE);
        assert_int_equal(d.next_tick_usec, SEC(1) / 4);
        assert_non_null(strstr(d.reason, "; parked until the pass ends"));

        /* ksmd scanned nothing: it sleeps after the batch that was under
         * way when the park was set. A new sleep_millisecs wakes it. */
        s.ksm.pages_scanned -= 50000;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 4, &d, &next);
        assert_true(next.adaptive.parked);
        assert_int_equal(written(&d, KSM_KNOB_SLEEP_MILLISECS), 1001);
        prev.adaptive.park_ticks = 1;
        s.ksm.sleep_millisecs = 1001;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 4, &d, &next);
        assert_int_equal(written(&d, KSM_KNOB_SLEEP_MILLISECS), 1000);
        assert_int_equal(next.adaptive.park_ticks, 2);
        s.ksm.pages_scanned += 50000;
        s.ksm.sleep_millisecs = 1000;

        /* Stopped in the middle of the parked pass (every guest went
         * away, and KSM's pages with them): no cut (the batch under way
         * ignores it) and no run=0 (it would wait for the batch), ksmd
         * finishes the pass; at its end, run=0 at once. */
        s.n_guests = 0;
        s.committed_kib = 0;
        s.ksm.pages_sharing = 0;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 4, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_STOPPED);
        assert_true(d.running);
        assert_true(next.adaptive.parked);
        assert_false(next.adaptive.stop_pending);
        assert_int_equal(d.targets.set, 0);
        assert_non_null(strstr(d.reason, "; run=0 at the end of the parked pass"));
        prev = next;
        prev.adaptive.prev_usec = NOW + SEC(1) / 4;
        s.ksm.full_scans = 13;
        s.ksm.pages_scanned += 30000;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 2, &d, &next);
        assert_false(d.running);
        assert_false(next.adaptive.parked);
        assert_int_equal(written(&d, KSM_KNOB_RUN), 0);

        /* Not beyond 12 ticks: then the batch is cut as at any stop. */
        s.ksm.full_scans = 12;
        prev.adaptive.park_ticks = 12;
        policy_decide(&c, &s, &prev, NOW + SEC(1) / 2, &d, &next);
        assert_true(next.adaptive.stop_pending);
        assert_int_equal(written(&d, KSM_KNOB_PAGES_TO_SCAN), 100);

        /* The same 50,000 pages with 2 s to go: parked all the same (ksmd
         * may be faster than planned), with a batch of two ticks' pages. */
        last_pass(&r, SEC(2), &c, &s, &prev);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_true(next.adaptive.parked);
        assert_int_equal(written(&d, KSM_KNOB_PAGES_TO_SCAN), 2 * 25000 + 100);
        assert_int_equal(written(&d, KSM_KNOB_SLEEP_MILLISECS), 1000);

        /* Half a pass left, 5 s to go: no park, the usual batches. */
        last_pass(&r, SEC(5), &c, &s, &prev);
        s.ksm.pages_scanned = 1000000 + M_PAGES / 2;
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_false(next.adaptive.parked);
        assert_int_equal(written(&d, KSM_KNOB_SLEEP_MILLISECS), 20);
}

/* The host of the tick-by-tick burst cases: 6 GiB of guests, a burst under
 * way in pass fs, planned to end with pass 13 and watched from the start of
 * pass fs at 1,000,000 pages scanned, with these savings and volatile
 * pages, at NOW. */
static void burst_host(uint64_t fs, uint64_t saved, uint64_t vol, KsmConfig *c, KsmSample *s, KsmState *prev) {
        const Row r = { .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6,
                        .full_scans = fs, .scanned = 1000000, .volatile_pages = vol };

        make(&r, c, s, prev);
        prev->adaptive = (KsmAdaptiveState) PREV(.mode = KSM_ADAPTIVE_BURST, .burst_until_full_scans = 14,
                                                 .burst_deadline_usec = NOW + SEC(60), .cost_nsec_per_page = 2000,
                                                 .cpu_credit_usec = SEC(24), .pass_whole = true,
                                                 .prev_full_scans = fs, .pass_start_scanned_pages = 1000000,
                                                 .pass_start_saved_pages = saved, .prev_committed_kib = GIB(6),
                                                 .prev_ksm_pages = saved + vol,
                                                 .yield_base_scanned_pages = 1000000, .yield_base_saved_pages = saved);
        prev->adaptive.prev_usec = NOW;
}

/* Tick k of such a case, one second after the one before: ksmd scanned
 * 100,000 pages more (0.2 s of its CPU) and is in pass fs, with these
 * savings and volatile pages. */
static void burst_tick(const KsmConfig *c, KsmSample *s, const KsmState *prev, uint64_t k, uint64_t fs,
                       uint64_t saved, uint64_t vol, KsmDecision *d, KsmState *next) {
        s->ksm.pages_volatile = vol;
        s->ksm.pages_scanned = 1000000 + k * 100000;
        s->ksm.full_scans = fs;
        s->ksm.pages_sharing = saved;
        s->ksmd_cpu_usec = SEC(10) + k * 200000;
        policy_decide(c, s, prev, NOW + SEC(k), d, next);
}

/* The last planned pass runs to its end. Pass 12 (the pass before last,
 * in the burst) sees new pages up to 600,000 pages into it and merges
 * pages on their second look up to 1,000,000; pass 13 merges up to 300,000
 * pages into it, then KSM's counters stand still. With late_twin, an older
 * guest's pages 1,400,000 pages into pass 13 find their new twins in its
 * unstable tree and merge there: the burst must not have ended before.
 * With late_pages, pass 13 also sees pages for the first time (a guest
 * still filling its memory), 500,000 to 700,000 pages into it: one more
 * pass gives them their second look and merges them. Ticks 1 s apart,
 * 100,000 pages each, over 6 GiB of guests (1,572,864 pages: the loop
 * turns full_scans every 1,600,000 pages). Returns the tick that ended the
 * burst, 0 if none did. */
static uint64_t two_passes(bool late_twin, bool late_pages) {
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;
        uint64_t saved = 100000, vol = 50000;

        burst_host(12, saved, vol, &c, &s, &prev);
        for (uint64_t k = 1; k <= 60; k++) {
                uint64_t scanned = k * 100000;
                uint64_t pass = 12 + scanned / 1600000, in_pass = scanned % 1600000;
                bool late = in_pass >= 500000 && in_pass <= 700000;

                if ((pass == 12 && in_pass <= 600000) || (late_pages && pass == 13 && late))
                        vol += 10000;   /* new pages */
                if ((pass == 12 && in_pass > 600000 && in_pass <= 1000000) ||
                    (pass == 13 && in_pass > 0 && in_pass <= 300000) ||
                    (late_twin && pass == 13 && in_pass == 1400000) || (late_pages && pass == 14 && late)) {
                        saved += 10000;         /* merged on their second look */
                        vol -= 10000;
                }
                burst_tick(&c, &s, &prev, k, pass, saved, vol, &d, &next);
                if (next.adaptive.mode != KSM_ADAPTIVE_BURST) {
                        if (next.adaptive.mode != KSM_ADAPTIVE_IDLE ||
                            !strstr(d.reason, "the planned passes are done"))
                                fail_msg("tick %" PRIu64 ": mode %s, reason %s", k,
                                         policy_adaptive_mode_name(next.adaptive.mode), d.reason);
                        return k;
                }
                if (pass == 14 && in_pass == 0 && !strstr(d.reason, "a second look for pages the last pass saw first"))
                        fail_msg("tick %" PRIu64 ": reason %s", k, d.reason);
                /* smart_scan is off in the last planned pass, and in the one after. */
                if (d.targets.value[KSM_KNOB_SMART_SCAN] != (pass >= 13 ? 0 : 1))
                        fail_msg("tick %" PRIu64 ": smart_scan=%" PRIu64, k, d.targets.value[KSM_KNOB_SMART_SCAN]);
                prev = next;
        }
        return 0;
}

static void test_last_pass_runs_to_its_end(void **state) {
        (void) state;
        /* Pass 13 ends in the 32nd tick, however long the counters stood
         * still before. */
        assert_int_equal(two_passes(false, false), 32);
        assert_int_equal(two_passes(true, false), 32);
        /* Pages it saw first: pass 14 runs, to its end in the 48th tick. */
        assert_int_equal(two_passes(false, true), 48);
        assert_int_equal(two_passes(true, true), 48);
}

/* Idle under pressure, one guest fills its memory 100 MiB a tick: never a
 * sixteenth of 6 GiB (384 MiB) from one tick to the next, but it adds up
 * from the last tick of the burst, and plans passes at the fourth tick.
 * Guest memory that fell (a guest stopped) counts from the least it was.
 * Returns the tick that planned passes, 0 if none did. */
static uint64_t slow_growth(uint64_t fell_kib) {
        const Row r = { .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .saved = 500000,
                        .full_scans = 12, .scanned = 1000000,
                        .prev = PREV(.mode = KSM_ADAPTIVE_IDLE, .cost_nsec_per_page = 2000,
                                     .yield_base_saved_pages = 500000, .idle_until_usec = NOW + SEC(600)) };
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        make(&r, &c, &s, &prev);
        s.committed_kib -= fell_kib;
        for (uint64_t k = 0; k < 10; k++) {
                policy_decide(&c, &s, &prev, NOW + SEC(5 * k), &d, &next);
                if (next.adaptive.mode == KSM_ADAPTIVE_BURST) {
                        if (!strstr(d.reason, "burst: guest memory grew"))
                                fail_msg("tick %" PRIu64 ": reason %s", k, d.reason);
                        return k;
                }
                assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_IDLE);
                prev = next;
                s.committed_kib += 102400;
        }
        return 0;
}

static void test_slow_growth_adds_up(void **state) {
        (void) state;
        /* 400 MiB more than 6 GiB at the fourth tick. */
        assert_int_equal(slow_growth(0), 4);
        /* From 5 GiB, a sixteenth is 320 MiB: 400 MiB at the fourth tick too,
         * 300 MiB at the third is not yet. */
        assert_int_equal(slow_growth(GIB(1)), 4);
        /* From 5.75 GiB (368 MiB a sixteenth): 400 MiB. */
        assert_int_equal(slow_growth(GIB(1) / 4), 4);
}

/* A burst planned (at pass 11) for passes 11 to 13: pass 11 sees new pages
 * (600,000 pages into it), pass 12 gives them their second look with
 * smart_scan off and sees nothing new, so the burst ends with pass 12,
 * not 13. With smart_scan left on in pass 12 (a kernel that refused the
 * write), pass 13 runs. Ticks 1 s apart, 100,000 pages each, over 6 GiB
 * (1,572,864 pages). Returns the tick that ended the burst, 0 if none. */
static uint64_t second_look(bool refuse_smart_scan_off) {
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;
        uint64_t saved = 100000, vol = 50000;

        burst_host(11, saved, vol, &c, &s, &prev);
        prev.adaptive.burst_planned_full_scans = 11;
        s.ksm.smart_scan = 1;
        for (uint64_t k = 1; k <= 60; k++) {
                uint64_t scanned = k * 100000;
                uint64_t pass = 11 + scanned / M_PAGES, in_pass = scanned % M_PAGES;

                if (pass == 11 && in_pass <= 600000)
                        vol += 10000;   /* new pages */
                if (pass == 12 && in_pass > 0 && in_pass <= 600000) {
                        saved += 10000; /* merged on their second look */
                        vol -= 10000;
                }
                burst_tick(&c, &s, &prev, k, pass, saved, vol, &d, &next);
                if (next.adaptive.mode != KSM_ADAPTIVE_BURST)
                        return k;
                /* What the kernel holds until the next tick. */
                if (!refuse_smart_scan_off && (d.targets.set & (1u << KSM_KNOB_SMART_SCAN)))
                        s.ksm.smart_scan = d.targets.value[KSM_KNOB_SMART_SCAN];
                /* smart_scan is off for the second look (pass 12) and the last pass (13). */
                if (d.targets.value[KSM_KNOB_SMART_SCAN] != (pass >= 12 ? 0 : 1))
                        fail_msg("tick %" PRIu64 ": smart_scan=%" PRIu64, k, d.targets.value[KSM_KNOB_SMART_SCAN]);
                prev = next;
        }
        return 0;
}

static void test_burst_ends_after_second_look(void **state) {
        (void) state;
        /* Pass 12 ends in the tick where 3,145,728 pages are scanned. */
        assert_int_equal(second_look(false), 32);
        /* Pass 13 runs, to its end as the last planned pass: in the tick
         * where 4,718,592 pages are scanned. */
        assert_int_equal(second_look(true), 48);
}

/* A burst planned at pass 11 for passes 11 to 13. Guest G1 sits at the end
 * of ksmd's list, seen 1,400,000 to 1,500,000 pages into pass 11; G2 came
 * while ksmd ran and went in right behind its cursor, at the head of pass
 * 12, seen in the tick that ended pass 11. G1 merges at the end of pass 12,
 * G2 at the head of pass 13: pass 12 saw new pages, the burst must not end
 * with it. Ticks 1 s apart, 100,000 pages each, over 6 GiB (the loop turns
 * full_scans every 1,600,000 pages). Returns the tick that ended the burst,
 * 0 if none did. */
static uint64_t guest_at_the_next_head(void) {
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;
        uint64_t saved = 100000, vol = 50000;

        burst_host(11, saved, vol, &c, &s, &prev);
        prev.adaptive.burst_planned_full_scans = prev.adaptive.burst_first_full_scans = 11;
        s.ksm.smart_scan = 1;
        for (uint64_t k = 1; k <= 60; k++) {
                uint64_t scanned = k * 100000;
                uint64_t pass = 11 + scanned / 1600000, in_pass = scanned % 1600000;

                if ((pass == 11 && in_pass >= 1400000) || (pass == 12 && in_pass == 0))
                        vol += 100000;  /* new pages: G1, then G2 */
                if ((pass == 12 && in_pass >= 1400000) || (pass == 13 && in_pass == 0)) {
                        saved += 100000;        /* merged on their second look */
                        vol -= 100000;
                }
                burst_tick(&c, &s, &prev, k, pass, saved, vol, &d, &next);
                if (next.adaptive.mode != KSM_ADAPTIVE_BURST)
                        return k;
                if (d.targets.set & (1u << KSM_KNOB_SMART_SCAN))
                        s.ksm.smart_scan = d.targets.value[KSM_KNOB_SMART_SCAN];
                prev = next;
        }
        return 0;
}

static void test_guest_at_the_next_head(void **state) {
        (void) state;
        /* Pass 13 runs to its end, in the 48th tick; ending with pass 12
         * (the 32nd) left G2 without its second look. */
        assert_int_equal(guest_at_the_next_head(), 48);
}

/* A burst runs the pass that planned it with smart_scan on, even when the
 * pass before saw new pages: those were a burst before, and this one's new
 * guests are not in that pass. */
static void test_burst_first_pass_keeps_smart_scan(void **state) {
        const Row r = { .coef = 90, .avail = GIB(16), .committed = GIB(6), .n_guests = 6, .guests_changed = true,
                        .full_scans = 12, .scanned = 1000000 };
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        (void) state;
        make(&r, &c, &s, &prev);
        prev.adaptive = (KsmAdaptiveState) PREV(.mode = KSM_ADAPTIVE_IDLE, .prev_committed_kib = GIB(6),
                                                .prev_pass_saw_new = true);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_BURST);
        assert_int_equal(next.adaptive.burst_until_full_scans, 15);
        assert_int_equal(next.adaptive.burst_first_full_scans, 12);
        /* The pass before saw new pages, a burst before this one: this pass
         * is not their second look for this burst, smart_scan stays on. */
        assert_int_equal(d.targets.value[KSM_KNOB_SMART_SCAN], 1);
}

/* Passes shorter than a tick (192 MiB of guests planned for three passes
 * of a second each) cannot be singled out: the whole burst runs with
 * smart_scan off, so an older guest's skipped pages meet the new ones. */
static void test_short_passes_look_at_all(void **state) {
        const Row r = { .coef = 90, .avail = GIB(16), .committed = 196608, .n_guests = 2, .guests_changed = true,
                        .full_scans = 10, .scanned = 1000000 };
        KsmConfig c;
        KsmSample s;
        KsmState prev, next;
        KsmDecision d;

        (void) state;
        make(&r, &c, &s, &prev);
        c.burst_secs = 1;
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_BURST);
        assert_true(d.targets.set & (1u << KSM_KNOB_SMART_SCAN));
        assert_int_equal(d.targets.value[KSM_KNOB_SMART_SCAN], 0);
        /* The same at KSM_BURST_SECS=5: passes of over a second, smart_scan on
         * until the last. */
        c.burst_secs = 5;
        s.committed_kib = GIB(6);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(d.targets.value[KSM_KNOB_SMART_SCAN], 1);
        /* A deadline a second away, two passes of 6 GiB left: the planned
         * rate is 3 million pages a second, the CPU cap holds ksmd to 400,000
         * (80 % at 2 us a page). Passes of 4 s: smart_scan stays on until
         * the last. */
        s.guests_changed = false;
        s.ksm.full_scans = 11;
        s.ksm.pages_scanned = 1100000;
        prev.adaptive = (KsmAdaptiveState) PREV(.mode = KSM_ADAPTIVE_BURST, .prev_full_scans = 11,
                                                .burst_until_full_scans = 13, .burst_deadline_usec = NOW,
                                                .cost_nsec_per_page = 2000, .cpu_credit_usec = SEC(24),
                                                .prev_committed_kib = GIB(6), .prev_scanned_pages = 1100000,
                                                .pass_start_scanned_pages = 1100000, .pass_whole = true);
        s.ksmd_cpu_usec = SEC(10);
        policy_decide(&c, &s, &prev, NOW, &d, &next);
        assert_int_equal(next.adaptive.mode, KSM_ADAPTIVE_BURST);
        assert_int_equal(next.adaptive.rate_pages_per_sec, 400000);
        assert_int_equal(d.targets.value[KSM_KNOB_SMART_SCAN], 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_reason_line),
                cmocka_unit_test(test_measurements),
                cmocka_unit_test(test_last_pass_runs_to_its_end),
                cmocka_unit_test(test_slow_growth_adds_up),
                cmocka_unit_test(test_burst_first_pass_keeps_smart_scan),
                cmocka_unit_test(test_burst_ends_after_second_look),
                cmocka_unit_test(test_guest_at_the_next_head),
                cmocka_unit_test(test_short_passes_look_at_all),
                cmocka_unit_test(test_stop_cuts_the_batch_first),
                cmocka_unit_test(test_park_at_the_pass_end),
                cmocka_unit_test(test_cpu_budget_held),
                cmocka_unit_test(test_absurd_jumps),
                cmocka_unit_test(test_dispatch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
