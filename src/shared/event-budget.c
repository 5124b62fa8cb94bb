/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <limits.h>

#include "event-budget.h"

void event_budget_reset(EventBudget *b) {
        *b = (EventBudget) {};
}

/* Whether an event at now falls outside the current window. A clock behind
 * the window's start (it cannot go back, but a caller may mix readings)
 * begins a new one rather than extend the old one without end. */
static bool window_over(const EventBudget *b, uint64_t now_usec) {
        return !b->open || now_usec < b->window_start_usec ||
               now_usec - b->window_start_usec >= EVENT_BUDGET_WINDOW_USEC;
}

unsigned event_budget_room(const EventBudget *b, uint64_t now_usec, unsigned max) {
        if (window_over(b, now_usec))
                return max;
        return b->n >= max ? 0 : max - b->n;
}

bool event_budget_count(EventBudget *b, uint64_t now_usec, unsigned n, unsigned max) {
        if (window_over(b, now_usec)) {
                if (n == 0)
                        return false;   /* no event: no window to begin */
                *b = (EventBudget) { .window_start_usec = now_usec, .open = true };
        }
        b->n = n > UINT_MAX - b->n ? UINT_MAX : b->n + n;
        return b->n > max;
}
