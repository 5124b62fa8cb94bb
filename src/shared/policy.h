/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "fight.h"
#include "ksm-sysfs.h"
#include "meminfo.h"
#include "psi.h"

/* Everything one tick collected. */
typedef struct KsmSample {
        KsmMeminfo mem;
        uint64_t committed_kib;         /* summed RSS of guest processes */
        unsigned n_guests;
        KsmKnobs ksm;                   /* the knobs as they are now */
        uint64_t page_size_bytes;       /* 0 is taken as 4096 */
        bool guests_changed;            /* the scan found a guest pid the previous scan had not */
        uint64_t guest_events;          /* guest start/stop events (libvirt) since the daemon started */
        bool has_psi;                   /* psi is valid */
        KsmPsi psi;                     /* /proc/pressure/memory */
        bool has_ksmd_cpu;              /* ksmd_cpu_usec is valid */
        uint64_t ksmd_cpu_usec;         /* ksmd's utime + stime since boot */
} KsmSample;

typedef enum KsmAdaptiveMode {
        KSM_ADAPTIVE_STOPPED,           /* run=0: no pressure, or nothing to merge */
        KSM_ADAPTIVE_BURST,             /* passes planned for new guests, against a deadline */
        KSM_ADAPTIVE_STEADY,            /* passes still save something: keep going */
        KSM_ADAPTIVE_IDLE,              /* run=0 under pressure: nothing new to merge until the next look */
        KSM_ADAPTIVE_LOOK,              /* one whole pass KSM_TRICKLE_SECS after the last, for memory that changed */
        _KSM_ADAPTIVE_MODE_MAX,
} KsmAdaptiveMode;

/* adaptive: measurements carried from one tick to the next. */
typedef struct KsmAdaptiveState {
        KsmAdaptiveMode mode;
        bool have_prev;                 /* the prev_* fields hold a sample */
        uint64_t prev_usec;             /* monotonic time of that sample */
        uint64_t prev_ksmd_cpu_usec;
        uint64_t prev_scanned_pages;    /* pages_scanned, or our estimate of it */
        uint64_t prev_committed_kib;
        uint64_t grow_base_kib;         /* guest memory growth counts from: the last tick of a burst, the least since */
        uint64_t prev_full_scans;
        uint64_t pass_start_scanned_pages;      /* pages_scanned when this pass began */
        uint64_t pass_start_saved_pages;        /* savings when this pass began */
        uint64_t last_pass_gain_pages;  /* what the last complete pass added (0 if it lost) */
        uint64_t burst_until_full_scans;        /* burst while full_scans is below this */
        uint64_t burst_deadline_usec;   /* when the planned passes should be done */
        int64_t cpu_credit_usec;        /* ksmd CPU still allowed by the budget */
        uint64_t cost_nsec_per_page;    /* ksmd CPU per scanned page, measured; 0 unknown */
        uint64_t yield_ppm;             /* pages saved per million scanned, last interval */
        uint64_t rate_pages_per_sec;    /* the scan rate chosen last */
        bool pass_whole;                /* this pass was watched from its start */
        uint64_t burst_planned_full_scans;      /* full_scans when the burst was last planned */
        uint64_t burst_first_full_scans;        /* ... when it was first planned (not a re-plan) */
        bool pass_saw_new;              /* ksmd saw new pages in this pass */
        bool pass_looked_at_all;        /* smart_scan was off all through this pass, so far */
        bool prev_pass_saw_new;         /* the pass before saw new pages: this one is their second look */
        bool prev_pass_looked_at_all;   /* smart_scan was off all through the pass before */
        uint64_t prev_ksm_pages;        /* pages with a ksmd item at the last tick */
        uint64_t yield_base_scanned_pages;      /* pages_scanned when yield_ppm was last measured */
        uint64_t yield_base_saved_pages;        /* savings then */
        uint64_t idle_until_usec;       /* idle: when to look again */
        uint64_t look_start_scanned_pages;      /* look: pages_scanned when it began */
        uint64_t look_start_saved_pages;        /* look: savings then */
        bool stop_pending;              /* ksmd's batch was cut to stop it at this tick */
        bool parked;                    /* the last decision had ksmd finish its pass and sleep at its head */
        uint8_t park_ticks;             /* ticks the park held since it was set (hold_park()) */
} KsmAdaptiveState;

/* Who owns the kernel's advisor (advisor_mode=scan-time sets pages_to_scan
 * itself). The adaptive policy turns the admin's advisor off while it sets
 * the rate, and gives it back on exit or a switch to another policy. */
typedef struct KsmAdvisorState {
        bool taken;                     /* we turned the admin's advisor off: give it back */
        bool admins;                    /* the admin turned it back on while we ran: leave it alone */
        bool left_on_said;              /* KSM_ADVISOR_LEFT_ON was reported and still holds */
} KsmAdvisorState;

/* What a tick found about the advisor, for the caller to log or act on
 * (bits of KsmDecision.advisor_events). */
typedef enum KsmAdvisorEvent {
        KSM_ADVISOR_TAKEN_BACK = 1 << 0,        /* the admin turned it back on: it sets the rate now */
        KSM_ADVISOR_RESTORE = 1 << 1,           /* write advisor_mode=scan-time now: the policy changed */
        KSM_ADVISOR_LEFT_ON = 1 << 2,           /* it is on and KSM runs: pages_to_scan is left to it */
        KSM_ADVISOR_TAKEN = 1 << 3,             /* our write turned it off (policy_advisor_applied) */
} KsmAdvisorEvent;

/* What a policy remembers between ticks. */
typedef struct KsmState {
        int64_t npages;                 /* compat: last pages_to_scan, 0 before the first start */
        KsmAdaptiveState adaptive;
        KsmFightState fight;            /* another tuner changing the knobs back */
        KsmAdvisorState advisor;
        uint64_t guest_events_seen;     /* KsmSample.guest_events the last decision saw */
} KsmState;

#define KSM_REASON_MAX 192

typedef struct KsmDecision {
        KsmTargets targets;
        bool running;                   /* whether the decision leaves KSM scanning */
        uint64_t thres_kib;             /* the threshold the decision compared against */
        uint64_t free_kib;              /* the free memory it judged */
        char reason[KSM_REASON_MAX];    /* one line, for logs, STATUS= and the bus */
        uint64_t next_tick_usec;        /* run the next tick after this long; 0: the monitor interval */
        unsigned advisor_events;        /* KsmAdvisorEvent bits */
} KsmDecision;

/* compat: the old script's threshold: MemTotal * COEF / 100, or CONST when
 * that is larger. KiB. */
uint64_t policy_compat_threshold_kib(const KsmConfig *c, uint64_t mem_total_kib);

/* compat: the old script's sleep_millisecs: SLEEP_MSEC scaled to 16 GiB of
 * RAM, at least 10 ms. */
uint64_t policy_compat_sleep_ms(const KsmConfig *c, uint64_t mem_total_kib);

/* compat: one decision of the old ksmtuned. Pure: writes *ret and *ret_state
 * only. */
void policy_compat_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev,
                          KsmDecision *ret, KsmState *ret_state);

/* adaptive: see policy-adaptive.c. Pure: now_usec is CLOCK_MONOTONIC time
 * passed in by the caller; writes *ret and *ret_state only. */
void policy_adaptive_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                            KsmDecision *ret, KsmState *ret_state);

/* Name of an adaptive mode ("burst", ...), for logs and the bus. */
const char *policy_adaptive_mode_name(KsmAdaptiveMode mode);

/* Whether guests came or went since the previous decision: a new guest pid
 * in the scan, or a guest event that decision did not see. */
bool policy_guests_changed(const KsmSample *s, const KsmState *prev);

/* The advisor before a decision: notes the admin turning it back on, and
 * gives it back when a policy other than adaptive is in force. Pure: writes
 * *state (the advisor part) and adds KsmAdvisorEvent bits to *events. */
void policy_advisor_before(const KsmConfig *c, const KsmSample *s, KsmState *state, unsigned *events);

/* The advisor after a decision: whether KSM_ADVISOR_LEFT_ON is news. Pure. */
void policy_advisor_after(const KsmSample *s, const KsmDecision *d, KsmState *state, unsigned *events);

/* After apply: written is the mask (1 << KsmKnob) of knobs really written
 * (0 in a dry run). When that turned the admin's advisor off, the state
 * remembers to give it back. Returns KSM_ADVISOR_TAKEN or 0. Pure. */
unsigned policy_advisor_applied(const KsmSample *s, const KsmDecision *d, unsigned written, KsmState *state);

/* The policy c->policy names, with the advisor and guest-event bookkeeping
 * around it; unless another tuner has been changing the knobs back
 * (fight.h): then nothing is written and the reason says so. Pure, like
 * each policy. */
void policy_decide(const KsmConfig *c, const KsmSample *s, const KsmState *prev, uint64_t now_usec,
                   KsmDecision *ret, KsmState *ret_state);
