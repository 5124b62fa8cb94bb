/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "guests.h"
#include "merge-any.h"
#include "numa-switch.h"
#include "scan-watch.h"
#include "policy.h"

/* Guest events within this window after the first one share one tick:
 * twenty domains started together cause one retune, not twenty. */
#define MANAGER_SOON_MS 250
/* Requested retunes closer than this share a tick: at most 4 a second. */
#define MANAGER_RETUNE_MIN_MS 250

typedef struct ManagerOptions {
        const char *config_path;
        bool config_path_explicit;      /* --config given: a missing file is an error */
        const char *root;               /* "/" or --root DIR */
        bool dry_run;
        bool debug;                     /* --debug: overrides DEBUG=0 */
} ManagerOptions;

typedef struct LibvirtWatcher LibvirtWatcher;
typedef struct ProcEvents ProcEvents;

#define MANAGER_WRITE_ERROR_MAX 512

typedef struct Manager {
        sd_event *event;
        sd_event_source *timer;
        sd_event_source *soon_timer;    /* coalesces bursts of guest events into one tick */
        unsigned n_soon;                /* requests since it was armed */

        LibvirtWatcher *libvirt;        /* NULL: KSM_LIBVIRT_URI empty, or libvirt unavailable */
        char libvirt_uri[CONF_VALUE_MAX];       /* the list libvirt was started with */
        bool libvirt_notice_logged;     /* built without libvirt: said so once */

        ManagerOptions opts;
        KsmConfig config;
        ConfPatterns patterns;          /* config's, compiled: the scanner holds them too */
        KsmState state;

        int root_fd;
        int ksm_fd;
        KsmSysfsFds ksm_fds;            /* KSM's files, held open between ticks */
        /* proc's files read at every tick, held open the same way where
         * root's proc is procfs (read_file_held()); -1: not open. */
        int meminfo_fd, psi_fd, ksmd_stat_fd;
        char proc_dir[4096];            /* root + "/proc", for path-based helpers */
        char ksm_dir[4096];             /* root + "/sys/kernel/mm/ksm" */
        char advisor_mark[4096];        /* advisor-mark.h: we turned the advisor off */
        bool advisor_marked;            /* the mark exists (as far as we know) */
        bool advisor_mark_failed;       /* a failure to write it was logged */
        MergeAnyTracker merge_any;
        ScanWatch scan_watch;
        NumaSwitch numa_switch;
        GuestScanner *scanner;
        GuestList guests;
        ProcEvents *proc_events;        /* NULL: not root, no CONFIG_PROC_EVENTS, or --root */

        /* The last tick, for STATUS=, the bus and --once. */
        KsmSample sample;
        KsmDecision decision;
        KsmApplyResult applied;
        /* "FILE: strerror" of each knob the last tick failed to write,
         * "; "-separated; empty when it wrote all it had to. */
        char last_write_error[MANAGER_WRITE_ERROR_MAX];
        bool have_tick;
        uint64_t last_tick_realtime_usec;
        uint64_t last_tick_usec;        /* CLOCK_MONOTONIC */
        uint64_t metrics_tried_usec;    /* CLOCK_MONOTONIC of the last metrics write */
        uint64_t handles_checked_usec;  /* CLOCK_MONOTONIC of the last check for replaced directories */
        bool quick_tick;                /* the tick under way is one of the policy's quick follow-ups */
        uint64_t n_ticks;
        uint64_t n_retunes_coalesced;   /* retune requests answered by a recent tick */

        unsigned failed_logged;         /* 1 << KsmKnob whose write failure was logged */
        uint64_t n_knob_failures[_KSM_KNOB_MAX];        /* failed writes per knob, for the metrics */
        uint64_t n_reload_failures;     /* invalid configurations refused */
        bool metrics_error_logged;      /* KSM_METRICS_FILE could not be written: said once */
        bool metrics_skip_logged;       /* the default's directory is missing: said once */
        bool smart_scan_off;            /* our last write of smart_scan was 0: write 1 on exit */

        pid_t ksmd_pid;                 /* 0 until found */
        bool ksmd_missing_logged;
        bool psi_error_logged;
        bool pss_unread_logged;         /* said that some guests' PSS is unreadable, until it is readable again */
        const char *ksm_error_file;     /* required KSM file that failed last tick, logged */
        int ksm_error;
        const char *ksm_skipped_file;   /* optional KSM file skipped last tick, logged */
        uint64_t n_guest_events;        /* manager_guests_changed() calls, for KsmSample.guest_events */

        /* Called after every tick and reload, when set (the bus uses it). */
        void (*on_change)(struct Manager *m, void *userdata);
        /* Called after the tick that coalesced requests ran, with its
         * result, so that their callers get the decision it made. */
        void (*on_retuned)(struct Manager *m, int result, void *userdata);
        void *on_change_userdata;
} Manager;

/* Load the configuration (file missing and not explicit: defaults) and its
 * compiled patterns, sharing those of prev (NULL for none) with the same
 * text (conf_load_patterns). Writes err on failure. Returns 0 or negative
 * errno; the caller owns ret_patterns (conf_patterns_clear). */
int manager_load_config(const ManagerOptions *o, const ConfPatterns *prev, KsmConfig *ret, ConfPatterns *ret_patterns,
                        char *err, size_t err_size);

/* Create a manager with a loaded config and its patterns (their references
 * are taken over, on failure too, and *patterns emptied): opens root and
 * KSM sysfs, the process scanner and the event loop. Returns 0 or negative
 * errno (logged). */
int manager_new(const ManagerOptions *o, const KsmConfig *config, ConfPatterns *patterns, Manager **ret);
Manager *manager_free(Manager *m);

/* Collect, decide, apply. Returns 0, or negative errno when collecting failed
 * (logged; KSM left alone). */
int manager_tick(Manager *m);

/* Re-read the config file; the old one stays in force when the new one is
 * invalid. Writes the reason to err. Returns 0 or negative errno. */
int manager_reload(Manager *m, char *err, size_t err_size);

/* manager_reload() for SIGHUP and the bus: tells the service manager
 * (RELOADING=1, READY=1) and logs a failure. Returns as manager_reload(). */
int manager_reload_notify(Manager *m, char *err, size_t err_size);

/* Tick now and start a new monitor interval. Returns as manager_tick(). */
int manager_retune(Manager *m);

/* A retune someone asked for (SIGUSR1, the bus's Retune): a tick now, unless
 * one ran within MANAGER_RETUNE_MIN_MS; then its decision, which is current,
 * stands and one more tick follows shortly (manager_retune_soon), however
 * many requests came meanwhile. So a client in a loop drives at most a few
 * ticks a second. Returns as manager_tick(), or 1 when coalesced: the
 * tick comes later and on_retuned is called after it. */
int manager_retune_request(Manager *m);

/* A writable knob as it is after the last tick's writes (or would be, with
 * --dry-run); the value read before the tick when it was not written. */
uint64_t manager_knob_value(const Manager *m, KsmKnob knob);

/* Name of the policy in force (KSM_POLICY: "compat", "adaptive"), for the bus. */
const char *manager_policy_name(const Manager *m);

/* Install timers and signal handlers, tick once, notify READY=1 and run the
 * loop until SIGTERM/SIGINT. Returns the exit status. */
int manager_run(Manager *m);

/* Connect to libvirt per KSM_LIBVIRT_URI (nothing when empty) and watch
 * domain events; failures are logged and tuning goes on without. Call
 * after daemonizing and before the first tick; again after a reload to
 * follow a changed list. */
void manager_libvirt_start(Manager *m);

/* Ask for a tick soon: the first request arms a short timer
 * (MANAGER_SOON_MS), later ones until it fires join the same tick. */
void manager_retune_soon(Manager *m);
/* Guests started or stopped (a libvirt event, say): the next tick, run
 * shortly, plans passes for them even if the process scan shows no change. */
void manager_guests_changed(Manager *m);
/* The guests now: libvirt's and the scan's (which goes on from where the
 * last one stopped). Errors are logged. Returns 0 or negative errno. */
int manager_scan_guests(Manager *m, GuestList *ret);
/* Whether l has a guest the last tick did not, or lacks one it had. */
bool manager_guests_differ(const Manager *m, const GuestList *l);

/* Put the kernel's advisor back as the admin had it, if the adaptive policy
 * turned it off (m->state.advisor.taken). Logged; called on exit. */
void manager_restore_advisor(Manager *m);

/* After a tick (manager-report.c): log failed writes once each and the
 * decision when it changed something, and send STATUS=. */
void manager_report_tick(Manager *m);

/* One line for STATUS= and logs: state, rate, memory saved. */
void manager_status_line(const Manager *m, char *buf, size_t size);
