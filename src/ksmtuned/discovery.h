/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "conf.h"
#include "guests.h"

struct Manager;

/* A process scanner set up as c says (cgroups, pid files, memory measure)
 * with c's compiled patterns p (it takes references), reading under the
 * manager's root. Returns 0 or negative errno. */
int discovery_scanner_new(const struct Manager *m, const KsmConfig *c, const ConfPatterns *p, GuestScanner **ret);

/* Whether a and b set up the scanner differently. */
bool discovery_config_differs(const KsmConfig *a, const KsmConfig *b);

/* Watch process events (unless KSM_PROC_EVENTS=0; stop watching when a
 * reload turned it off), so that a guest that starts (not through libvirt)
 * or exits causes a retune within a second. Only for the host's own /proc
 * (root "/"). Where they are not available, says so in one line and the
 * periodic scan goes on alone. */
void discovery_start(struct Manager *m);
