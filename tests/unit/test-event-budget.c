/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "event-budget.h"
#include "macro.h"

#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)

typedef enum StepOp { COUNT, RESET } StepOp;

/* Each row: a budget and a sequence of steps. At each COUNT step the room
 * left is checked before the events are counted, then whether counting
 * them trips the budget. */
static void test_sequences(void **state) {
        static const struct {
                const char *name;
                unsigned max;
                unsigned n;
                struct { StepOp op; uint64_t at; unsigned events; unsigned want_room; bool want_storm; } step[6];
        } rows[] = {
                { "under the budget", 128, 2,
                  { { COUNT, 0, 64, 128, false }, { COUNT, 500 * MS, 63, 64, false } } },
                { "exactly at the budget: not a storm", 128, 2,
                  { { COUNT, 0, 64, 128, false }, { COUNT, 900 * MS, 64, 64, false } } },
                { "one over the budget within the second: a storm", 128, 3,
                  { { COUNT, 0, 64, 128, false }, { COUNT, 900 * MS, 64, 64, false },
                    { COUNT, 999 * MS, 1, 0, true } } },
                { "over the budget in one read", 128, 1, { { COUNT, 5 * SEC, 129, 128, true } } },
                { "the window rolls over after a second: a fresh budget", 128, 3,
                  { { COUNT, 0, 100, 128, false }, { COUNT, SEC - 1, 28, 28, false },
                    { COUNT, SEC, 128, 128, false } } },
                { "after a roll-over, the new window trips on its own count", 128, 3,
                  { { COUNT, 10 * SEC, 128, 128, false }, { COUNT, 11 * SEC + 1, 100, 128, false },
                    { COUNT, 11 * SEC + 900 * MS, 29, 28, true } } },
                { "the window begins at its first event, not at a second boundary", 128, 3,
                  { { COUNT, 700 * MS, 100, 128, false }, { COUNT, SEC + 100 * MS, 28, 28, false },
                    { COUNT, SEC + 699 * MS, 1, 0, true } } },
                { "a resume resets: the whole budget again at once", 128, 4,
                  { { COUNT, 0, 129, 128, true }, { RESET, 0, 0, 0, false }, { COUNT, 100 * MS, 128, 128, false },
                    { COUNT, 200 * MS, 1, 0, true } } },
                { "reads of no event begin no window", 128, 3,
                  { { COUNT, 0, 0, 128, false }, { COUNT, 900 * MS, 128, 128, false },
                    { COUNT, SEC + 800 * MS, 1, 0, true } } },
                { "a clock behind the window's start begins a new window", 128, 2,
                  { { COUNT, 5 * SEC, 128, 128, false }, { COUNT, 4 * SEC, 128, 128, false } } },
                { "the count saturates instead of wrapping", 128, 2,
                  { { COUNT, 0, UINT_MAX, 128, true }, { COUNT, 1, 5, 0, true } } },
                { "a budget of none: the first event is a storm", 0, 1, { { COUNT, 0, 1, 0, true } } },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                EventBudget b = {};

                event_budget_reset(&b);
                for (unsigned j = 0; j < rows[i].n; j++) {
                        unsigned room;
                        bool storm;

                        if (rows[i].step[j].op == RESET) {
                                event_budget_reset(&b);
                                continue;
                        }
                        room = event_budget_room(&b, rows[i].step[j].at, rows[i].max);
                        if (room != rows[i].step[j].want_room)
                                fail_msg("%s, step %u: room %u, expected %u", rows[i].name, j, room,
                                         rows[i].step[j].want_room);
                        storm = event_budget_count(&b, rows[i].step[j].at, rows[i].step[j].events, rows[i].max);
                        if (storm != rows[i].step[j].want_storm)
                                fail_msg("%s, step %u: storm %d, expected %d", rows[i].name, j, storm,
                                         rows[i].step[j].want_storm);
                }
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sequences),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
