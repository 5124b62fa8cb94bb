/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * A budget of events per one-second window, for a reader that must not
 * spend more on a flood of events than its periodic work costs: it reads
 * at most max events in a window, and one more tells it a storm is on.
 * A window begins with the first event counted after the last one ended
 * (or after a reset) and lasts EVENT_BUDGET_WINDOW_USEC. Pure: time is
 * passed in (CLOCK_MONOTONIC, µs).
 */
#define EVENT_BUDGET_WINDOW_USEC UINT64_C(1000000)

typedef struct EventBudget {
        uint64_t window_start_usec;     /* when the current window began */
        unsigned n;                     /* events counted in it, saturating */
        bool open;                      /* a window has begun since the last reset */
} EventBudget;

/* Forget what was counted: the next event begins a new window. */
void event_budget_reset(EventBudget *b);

/* How many events may still be read at now_usec without exceeding max:
 * reading one more than this is enough to tell a storm. */
unsigned event_budget_room(const EventBudget *b, uint64_t now_usec, unsigned max);

/* Count n events read at now_usec. Returns true when the events counted in
 * the current window exceed max (a storm), false otherwise. */
bool event_budget_count(EventBudget *b, uint64_t now_usec, unsigned n, unsigned max);
