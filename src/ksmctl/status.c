/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "ksmd.h"
#include "ksmctl.h"
#include "status.h"
#include "units.h"
#include "utf8.h"

#define TOP_DEFAULT 10

/* ksmd's CPU time and the uptime it is spread over; optional. */
static void collect_ksmd(int root_fd, Status *s) {
        _cleanup_free_ char *uptime = NULL;
        double secs;
        pid_t pid;

        s->have_ksmd_cpu = ksmd_find_pid(root_fd, &pid) >= 0 && ksmd_read_cpu_usec(root_fd, pid, NULL, &s->ksmd_cpu_usec) >= 0;
        if (read_full_file_at(root_fd, "proc/uptime", 256, &uptime, NULL) >= 0 && sscanf(uptime, "%lf", &secs) == 1 &&
            secs > 0) {
                s->uptime_usec = (uint64_t) (secs * 1e6);
                s->have_uptime = true;
        }
}

static int status_collect(Ctl *c, size_t top, Status *ret) {
        Status s = { .page_size_bytes = page_size() };
        _cleanup_close_ int ksm_fd = -1;
        char path[4096];
        int root, r;

        ksm_fd = ctl_open_ksm(c);
        if (ksm_fd < 0)
                return ksm_fd;
        r = ksm_sysfs_read(ksm_fd, &s.ksm);
        if (r < 0)
                return ctl_msg(r, "Cannot read %s: %m", ctl_path(c, KSM_SYSFS_DIR, path, sizeof(path))), r;
        s.saved_bytes = ksm_saved_bytes(&s.ksm, s.page_size_bytes);
        root = ctl_root_fd(c);
        /* Memory and processes are extras: say what is missing and go on. */
        r = meminfo_read(root, NULL, &s.mem);
        if (r < 0)
                ctl_msg(r, "Cannot read %s: %m", ctl_path(c, "proc/meminfo", path, sizeof(path)));
        s.have_mem = r >= 0;
        r = procs_scan(c->root, root, s.page_size_bytes, top, &s.procs);
        if (r < 0)
                ctl_msg(r, "Cannot list %s: %m", ctl_path(c, "proc", path, sizeof(path)));
        collect_ksmd(root, &s);
        daemon_query(c, &s.daemon);
        s.now_usec = now_usec(CLOCK_REALTIME);
        *ret = s;
        return 0;
}

/* format_bytes() for a signed value. */
static const char *format_signed_bytes(int64_t v, char *buf, size_t size) {
        if (v >= 0 || size < 2)
                return format_bytes((uint64_t) v, buf, size);
        buf[0] = '-';
        format_bytes(-(uint64_t) v, buf + 1, size - 1);
        return buf;
}

static void print_ksm(const Status *s) {
        const KsmKnobs *k = &s->ksm;
        char saved[32], profit[32];

        if (k->run == 1)
                printf("KSM:          running, %" PRIu64 " pages every %" PRIu64 " ms (run=1)\n",
                       k->pages_to_scan, k->sleep_millisecs);
        else if (k->run == 2)
                printf("KSM:          stopped, merged pages unmerged (run=2)\n");
        else
                printf("KSM:          stopped (run=%" PRIu64 "), pages_to_scan=%" PRIu64 " sleep_millisecs=%" PRIu64 "\n",
                       k->run, k->pages_to_scan, k->sleep_millisecs);
        if (ksm_has(k, KSM_FEATURE_ADVISOR) || ksm_has(k, KSM_FEATURE_SMART_SCAN) ||
            ksm_has(k, KSM_FEATURE_USE_ZERO_PAGES) || ksm_has(k, KSM_FEATURE_MAX_KERNEL_PAGES) ||
            ksm_has(k, KSM_FEATURE_MERGE_ACROSS_NODES)) {
                printf("Knobs:       ");
                if (ksm_has(k, KSM_FEATURE_ADVISOR))
                        printf(" advisor_mode=%s", k->advisor_mode == KSM_ADVISOR_SCAN_TIME ? "scan-time" : "none");
                if (ksm_has(k, KSM_FEATURE_SMART_SCAN))
                        printf(" smart_scan=%" PRIu64, k->smart_scan);
                if (ksm_has(k, KSM_FEATURE_USE_ZERO_PAGES))
                        printf(" use_zero_pages=%" PRIu64, k->use_zero_pages);
                if (ksm_has(k, KSM_FEATURE_MAX_KERNEL_PAGES))
                        printf(" max_kernel_pages=%" PRIu64, k->max_kernel_pages);
                if (ksm_has(k, KSM_FEATURE_MERGE_ACROSS_NODES))
                        printf(" merge_across_nodes=%" PRIu64, k->merge_across_nodes);
                printf("\n");
        }
        printf("Saved:        %s (%" PRIu64 " pages_sharing + %" PRIu64 " ksm_zero_pages of %" PRIu64 " bytes)",
               format_bytes(s->saved_bytes, saved, sizeof(saved)), k->pages_sharing, k->ksm_zero_pages,
               s->page_size_bytes);
        if (ksm_has(k, KSM_FEATURE_GENERAL_PROFIT))
                printf(", general_profit %s", format_signed_bytes(k->general_profit, profit, sizeof(profit)));
        printf("\n");
        if (k->pages_shared > 0)
                printf("Sharing:      %" PRIu64 " pages share %" PRIu64 " KSM pages, ratio %.1f; %" PRIu64 " full scans\n",
                       k->pages_sharing, k->pages_shared, (double) k->pages_sharing / (double) k->pages_shared,
                       k->full_scans);
        else
                printf("Sharing:      no KSM pages; %" PRIu64 " full scans\n", k->full_scans);
        /* The kernel's documentation: a high pages_unshared to pages_sharing
         * ratio is wasted effort; pages_volatile change too fast to merge. */
        printf("Unshared:     %" PRIu64 " pages_unshared, %" PRIu64 " pages_volatile", k->pages_unshared, k->pages_volatile);
        if (k->pages_sharing > 0)
                printf("; %.2f unshared per sharing page%s\n", (double) k->pages_unshared / (double) k->pages_sharing,
                       k->pages_unshared > 10 * k->pages_sharing ? " (high: scanning is mostly wasted effort)" : "");
        else
                printf("\n");
        if (s->have_ksmd_cpu) {
                printf("ksmd:         %" PRIu64 ".%02" PRIu64 " s of CPU since boot", s->ksmd_cpu_usec / USEC_PER_SEC,
                       s->ksmd_cpu_usec % USEC_PER_SEC / 10000);
                if (s->have_uptime)
                        printf(", %.3f%% of a CPU on average", 100.0 * (double) s->ksmd_cpu_usec / (double) s->uptime_usec);
                printf("\n");
        }
        if (s->have_mem && s->mem.has_mem_available) {
                char total[32], avail[32];

                printf("Memory:       %s total, %s available\n",
                       format_bytes(s->mem.mem_total_kib * 1024, total, sizeof(total)),
                       format_bytes(s->mem.mem_available_kib * 1024, avail, sizeof(avail)));
        }
}

static void print_daemon(const Status *s) {
        const DaemonInfo *d = &s->daemon;
        char when[64] = "", err[512];

        if (!d->running) {
                printf("Daemon:       ksmtuned is not running (KSM is left as it is)\n");
                return;
        }
        printf("Daemon:       ksmtuned%s%s running", d->on_bus ? " " : "", d->version);
        if (d->pid > 0)
                printf(" (pid %d)", (int) d->pid);
        if (!d->on_bus) {
                printf(", %s: last decision unknown\n", d->why_not_bus);
                return;
        }
        printf(", policy %s\n", d->policy);
        if (d->last_tick_usec > 0) {
                time_t t = (time_t) (d->last_tick_usec / USEC_PER_SEC);
                struct tm tm;
                uint64_t ago = s->now_usec > d->last_tick_usec ? (s->now_usec - d->last_tick_usec) / USEC_PER_SEC : 0;

                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
                printf("Last tick:    %s (%" PRIu64 " s ago)\n", when, ago);
                printf("Last reason:  %s\n", d->last_reason);
                if (d->last_write_error[0])
                        printf("Write error:  %s\n", text_printable(d->last_write_error, err, sizeof(err)));
        }
}

/* Names may hold any bytes a process chose: keep the table printable and
 * aligned. Valid UTF-8 passes (one column per character, near enough);
 * control and bidirectional characters and invalid bytes become '?'. */
static void print_name(const char *name, int width) {
        char buf[256];
        const char *t = text_printable(name, buf, sizeof(buf));
        size_t len = strlen(t), i = 0;
        int cols = 0;

        while (i < len && cols < width) {
                size_t n = utf8_sequence_len(t + i, len - i);

                fwrite(t + i, 1, n, stdout);
                i += n;
                cols++;
        }
        printf("%*s", width - cols, "");
}

static void print_procs(const Status *s, size_t top) {
        const ProcList *l = &s->procs;

        if (top == 0)
                return;
        if (l->n == 0) {
                printf("Processes:    none saves memory through KSM%s\n",
                       l->incomplete ? " (among those readable: run as root to see all)" : "");
                return;
        }
        printf("\nTop processes by KSM savings (%zu of %zu%s):\n", l->n, l->n_saving,
               l->incomplete ? "; others' processes need root" : "");
        /* MERGE-ANY: the whole process is opted in (its own prctl, or
         * ksmtuned's KSM_MERGE_ANY_REGEX on a patched kernel). */
        printf("%8s  %-24s %12s %12s %10s %12s %9s\n", "PID", "NAME", "SAVED", "MERGING", "ZERO", "PROFIT", "MERGE-ANY");
        for (size_t i = 0; i < l->n; i++) {
                const ProcEntry *p = &l->procs[i];
                char saved[32], profit[32] = "-";

                if (p->stat.present & (1u << KSM_STAT_PROCESS_PROFIT))
                        format_signed_bytes(p->stat.process_profit_bytes, profit, sizeof(profit));
                printf("%8d  ", (int) p->pid);
                print_name(p->name ?: p->comm, 24);
                printf(" %12s %12" PRIu64 " %10" PRIu64 " %12s %9s\n", format_bytes(p->saved_bytes, saved, sizeof(saved)),
                       p->stat.merging_pages, p->stat.zero_pages, profit,
                       !(p->stat.present & (1u << KSM_STAT_MERGE_ANY)) ? "-" : p->stat.merge_any ? "yes" : "no");
        }
}

int verb_status(Ctl *c, int argc, char *argv[]) {
        enum { ARG_JSON = ARG_FIRST_VERB_OPTION, ARG_TOP };
        static const struct option options[] = {
                CTL_COMMON_OPTIONS,
                { "json", no_argument,       NULL, ARG_JSON },
                { "top",  required_argument, NULL, ARG_TOP },
                {}
        };
        size_t top = TOP_DEFAULT;
        bool json = false;
        Status s;
        int opt, r;

        while ((opt = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, options, NULL)) >= 0)
                switch (opt) {
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_TOP: {
                        int64_t v;

                        if (parse_int64(optarg, 0, 1000000, &v) < 0)
                                return ctl_usage_error("status", "--top needs a number from 0 to 1000000, not '%s'",
                                                       optarg);
                        top = (size_t) v;
                        break;
                }
                default:
                        r = ctl_common_option(c, opt, "status");
                        if (r >= 0)
                                return r;
                }
        if (optind < argc)
                return ctl_usage_error("status", "unexpected argument '%s'", argv[optind]);

        if (status_collect(c, top, &s) < 0)
                return CTL_EXIT_FAILURE;
        if (json)
                status_print_json(&s, stdout);
        else {
                print_ksm(&s);
                print_daemon(&s);
                print_procs(&s, top);
        }
        proc_list_free(&s.procs);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail(errno, "Cannot write the status: %m");
}
