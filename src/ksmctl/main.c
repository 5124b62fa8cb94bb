/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "ksmctl.h"

static const Verb verbs[] = {
        { "start", verb_start, "",
          "start KSM (run=1), as ksm.service does",
          "Write 1 to /sys/kernel/mm/ksm/run. On kernels that still have max_kernel_pages\n"
          "(before 2.6.33), first write KSM_MAX_KERNEL_PAGES there: from the environment,\n"
          "else from /etc/default/ksm or /etc/sysconfig/ksm, else half of RAM in pages.\n"
          "Elsewhere a configured KSM_MAX_KERNEL_PAGES is ignored with a notice.\n" },
        { "stop", verb_stop, "[--unmerge [--force]]",
          "stop KSM (run=0), or unmerge every merged page (run=2)",
          "Write 0 to /sys/kernel/mm/ksm/run: ksmd stops, merged pages stay merged.\n\n"
          "  --unmerge   write 2 instead: every page sharing a KSM page gets its own copy\n"
          "              again. Refused unless MemAvailable covers (pages_sharing +\n"
          "              ksm_zero_pages) x page size plus a margin of 5% of MemTotal\n"
          "              (at least 64 MiB); the refusal says how much memory is missing.\n"
          "  --force     unmerge even when memory looks short (risks the OOM killer)\n" },
        { "retune", verb_retune, "",
          "make ksmtuned decide now",
          "Call Retune on " KSM_BUS_NAME " and print the decision's reason. Without the\n"
          "bus (or when ksmtuned is not on it), send SIGUSR1 to the running ksmtuned,\n"
          "found by its pid file or by process name, and say so.\n" },
        { "reload", verb_reload, "",
          "make ksmtuned re-read its configuration",
          "Call Reload on " KSM_BUS_NAME "; an invalid configuration is reported with\n"
          "its line and ksmtuned keeps the old one (exit status 1). Without the bus,\n"
          "send SIGHUP to the running ksmtuned and say so (errors then go to its log).\n" },
        { "status", verb_status, "[--json] [--top N]",
          "show KSM, what it saves, the daemon's last decision and the top processes",
          "Show KSM's state and knobs, the memory it saves, the sharing ratio, full\n"
          "scans, the daemon's state and last decision (over D-Bus when it is there),\n"
          "and the processes that save most, from /proc/PID/ksm_stat (qemu guests by\n"
          "their -name). Works without the daemon. As a user other than root, only\n"
          "your own processes can be read.\n\n"
          "  --json      print one JSON object instead (stable field names, units in them)\n"
          "  --top N     show N processes (default 10, 0 for none)\n" },
        { "metrics", verb_metrics, "[--top N]",
          "print KSM's counters and the top guests' savings for Prometheus",
          "Print KSM's counters and knobs, the memory it saves, ksmd's CPU time and the\n"
          "processes that save most (qemu guests by their -name, labels guest and pid)\n"
          "in the Prometheus text format, as ksmtuned writes them to KSM_METRICS_FILE.\n"
          "Works without the daemon; the daemon's own counters are only in its file.\n"
          "For node_exporter's textfile collector, write to a temporary file and rename\n"
          "it into the collector's directory.\n\n"
          "  --top N     export N processes at most (default 50, 0 for none)\n" },
        { "doctor", verb_doctor, "[--json] [--sample-ms MS] [PID|NAME]...",
          "say why memory is or is not merged, host-wide and per process",
          "Check the host (KSM in the kernel, run, ksmtuned and its last decision, the\n"
          "kernel's advisor, max_page_sharing chains, merge_across_nodes) and each\n"
          "process (qemu guests and what KSM knows of, or the PIDs, process names or\n"
          "qemu guest names given): memory not marked mergeable, qemu's mem-merge=off\n"
          "(libvirt <nosharepages/>), hugetlbfs and transparent huge pages, shared\n"
          "and memfd mappings, pages that change too fast, and KSM costing more than\n"
          "it saves (ksm_process_profit < 0). One line per finding with what to do.\n"
          "Reading other users' processes needs root.\n\n"
          "  --json          print one JSON object instead\n"
          "  --sample-ms MS  read up to 1024 mergeable pages of each process twice, MS\n"
          "                  apart, to see how many change (default 1000, 0: do not)\n" },
};

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                CTL_COMMON_OPTIONS,
                { "version", no_argument, NULL, 'V' },
                {}
        };
        Ctl c = { .root = "/", .root_fd = -1 };
        const Verb *v;
        int opt, r;

        /* '+': stop at the verb; its options are its own. */
        while ((opt = getopt_long(argc, argv, "+" CTL_COMMON_SHORTOPTS "V", options, NULL)) >= 0)
                switch (opt) {
                case 'h':
                        ctl_help(verbs, ELEMENTSOF(verbs));
                        return CTL_EXIT_OK;
                case 'V':
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return CTL_EXIT_OK;
                case 'r':
                case ARG_PIDFILE:
                        r = ctl_common_option(&c, opt, "");
                        if (r >= 0)
                                return r;
                        break;
                default:
                        fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
                        return CTL_EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "%s: missing verb\nTry '%s --help' for more information.\n",
                        program_invocation_short_name, program_invocation_short_name);
                return CTL_EXIT_USAGE;
        }
        v = find_verb(argv[optind]);
        if (!v) {
                fprintf(stderr, "%s: unknown verb '%s'\nTry '%s --help' for more information.\n",
                        program_invocation_short_name, argv[optind], program_invocation_short_name);
                return CTL_EXIT_USAGE;
        }
        c.verb = v;
        argc -= optind;
        argv += optind;
        optind = 0;             /* glibc: start afresh for the verb's options */
        r = v->run(&c, argc, argv);
        closep(&c.root_fd);
        return r;
}
