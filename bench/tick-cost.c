/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What one tick of the daemon costs in CPU time, on a host with many
 * processes: spawn N sleeping processes, run the daemon's own tick (collect,
 * decide, apply in dry-run mode: nothing is written) K times, and divide the
 * getrusage() user + system time by K.
 *
 *   tick-cost [--procs N] [--ticks K] [--config FILE] [--root DIR]
 *
 * The scan looks again at processes younger than 10 s (they may still exec
 * qemu), so the ticks are measured twice: right after the spawn (young) and
 * once the processes are 11 s old, as on a host that has been up a while.
 *
 * Prints "procs=N ticks=K first_tick_us=F young_us=Y cpu_per_tick_us=X".
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"

static uint64_t cpu_usec(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
               (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "procs",  required_argument, NULL, 'p' },
                { "ticks",  required_argument, NULL, 't' },
                { "config", required_argument, NULL, 'c' },
                { "root",   required_argument, NULL, 'r' },
                {}
        };
        ManagerOptions o = { .config_path = "/nonexistent/ksmtuned.conf", .root = "/", .dry_run = true };
        unsigned long n_procs = 2000, n_ticks = 200;
        KsmConfig config;
        ConfPatterns patterns = {};
        Manager *m = NULL;
        pid_t *kids;
        char err[512];
        int c, ret = 1;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'p': n_procs = strtoul(optarg, NULL, 10); break;
                case 't': n_ticks = strtoul(optarg, NULL, 10); break;
                case 'c': o.config_path = optarg; o.config_path_explicit = true; break;
                case 'r': o.root = optarg; break;
                default: return 2;
                }
        if (n_ticks == 0)
                return 2;

        log_setup(LOG_TARGET_STDERR, LOG_WARNING);
        if (manager_load_config(&o, NULL, &config, &patterns, err, sizeof(err)) < 0) {
                fprintf(stderr, "tick-cost: %s\n", err);
                return 1;
        }
        kids = calloc(n_procs ?: 1, sizeof(pid_t));
        if (!kids)
                return 1;
        for (unsigned long i = 0; i < n_procs; i++) {
                kids[i] = fork();
                if (kids[i] < 0) {
                        perror("tick-cost: fork");
                        n_procs = i;
                        goto out;
                }
                if (kids[i] == 0) {
                        pause();
                        _exit(0);
                }
        }
        if (manager_new(&o, &config, &patterns, &m) < 0)
                goto out;
        log_set_max_priority(LOG_WARNING);

        /* The first tick meets every process for the first time. */
        uint64_t t0 = cpu_usec();
        if (manager_tick(m) < 0)
                goto out;
        uint64_t first = cpu_usec() - t0;

        t0 = cpu_usec();
        for (unsigned long i = 0; i < n_ticks; i++)
                if (manager_tick(m) < 0)
                        goto out;
        uint64_t young = (cpu_usec() - t0) / n_ticks;

        sleep(11);
        t0 = cpu_usec();
        for (unsigned long i = 0; i < n_ticks; i++)
                if (manager_tick(m) < 0)
                        goto out;
        uint64_t per = (cpu_usec() - t0) / n_ticks;
        printf("procs=%lu ticks=%lu first_tick_us=%" PRIu64 " young_us=%" PRIu64 " cpu_per_tick_us=%" PRIu64 "\n",
               n_procs, n_ticks, first, young, per);
        ret = 0;
out:
        manager_free(m);
        for (unsigned long i = 0; i < n_procs; i++)
                kill(kids[i], SIGKILL);
        for (unsigned long i = 0; i < n_procs; i++)
                waitpid(kids[i], NULL, 0);
        free(kids);
        return ret;
}
