/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policies, over a sequence of ticks. The input: a configuration text
 * (up to the first NUL; the defaults when it does not parse), then samples.
 * Invariants, every tick, both policies: run is 0 or 1, never 2 (unmerge);
 * pages_to_scan and sleep_millisecs fit the kernel's unsigned int; the advisor and the boolean
 * knobs are 0 or 1; a reason is given. No UB (the sanitizer build). The
 * unmerge guard never says yes on saturated figures. */
#include <stdbool.h>

#include "conf.h"
#include "fuzz.h"
#include "policy.h"
#include "unmerge.h"

static void ignore(const char *msg, void *userdata) {
        (void) msg, (void) userdata;
}

static void sample(FuzzReader *r, KsmSample *s) {
        *s = (KsmSample) {
                .mem = {
                        .mem_total_kib = fuzz_size(r),
                        .mem_free_kib = fuzz_size(r),
                        .mem_available_kib = fuzz_size(r),
                        .buffers_kib = fuzz_size(r),
                        .cached_kib = fuzz_size(r),
                },
                .committed_kib = fuzz_size(r),
                .n_guests = (unsigned) fuzz_u8(r),
                .page_size_bytes = fuzz_u8(r) % 2 ? 4096 : fuzz_size(r),
        };
        uint8_t flags = fuzz_u8(r);

        s->mem.has_mem_available = flags & 1;
        s->guests_changed = flags & 2;
        s->has_psi = flags & 4;
        s->has_ksmd_cpu = flags & 8;
        s->guest_events = flags & 16 ? fuzz_u8(r) : 0;
        s->psi.some_avg10_centipct = (uint32_t) fuzz_u64(r);
        s->psi.some_total_usec = fuzz_size(r);
        s->ksmd_cpu_usec = fuzz_size(r);
        s->ksm.run = fuzz_u8(r) % 3;
        s->ksm.pages_to_scan = fuzz_size(r);
        s->ksm.sleep_millisecs = fuzz_size(r);
        s->ksm.smart_scan = fuzz_u8(r) % 2;
        s->ksm.use_zero_pages = fuzz_u8(r) % 2;
        s->ksm.advisor_mode = fuzz_u8(r) % 2;
        s->ksm.pages_shared = fuzz_size(r);
        s->ksm.pages_sharing = fuzz_size(r);
        s->ksm.pages_unshared = fuzz_size(r);
        s->ksm.pages_volatile = fuzz_size(r);
        s->ksm.full_scans = fuzz_size(r);
        s->ksm.ksm_zero_pages = fuzz_size(r);
        s->ksm.pages_scanned = fuzz_size(r);
        s->ksm.general_profit = (int64_t) fuzz_u64(r);
        s->ksm.features = (unsigned) fuzz_u8(r) | (unsigned) fuzz_u8(r) << 8;
}

static void check_decision(const KsmDecision *d) {
        const KsmTargets *t = &d->targets;

        FUZZ_ASSERT(memchr(d->reason, '\0', sizeof(d->reason)) && d->reason[0]);
        if (t->set & (1u << KSM_KNOB_RUN))
                FUZZ_ASSERT(t->value[KSM_KNOB_RUN] <= 1);
        if (t->set & (1u << KSM_KNOB_PAGES_TO_SCAN))
                FUZZ_ASSERT(t->value[KSM_KNOB_PAGES_TO_SCAN] <= UINT32_MAX);
        if (t->set & (1u << KSM_KNOB_SLEEP_MILLISECS))
                FUZZ_ASSERT(t->value[KSM_KNOB_SLEEP_MILLISECS] <= UINT32_MAX);
        if (t->set & (1u << KSM_KNOB_ADVISOR_MODE))
                FUZZ_ASSERT(t->value[KSM_KNOB_ADVISOR_MODE] <= 1);
        if (t->set & (1u << KSM_KNOB_SMART_SCAN))
                FUZZ_ASSERT(t->value[KSM_KNOB_SMART_SCAN] <= 1);
        if (t->set & (1u << KSM_KNOB_USE_ZERO_PAGES))
                FUZZ_ASSERT(t->value[KSM_KNOB_USE_ZERO_PAGES] <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *nul = memchr(data, '\0', size);
        size_t conf_len = nul ? (size_t) (nul - data) : 0;
        KsmConfig configs[2];
        KsmState st[2] = {};
        char err[256];
        FuzzReader r = { data + (nul ? conf_len + 1 : 0), size - (nul ? conf_len + 1 : 0) };
        uint64_t now = 0;

        /* The text is the configuration only when a NUL ends it. */
        if (!nul || conf_parse((const char *) data, conf_len, "fuzz", &configs[0], ignore, NULL, err,
                               sizeof(err)) != 0)
                conf_init_defaults(&configs[0]);
        configs[1] = configs[0];
        configs[0].policy = KSM_POLICY_COMPAT;
        configs[1].policy = KSM_POLICY_ADAPTIVE;

        for (unsigned tick = 0; tick < 16 && r.n > 0; tick++) {
                KsmSample s;
                UnmergeCheck u;

                sample(&r, &s);
                /* Mostly forward, sometimes a jump or a step back. */
                now += fuzz_u8(&r) % 4 == 0 ? fuzz_u64(&r) : fuzz_size(&r) % 10000000;
                for (int p = 0; p < 2; p++) {
                        KsmDecision d;
                        KsmState next;

                        policy_decide(&configs[p], &s, &st[p], now, &d, &next);
                        check_decision(&d);
                        /* Idle or stopped: ksmd stopped, or its batch cut
                         * to stop it at the next tick, or finishing a
                         * parked pass for a bounded number of ticks;
                         * nothing half set. (Yielding to another tuner
                         * writes nothing.) */
                        bool adaptive = p == 1 && !next.fight.yielded;

                        if (adaptive && (next.adaptive.mode == KSM_ADAPTIVE_IDLE ||
                                         next.adaptive.mode == KSM_ADAPTIVE_STOPPED)) {
                                bool run_set = d.targets.set & (1u << KSM_KNOB_RUN);

                                if (next.adaptive.stop_pending)
                                        FUZZ_ASSERT(d.running && !run_set && !st[p].adaptive.stop_pending &&
                                                    (d.targets.set & (1u << KSM_KNOB_PAGES_TO_SCAN)));
                                else if (next.adaptive.parked)
                                        FUZZ_ASSERT(d.running && !run_set && st[p].adaptive.parked &&
                                                    next.adaptive.park_ticks > st[p].adaptive.park_ticks);
                                else
                                        FUZZ_ASSERT(!d.running && run_set && d.targets.value[KSM_KNOB_RUN] == 0);
                        } else if (adaptive)
                                FUZZ_ASSERT(next.adaptive.mode < _KSM_ADAPTIVE_MODE_MAX && d.running &&
                                            !next.adaptive.stop_pending);
                        /* As if every knob set was written, or only some. */
                        (void) policy_advisor_applied(&s, &d, d.targets.set & (unsigned) fuzz_u8(&r), &next);
                        st[p] = next;
                }
                unmerge_check(&s.mem, &s.ksm, s.page_size_bytes ?: 4096, &u);
                if (u.ok)
                        FUZZ_ASSERT(u.need_bytes != UINT64_MAX && u.available_bytes != UINT64_MAX &&
                                    u.available_bytes >= u.need_bytes);
        }
        return 0;
}
