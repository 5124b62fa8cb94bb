/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy of the old bash ksmtuned, decision for decision. Its choices are
 * kept on purpose: they are what existing hosts were tuned against.
 *
 *  - Guests are measured by RSS, which KSM does not shrink: merging succeeds
 *    without the committed figure ever falling.
 *  - "Free" is MemFree + Buffers + Cached, not MemAvailable.
 *  - KSM stops only when both committed + thres < MemTotal and free > thres;
 *    otherwise it runs, boosting by NPAGES_BOOST while free < thres and
 *    decaying by NPAGES_DECAY otherwise (so also at free == thres).
 *  - npages starts at 0 and survives stops, so a restart continues at the old
 *    rate; it is clamped to [NPAGES_MIN, NPAGES_MAX] after each step.
 *  - sleep_millisecs is SLEEP_MSEC scaled so a 16 GiB host gets SLEEP_MSEC.
 *
 * Differences: 64-bit arithmetic throughout (the script overflowed shell
 * integers on hosts of a few TiB), and the inputs are re-read each tick.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "arith.h"
#include "policy.h"

/* 16 GiB in KiB: the host size KSM_SLEEP_MSEC is meant for. */
#define REFERENCE_MEM_KIB UINT64_C(16777216)
/* The script's floor: "[ $sleep -le 10 ] && sleep=10". */
#define SLEEP_FLOOR_MS 10
/* sleep_millisecs is an unsigned int in the kernel. */
#define SLEEP_CEIL_MS UINT32_MAX

uint64_t policy_compat_threshold_kib(const KsmConfig *c, uint64_t mem_total_kib) {
        /* Divide first: COEF <= 100, so neither part can overflow even for
         * a MemTotal of 2^64 - 1 KiB, and the result is exact. */
        uint64_t coef = (uint64_t) c->thres_coef_pct;
        uint64_t thres = mem_total_kib / 100 * coef + mem_total_kib % 100 * coef / 100;

        if ((uint64_t) c->thres_const_kib > thres)
                thres = (uint64_t) c->thres_const_kib;
        return thres;
}

uint64_t policy_compat_sleep_ms(const KsmConfig *c, uint64_t mem_total_kib) {
        uint64_t sleep;

        if (mem_total_kib == 0)
                return SLEEP_CEIL_MS;
        /* SLEEP_MSEC <= 10^6 < 2^20, times 2^24: fits. */
        sleep = (uint64_t) c->sleep_msec * REFERENCE_MEM_KIB / mem_total_kib;
        if (sleep <= SLEEP_FLOOR_MS)
                sleep = SLEEP_FLOOR_MS;
        if (sleep > SLEEP_CEIL_MS)
                sleep = SLEEP_CEIL_MS;
        return sleep;
}

static int64_t clamp_npages(const KsmConfig *c, int64_t n) {
        /* Same order as the script: below MIN first, then above MAX. */
        if (n < c->npages_min)
                return c->npages_min;
        if (n > c->npages_max)
                return c->npages_max;
        return n;
}

void policy_compat_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev,
                          KsmDecision *ret, KsmState *ret_state) {
        uint64_t total = s->mem.mem_total_kib;
        uint64_t free_kib = sat_add_u64(sat_add_u64(s->mem.mem_free_kib, s->mem.buffers_kib), s->mem.cached_kib);
        uint64_t thres = policy_compat_threshold_kib(c, total);
        uint64_t need = sat_add_u64(s->committed_kib, thres);
        KsmDecision d = { .thres_kib = thres, .free_kib = free_kib };
        KsmState st = *prev;
        bool boost;

        if (need < total && free_kib > thres) {
                ksm_targets_set(&d.targets, KSM_KNOB_RUN, 0);
                snprintf(d.reason, sizeof(d.reason),
                         "committed %" PRIu64 " + threshold %" PRIu64 " < total %" PRIu64 " KiB and free %" PRIu64 " > threshold: stop",
                         s->committed_kib, thres, total, free_kib);
                goto done;
        }

        boost = free_kib < thres;
        st.npages = clamp_npages(c, prev->npages + (boost ? c->npages_boost : c->npages_decay));
        d.running = true;

        /* The kernel's advisor owns pages_to_scan while it is on and rejects
         * writes with EINVAL: leave it alone rather than fight it. */
        if (!ksm_advisor_sets_rate(&s->ksm))
                ksm_targets_set(&d.targets, KSM_KNOB_PAGES_TO_SCAN, (uint64_t) st.npages);
        ksm_targets_set(&d.targets, KSM_KNOB_SLEEP_MILLISECS, policy_compat_sleep_ms(c, total));
        ksm_targets_set(&d.targets, KSM_KNOB_RUN, 1);

        if (need >= total)
                snprintf(d.reason, sizeof(d.reason),
                         "committed %" PRIu64 " + threshold %" PRIu64 " >= total %" PRIu64 " KiB, free %" PRIu64 " %s threshold: %s to %" PRId64 " pages",
                         s->committed_kib, thres, total, free_kib, boost ? "<" : ">=", boost ? "boost" : "decay", st.npages);
        else
                snprintf(d.reason, sizeof(d.reason),
                         "free %" PRIu64 " %s threshold %" PRIu64 " KiB: %s to %" PRId64 " pages",
                         free_kib, boost ? "<" : "<=", thres, boost ? "boost" : "decay", st.npages);
done:
        *ret = d;
        *ret_state = st;
}
