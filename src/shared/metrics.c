/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus text format of what one tick (or "ksmctl metrics") saw.
 * Names follow Prometheus' conventions: one prefix, base units (bytes,
 * seconds), "_total" on counters, label sets bounded (the top N guests, six
 * knobs, five adaptive modes). The decision's reason is not exported: it is
 * free text with unbounded cardinality; it is in the logs and on the bus.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics.h"
#include "units.h"
#include "utf8.h"

/* Longer names are cut: a label value is for telling guests apart. */
#define LABEL_MAX_CHARS 128

static void family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP " METRICS_PREFIX "%s %s\n# TYPE " METRICS_PREFIX "%s %s\n", name, help, name, type);
}

static void sample_u64(FILE *f, const char *name, uint64_t v) {
        fprintf(f, METRICS_PREFIX "%s %" PRIu64 "\n", name, v);
}

static void gauge_u64(FILE *f, const char *name, const char *help, uint64_t v) {
        family(f, name, "gauge", help);
        sample_u64(f, name, v);
}

static void counter_u64(FILE *f, const char *name, const char *help, uint64_t v) {
        family(f, name, "counter", help);
        sample_u64(f, name, v);
}

/* v / divisor with its exact decimal fraction (divisor a power of ten). */
static void print_fixed(FILE *f, uint64_t v, uint64_t divisor, int digits) {
        fprintf(f, "%" PRIu64, v / divisor);
        if (v % divisor)
                fprintf(f, ".%0*" PRIu64, digits, v % divisor);
        fputc('\n', f);
}

/* A label value: escaped as the format requires (\\, \", \n); bytes that
 * are not valid UTF-8 and control characters become '?'. */
static void label_value(FILE *f, const char *s) {
        size_t len = strlen(s), i = 0;
        unsigned chars = 0;

        while (i < len && chars++ < LABEL_MAX_CHARS) {
                size_t n = utf8_sequence_len(s + i, len - i);
                unsigned char c = (unsigned char) s[i];

                if (n == 1 && c == '\\')
                        fputs("\\\\", f);
                else if (n == 1 && c == '"')
                        fputs("\\\"", f);
                else if (n == 1 && c == '\n')
                        fputs("\\n", f);
                else if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f))) {
                        fputc('?', f);
                        n = 1;
                } else
                        fwrite(s + i, 1, n, f);
                i += n;
        }
}

static void format_ksm(FILE *f, const Metrics *m) {
        const KsmKnobs *k = &m->ksm;
        uint64_t ps = m->page_size_bytes ?: 4096;

        gauge_u64(f, "ksm_run", "KSM's run knob: 0 stopped, 1 running, 2 unmerging.", k->run);
        gauge_u64(f, "ksm_pages_to_scan", "Pages ksmd scans per wake-up (pages_to_scan).", k->pages_to_scan);
        family(f, "ksm_sleep_seconds", "gauge", "Time ksmd sleeps between scans (sleep_millisecs).");
        fputs(METRICS_PREFIX "ksm_sleep_seconds ", f);
        print_fixed(f, k->sleep_millisecs, 1000, 3);
        if (ksm_has(k, KSM_FEATURE_ADVISOR))
                gauge_u64(f, "ksm_advisor_enabled", "1 when the kernel's KSM advisor sets the scan rate (advisor_mode=scan-time).",
                          k->advisor_mode == KSM_ADVISOR_SCAN_TIME);
        if (ksm_has(k, KSM_FEATURE_MERGE_ACROSS_NODES))
                gauge_u64(f, "ksm_merge_across_nodes", "1 when KSM merges pages of different NUMA nodes.", k->merge_across_nodes);
        gauge_u64(f, "ksm_pages_shared", "KSM pages in use (pages_shared).", k->pages_shared);
        gauge_u64(f, "ksm_pages_sharing", "Pages that share a KSM page: the pages saved (pages_sharing).", k->pages_sharing);
        gauge_u64(f, "ksm_pages_unshared", "Pages unique but repeatedly checked for merging (pages_unshared).", k->pages_unshared);
        gauge_u64(f, "ksm_pages_volatile", "Pages changing too fast to be merged (pages_volatile).", k->pages_volatile);
        if (ksm_has(k, KSM_FEATURE_PAGES_SKIPPED))
                gauge_u64(f, "ksm_pages_skipped", "Pages the smart scan skipped (pages_skipped).", k->pages_skipped);
        if (ksm_has(k, KSM_FEATURE_PAGES_SCANNED))
                counter_u64(f, "ksm_pages_scanned_total", "Pages ksmd has scanned (pages_scanned).", k->pages_scanned);
        counter_u64(f, "ksm_full_scans_total", "Passes ksmd has completed over all mergeable memory (full_scans).",
                    k->full_scans);
        if (ksm_has(k, KSM_FEATURE_GENERAL_PROFIT)) {
                family(f, "ksm_general_profit_bytes", "gauge",
                       "Memory KSM saves minus its metadata, negative when it costs more (general_profit).");
                fprintf(f, METRICS_PREFIX "ksm_general_profit_bytes %" PRId64 "\n", k->general_profit);
        }
        if (ksm_has(k, KSM_FEATURE_ZERO_PAGES))
                gauge_u64(f, "ksm_zero_pages_bytes", "Memory of empty pages KSM mapped to the zero page (ksm_zero_pages).",
                          k->ksm_zero_pages * ps);
        gauge_u64(f, "saved_bytes", "Memory KSM saves: (pages_sharing + ksm_zero_pages) times the page size.",
                  ksm_saved_bytes(k, ps));
        if (m->has_ksmd_cpu) {
                family(f, "ksmd_cpu_seconds_total", "counter", "CPU time ksmd has used since boot.");
                fputs(METRICS_PREFIX "ksmd_cpu_seconds_total ", f);
                print_fixed(f, m->ksmd_cpu_usec, USEC_PER_SEC, 6);
        }
        if (m->has_mem) {
                gauge_u64(f, "memory_total_bytes", "MemTotal of /proc/meminfo.", m->mem.mem_total_kib * 1024);
                if (m->mem.has_mem_available)
                        gauge_u64(f, "memory_available_bytes", "MemAvailable of /proc/meminfo.",
                                  m->mem.mem_available_kib * 1024);
        }
}

static void guest_labels(FILE *f, const char *name, const MetricsGuest *g) {
        fprintf(f, METRICS_PREFIX "%s{guest=\"", name);
        label_value(f, g->name ?: "");
        fprintf(f, "\",pid=\"%d\"} ", (int) g->pid);
}

static void format_guests(FILE *f, const Metrics *m) {
        bool any_profit = false;

        /* A family without samples is valid and tells the reader it exists. */
        family(f, "guest_merged_bytes", "gauge",
               "Memory of a guest merged by KSM, (ksm_merging_pages + ksm_zero_pages) times the page size; "
               "the guests that save most.");
        for (size_t i = 0; i < m->n_guests; i++) {
                guest_labels(f, "guest_merged_bytes", &m->guests[i]);
                fprintf(f, "%" PRIu64 "\n", m->guests[i].merged_bytes);
                any_profit |= m->guests[i].has_profit;
        }
        if (!any_profit)
                return;
        family(f, "guest_profit_bytes", "gauge", "What KSM saves for a guest minus its metadata (ksm_process_profit).");
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i].has_profit) {
                        guest_labels(f, "guest_profit_bytes", &m->guests[i]);
                        fprintf(f, "%" PRId64 "\n", m->guests[i].profit_bytes);
                }
}

static void format_build_info(FILE *f, const Metrics *m) {
        static const char *const feature_names[_KSM_FEATURE_MAX] = {
                [KSM_FEATURE_ADVISOR] = "advisor",
                [KSM_FEATURE_SMART_SCAN] = "smart_scan",
                [KSM_FEATURE_USE_ZERO_PAGES] = "use_zero_pages",
                [KSM_FEATURE_ZERO_PAGES] = "ksm_zero_pages",
                [KSM_FEATURE_GENERAL_PROFIT] = "general_profit",
                [KSM_FEATURE_PAGES_SCANNED] = "pages_scanned",
                [KSM_FEATURE_MAX_KERNEL_PAGES] = "max_kernel_pages",
                [KSM_FEATURE_PAGES_SKIPPED] = "pages_skipped",
                [KSM_FEATURE_MERGE_ACROSS_NODES] = "merge_across_nodes",
        };
        bool first = true;

        family(f, "build_info", "gauge",
               "Always 1: the ksmtuned version, its policy and the optional KSM files this kernel has.");
        fputs(METRICS_PREFIX "build_info{version=\"", f);
        label_value(f, m->version ?: "");
        fputs("\",policy=\"", f);
        label_value(f, m->policy ?: "");
        fputs("\",features=\"", f);
        for (KsmFeature i = 0; i < _KSM_FEATURE_MAX; i++)
                if (ksm_has(&m->ksm, i) && feature_names[i]) {
                        fprintf(f, "%s%s", first ? "" : ",", feature_names[i]);
                        first = false;
                }
        fputs("\"} 1\n", f);
}

static void format_daemon(FILE *f, const MetricsDaemon *d) {
        if (d->policy == KSM_POLICY_ADAPTIVE) {
                family(f, "adaptive_mode", "gauge", "1 for the adaptive policy's current mode, 0 for the others.");
                for (KsmAdaptiveMode i = 0; i < _KSM_ADAPTIVE_MODE_MAX; i++)
                        fprintf(f, METRICS_PREFIX "adaptive_mode{mode=\"%s\"} %d\n",
                                policy_adaptive_mode_name(i), d->adaptive_mode == i);
        }
        family(f, "last_tick_timestamp_seconds", "gauge", "When the daemon last collected, decided and applied (Unix time).");
        fputs(METRICS_PREFIX "last_tick_timestamp_seconds ", f);
        print_fixed(f, d->last_tick_realtime_usec, USEC_PER_SEC, 6);
        counter_u64(f, "ticks_total", "Ticks since the daemon started.", d->ticks_total);
        gauge_u64(f, "monitor_interval_seconds", "KSM_MONITOR_INTERVAL: the longest time between two ticks.",
                  d->monitor_interval_s);
        family(f, "ksmd_cpu_budget_ratio", "gauge", "KSM_CPU_BUDGET: the share of one CPU ksmd may use (adaptive policy).");
        fputs(METRICS_PREFIX "ksmd_cpu_budget_ratio ", f);
        print_fixed(f, d->cpu_budget_pct, 100, 2);
        family(f, "knob_write_failures_total", "counter", "Failed writes to a KSM knob.");
        for (KsmKnob k = 0; k < _KSM_KNOB_MAX; k++)
                fprintf(f, METRICS_PREFIX "knob_write_failures_total{knob=\"%s\"} %" PRIu64 "\n",
                        ksm_knob_name(k), d->knob_write_failures[k]);
        counter_u64(f, "config_reload_failures_total", "Reloads refused because the configuration was invalid.",
                    d->reload_failures_total);
        counter_u64(f, "knob_reversals_total", "Values this daemon wrote that another program changed back.",
                    d->knob_reversals_total);
        gauge_u64(f, "yielded", "1 when the daemon stopped writing KSM because another tuner kept changing it.",
                  d->yielded);
}

int metrics_format(const Metrics *m, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        format_build_info(f, m);
        format_ksm(f, m);
        format_guests(f, m);
        if (m->daemon)
                format_daemon(f, m->daemon);
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return -ENOMEM;
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

static int cmp_merged(const void *a, const void *b) {
        const MetricsGuest *x = a, *y = b;

        if (x->merged_bytes != y->merged_bytes)
                return x->merged_bytes > y->merged_bytes ? -1 : 1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

size_t metrics_guests_top(MetricsGuest *guests, size_t n, size_t top) {
        if (n > 1)
                qsort(guests, n, sizeof(*guests), cmp_merged);
        return n < top ? n : top;
}
