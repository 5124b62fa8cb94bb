/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "advisor-mark.h"
#include "fileio.h"
#include "ksmd.h"
#include "libvirt.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "metrics-file.h"
#include "psi.h"
#include "units.h"
#include "utf8.h"
#include "discovery.h"
#include "proc-events.h"


static void log_conf_warning(const char *msg, void *userdata) {
        (void) userdata;
        log_warning("%s", msg);
}

int manager_load_config(const ManagerOptions *o, const ConfPatterns *prev, KsmConfig *ret, ConfPatterns *ret_patterns,
                        char *err, size_t err_size) {
        int r;

        r = conf_load_patterns(o->config_path, prev, ret, ret_patterns, log_conf_warning, NULL, err, err_size);
        if (r == -ENOENT && !o->config_path_explicit) {
                /* The old script ran on its built-in defaults without a file. */
                log_debug("%s not found, using built-in defaults", o->config_path);
                conf_init_defaults(ret);
                r = conf_patterns_build(ret, prev, ret_patterns);
                if (r < 0 && err)
                        snprintf(err, err_size, "cannot compile the built-in patterns: %s", strerror(-r));
        }
        return r;
}

static void apply_log_settings(const Manager *m) {
        int r;

        log_set_max_priority(m->opts.debug || m->config.debug ? LOG_DEBUG : LOG_INFO);
        r = log_open_file(m->config.logfile[0] ? m->config.logfile : NULL);
        if (r < 0)
                log_warning("Cannot open LOGFILE %s, logging to stderr only: %s",
                            m->config.logfile, file_strerror(r));
}

/* Make the mark say what the state says: whether we hold the advisor. */
static void advisor_mark_sync(Manager *m, bool taken) {
        int r;

        if (m->advisor_marked == taken)
                return;
        r = advisor_mark_set(m->advisor_mark, taken);
        if (r < 0) {
                if (!m->advisor_mark_failed)
                        log_warning_errno(r, "Cannot %s %s: %m%s", taken ? "write" : "remove", m->advisor_mark,
                                          taken ? " (a restart after a crash will not give the KSM advisor back)" : "");
                m->advisor_mark_failed = true;
                return;
        }
        m->advisor_marked = taken;
        m->advisor_mark_failed = false;
}

/* A previous run turned the advisor off and was killed before it could give
 * it back: this run holds it now, and gives it back on exit or when the
 * policy no longer wants it off. */
static void advisor_mark_adopt(Manager *m) {
        KsmKnobs k;

        advisor_mark_path(m->opts.root, m->advisor_mark, sizeof(m->advisor_mark));
        if (!advisor_mark_exists(m->advisor_mark))
                return;
        m->advisor_marked = true;
        if (m->opts.dry_run)
                return;         /* writes nothing: leave the mark to a real run */
        if (ksm_sysfs_read(m->ksm_fd, &k) >= 0 && ksm_has(&k, KSM_FEATURE_ADVISOR) &&
            k.advisor_mode == KSM_ADVISOR_NONE) {
                log_notice("A previous ksmtuned turned the kernel's KSM advisor off and did not exit cleanly "
                           "(%s): it is given back on exit", m->advisor_mark);
                m->state.advisor.taken = true;
                return;
        }
        /* Back on already (the admin, or a reboot without a fresh /run): done. */
        advisor_mark_sync(m, false);
}

int manager_new(const ManagerOptions *o, const KsmConfig *config, ConfPatterns *patterns, Manager **ret) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m) {
                conf_patterns_clear(patterns);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        m->opts = *o;
        m->config = *config;
        m->patterns = *patterns;
        *patterns = (ConfPatterns) {};
        m->root_fd = m->ksm_fd = -1;
        ksm_sysfs_fds_init(&m->ksm_fds);
        m->meminfo_fd = m->psi_fd = m->ksmd_stat_fd = -1;

        m->root_fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->root_fd < 0) {
                r = log_error_errno(errno, "Cannot open root directory %s: %m", o->root);
                goto fail;
        }
        m->ksm_fd = ksm_sysfs_open(m->root_fd);
        if (m->ksm_fd < 0) {
                r = m->ksm_fd;
                log_error_errno(r, "Cannot open %s%s" KSM_SYSFS_DIR ": %m (is this kernel built with CONFIG_KSM?)",
                                o->root, o->root[strlen(o->root) - 1] == '/' ? "" : "/");
                goto fail;
        }
        snprintf(m->proc_dir, sizeof(m->proc_dir), "%s/proc", strcmp(o->root, "/") == 0 ? "" : o->root);
        snprintf(m->ksm_dir, sizeof(m->ksm_dir), "%s/" KSM_SYSFS_DIR, strcmp(o->root, "/") == 0 ? "" : o->root);
        advisor_mark_adopt(m);
        m->scan_watch.fd = -1;
        r = discovery_scanner_new(m, &m->config, &m->patterns, &m->scanner);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the process scanner: %m");
                goto fail;
        }
        r = sd_event_default(&m->event);
        if (r < 0) {
                log_error_errno(r, "Cannot create the event loop: %m");
                goto fail;
        }
        apply_log_settings(m);
        *ret = m;
        return 0;
fail:
        manager_free(m);
        return r;
}

static void proc_fds_close(Manager *m) {
        closep(&m->meminfo_fd);
        closep(&m->psi_fd);
        closep(&m->ksmd_stat_fd);
}

/* Where a file of proc read at every tick is held: fd, if root's proc is
 * procfs (the scanner, which reads the same proc, knows); NULL (opened at
 * each read) in a fixture tree, whose files are replaced. */
static int *proc_held(Manager *m, int *fd) {
        return guest_scanner_on_procfs(m->scanner) ? fd : NULL;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Every way out (SIGTERM, --once, errors) gives the advisor back,
         * and smart_scan if a burst's last pass had it off. */
        if (m->ksm_fd >= 0)
                manager_restore_advisor(m);
        if (m->ksm_fd >= 0 && m->smart_scan_off) {
                int r = write_string_file_at(m->ksm_fd, "smart_scan", "1");

                if (r < 0)
                        log_error_errno(r, "Cannot turn %s/" KSM_SYSFS_DIR "/smart_scan back on: %m", m->opts.root);
        }
        sd_event_source_unref(m->timer);
        sd_event_source_unref(m->soon_timer);
        scan_watch_stop(&m->scan_watch);
        merge_any_tracker_clear(&m->merge_any);
        libvirt_watcher_free(m->libvirt);
        sd_event_unref(m->event);
        proc_events_free(m->proc_events);
        guest_scanner_free(m->scanner);
        conf_patterns_clear(&m->patterns);
        guest_list_clear(&m->guests);
        ksm_sysfs_fds_close(&m->ksm_fds);
        proc_fds_close(m);
        closep(&m->ksm_fd);
        closep(&m->root_fd);
        free(m);
        return NULL;
}

/* Whether b has a pid that a lacks (both sorted by pid). */
static bool guest_list_has_new(const GuestList *a, const GuestList *b) {
        size_t i = 0;

        for (size_t j = 0; j < b->n; j++) {
                while (i < a->n && a->procs[i].pid < b->procs[j].pid)
                        i++;
                if (i == a->n || a->procs[i].pid != b->procs[j].pid)
                        return true;
        }
        return false;
}

/* ksmd's CPU time, for the adaptive policy's budget; optional. */
static void collect_ksmd(Manager *m, KsmSample *s) {
        int r;

        if (m->ksmd_pid == 0) {
                r = ksmd_find_pid(m->root_fd, &m->ksmd_pid);
                if (r < 0) {
                        if (!m->ksmd_missing_logged)
                                log_debug_errno(r, "Cannot find ksmd in %s/proc, its CPU time is unknown: %m", m->opts.root);
                        m->ksmd_missing_logged = true;
                        return;
                }
        }
        r = ksmd_read_cpu_usec(m->root_fd, m->ksmd_pid, proc_held(m, &m->ksmd_stat_fd), &s->ksmd_cpu_usec);
        if (r < 0) {
                log_debug_errno(r, "Cannot read ksmd's CPU time from %s/proc/%d/stat: %m", m->opts.root, (int) m->ksmd_pid);
                m->ksmd_pid = 0;        /* look again next time */
                closep(&m->ksmd_stat_fd);
                return;
        }
        s->has_ksmd_cpu = true;
}

/* The KSM files. A failing one is named and logged at error level once
 * (until it changes or recovers); an optional one only costs its feature. */
static int collect_ksm(Manager *m, KsmKnobs *ret) {
        const char *file = NULL;
        int r;

        r = ksm_sysfs_read_held(m->ksm_fd, &m->ksm_fds, ret, &file);
        if (r < 0) {
                bool again = file == m->ksm_error_file && r == m->ksm_error;

                log_full_errno(again ? LOG_DEBUG : LOG_ERR, r, "Cannot read %s/%s: %m", m->ksm_dir, file);
                m->ksm_error_file = file;
                m->ksm_error = r;
                return r;
        }
        if (m->ksm_error_file)
                log_info("%s/%s is readable again", m->ksm_dir, m->ksm_error_file);
        m->ksm_error_file = NULL;
        m->ksm_error = 0;
        if (ret->skipped_file != m->ksm_skipped_file && ret->skipped_file)
                log_warning_errno(ret->skipped_error, "Cannot read %s/%s, tuning without it: %m",
                                  m->ksm_dir, ret->skipped_file);
        m->ksm_skipped_file = ret->skipped_file;
        return 0;
}

/* The policy's quick follow-up ticks (a burst's, every second or faster)
 * check for replaced directories at most this often: each check is four
 * path lookups, a tenth of such a tick's CPU. */
#define HANDLES_CHECK_USEC (5 * USEC_PER_SEC)

/* The directories held open since the start may have been replaced (a
 * remounted sysfs or /proc, a rebuilt fixture root): follow them, rather
 * than fail every tick until a restart. */
static void refresh_handles(Manager *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        /* A quick tick follows a first one, which checked. */
        if (m->quick_tick && now - m->handles_checked_usec < HANDLES_CHECK_USEC)
                return;
        m->handles_checked_usec = now;

        r = dir_fd_refresh(AT_FDCWD, m->opts.root, &m->root_fd);
        if (r > 0) {
                log_notice("%s was replaced: reopened it", m->opts.root);
                proc_fds_close(m);
        }
        r = dir_fd_refresh(m->root_fd, KSM_SYSFS_DIR, &m->ksm_fd);
        if (r > 0) {
                log_notice("%s was replaced: reopened it", m->ksm_dir);
                ksm_sysfs_fds_close(&m->ksm_fds);
        }
        r = guest_scanner_refresh(m->scanner, m->root_fd);
        if (r > 0) {
                log_notice("%s was replaced: reopened it", m->proc_dir);
                proc_fds_close(m);
        }
        r = scan_watch_refresh(&m->scan_watch);
        if (r > 0)
                log_notice("%s/full_scans was replaced: %s", m->ksm_dir,
                           m->scan_watch.source ? "watching the new one" : "counting full scans at each tick");
        /* Errors: the reads that follow fail and say so. */
}

int manager_scan_guests(Manager *m, GuestList *ret) {
        _cleanup_free_ pid_t *extra = NULL;
        size_t n_extra = 0;
        int r;

        /* Guests libvirt runs count whatever their process name ("kvm",
         * "/usr/libexec/qemu-kvm"); the scan counts each pid once. */
        if (m->libvirt) {
                r = libvirt_watcher_get_pids(m->libvirt, &extra, &n_extra);
                if (r < 0)
                        return log_error_errno(r, "Cannot collect guest pids from libvirt: %m");
        }
        r = guest_scanner_scan(m->scanner, extra, n_extra, ret);
        if (r < 0)
                return log_error_errno(r, "Cannot scan processes: %m");
        return 0;
}

bool manager_guests_differ(const Manager *m, const GuestList *l) {
        return guest_list_has_new(&m->guests, l) || guest_list_has_new(l, &m->guests);
}

static int collect(Manager *m, KsmSample *ret) {
        KsmSample s = { .page_size_bytes = page_size() };
        GuestList guests = {};
        int r;

        refresh_handles(m);

        r = meminfo_read(m->root_fd, proc_held(m, &m->meminfo_fd), &s.mem);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s/proc/meminfo: %m", m->opts.root);
        r = manager_scan_guests(m, &guests);
        if (r < 0)
                return r;
        for (size_t i = 0; i < guests.n; i++) {
                char name[64];

                log_debug("Guest pid %d (%s): %" PRIu64 " KiB", (int) guests.procs[i].pid,
                          text_printable(guests.procs[i].comm, name, sizeof(name)), guests.procs[i].rss_kib);
        }
        if (guests.n_pss_unread > 0 && !m->pss_unread_logged)
                log_notice("KSM_GUEST_MEMORY=pss: the smaps_rollup of %zu guest(s) cannot be read "
                           "(another user's process needs CAP_SYS_PTRACE): counting their RSS",
                           guests.n_pss_unread);
        m->pss_unread_logged = guests.n_pss_unread > 0;
        s.committed_kib = guests.rss_kib;
        s.n_guests = (unsigned) guests.n;
        s.guests_changed = guest_list_has_new(&m->guests, &guests);
        s.guest_events = m->n_guest_events;
        guest_list_clear(&m->guests);
        m->guests = guests;
        r = collect_ksm(m, &s.ksm);
        if (r < 0)
                return r;

        r = psi_read_memory(m->root_fd, proc_held(m, &m->psi_fd), &s.psi);
        if (r >= 0)
                s.has_psi = true;
        else if (r != -ENOENT && r != -EOPNOTSUPP && !m->psi_error_logged) {
                log_warning_errno(r, "Cannot read %s/proc/pressure/memory, judging memory without it: %m", m->opts.root);
                m->psi_error_logged = true;
        }
        collect_ksmd(m, &s);
        *ret = s;
        return 0;
}

void manager_guests_changed(Manager *m) {
        m->n_guest_events++;
        manager_retune_soon(m);
}

/* Give the admin's advisor back (on exit, or when the policy says so). */
static void restore_advisor(Manager *m) {
        int r;

        r = write_string_file_at(m->ksm_fd, "advisor_mode", "scan-time");
        if (r < 0)
                log_error_errno(r, "Cannot restore %s/" KSM_SYSFS_DIR "/advisor_mode to scan-time: %m", m->opts.root);
        else {
                log_info("Restored the kernel's KSM advisor (advisor_mode=scan-time)");
                advisor_mark_sync(m, false);
        }
}

void manager_restore_advisor(Manager *m) {
        if (!m->state.advisor.taken)
                return;
        m->state.advisor.taken = false;
        restore_advisor(m);
}

/* Say, and do, what the policy decided about the kernel's advisor. */
static void act_on_advisor(Manager *m, unsigned events) {
        if (events & KSM_ADVISOR_TAKEN_BACK)
                log_notice("The kernel's KSM advisor was turned back on: leaving the scan rate to it");
        if (events & KSM_ADVISOR_RESTORE)
                restore_advisor(m);
        if (events & KSM_ADVISOR_LEFT_ON)
                log_notice("The kernel's KSM advisor is on (advisor_mode=scan-time): leaving pages_to_scan to it");
        if (events & KSM_ADVISOR_TAKEN)
                log_notice("Turned the kernel's KSM advisor off while the adaptive policy sets the scan rate; it is restored on exit");
}

/* Whether this tick's writes turn the admin's advisor off. */
static bool takes_advisor(const KsmSample *s, const KsmDecision *d) {
        return (d->targets.set & (1u << KSM_KNOB_ADVISOR_MODE)) &&
               d->targets.value[KSM_KNOB_ADVISOR_MODE] == KSM_ADVISOR_NONE &&
               ksm_advisor_sets_rate(&s->ksm);
}

/* The failed writes of the tick just applied, for the bus (LastWriteError):
 * each knob's file and error; empty when none failed. */
static void write_error_format(Manager *m) {
        size_t n = 0;

        m->last_write_error[0] = '\0';
        for (KsmKnob k = 0; k < _KSM_KNOB_MAX && n < sizeof(m->last_write_error); k++)
                if (m->applied.failed & (1u << k))
                        n += (size_t) snprintf(m->last_write_error + n, sizeof(m->last_write_error) - n, "%s%s/%s: %s",
                                               n ? "; " : "", m->ksm_dir, ksm_knob_name(k),
                                               strerror(-m->applied.error[k]));
}

/* The policy's own quick ticks (a burst's, every second) write the metrics
 * file at most this often; node_exporter scrapes every 15 s or more. */
#define METRICS_MIN_USEC (10 * USEC_PER_SEC)

/* Whether the last decision asked to look again sooner than the monitor
 * interval (adaptive, while bursting). */
static bool follow_up(const Manager *m) {
        uint64_t interval = (uint64_t) m->config.monitor_interval_s * USEC_PER_SEC;

        return m->have_tick && m->decision.next_tick_usec > 0 && m->decision.next_tick_usec < interval;
}

/* The metrics file after every tick, but the policy's quick follow-ups
 * (sooner than the monitor interval) only every METRICS_MIN_USEC:
 * the tick that ends them waits the interval, and writes. */
static bool metrics_due(const Manager *m, uint64_t now) {
        return !follow_up(m) || m->metrics_tried_usec == 0 || now - m->metrics_tried_usec >= METRICS_MIN_USEC;
}

int manager_tick(Manager *m) {
        KsmSample s;
        KsmDecision d;
        KsmState st;
        uint64_t now;
        int r;

        /* After a storm, process events are followed again from here on;
         * what they missed meanwhile, this tick's scan finds: it reads
         * every pid handed out since the last scan, and every process that
         * was still young then. Failures are logged and retried next tick. */
        if (m->proc_events)
                (void) proc_events_resume(m->proc_events);
        r = collect(m, &s);
        if (r < 0)
                return r;

        now = now_usec(CLOCK_MONOTONIC);
        policy_decide(&m->config, &s, &m->state, now, &d, &st);
        act_on_advisor(m, d.advisor_events);

        (void) numa_switch_tick(&m->numa_switch, m->ksm_fd, m->config.merge_across_nodes, &s, m->opts.dry_run);
        /* The mark goes down before the write: a SIGKILL right after it
         * must not lose the admin's advisor. */
        if (!m->opts.dry_run && takes_advisor(&s, &d))
                advisor_mark_sync(m, true);
        /* Write failures are in m->applied, logged below and retried next tick. */
        (void) ksm_sysfs_apply(m->ksm_fd, &d.targets, &s.ksm, m->opts.dry_run, &m->applied);
        if (!m->opts.dry_run && (m->applied.written & (1u << KSM_KNOB_SMART_SCAN)))
                m->smart_scan_off = d.targets.value[KSM_KNOB_SMART_SCAN] == 0;
        if (!m->opts.dry_run && merge_any_update(&m->merge_any, m->proc_dir, &m->guests) < 0)
                log_warning("Out of memory while opting processes into KSM");
        scan_watch_tick(&m->scan_watch, s.ksm.full_scans, now);

        act_on_advisor(m, policy_advisor_applied(&s, &d, m->opts.dry_run ? 0 : m->applied.written, &st));
        if (st.fight.yielded && !m->state.fight.yielded)
                log_warning("Another program changed the KSM knobs back %u times within %u minutes "
                            "(KubeVirt's KSM handler, tuned?): not writing them any more until a reload or restart. "
                            "Only one tuner may own KSM on a host",
                            FIGHT_REVERSALS_MAX, (unsigned) (FIGHT_WINDOW_USEC / USEC_PER_SEC / 60));
        else if (st.fight.last_reversed)
                log_info("Another program changed KSM knobs this daemon had written; writing them again");
        /* KSM did not take the decision's run: the policy must not build on
         * it (compat raised pages_to_scan every tick while KSM stayed
         * stopped), and whoever reads the reason must see it failed. */
        if (m->applied.failed & (1u << KSM_KNOB_RUN))
                st.npages = m->state.npages;
        if (m->applied.failed) {
                const char *sep = " (not applied: cannot write ";
                size_t n = strlen(d.reason);

                for (KsmKnob k = 0; k < _KSM_KNOB_MAX && n < sizeof(d.reason); k++)
                        if (m->applied.failed & (1u << k)) {
                                n += (size_t) snprintf(d.reason + n, sizeof(d.reason) - n, "%s%s: %s", sep,
                                                       ksm_knob_name(k), strerror(-m->applied.error[k]));
                                sep = ", ";
                        }
                if (n < sizeof(d.reason))
                        snprintf(d.reason + n, sizeof(d.reason) - n, ")");
        }
        write_error_format(m);
        m->sample = s;
        m->decision = d;
        m->state = st;
        if (!m->opts.dry_run)
                advisor_mark_sync(m, m->state.advisor.taken);
        /* Only what the kernel took can be changed back by someone else. */
        if (!m->opts.dry_run)
                fight_note_writes(&m->state.fight, &d.targets, m->applied.written, &m->state.fight);
        m->have_tick = true;
        m->n_ticks++;
        m->last_tick_realtime_usec = now_usec(CLOCK_REALTIME);
        m->last_tick_usec = now;
        manager_report_tick(m);
        if (metrics_due(m, now)) {
                m->metrics_tried_usec = now;
                manager_metrics_write(m);
        }
        if (m->on_change)
                m->on_change(m, m->on_change_userdata);
        return 0;
}

#define TIMER_SLACK_MAX_USEC (250 * USEC_PER_MSEC)

static void arm_timer(Manager *m) {
        uint64_t usec = (uint64_t) m->config.monitor_interval_s * USEC_PER_SEC, accuracy;
        int r;

        /* A policy may look again sooner (adaptive, while bursting). */
        if (follow_up(m))
                usec = m->decision.next_tick_usec;

        /* sd-event's default slack is 250 ms (what accuracy 0 means): a
         * tenth of the wait, up to that. */
        accuracy = usec / 10 < TIMER_SLACK_MAX_USEC ? usec / 10 : TIMER_SLACK_MAX_USEC;
        r = sd_event_source_set_time_accuracy(m->timer, accuracy ?: 1);
        if (r >= 0)
                r = sd_event_source_set_time_relative(m->timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot arm the monitor timer: %m");
}

/* Every tick, whatever caused it, starts a new full interval, as the old
 * script's "sleep & wait" did after SIGUSR1. */
int manager_retune(Manager *m) {
        int r = manager_tick(m);

        arm_timer(m);
        return r;
}

int manager_retune_request(Manager *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        /* A tick already on its way (a request or guest event before) takes
         * this request too. */
        if (m->n_soon > 0 || (m->have_tick && now - m->last_tick_usec < MANAGER_RETUNE_MIN_MS * USEC_PER_MSEC)) {
                m->n_retunes_coalesced++;
                manager_retune_soon(m);
                return 1;
        }
        return manager_retune(m);
}

static void tick_and_rearm(Manager *m) {
        int r = manager_retune(m);

        if (m->on_retuned)
                m->on_retuned(m, r, m->on_change_userdata);
}

static void on_libvirt_change(void *userdata) {
        /* Guests started or stopped: adaptive plans passes for them. */
        manager_guests_changed(userdata);
}

void manager_libvirt_start(Manager *m) {
        if (strcmp(m->libvirt_uri, m->config.libvirt_uri) == 0 && (m->libvirt || !m->config.libvirt_uri[0]))
                return;
        m->libvirt = libvirt_watcher_free(m->libvirt);
        snprintf(m->libvirt_uri, sizeof(m->libvirt_uri), "%s", m->config.libvirt_uri);
        if (!m->config.libvirt_uri[0]) {
                log_debug("KSM_LIBVIRT_URI is empty: not connecting to libvirt");
                return;
        }
        if (!libvirt_built()) {
                if (!m->libvirt_notice_logged)
                        log_notice("KSM_LIBVIRT_URI=\"%s\" is ignored: this ksmtuned is built without libvirt support",
                                   m->config.libvirt_uri);
                m->libvirt_notice_logged = true;
                return;
        }
        /* Failures are logged; guests are then found by process name only. */
        (void) libvirt_watcher_new(m->event, m->config.libvirt_uri, m->root_fd, on_libvirt_change, m, &m->libvirt);
}

static int on_soon(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) s, (void) usec;
        log_debug("Retuning after %u guest event(s)", m->n_soon);
        m->n_soon = 0;
        tick_and_rearm(m);
        return 0;
}

void manager_retune_soon(Manager *m) {
        uint64_t when;
        int r;

        if (m->n_soon++ > 0)
                return;
        /* From the clock, not sd-event's time of this loop iteration, which
         * lags when the iteration dispatched many requests: the tick must
         * come MANAGER_SOON_MS after this request, not before. */
        when = now_usec(CLOCK_MONOTONIC) + MANAGER_SOON_MS * USEC_PER_MSEC;
        if (!m->soon_timer) {
                r = sd_event_add_time(m->event, &m->soon_timer, CLOCK_MONOTONIC, when, 0, on_soon, m);
                if (r >= 0)
                        (void) sd_event_source_set_description(m->soon_timer, "retune-soon");
        } else {
                r = sd_event_source_set_time(m->soon_timer, when);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->soon_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0) {
                /* Better a tick now than a lost one. */
                log_warning_errno(r, "Cannot arm the retune timer, retuning now: %m");
                m->n_soon = 0;
                tick_and_rearm(m);
        }
}

int manager_reload(Manager *m, char *err, size_t err_size) {
        KsmConfig c;
        ConfPatterns p;
        GuestScanner *scanner = NULL;
        int r;

        r = manager_load_config(&m->opts, &m->patterns, &c, &p, err, err_size);
        if (r < 0)
                return r;
        if (discovery_config_differs(&c, &m->config)) {
                r = discovery_scanner_new(m, &c, &p, &scanner);
                if (r < 0) {
                        conf_patterns_clear(&p);
                        snprintf(err, err_size, "cannot set up the process scanner: %s", strerror(-r));
                        return r;
                }
                guest_scanner_free(m->scanner);
                m->scanner = scanner;
        }
        conf_patterns_clear(&m->patterns);
        m->patterns = p;
        m->config = c;
        apply_log_settings(m);
        log_info("Reloaded %s", m->opts.config_path);
        /* A reload is the admin's word that ksmtuned owns KSM again. */
        if (m->state.fight.yielded)
                log_notice("Writing the KSM knobs again after the reload");
        m->state.fight = (KsmFightState) {};
        discovery_start(m);
        manager_libvirt_start(m);
        tick_and_rearm(m);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) s, (void) usec;
        /* Armed for the policy's follow-up, not the interval; other ticks
         * (signals, the bus, guest events) are someone asking: full checks. */
        m->quick_tick = follow_up(m);
        tick_and_rearm(m);
        m->quick_tick = false;
        return 0;
}

static int on_sigusr1(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) s, (void) si;
        log_debug("SIGUSR1: retuning now");
        (void) manager_retune_request(userdata);
        return 0;
}

int manager_reload_notify(Manager *m, char *err, size_t err_size) {
        int r;

        (void) sd_notify(false, "RELOADING=1");
        r = manager_reload(m, err, err_size);
        if (r < 0) {
                log_error("Reload failed, keeping the old configuration: %s", err);
                m->n_reload_failures++;
                manager_metrics_write(m);
        }
        (void) sd_notify(false, "READY=1");
        return r;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        char err[512];

        (void) s, (void) si;
        (void) manager_reload_notify(userdata, err, sizeof(err));
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        (void) s;
        /* KSM is left as it is: merged pages stay merged, ksm.service owns
         * run. Only the advisor goes back to how the admin had it. */
        log_info("Received %s, exiting", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_run(Manager *m) {
        static const int sigs[] = { SIGUSR1, SIGHUP, SIGTERM, SIGINT };
        sd_event_signal_handler_t handlers[] = { on_sigusr1, on_sighup, on_exit_signal, on_exit_signal };
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                sigaddset(&mask, sigs[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m"), 1;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
                r = sd_event_add_signal(m->event, NULL, sigs[i], handlers[i], m);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch signal %d: %m", sigs[i]), 1;
        }
        /* Absolute infinity: disabled until arm_timer() (relative UINT64_MAX overflows). */
        r = sd_event_add_time(m->event, &m->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot create the monitor timer: %m"), 1;
        /* sd-event's default accuracy (250 ms) put ticks of
         * KSM_MONITOR_INTERVAL=1 1.24 s apart: ask for 1 ms. */
        (void) sd_event_source_set_time_accuracy(m->timer, USEC_PER_MSEC);
        (void) sd_event_source_set_description(m->timer, "monitor-timer");
        /* WATCHDOG=1 at half of WATCHDOG_USEC, when the service manager asks. */
        if (scan_watch_start(&m->scan_watch, m->event, m->ksm_dir) == 0)
                log_debug("No full-scan notification in this kernel: full scans are counted at each tick");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the watchdog: %m");

        discovery_start(m);
        manager_libvirt_start(m);
        tick_and_rearm(m);
        (void) sd_notify(false, "READY=1");

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return 0;
}
