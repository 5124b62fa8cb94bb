/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

typedef struct Manager Manager;

/* The tick's one log line: "Set KNOB=V...: reason" at info when it wrote
 * (writes: " KNOB=V..."), "No change: reason" at debug otherwise. In the
 * journal it carries KSMTUNED_* fields (reason, policy, mode, knobs, saved
 * bytes, free and threshold) so that "journalctl -o json" can filter
 * decisions. */
void manager_log_decision(const Manager *m, const char *writes);
