/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-write.h"
#include "fileio.h"
#include "macro.h"
#include "metrics.h"

static char *format(const Metrics *m) {
        char *text = NULL;
        size_t size = 0;

        assert_int_equal(metrics_format(m, &text, &size), 0);
        assert_int_equal(strlen(text), size);
        return text;
}

/* An old kernel, no daemon, no guests: the whole output, exactly. */
static void test_minimal_exact(void **state) {
        static const char want[] =
                "# HELP ksmtuned_build_info Always 1: the ksmtuned version, its policy and the optional KSM files this kernel has.\n"
                "# TYPE ksmtuned_build_info gauge\n"
                "ksmtuned_build_info{version=\"1.2\",policy=\"\",features=\"\"} 1\n"
                "# HELP ksmtuned_ksm_run KSM's run knob: 0 stopped, 1 running, 2 unmerging.\n"
                "# TYPE ksmtuned_ksm_run gauge\n"
                "ksmtuned_ksm_run 1\n"
                "# HELP ksmtuned_ksm_pages_to_scan Pages ksmd scans per wake-up (pages_to_scan).\n"
                "# TYPE ksmtuned_ksm_pages_to_scan gauge\n"
                "ksmtuned_ksm_pages_to_scan 100\n"
                "# HELP ksmtuned_ksm_sleep_seconds Time ksmd sleeps between scans (sleep_millisecs).\n"
                "# TYPE ksmtuned_ksm_sleep_seconds gauge\n"
                "ksmtuned_ksm_sleep_seconds 20\n"
                "# HELP ksmtuned_ksm_pages_shared KSM pages in use (pages_shared).\n"
                "# TYPE ksmtuned_ksm_pages_shared gauge\n"
                "ksmtuned_ksm_pages_shared 2\n"
                "# HELP ksmtuned_ksm_pages_sharing Pages that share a KSM page: the pages saved (pages_sharing).\n"
                "# TYPE ksmtuned_ksm_pages_sharing gauge\n"
                "ksmtuned_ksm_pages_sharing 512\n"
                "# HELP ksmtuned_ksm_pages_unshared Pages unique but repeatedly checked for merging (pages_unshared).\n"
                "# TYPE ksmtuned_ksm_pages_unshared gauge\n"
                "ksmtuned_ksm_pages_unshared 3\n"
                "# HELP ksmtuned_ksm_pages_volatile Pages changing too fast to be merged (pages_volatile).\n"
                "# TYPE ksmtuned_ksm_pages_volatile gauge\n"
                "ksmtuned_ksm_pages_volatile 4\n"
                "# HELP ksmtuned_ksm_full_scans_total Passes ksmd has completed over all mergeable memory (full_scans).\n"
                "# TYPE ksmtuned_ksm_full_scans_total counter\n"
                "ksmtuned_ksm_full_scans_total 7\n"
                "# HELP ksmtuned_saved_bytes Memory KSM saves: (pages_sharing + ksm_zero_pages) times the page size.\n"
                "# TYPE ksmtuned_saved_bytes gauge\n"
                "ksmtuned_saved_bytes 2097152\n"
                "# HELP ksmtuned_guest_merged_bytes Memory of a guest merged by KSM, (ksm_merging_pages + ksm_zero_pages) "
                "times the page size; the guests that save most.\n"
                "# TYPE ksmtuned_guest_merged_bytes gauge\n";
        Metrics m = {
                .version = "1.2",
                .ksm = { .run = 1, .pages_to_scan = 100, .sleep_millisecs = 20000, .pages_shared = 2,
                         .pages_sharing = 512, .pages_unshared = 3, .pages_volatile = 4, .full_scans = 7 },
                .page_size_bytes = 4096,
        };
        _cleanup_free_ char *text = NULL;

        (void) state;
        text = format(&m);
        if (strcmp(text, want) != 0)
                fail_msg("expected:\n%s\ngot:\n%s", want, text);
}

/* Rows: an input and lines that must (or must not) be in the output. */
static void test_lines(void **state) {
        static const MetricsGuest odd[] = {
                { 10, "web\"1\\\n", 1 << 20, true, -4096 },
                { 11, "caf\xc3\xa9 \xff\x01", 4096, false, 0 },
                { 12, NULL, 0, false, 0 },
        };
        static const MetricsDaemon adaptive = {
                .policy = KSM_POLICY_ADAPTIVE, .adaptive_mode = KSM_ADAPTIVE_IDLE,
                .last_tick_realtime_usec = UINT64_C(1764480000123456), .ticks_total = 9, .monitor_interval_s = 60,
                .cpu_budget_pct = 5, .knob_write_failures = { [KSM_KNOB_PAGES_TO_SCAN] = 3 },
                .reload_failures_total = 2, .knob_reversals_total = 4, .yielded = true,
        };
        static const MetricsDaemon compat = { .policy = KSM_POLICY_COMPAT, .cpu_budget_pct = 100 };
        const unsigned modern = (1u << KSM_FEATURE_ADVISOR) | (1u << KSM_FEATURE_GENERAL_PROFIT) |
                                (1u << KSM_FEATURE_ZERO_PAGES) | (1u << KSM_FEATURE_PAGES_SCANNED) |
                                (1u << KSM_FEATURE_PAGES_SKIPPED) | (1u << KSM_FEATURE_MERGE_ACROSS_NODES);
        const struct {
                const char *name;
                Metrics m;
                const char *present[8];
                const char *absent[4];
        } rows[] = {
                { "modern kernel: optional families and byte units",
                  { .version = "2", .policy = "adaptive", .page_size_bytes = 4096,
                    .ksm = { .features = modern, .advisor_mode = KSM_ADVISOR_SCAN_TIME, .general_profit = -8192,
                             .ksm_zero_pages = 2, .pages_sharing = 1, .pages_scanned = UINT64_C(123456789012),
                             .pages_skipped = 5, .merge_across_nodes = 0, .sleep_millisecs = 10 },
                    .has_ksmd_cpu = true, .ksmd_cpu_usec = 1500000 },
                  { "ksmtuned_build_info{version=\"2\",policy=\"adaptive\",features=\"advisor,ksm_zero_pages,general_profit,"
                    "pages_scanned,pages_skipped,merge_across_nodes\"} 1\n",
                    "ksmtuned_ksm_advisor_enabled 1\n", "ksmtuned_ksm_general_profit_bytes -8192\n",
                    "ksmtuned_ksm_zero_pages_bytes 8192\n", "ksmtuned_saved_bytes 12288\n",
                    "ksmtuned_ksm_pages_scanned_total 123456789012\n", "ksmtuned_ksmd_cpu_seconds_total 1.500000\n",
                    "ksmtuned_ksm_sleep_seconds 0.010\n" },
                  { "ksmtuned_ticks_total", "ksmtuned_guest_profit_bytes", "ksmtuned_memory_total_bytes" } },
                { "page size 0 is taken as 4096; memory in bytes",
                  { .ksm = { .pages_sharing = 3 }, .has_mem = true,
                    .mem = { .mem_total_kib = 1024, .mem_available_kib = 512, .has_mem_available = true } },
                  { "ksmtuned_saved_bytes 12288\n", "ksmtuned_memory_total_bytes 1048576\n",
                    "ksmtuned_memory_available_bytes 524288\n", "ksmtuned_ksm_sleep_seconds 0\n" },
                  { "ksmtuned_ksm_advisor_enabled", "ksmtuned_ksm_pages_skipped", "ksmtuned_ksmd_cpu_seconds_total" } },
                { "guest labels escaped, invalid bytes replaced, profit only where known",
                  { .guests = odd, .n_guests = ELEMENTSOF(odd) },
                  { "ksmtuned_guest_merged_bytes{guest=\"web\\\"1\\\\\\n\",pid=\"10\"} 1048576\n",
                    "ksmtuned_guest_merged_bytes{guest=\"caf\xc3\xa9 ??\",pid=\"11\"} 4096\n",
                    "ksmtuned_guest_merged_bytes{guest=\"\",pid=\"12\"} 0\n",
                    "ksmtuned_guest_profit_bytes{guest=\"web\\\"1\\\\\\n\",pid=\"10\"} -4096\n" },
                  { "ksmtuned_guest_profit_bytes{guest=\"caf" } },
                { "daemon, adaptive: one gauge per mode, failures by knob",
                  { .daemon = &adaptive },
                  { "ksmtuned_adaptive_mode{mode=\"idle\"} 1\n", "ksmtuned_adaptive_mode{mode=\"look\"} 0\n",
                    "ksmtuned_last_tick_timestamp_seconds 1764480000.123456\n", "ksmtuned_ticks_total 9\n",
                    "ksmtuned_knob_write_failures_total{knob=\"pages_to_scan\"} 3\n",
                    "ksmtuned_knob_write_failures_total{knob=\"run\"} 0\n", "ksmtuned_ksmd_cpu_budget_ratio 0.05\n",
                    "ksmtuned_yielded 1\n" },
                  { "last_reason" } },
                { "daemon, compat: no mode gauges",
                  { .daemon = &compat },
                  { "ksmtuned_config_reload_failures_total 0\n", "ksmtuned_knob_reversals_total 0\n",
                    "ksmtuned_ksmd_cpu_budget_ratio 1\n", "ksmtuned_yielded 0\n",
                    "# TYPE ksmtuned_ticks_total counter\n" },
                  { "ksmtuned_adaptive_mode" } },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_free_ char *text = format(&rows[i].m);

                for (size_t j = 0; j < ELEMENTSOF(rows[i].present) && rows[i].present[j]; j++)
                        if (!strstr(text, rows[i].present[j]))
                                fail_msg("row '%s': expected\n%s\nin:\n%s", rows[i].name, rows[i].present[j], text);
                for (size_t j = 0; j < ELEMENTSOF(rows[i].absent) && rows[i].absent[j]; j++)
                        if (strstr(text, rows[i].absent[j]))
                                fail_msg("row '%s': expected no '%s' in:\n%s", rows[i].name, rows[i].absent[j], text);
        }
}

/* Every sample line belongs to a family announced just before with both
 * # HELP and # TYPE, whatever the input. */
static void test_every_family_has_help_and_type(void **state) {
        static const MetricsGuest g[] = { { 1, "a", 1, true, 1 } };
        static const MetricsDaemon d = { .policy = KSM_POLICY_ADAPTIVE };
        Metrics m = { .ksm = { .features = ~0u }, .has_mem = true, .mem = { .has_mem_available = true },
                      .has_ksmd_cpu = true, .guests = g, .n_guests = 1, .daemon = &d };
        _cleanup_free_ char *text = format(&m);
        char help[128] = "", type[128] = "";

        (void) state;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char name[128];

                if (sscanf(line, "# HELP %127s", help) == 1 || sscanf(line, "# TYPE %127s", type) == 1)
                        continue;
                assert_int_equal(sscanf(line, "%127[a-z_]", name), 1);
                if (strncmp(name, "ksmtuned_", 9) != 0 || strcmp(name, help) != 0 || strcmp(name, type) != 0)
                        fail_msg("sample '%s' without its own # HELP/# TYPE (last: %s, %s)", line, help, type);
        }
}

static void test_guests_top(void **state) {
        static const struct {
                uint64_t merged[4];
                size_t n, top, want_n;
                pid_t want_pids[4];
        } rows[] = {
                { { 1, 3, 2, 0 }, 4, 2, 2, { 2, 3 } },
                { { 5, 5, 5, 5 }, 4, 10, 4, { 1, 2, 3, 4 } },   /* ties by pid */
                { { 0 }, 0, 5, 0, { 0 } },                     /* none */
                { { 9, 8 }, 2, 0, 0, { 0 } },                  /* top 0 */
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                MetricsGuest g[4];

                for (size_t j = 0; j < rows[i].n; j++)
                        g[j] = (MetricsGuest) { .pid = (pid_t) j + 1, .merged_bytes = rows[i].merged[j] };
                assert_int_equal(metrics_guests_top(g, rows[i].n, rows[i].top), rows[i].want_n);
                for (size_t j = 0; j < rows[i].want_n; j++)
                        if (g[j].pid != rows[i].want_pids[j])
                                fail_msg("row %zu: position %zu: expected pid %d, got %d", i, j,
                                         (int) rows[i].want_pids[j], (int) g[j].pid);
        }
}

static void test_write_atomic(void **state) {
        char dir[] = "/tmp/test-metrics.XXXXXX", path[64], bad[96];
        _cleanup_free_ char *back = NULL;
        struct stat st;
        int dfd;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/k.prom", dir);
        assert_int_equal(write_file_atomic(path, "a 1\n", 4, 0644), 0);
        assert_int_equal(write_file_atomic(path, "b 2\n", 4, 0644), 0);
        dfd = open(dir, O_RDONLY | O_DIRECTORY);
        assert_true(dfd >= 0);
        assert_int_equal(read_full_file_at(dfd, "k.prom", 64, &back, NULL), 0);
        assert_string_equal(back, "b 2\n");
        assert_int_equal(fstatat(dfd, "k.prom", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        /* No temporary file left behind. */
        assert_int_equal(unlinkat(dfd, "k.prom", 0), 0);
        close(dfd);
        assert_int_equal(rmdir(dir), 0);
        /* A missing directory fails with the error, and creates nothing. */
        snprintf(bad, sizeof(bad), "%s/missing/k.prom", dir);
        assert_int_equal(write_file_atomic(bad, "x", 1, 0644), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal_exact),
                cmocka_unit_test(test_lines),
                cmocka_unit_test(test_every_family_has_help_and_type),
                cmocka_unit_test(test_guests_top),
                cmocka_unit_test(test_write_atomic),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
