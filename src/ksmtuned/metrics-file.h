/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

typedef struct Manager Manager;

/* Write KSM_METRICS_FILE from the last tick, when it is set (the default
 * only when its directory exists). A failure is logged once until a write
 * succeeds again, and never stops tuning. */
void manager_metrics_write(Manager *m);
