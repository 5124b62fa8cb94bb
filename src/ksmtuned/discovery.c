/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "discovery.h"
#include "log.h"
#include "manager.h"
#include "proc-events.h"

int discovery_scanner_new(const Manager *m, const KsmConfig *c, const ConfPatterns *p, GuestScanner **ret) {
        GuestScanner *s = NULL;
        int r;

        r = guest_scanner_new(m->root_fd, p->guest, &s);
        if (r >= 0) {
                guest_scanner_set_merge_any(s, p->merge_any);
                r = guest_scanner_set_rules(s, m->opts.root, c->guest_cgroups, c->guest_pidfiles, c->guest_measure);
        }
        if (r < 0) {
                guest_scanner_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

bool discovery_config_differs(const KsmConfig *a, const KsmConfig *b) {
        return strcmp(a->guest_regex, b->guest_regex) != 0 || strcmp(a->merge_any_regex, b->merge_any_regex) != 0 ||
               strcmp(a->guest_cgroups, b->guest_cgroups) != 0 || strcmp(a->guest_pidfiles, b->guest_pidfiles) != 0 ||
               a->guest_measure != b->guest_measure;
}

static int on_check(pid_t pid, void *userdata) {
        Manager *m = userdata;
        int r = guest_scanner_check_pid(m->scanner, pid);

        if (r > 0)
                log_debug("Process %d is a guest: retuning", (int) pid);
        return r;
}

static void on_exited(pid_t pid, void *userdata) {
        Manager *m = userdata;

        if (guest_list_contains(&m->guests, pid)) {
                log_debug("Guest process %d exited: retuning", (int) pid);
                manager_guests_changed(m);
        }
}

static void on_changed(void *userdata) {
        manager_guests_changed(userdata);
}

/* After a storm's pause: a retune only if a guest came or went meanwhile,
 * or a process to opt into KSM is young (the tick's scan may find it
 * settled: only young ones are opted in). */
static void on_resumed(void *userdata) {
        Manager *m = userdata;
        GuestList guests = {};

        if (manager_scan_guests(m, &guests) < 0)
                return;
        if (manager_guests_differ(m, &guests) || guests.n_merge_any > 0) {
                log_debug("Guests came or went during the storm: retuning");
                manager_guests_changed(m);
        }
        guest_list_clear(&guests);
}

void discovery_start(Manager *m) {
        static const ProcEventsOps ops = { .check = on_check, .exited = on_exited, .changed = on_changed,
                                             .resumed = on_resumed };
        char why[256];
        int r;

        if (!m->config.proc_events) {
                if (m->proc_events)
                        log_info("KSM_PROC_EVENTS=0: no longer watching process events");
                m->proc_events = proc_events_free(m->proc_events);
                return;
        }
        if (m->proc_events)
                return;
        if (strcmp(m->opts.root, "/") != 0) {
                log_debug("Not watching process events: they are the host's, not those under %s", m->opts.root);
                return;
        }
        r = proc_events_new(m->event, &ops, m, &m->proc_events, why, sizeof(why));
        if (r < 0)
                log_notice("Guests are found at each tick only: %s", why);
        else
                log_info("Watching process events: a guest that starts or exits causes a retune");
}
