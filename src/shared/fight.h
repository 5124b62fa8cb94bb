/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ksm-sysfs.h"

/* Another tuner on the same host (KubeVirt's KSM handler, tuned, a cron
 * job) writing the same knobs: each tick would undo its writes and it ours.
 * After this many of our values changed back within FIGHT_WINDOW_USEC the
 * daemon stops writing KSM. */
#define FIGHT_REVERSALS_MAX 3
#define FIGHT_WINDOW_USEC (UINT64_C(15) * 60 * 1000000)

typedef struct KsmFightState {
        KsmTargets written;             /* values we wrote, the kernel took, and still want */
        uint64_t window_start_usec;     /* monotonic; start of the counting window */
        unsigned window_reversals;      /* reversals since window_start_usec */
        unsigned last_reversed;         /* 1 << KsmKnob changed back at the last tick */
        uint64_t reversals_total;
        bool yielded;                   /* stopped writing: until a restart or reload */
} KsmFightState;

/* Compare the knobs now with the values we wrote and want again (wanted:
 * 1 << KsmKnob the current decision sets): one that differs was changed by
 * someone else. A knob no longer wanted is forgotten (the kernel's advisor
 * may move pages_to_scan then). Counts a tick with reversals as one, and
 * yields after FIGHT_REVERSALS_MAX in one window. The advisor's mode is left
 * out (the admin turning it back on is handled on its own). Pure; now_usec
 * is CLOCK_MONOTONIC time. */
void fight_observe(const KsmFightState *prev, const KsmKnobs *now, unsigned wanted, uint64_t now_usec,
                   KsmFightState *ret);

/* Remember what this tick wrote (written: 1 << KsmKnob that were written
 * and accepted), besides what is still remembered. Pure. */
void fight_note_writes(const KsmFightState *prev, const KsmTargets *t, unsigned written, KsmFightState *ret);
