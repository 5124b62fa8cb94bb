/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ksm-doctor.h"
#include "macro.h"

#define BIT(c) (1u << (c))
#define ADVISOR_ON { .run = 1, .advisor_mode = KSM_ADVISOR_SCAN_TIME, .features = BIT(KSM_FEATURE_ADVISOR) }

static unsigned codes(const DoctorFindings *fs) {
        unsigned m = 0;

        for (size_t i = 0; i < fs->n; i++)
                m |= BIT(fs->f[i].code);
        return m;
}

static void test_host(void **state) {
        static const struct {
                const char *name;
                DoctorHost h;
                unsigned want;
                const char *text;       /* in some finding's text */
        } rows[] = {
                { "no KSM: that line only", { .has_ksm = false }, BIT(DOCTOR_NO_KSM), "CONFIG_KSM" },
                { "running, daemon, one node",
                  { .has_ksm = true, .ksm = { .run = 1 }, .daemon_running = true, .has_merge_across_nodes = true,
                    .merge_across_nodes = 1, .numa_nodes = 1 },
                  BIT(DOCTOR_MERGE_ACROSS_NODES), "one NUMA node, no effect" },
                { "stopped, no daemon",
                  { .has_ksm = true, .ksm = { .run = 0 } }, BIT(DOCTOR_KSM_STOPPED) | BIT(DOCTOR_NO_DAEMON),
                  "'ksmctl start'" },
                { "stopped by the daemon, reason quoted",
                  { .has_ksm = true, .ksm = { .run = 0 }, .daemon_running = true, .daemon_reason_known = true,
                    .daemon_reason = "stop: no guests" },
                  BIT(DOCTOR_KSM_STOPPED), "ksmtuned's last decision: stop: no guests" },
                { "stopped by a daemon off the bus",
                  { .has_ksm = true, .ksm = { .run = 0 }, .daemon_running = true },
                  BIT(DOCTOR_KSM_STOPPED), "its reason is on D-Bus" },
                { "unmerging", { .has_ksm = true, .ksm = { .run = 2 }, .daemon_running = true },
                  BIT(DOCTOR_KSM_STOPPED), "run=2" },
                { "advisor", { .has_ksm = true, .ksm = ADVISOR_ON, .daemon_running = true },
                  BIT(DOCTOR_ADVISOR), "advisor_mode=scan-time" },
                { "advisor file without scan-time",
                  { .has_ksm = true, .ksm = { .run = 1, .features = BIT(KSM_FEATURE_ADVISOR) }, .daemon_running = true },
                  0, NULL },
                { "chains, zero pages not used",
                  { .has_ksm = true, .ksm = { .run = 1, .features = BIT(KSM_FEATURE_USE_ZERO_PAGES) },
                    .daemon_running = true, .has_chains = true, .max_page_sharing = 256, .stable_node_chains = 2,
                    .stable_node_dups = 40 },
                  BIT(DOCTOR_CHAINS), "use_zero_pages=1" },
                { "chains with use_zero_pages on",
                  { .has_ksm = true, .ksm = { .run = 1, .use_zero_pages = 1, .features = BIT(KSM_FEATURE_USE_ZERO_PAGES) },
                    .daemon_running = true, .has_chains = true, .max_page_sharing = 256, .stable_node_chains = 1 },
                  BIT(DOCTOR_CHAINS), "raising max_page_sharing" },
                { "no chains", { .has_ksm = true, .ksm = { .run = 1 }, .daemon_running = true, .has_chains = true,
                                 .max_page_sharing = 256 }, 0, NULL },
                { "two nodes, across",
                  { .has_ksm = true, .ksm = { .run = 1 }, .daemon_running = true, .has_merge_across_nodes = true,
                    .merge_across_nodes = 1, .numa_nodes = 2 },
                  BIT(DOCTOR_MERGE_ACROSS_NODES), "merge_across_nodes=1 on 2 NUMA nodes" },
                { "two nodes, within",
                  { .has_ksm = true, .ksm = { .run = 1 }, .daemon_running = true, .has_merge_across_nodes = true,
                    .merge_across_nodes = 0, .numa_nodes = 2 },
                  BIT(DOCTOR_MERGE_ACROSS_NODES), "merge_across_nodes=0 on 2 NUMA nodes" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                DoctorFindings fs;
                bool found = rows[i].text == NULL;

                doctor_host(&rows[i].h, &fs);
                if (codes(&fs) != rows[i].want)
                        fail_msg("row '%s': codes %#x, expected %#x", rows[i].name, codes(&fs), rows[i].want);
                for (size_t k = 0; k < fs.n; k++) {
                        found = found || strstr(fs.f[k].text, rows[i].text);
                        if (strchr(fs.f[k].text, '\n'))
                                fail_msg("row '%s': a finding of more than one line", rows[i].name);
                }
                if (!found)
                        fail_msg("row '%s': no finding says '%s'", rows[i].name, rows[i].text);
        }
}

#define MIB(n) ((uint64_t) (n) * 1024)
#define STAT(merging, zero, profit) \
        .has_ksm_stat = true, .stat = { .rmap_items = 1000, .merging_pages = merging, .zero_pages = zero, \
                                        .process_profit_bytes = profit, \
                                        .present = BIT(KSM_STAT_PROCESS_PROFIT) | BIT(KSM_STAT_MERGING_PAGES) }

static void test_proc(void **state) {
        static const struct {
                const char *name;
                DoctorProc p;
                unsigned want;
                DoctorSeverity worst;
        } rows[] = {
                { "merging", { .has_smaps = true, .smaps = { .rss_kib = MIB(1024), .anon_kib = MIB(1024),
                                                             .mergeable_kib = MIB(1024) }, STAT(1000, 10, 4096) },
                  BIT(DOCTOR_MERGING), DOCTOR_OK },
                { "mergeable, nothing merged", { .has_smaps = true, .smaps = { .anon_kib = MIB(64), .mergeable_kib = MIB(64) } },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "not marked", { .has_smaps = true, .smaps = { .rss_kib = MIB(64), .anon_kib = MIB(64) } },
                  BIT(DOCTOR_NOT_MERGEABLE), DOCTOR_WARNING },
                { "not marked but small", { .has_smaps = true, .smaps = { .rss_kib = MIB(15), .anon_kib = MIB(15) } },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "qemu heap beside mergeable RAM",
                  { .has_smaps = true, .smaps = { .anon_kib = MIB(1124), .mergeable_kib = MIB(1024) } },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "exactly half unmarked",
                  { .has_smaps = true, .smaps = { .anon_kib = MIB(64), .mergeable_kib = MIB(32) } },
                  BIT(DOCTOR_NOT_MERGEABLE), DOCTOR_WARNING },
                { "merge-any covers it",
                  { .has_smaps = true, .smaps = { .anon_kib = MIB(64) }, .has_ksm_stat = true,
                    .stat = { .merge_any = true, .present = BIT(KSM_STAT_MERGE_ANY) } },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "nosharepages instead of not marked",
                  { .has_smaps = true, .smaps = { .anon_kib = MIB(64) }, .nosharepages = true },
                  BIT(DOCTOR_NOSHAREPAGES), DOCTOR_WARNING },
                { "hugetlb", { .has_smaps = true, .smaps = { .hugetlb_kib = MIB(2) } },
                  BIT(DOCTOR_HUGETLB), DOCTOR_WARNING },
                { "one small page of hugetlb is not hugetlb",
                  { .has_smaps = true, .smaps = { .hugetlb_kib = 1024 } }, BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "thp", { .has_smaps = true, .smaps = { .anon_kib = MIB(64), .mergeable_kib = MIB(64),
                                                         .thp_kib = MIB(64) } },
                  BIT(DOCTOR_THP), DOCTOR_INFO },
                { "memfd", { .has_smaps = true, .smaps = { .rss_kib = MIB(70), .shared_kib = MIB(64), .memfd_kib = MIB(64) } },
                  BIT(DOCTOR_SHARED), DOCTOR_WARNING },
                { "shared mapping a small part",
                  { .has_smaps = true, .smaps = { .rss_kib = MIB(2048), .anon_kib = MIB(1900), .mergeable_kib = MIB(1900),
                                                  .shared_kib = MIB(100) } },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "volatile", { .has_smaps = true, .smaps = { .anon_kib = MIB(64), .mergeable_kib = MIB(64) },
                                .sampled_pages = 1024, .changed_pages = 103, .sample_ms = 1000 },
                  BIT(DOCTOR_VOLATILE), DOCTOR_INFO },
                { "below 10 % changed", { .has_smaps = true, .smaps = { .anon_kib = MIB(64), .mergeable_kib = MIB(64) },
                                          .sampled_pages = 1024, .changed_pages = 102, .sample_ms = 1000 },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "too few samples", { .has_smaps = true, .sampled_pages = 63, .changed_pages = 63 },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "negative profit", { .has_smaps = true, .smaps = { .anon_kib = MIB(64), .mergeable_kib = MIB(64) },
                                       STAT(0, 0, -65536) },
                  BIT(DOCTOR_NEGATIVE_PROFIT), DOCTOR_WARNING },
                { "zero profit is fine", { .has_smaps = true, STAT(0, 0, 0) }, BIT(DOCTOR_MERGING), DOCTOR_INFO },
                { "several at once",
                  { .has_smaps = true, .smaps = { .rss_kib = MIB(200), .anon_kib = MIB(100), .shared_kib = MIB(100),
                                                  .hugetlb_kib = MIB(4) }, STAT(5, 0, -1) },
                  BIT(DOCTOR_NOT_MERGEABLE) | BIT(DOCTOR_SHARED) | BIT(DOCTOR_HUGETLB) | BIT(DOCTOR_NEGATIVE_PROFIT) |
                  BIT(DOCTOR_MERGING), DOCTOR_WARNING },
                { "smaps unreadable", { .has_smaps = false, .smaps = { .anon_kib = MIB(64) } },
                  BIT(DOCTOR_MERGING), DOCTOR_INFO },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                DoctorFindings fs;
                DoctorSeverity worst = DOCTOR_OK;

                doctor_proc(&rows[i].p, &fs);
                if (codes(&fs) != rows[i].want)
                        fail_msg("row '%s': codes %#x, expected %#x", rows[i].name, codes(&fs), rows[i].want);
                for (size_t k = 0; k < fs.n; k++)
                        worst = fs.f[k].severity > worst ? fs.f[k].severity : worst;
                if (worst != rows[i].worst)
                        fail_msg("row '%s': worst severity %s, expected %s", rows[i].name,
                                 doctor_severity_name(worst), doctor_severity_name(rows[i].worst));
        }
}

static void test_names(void **state) {
        (void) state;
        for (int c = 0; c < _DOCTOR_CODE_MAX; c++)
                assert_string_not_equal(doctor_code_name((DoctorCode) c), "unknown");
        assert_string_equal(doctor_code_name(_DOCTOR_CODE_MAX), "unknown");
        assert_string_equal(doctor_code_name(DOCTOR_NOT_MERGEABLE), "not-mergeable");
        assert_string_equal(doctor_severity_name(DOCTOR_WARNING), "warning");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_host),
                cmocka_unit_test(test_proc),
                cmocka_unit_test(test_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
