/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus-names.h"
#include "daemon.h"
#include "fileio.h"
#include "procfs.h"

#define DAEMON_COMM "ksmtuned"

static void bus_unrefp(sd_bus **b) {
        sd_bus_flush_close_unref(*b);
}

static void message_unrefp(sd_bus_message **m) {
        sd_bus_message_unref(*m);
}

#define _cleanup_bus_ _cleanup_(bus_unrefp)
#define _cleanup_message_ _cleanup_(message_unrefp)

/* Call a method of the daemon. Returns 1 with *reply, 0 when the daemon
 * cannot be reached over the bus (why says so: no bus, or the name is not
 * owned), or negative errno with *error set (the daemon or the bus said no). */
static int bus_call(const char *method, sd_bus_message **reply, sd_bus_error *error, char *why, size_t why_size) {
        _cleanup_bus_ sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                snprintf(why, why_size, "the system bus is not available (%s)", strerror(-r));
                return 0;
        }
        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, KSM_BUS_INTERFACE, method, error, reply, NULL);
        if (r >= 0)
                return 1;
        if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                snprintf(why, why_size, "ksmtuned is not on the system bus");
                sd_bus_error_free(error);
                return 0;
        }
        return r;
}

/* Whether pid is a live (not zombie) process called ksmtuned. */
static bool is_daemon(int proc_fd, pid_t pid) {
        ProcStat st;

        /* Gone, or not ours to read: not a candidate. A zombie has exited
         * already: signalling it does nothing. */
        return proc_read_stat(proc_fd, pid, &st) >= 0 && strcmp(st.comm, DAEMON_COMM) == 0 && st.state != 'Z';
}

/* The proc directory under --root: with a fixture root, the host's /proc
 * would name unrelated processes (and signal them). */
static int open_proc(const Ctl *c) {
        char path[4096];
        int fd;

        snprintf(path, sizeof(path), "%s/proc", strcmp(c->root, "/") == 0 ? "" : c->root);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

/* The pid in a pid file, when that process exists. Returns pid, 0 or negative errno. */
static int pid_from_file(const Ctl *c, const char *path, bool check_comm) {
        _cleanup_free_ char *s = NULL;
        int64_t pid;
        int r;

        r = read_full_file_at(AT_FDCWD, path, 64, &s, NULL);
        if (r < 0)
                return r;
        if (parse_int64(s, 1, INT32_MAX, &pid) < 0)
                return -EBADMSG;
        if (kill((pid_t) pid, 0) < 0 && errno == ESRCH)
                return 0;
        /* A stale default pid file may name a recycled pid. */
        if (check_comm) {
                _cleanup_close_ int proc_fd = open_proc(c);

                if (proc_fd < 0 || !is_daemon(proc_fd, (pid_t) pid))
                        return 0;
        }
        return (int) pid;
}

/* Processes named ksmtuned, from ROOT/proc. Returns how many (pids in
 * ret, at most max) or negative errno. */
static int pids_by_name(const Ctl *c, pid_t *ret, size_t max) {
        _cleanup_close_ int proc_fd = -1;
        ProcIter it = {};
        size_t n = 0;
        pid_t pid;
        int r;

        proc_fd = open_proc(c);
        if (proc_fd < 0)
                return proc_fd;
        r = proc_iter_start(&it, proc_fd);
        while (r >= 0 && (r = proc_iter_next(&it, &pid)) > 0) {
                if (pid == getpid() || !is_daemon(proc_fd, pid))
                        continue;
                if (n < max)
                        ret[n] = pid;
                n++;
        }
        proc_iter_done(&it);
        return r < 0 ? r : (int) n;
}

/* Find the running daemon: --pidfile only when given, else the default pid
 * file, then a process named ksmtuned. Returns 1 with *ret, 0 when there is
 * none, -ENOTUNIQ when there are several and no way to choose; why says
 * what was looked at when the result is not 1. */
static int find_daemon(const Ctl *c, pid_t *ret, char *why, size_t why_size) {
        const char *pidfile = c->pidfile ?: KSMTUNED_PIDFILE;
        pid_t pids[8];
        int r, n;

        r = pid_from_file(c, pidfile, !c->pidfile);
        if (r > 0) {
                *ret = r;
                return 1;
        }
        if (c->pidfile) {
                snprintf(why, why_size, "no running ksmtuned in %s (%s)", pidfile,
                         r == 0 ? "no such process" : strerror(-r));
                return 0;
        }
        n = pids_by_name(c, pids, ELEMENTSOF(pids));
        if (n < 0) {
                snprintf(why, why_size, "no pid in %s, and the process list cannot be read (%s)",
                         pidfile, strerror(-n));
                return 0;
        }
        if (n == 1) {
                *ret = pids[0];
                return 1;
        }
        if (n == 0) {
                snprintf(why, why_size, "no ksmtuned is running (no pid in %s, no process named " DAEMON_COMM ")",
                         pidfile);
                return 0;
        }
        r = snprintf(why, why_size, "%d processes are named " DAEMON_COMM " (pids", n);
        for (int i = 0; i < n && i < (int) ELEMENTSOF(pids) && r > 0 && (size_t) r < why_size; i++)
                r += snprintf(why + r, why_size - (size_t) r, " %d", (int) pids[i]);
        if (r > 0 && (size_t) r < why_size)
                snprintf(why + r, why_size - (size_t) r, "): choose one with --pidfile");
        return -ENOTUNIQ;
}

/* A method call the bus or the daemon refused. Returns CTL_EXIT_FAILURE. */
static int report_call_error(const char *method, int r, sd_bus_error *error) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                ctl_msg(0, "%s denied: only root may call it (%s)", method, error->message ?: error->name);
        else if (sd_bus_error_has_name(error, KSM_BUS_ERROR_INVALID_CONFIG))
                ctl_msg(0, "%s failed, ksmtuned keeps its old configuration: %s", method, error->message);
        else
                ctl_msg(r, "%s failed: %s", method, error->message ?: strerror(-r));
        sd_bus_error_free(error);
        return CTL_EXIT_FAILURE;
}

/* The bus is out of reach: signal the daemon instead and say which way was used. */
static int signal_daemon(Ctl *c, int sig, const char *why_not_bus, const char *what) {
        char why[512];
        pid_t pid;

        if (find_daemon(c, &pid, why, sizeof(why)) <= 0)
                return ctl_fail(0, "Cannot reach ksmtuned: %s, and %s.", why_not_bus, why);
        if (kill(pid, sig) < 0)
                return ctl_fail(errno, "Cannot send SIG%s to ksmtuned (pid %d): %m", sigabbrev_np(sig), (int) pid);
        printf("Sent SIG%s to ksmtuned (pid %d) because %s: %s\n", sigabbrev_np(sig), (int) pid, why_not_bus, what);
        return CTL_EXIT_OK;
}

int verb_retune(Ctl *c, int argc, char *argv[]) {
        _cleanup_message_ sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *reason;
        char why[256];
        int r;

        r = ctl_parse_no_options(c, argc, argv, "retune");
        if (r >= 0)
                return r;
        r = bus_call("Retune", &reply, &error, why, sizeof(why));
        if (r == 0)
                return signal_daemon(c, SIGUSR1, why, "it retunes now");
        if (r < 0)
                return report_call_error("Retune", r, &error);
        r = sd_bus_message_read(reply, "s", &reason);
        if (r < 0)
                return ctl_fail(r, "Cannot parse the reply to Retune: %m");
        printf("Retuned over D-Bus: %s\n", reason);
        return CTL_EXIT_OK;
}

int verb_reload(Ctl *c, int argc, char *argv[]) {
        _cleanup_message_ sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char why[256];
        int r;

        r = ctl_parse_no_options(c, argc, argv, "reload");
        if (r >= 0)
                return r;
        r = bus_call("Reload", &reply, &error, why, sizeof(why));
        if (r == 0)
                return signal_daemon(c, SIGHUP, why,
                                     "it reloads its configuration (a bad one is reported in its log)");
        if (r < 0)
                return report_call_error("Reload", r, &error);
        printf("Reloaded the configuration over D-Bus\n");
        return CTL_EXIT_OK;
}

typedef struct PropMap {
        const char *name;
        char type;                      /* s, t */
        void *ptr;
        size_t size;                    /* for s: the buffer */
} PropMap;

/* Read the properties in map from an a{sv} reply; others are skipped. */
static int read_props(sd_bus_message *reply, const PropMap *map, size_t n) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const PropMap *p = NULL;
                const char *name, *s;
                char sig[2] = {};

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n && !p; i++)
                        if (strcmp(map[i].name, name) == 0)
                                p = &map[i];
                sig[0] = p ? p->type : 0;
                if (p && sd_bus_message_verify_type(reply, 'v', sig) > 0) {
                        r = sd_bus_message_enter_container(reply, 'v', sig);
                        if (r < 0)
                                return r;
                        if (p->type == 's') {
                                r = sd_bus_message_read_basic(reply, 's', &s);
                                if (r >= 0)
                                        snprintf(p->ptr, p->size, "%s", s);
                        } else
                                r = sd_bus_message_read_basic(reply, p->type, p->ptr);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

/* Fill d from the daemon's bus properties. Returns 1 when read, 0 when the
 * daemon is not reachable over the bus (why_not_bus filled), negative errno. */
static int query_bus(DaemonInfo *d) {
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_message_ sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_creds *creds = NULL;
        const PropMap map[] = {
                { "Version", 's', d->version, sizeof(d->version) },
                { "Policy", 's', d->policy, sizeof(d->policy) },
                { "LastReason", 's', d->last_reason, sizeof(d->last_reason) },
                { "LastTickUSec", 't', &d->last_tick_usec, 0 },
                { "CommittedKiB", 't', &d->committed_kib, 0 },
                { "ThresholdKiB", 't', &d->threshold_kib, 0 },
                { "FreeKiB", 't', &d->free_kib, 0 },
                { "LastWriteError", 's', d->last_write_error, sizeof(d->last_write_error) },
        };
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                snprintf(d->why_not_bus, sizeof(d->why_not_bus), "the system bus is not available (%s)", strerror(-r));
                return 0;
        }
        r = sd_bus_call_method(bus, KSM_BUS_NAME, KSM_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", KSM_BUS_INTERFACE);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        snprintf(d->why_not_bus, sizeof(d->why_not_bus), "not on the system bus");
                else
                        snprintf(d->why_not_bus, sizeof(d->why_not_bus), "its bus properties cannot be read (%s)",
                                 error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return 0;
        }
        r = read_props(reply, map, ELEMENTSOF(map));
        if (r < 0)
                return r;
        if (sd_bus_get_name_creds(bus, KSM_BUS_NAME, SD_BUS_CREDS_PID, &creds) >= 0) {
                (void) sd_bus_creds_get_pid(creds, &d->pid);
                sd_bus_creds_unref(creds);
        }
        return 1;
}

void daemon_query(Ctl *c, DaemonInfo *ret) {
        DaemonInfo d = {};
        char why[512];
        int r;

        r = query_bus(&d);
        if (r > 0) {
                d.on_bus = d.running = true;
                *ret = d;
                return;
        }
        if (r < 0) {
                /* Forget what was half read. */
                d = (DaemonInfo) {};
                snprintf(d.why_not_bus, sizeof(d.why_not_bus), "its bus properties cannot be parsed (%s)",
                         strerror(-r));
        }
        r = find_daemon(c, &d.pid, why, sizeof(why));
        d.running = r != 0;
        *ret = d;
}
