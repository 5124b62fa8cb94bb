/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-names.h"
#include "bus.h"
#include "libvirt.h"
#include "log.h"
#include "macro.h"
#include "manager.h"

#define PIDFILE KSMTUNED_PIDFILE

typedef struct Args {
        ManagerOptions opts;
        bool foreground;
        bool once;
        bool test_config;
        bool no_bus;
} Args;

static void help(void) {
        printf("Usage: %s [OPTION]...\n"
               "Tune Kernel Samepage Merging (KSM) to the host's memory pressure.\n\n"
               "  -c, --config FILE   read FILE instead of " KSMTUNED_CONF_DEFAULT "\n"
               "  -f, --foreground    do not detach; log to standard error\n"
               "  -1, --once          decide and apply once, print the decision, exit\n"
               "  -n, --dry-run       decide and log, write nothing to KSM\n"
               "  -r, --root DIR      read /proc/meminfo and /sys/kernel/mm/ksm under DIR\n"
               "  -t, --test-config   check the configuration file and exit\n"
               "  -d, --debug         log debug messages (as DEBUG=1)\n"
               "      --no-bus        do not publish " KSM_BUS_NAME " on the system bus\n"
               "  -V, --version       print the version and exit\n"
               "  -h, --help          print this help and exit\n\n"
               "Policies (KSM_POLICY in the configuration file):\n"
               "  compat     the classic ksmtuned decisions (the default)\n"
               "  adaptive   run KSM while memory without its savings is below the\n"
               "             threshold (KSM_THRES_COEF, KSM_THRES_CONST) or memory stalls\n"
               "             reach KSM_PSI_THRES %%; scan each new guest within\n"
               "             KSM_BURST_SECS per pass, rest when scanning saves nothing and\n"
               "             look again after KSM_TRICKLE_SECS, keep ksmd within\n"
               "             KSM_CPU_BUDGET %% of a CPU (two minutes of it saved for bursts)\n\n"
               "Signals: SIGUSR1 retunes now, SIGHUP reloads the configuration,\n"
               "SIGTERM and SIGINT exit and leave KSM as it is (adaptive gives the\n"
               "kernel's advisor_mode back if it turned it off, and smart_scan).\n"
               "D-Bus: " KSM_BUS_NAME " on the system bus (methods Retune, Reload;\n"
               "read-only properties), unless --no-bus; without a bus it keeps tuning.\n"
               "Guests: processes named as KSM_GUEST_REGEX (qemu, Proxmox VE's kvm), in a\n"
               "cgroup of KSM_GUEST_CGROUPS (machine.slice), with a pid in KSM_GUEST_PIDFILES\n"
               "(/var/run/qemu-server/*.pid), or run by libvirt (KSM_LIBVIRT_URI), each counted\n"
               "once, by RSS or PSS (KSM_GUEST_MEMORY). A guest that starts or exits causes a\n"
               "retune within a second: through the kernel's process events (root, with\n"
               "CONFIG_PROC_EVENTS; during an exec storm, within about 5 s) and through\n"
               "libvirt%s.\n",
               program_invocation_short_name,
               libvirt_built() ? "" : " (libvirt is not in this build)");
}

/* Returns 1 to go on, 0 to exit successfully, negative for a usage error. */
static int parse_argv(int argc, char *argv[], Args *a) {
        enum { ARG_NO_BUS = 0x100 };
        static const struct option options[] = {
                { "config",      required_argument, NULL, 'c' },
                { "foreground",  no_argument,       NULL, 'f' },
                { "once",        no_argument,       NULL, '1' },
                { "dry-run",     no_argument,       NULL, 'n' },
                { "root",        required_argument, NULL, 'r' },
                { "test-config", no_argument,       NULL, 't' },
                { "debug",       no_argument,       NULL, 'd' },
                { "no-bus",      no_argument,       NULL, ARG_NO_BUS },
                { "version",     no_argument,       NULL, 'V' },
                { "help",        no_argument,       NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:f1nr:tdVh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        a->opts.config_path = optarg;
                        a->opts.config_path_explicit = true;
                        break;
                case 'f':
                        a->foreground = true;
                        break;
                case '1':
                        a->once = true;
                        break;
                case 'n':
                        a->opts.dry_run = true;
                        break;
                case 'r':
                        if (!*optarg) {
                                fprintf(stderr, "%s: --root needs a directory\n", program_invocation_short_name);
                                return -EINVAL;
                        }
                        a->opts.root = optarg;
                        break;
                case 't':
                        a->test_config = true;
                        break;
                case 'd':
                        a->opts.debug = true;
                        break;
                case ARG_NO_BUS:
                        a->no_bus = true;
                        break;
                case 'V':
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return 0;
                case 'h':
                        help();
                        return 0;
                default:
                        fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s'\n", program_invocation_short_name, argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* Detach like the old script did, writing its pid file. */
static int daemonize(void) {
        _cleanup_close_ int null = -1;
        pid_t pid;
        FILE *f;

        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return log_error_errno(errno, "Cannot open /dev/null: %m");
        pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Cannot fork: %m");
        if (pid > 0)
                _exit(0);
        if (setsid() < 0)
                return log_error_errno(errno, "setsid() failed: %m");
        if (chdir("/") < 0)
                return log_error_errno(errno, "Cannot change to /: %m");
        umask(022);
        if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 || dup2(null, STDERR_FILENO) < 0)
                return log_error_errno(errno, "Cannot redirect standard streams: %m");
        log_setup(LOG_TARGET_SYSLOG, log_get_max_priority());
        f = fopen(PIDFILE, "we");
        if (!f)
                return log_error_errno(errno, "Cannot write " PIDFILE ": %m");
        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
        return 0;
}

static void print_decision(const Manager *m) {
        const KsmTargets *t = &m->decision.targets;

        for (KsmKnob k = 0; k < _KSM_KNOB_MAX; k++)
                if (t->set & (1u << k))
                        printf("%s=%" PRIu64 "%s\n", ksm_knob_name(k), t->value[k],
                               (m->applied.written & (1u << k)) ? (m->opts.dry_run ? " (would write)" : " (written)") :
                               (m->applied.failed & (1u << k)) ? " (write failed)" : " (unchanged)");
        printf("reason: %s\n", m->decision.reason);
}

static int check_privileges(const Args *a) {
        if (a->opts.dry_run || a->test_config)
                return 0;
        if (geteuid() != 0) {
                log_error("Must run as root to write %s/sys/kernel/mm/ksm (use --dry-run to only watch)",
                          strcmp(a->opts.root, "/") == 0 ? "" : a->opts.root);
                return -EPERM;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        Args a = { .opts = { .config_path = KSMTUNED_CONF_DEFAULT, .root = "/" } };
        Manager *m = NULL;
        Bus *bus = NULL;
        KsmConfig config;
        ConfPatterns patterns = {};
        char err[512];
        int r, ret = 1;

        log_setup(log_target_for_stderr(), LOG_INFO);
        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        if (a.opts.debug)
                log_set_max_priority(LOG_DEBUG);

        r = manager_load_config(&a.opts, NULL, &config, &patterns, err, sizeof(err));
        if (r < 0) {
                log_error("Invalid configuration: %s", err);
                return 1;
        }
        if (a.test_config) {
                conf_patterns_clear(&patterns);
                printf("%s: configuration OK\n", a.opts.config_path);
                return 0;
        }
        if (check_privileges(&a) < 0) {
                conf_patterns_clear(&patterns);
                return 1;
        }

        r = manager_new(&a.opts, &config, &patterns, &m);
        if (r < 0)
                return 1;

        if (a.once) {
                manager_libvirt_start(m);
                r = manager_tick(m);
                if (r >= 0)
                        print_decision(m);
                ret = r < 0 ? 1 : 0;
                goto out;
        }
        if (!a.foreground && daemonize() < 0)
                goto out;

        log_info("%s %s started (config %s%s)", PACKAGE_NAME, PACKAGE_VERSION, a.opts.config_path,
                 a.opts.dry_run ? ", dry run" : "");
        /* After daemonize(): a bus connection must not cross fork(). */
        if (!a.no_bus && bus_new(m, &bus) < 0)
                goto out;
        ret = manager_run(m);
        if (!a.foreground)
                (void) unlink(PIDFILE);
out:
        bus_free(bus);
        manager_free(m);
        log_close();
        return ret;
}
