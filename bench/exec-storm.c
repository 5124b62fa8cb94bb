/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What process events cost the daemon during an exec storm: the daemon's
 * own event loop, subscribed to the kernel's process events, runs for D
 * seconds while a helper forks and execs /bin/true as fast as it can (or
 * at --rate per second), and the daemon's CPU time (getrusage, children
 * excluded) is divided by the seconds. Compare with --procs 0 ticks of
 * bench/tick-cost: the periodic scan's cost per tick.
 *
 *   exec-storm [--seconds D] [--rate N] [--config FILE]
 *
 * Prints "execs=E seconds=D filtered=0|1 messages=M checks=C overflows=O retunes=R
 * cpu_ms=X cpu_us_per_exec=Y". Needs root (CAP_NET_ADMIN).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <systemd/sd-event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "log.h"
#include "manager.h"
#include "proc-events.h"
#include "units.h"

static uint64_t cpu_usec(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * USEC_PER_SEC +
               (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Fork and exec /bin/true until killed, at most rate per second (0: no
 * limit), keeping the count at the start of fd. */
static void storm(unsigned long rate, int fd) {
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

        for (unsigned long n = 1;; n++) {
                pid_t pid;

                if (rate > 0) {
                        uint64_t due = t0 + n * USEC_PER_SEC / rate, now = now_usec(CLOCK_MONOTONIC);
                        if (due > now)
                                usleep((useconds_t) (due - now));
                }
                pid = fork();
                if (pid == 0) {
                        execl("/bin/true", "true", (char *) NULL);
                        _exit(127);
                }
                if (pid > 0)
                        waitpid(pid, NULL, 0);
                /* SIGKILL ends the helper at any point: count as it goes. */
                if (pwrite(fd, &n, sizeof(n), 0) != sizeof(n))
                        _exit(1);
        }
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "seconds", required_argument, NULL, 's' },
                { "rate",    required_argument, NULL, 'r' },
                { "config",  required_argument, NULL, 'c' },
                {}
        };
        ManagerOptions o = { .config_path = "/nonexistent/ksmtuned.conf", .root = "/", .dry_run = true };
        unsigned long seconds = 10, rate = 0, execs = 0;
        KsmConfig config;
        ConfPatterns patterns = {};
        Manager *m = NULL;
        ProcEventsStats st;
        char err[512], counter[] = "/tmp/exec-storm.XXXXXX";
        int c, fd, ret = 1;
        pid_t helper;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's': seconds = strtoul(optarg, NULL, 10); break;
                case 'r': rate = strtoul(optarg, NULL, 10); break;
                case 'c': o.config_path = optarg; o.config_path_explicit = true; break;
                default: return 2;
                }
        if (seconds == 0)
                return 2;
        log_setup(LOG_TARGET_STDERR, LOG_WARNING);
        if (manager_load_config(&o, NULL, &config, &patterns, err, sizeof(err)) < 0) {
                fprintf(stderr, "exec-storm: %s\n", err);
                return 1;
        }
        config.proc_events = true;
        config.monitor_interval_s = 86400;      /* ticks only on events */
        if (manager_new(&o, &config, &patterns, &m) < 0)
                return 1;
        /* Event-caused retunes re-arm a monitor timer only manager_run()
         * creates: quiet that complaint, which the daemon never meets. */
        log_set_max_priority(LOG_CRIT);
        discovery_start(m);
        if (!m->proc_events) {
                fprintf(stderr, "exec-storm: process events are not available here\n");
                goto out;
        }
        fd = mkstemp(counter);
        if (fd < 0)
                goto out;
        (void) unlink(counter);
        helper = fork();
        if (helper == 0) {
                storm(rate, fd);
                _exit(0);
        }
        uint64_t t0 = cpu_usec(), ticks0 = m->n_ticks, end = now_usec(CLOCK_MONOTONIC) + seconds * USEC_PER_SEC;
        while (now_usec(CLOCK_MONOTONIC) < end)
                if (sd_event_run(m->event, 100 * USEC_PER_MSEC) < 0)
                        break;
        kill(helper, SIGKILL);
        waitpid(helper, NULL, 0);
        /* Drain what is queued from the storm's last moments. */
        for (int i = 0; i < 10; i++)
                (void) sd_event_run(m->event, 50 * USEC_PER_MSEC);
        uint64_t cpu = cpu_usec() - t0;
        if (pread(fd, &execs, sizeof(execs), 0) != sizeof(execs))
                execs = 0;
        close(fd);
        proc_events_stats(m->proc_events, &st);
        printf("execs=%lu seconds=%lu filtered=%d messages=%llu checks=%llu overflows=%llu retunes=%" PRIu64
               " cpu_ms=%.1f cpu_us_per_exec=%.2f\n",
               execs, seconds, st.filtered, st.messages, st.checks, st.overflows, m->n_ticks - ticks0, cpu / 1000.0,
               execs ? (double) cpu / (double) execs : 0.0);
        ret = 0;
out:
        manager_free(m);
        return ret;
}
