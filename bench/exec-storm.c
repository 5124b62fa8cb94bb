/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What process events cost the daemon during an exec storm: the daemon's
 * own event loop, subscribed to the kernel's process events, runs for D
 * seconds while a helper forks and execs /bin/true as fast as it can (or
 * at --rate per second), and the daemon's tick runs every I seconds (the
 * shipped KSM_MONITOR_INTERVAL by default; 0 for none), as in the daemon.
 * CPU time is the daemon's own (getrusage, children excluded): in all, of
 * the ticks (the periodic scan), and of the event path (the rest: reading
 * events, checks, the retunes they cause, subscribing again after a
 * storm), per second of storm and per tick interval begun. Compare with
 * bench/tick-cost: the periodic scan's cost per tick.
 *
 *   exec-storm [--seconds D] [--interval I] [--rate N] [--config FILE]
 *
 * Prints "execs=E seconds=D interval=I ticks=T filtered=0|1 messages=M
 * checks=C overflows=O storms=S retunes=R cpu_ms=X tick_ms=K
 * events_ms=V resume_ms=U events_ms_per_s=P events_ms_per_interval=Q
 * cpu_us_per_exec=Y" (tick_ms per tick). Needs root (CAP_NET_ADMIN).
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
#include <fcntl.h>
#include <sys/prctl.h>
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
                { "interval", required_argument, NULL, 'i' },
                {}
        };
        ManagerOptions o = { .config_path = "/nonexistent/ksmtuned.conf", .root = "/", .dry_run = true };
        unsigned long seconds = 10, rate = 0, execs = 0, interval = 60, intervals, ticks = 0;
        KsmConfig config;
        ConfPatterns patterns = {};
        Manager *m = NULL;
        ProcEventsStats st;
        char err[512], counter[] = "/tmp/exec-storm.XXXXXX", go = 1;
        int c, fd, ret = 1, pipefd[2];
        pid_t helper;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 's': seconds = strtoul(optarg, NULL, 10); break;
                case 'r': rate = strtoul(optarg, NULL, 10); break;
                case 'c': o.config_path = optarg; o.config_path_explicit = true; break;
                case 'i': interval = strtoul(optarg, NULL, 10); break;
                default: return 2;
                }
        if (seconds == 0)
                return 2;
        /* The helper is forked first and waits: a fork later would make
         * each first write of this process to its memory a copy-on-write
         * fault, counted as the daemon's. */
        fd = mkstemp(counter);
        if (fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0)
                return 1;
        (void) unlink(counter);
        helper = fork();
        if (helper < 0)
                return 1;
        if (helper == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(pipefd[1]);
                if (read(pipefd[0], &go, 1) == 1)
                        storm(rate, fd);
                _exit(0);
        }
        close(pipefd[0]);
        log_setup(LOG_TARGET_STDERR, LOG_WARNING);
        if (manager_load_config(&o, NULL, &config, &patterns, err, sizeof(err)) < 0) {
                fprintf(stderr, "exec-storm: %s\n", err);
                goto out;
        }
        config.proc_events = true;
        config.monitor_interval_s = 86400;      /* ticks only on events */
        if (manager_new(&o, &config, &patterns, &m) < 0)
                goto out;
        /* Event-caused retunes re-arm a monitor timer only manager_run()
         * creates: quiet that complaint, which the daemon never meets. */
        log_set_max_priority(LOG_CRIT);
        discovery_start(m);
        if (!m->proc_events) {
                fprintf(stderr, "exec-storm: process events are not available here\n");
                goto out;
        }
        if (write(pipefd[1], &go, 1) != 1)
                goto out;
        uint64_t t0 = cpu_usec(), tick_cpu = 0, resume_cpu = 0, ticks0 = m->n_ticks, start = now_usec(CLOCK_MONOTONIC);
        uint64_t end = start + seconds * USEC_PER_SEC;
        uint64_t next_tick = interval > 0 ? start + interval * USEC_PER_SEC : UINT64_MAX;
        unsigned long long retunes = 0;
        for (uint64_t now; (now = now_usec(CLOCK_MONOTONIC)) < end;) {
                uint64_t wait = (next_tick < end ? next_tick : end) - now;

                if (now >= next_tick) {
                        uint64_t c0;

                        /* As manager_tick() does first; part of the event path. */
                        c0 = cpu_usec();
                        (void) proc_events_resume(m->proc_events);
                        resume_cpu += cpu_usec() - c0;
                        c0 = cpu_usec();
                        (void) manager_tick(m);
                        tick_cpu += cpu_usec() - c0;
                        ticks++;
                        next_tick += interval * USEC_PER_SEC;
                        continue;
                }
                /* No wake-up of its own: the daemon sleeps until its next timer. */
                if (sd_event_run(m->event, wait) < 0)
                        break;
        }
        kill(helper, SIGKILL);
        (void) waitpid(helper, NULL, 0);
        helper = 0;
        /* Read what is queued from the storm's last moments (the checks
         * wait PROC_EVENTS_DEFER_MS), until nothing is left. */
        while (sd_event_run(m->event, 2 * PROC_EVENTS_DEFER_MS * USEC_PER_MSEC) > 0)
                ;
        uint64_t cpu = cpu_usec() - t0;
        retunes = m->n_ticks - ticks0 - ticks;
        if (pread(fd, &execs, sizeof(execs), 0) != sizeof(execs))
                execs = 0;
        proc_events_stats(m->proc_events, &st);
        /* Intervals begun: a storm costs at most one budget in each. */
        intervals = interval > 0 ? (seconds + interval - 1) / interval : 1;
        printf("execs=%lu seconds=%lu interval=%lu ticks=%lu filtered=%d messages=%llu checks=%llu overflows=%llu "
               "storms=%llu retunes=%llu cpu_ms=%.1f tick_ms=%.3f events_ms=%.1f resume_ms=%.3f events_ms_per_s=%.3f "
               "events_ms_per_interval=%.3f cpu_us_per_exec=%.2f\n",
               execs, seconds, interval, ticks, st.filtered, st.messages, st.checks, st.overflows, st.storms, retunes,
               cpu / 1000.0, ticks ? tick_cpu / 1000.0 / (double) ticks : 0.0, (cpu - tick_cpu) / 1000.0, resume_cpu / 1000.0,
               (cpu - tick_cpu) / 1000.0 / (double) seconds, (cpu - tick_cpu) / 1000.0 / (double) intervals,
               execs ? (double) cpu / (double) execs : 0.0);
        ret = 0;
out:
        if (helper > 0) {
                kill(helper, SIGKILL);
                (void) waitpid(helper, NULL, 0);
        }
        close(pipefd[1]);
        close(fd);
        manager_free(m);
        return ret;
}
