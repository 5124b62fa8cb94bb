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

#include "fileio.h"
#include "ksm-sysfs.h"
#include "macro.h"

static char tmpdir[] = "/tmp/test-ksm-sysfs.XXXXXX";

static void put(int dir, const char *name, const char *content) {
        int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
}

static char *get(int dir, const char *name) {
        char *s = NULL;
        assert_int_equal(read_full_file_at(dir, name, 4096, &s, NULL), 0);
        return s;
}

/* A fake sys/kernel/mm/ksm with the basic files; returns the ksm dir fd. */
static int make_tree(bool modern) {
        char path[256];
        int root, ksm;

        strcpy(tmpdir, "/tmp/test-ksm-sysfs.XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        snprintf(path, sizeof(path), "%s/sys/kernel/mm/ksm", tmpdir);
        for (char *p = path + strlen(tmpdir) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                mkdir(path, 0755);
                *p = '/';
        }
        assert_int_equal(mkdir(path, 0755), 0);
        root = open(tmpdir, O_RDONLY | O_DIRECTORY);
        ksm = ksm_sysfs_open(root);
        assert_true(ksm >= 0);
        close(root);
        put(ksm, "run", "0\n");
        put(ksm, "pages_to_scan", "100\n");
        put(ksm, "sleep_millisecs", "20\n");
        put(ksm, "pages_shared", "5\n");
        put(ksm, "pages_sharing", "50\n");
        put(ksm, "pages_unshared", "7\n");
        put(ksm, "pages_volatile", "8\n");
        put(ksm, "full_scans", "3\n");
        if (modern) {
                put(ksm, "advisor_mode", "none [scan-time]\n");
                put(ksm, "smart_scan", "1\n");
                put(ksm, "use_zero_pages", "0\n");
                put(ksm, "ksm_zero_pages", "9\n");
                put(ksm, "general_profit", "-4096\n");
                put(ksm, "pages_scanned", "123456789012\n");
                put(ksm, "pages_skipped", "11\n");
                put(ksm, "merge_across_nodes", "1\n");
        }
        return ksm;
}

static void remove_tree(void) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        assert_int_equal(system(cmd), 0);
}

static void test_read_old_kernel(void **state) {
        KsmKnobs k;
        int ksm = make_tree(false);

        (void) state;
        assert_int_equal(ksm_sysfs_read(ksm, &k), 0);
        assert_int_equal(k.run, 0);
        assert_int_equal(k.pages_to_scan, 100);
        assert_int_equal(k.sleep_millisecs, 20);
        assert_int_equal(k.pages_shared, 5);
        assert_int_equal(k.pages_sharing, 50);
        assert_int_equal(k.full_scans, 3);
        assert_int_equal(k.features, 0);
        assert_false(ksm_has(&k, KSM_FEATURE_ADVISOR));
        close(ksm);
        remove_tree();
}

static void test_read_modern_kernel(void **state) {
        KsmKnobs k;
        int ksm = make_tree(true);

        (void) state;
        assert_int_equal(ksm_sysfs_read(ksm, &k), 0);
        assert_true(ksm_has(&k, KSM_FEATURE_ADVISOR));
        assert_int_equal(k.advisor_mode, KSM_ADVISOR_SCAN_TIME);
        assert_true(ksm_has(&k, KSM_FEATURE_SMART_SCAN));
        assert_int_equal(k.smart_scan, 1);
        assert_int_equal(k.ksm_zero_pages, 9);
        assert_int_equal(k.general_profit, -4096);
        assert_int_equal(k.pages_scanned, UINT64_C(123456789012));
        assert_false(ksm_has(&k, KSM_FEATURE_MAX_KERNEL_PAGES));
        assert_true(ksm_has(&k, KSM_FEATURE_PAGES_SKIPPED));
        assert_int_equal(k.pages_skipped, 11);
        assert_true(ksm_has(&k, KSM_FEATURE_MERGE_ACROSS_NODES));
        assert_int_equal(k.merge_across_nodes, 1);
        close(ksm);
        remove_tree();
}

static void test_read_errors(void **state) {
        KsmKnobs k;
        int ksm = make_tree(false);

        (void) state;
        const char *file = NULL;

        put(ksm, "pages_sharing", "lots\n");
        assert_int_equal(ksm_sysfs_read_named(ksm, &k, &file), -EINVAL);
        assert_string_equal(file, "pages_sharing");
        put(ksm, "pages_sharing", "1\n");
        unlinkat(ksm, "run", 0);
        assert_int_equal(ksm_sysfs_read_named(ksm, &k, &file), -ENOENT);
        assert_string_equal(file, "run");
        put(ksm, "run", "1\n");
        assert_int_equal(ksm_sysfs_read(ksm, &k), 0);
        assert_null(k.skipped_file);
        close(ksm);
        remove_tree();
}

/* A bad optional file costs only its own value and feature, never the read. */
static void test_read_bad_optional(void **state) {
        static const struct { const char *file, *text; int error; KsmFeature feature; } rows[] = {
                { "pages_volatile", "garbage\n", -EINVAL, _KSM_FEATURE_MAX },
                { "pages_unshared", "-1\n", -EINVAL, _KSM_FEATURE_MAX },
                { "smart_scan", "\n", -EINVAL, KSM_FEATURE_SMART_SCAN },
                { "general_profit", "12x\n", -EINVAL, KSM_FEATURE_GENERAL_PROFIT },
                { "advisor_mode", "none scan-time\n", -EINVAL, KSM_FEATURE_ADVISOR },
                { "pages_scanned", "99999999999999999999999\n", -ERANGE, KSM_FEATURE_PAGES_SCANNED },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                int ksm = make_tree(true);
                KsmKnobs k;

                put(ksm, rows[i].file, rows[i].text);
                assert_int_equal(ksm_sysfs_read(ksm, &k), 0);
                if (!k.skipped_file || strcmp(k.skipped_file, rows[i].file) != 0 || k.skipped_error != rows[i].error)
                        fail_msg("%s=%s: expected skipped %s/%d, got %s/%d", rows[i].file, rows[i].text,
                                 rows[i].file, rows[i].error, k.skipped_file ? k.skipped_file : "(null)",
                                 k.skipped_error);
                if (rows[i].feature != _KSM_FEATURE_MAX)
                        assert_false(ksm_has(&k, rows[i].feature));
                assert_int_equal(k.pages_sharing, 50);
                close(ksm);
                remove_tree();
        }
        /* A FIFO in place of an optional file: skipped without blocking. */
        {
                int ksm = make_tree(true);
                KsmKnobs k;

                unlinkat(ksm, "smart_scan", 0);
                assert_int_equal(mkfifoat(ksm, "smart_scan", 0600), 0);
                assert_int_equal(ksm_sysfs_read(ksm, &k), 0);
                assert_string_equal(k.skipped_file, "smart_scan");
                assert_int_equal(k.skipped_error, -EBADFD);
                close(ksm);
                remove_tree();
        }
}

/* Held open between reads on sysfs, as the daemon reads every tick: values
 * written in place are seen, a file that appears is picked up, a bad one
 * is named, and closing leaves nothing open. */
static void test_read_held(void **state) {
        KsmSysfsFds h;
        KsmKnobs k;
        const char *file = NULL;
        char big[5000];
        int ksm = make_tree(true);
        size_t open_fds = 0;

        (void) state;
        /* A fixture tree, not sysfs: its files may be replaced, each read
         * opens them. */
        ksm_sysfs_fds_init(&h);
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k, &file), 0);
        assert_int_equal(h.hold, 0);
        for (size_t i = 0; i < ELEMENTSOF(h.fd); i++)
                assert_int_equal(h.fd[i], -1);
        /* As on sysfs. */
        h.hold = 1;
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k, &file), 0);
        assert_int_equal(k.pages_sharing, 50);
        assert_int_equal(k.advisor_mode, KSM_ADVISOR_SCAN_TIME);
        assert_int_equal(k.general_profit, -4096);
        for (size_t i = 0; i < ELEMENTSOF(h.fd); i++)
                open_fds += h.fd[i] >= 0;
        /* Every file but max_kernel_pages, which this tree lacks. */
        assert_int_equal(open_fds, KSM_SYSFS_READ_FILES - 1);

        put(ksm, "pages_sharing", "70\n");
        put(ksm, "advisor_mode", "[none] scan-time\n");
        put(ksm, "general_profit", "8192\n");
        put(ksm, "max_kernel_pages", "1000\n");
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k, &file), 0);
        assert_int_equal(k.pages_sharing, 70);
        assert_int_equal(k.advisor_mode, KSM_ADVISOR_NONE);
        assert_int_equal(k.general_profit, 8192);
        assert_true(ksm_has(&k, KSM_FEATURE_MAX_KERNEL_PAGES));
        assert_int_equal(k.max_kernel_pages, 1000);

        put(ksm, "full_scans", "many\n");
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k, &file), -EINVAL);
        assert_string_equal(file, "full_scans");
        memset(big, '1', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        put(ksm, "full_scans", big);
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k, &file), -EFBIG);
        put(ksm, "full_scans", "4\n");
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k, &file), 0);
        assert_int_equal(k.full_scans, 4);

        ksm_sysfs_fds_close(&h);
        assert_int_equal(h.hold, -1);
        for (size_t i = 0; i < ELEMENTSOF(h.fd); i++)
                assert_int_equal(h.fd[i], -1);
        close(ksm);
        remove_tree();
}

/* This machine's sysfs: recognised, the files held, and read at offset 0
 * again each time (reads only: KSM is shared by the whole machine). */
static void test_read_held_sysfs(void **state) {
        KsmSysfsFds h;
        KsmKnobs k1, k2;
        int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ksm;

        (void) state;
        assert_true(root >= 0);
        ksm = ksm_sysfs_open(root);
        close(root);
        if (ksm < 0)
                skip();         /* a kernel without KSM */
        ksm_sysfs_fds_init(&h);
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k1, NULL), 0);
        assert_int_equal(h.hold, 1);
        assert_true(h.fd[0] >= 0);
        assert_int_equal(ksm_sysfs_read_held(ksm, &h, &k2, NULL), 0);
        assert_true(k1.run <= 2 && k2.run <= 2 && k2.full_scans >= k1.full_scans);
        ksm_sysfs_fds_close(&h);
        close(ksm);
}

static void test_advisor_parse(void **state) {
        KsmAdvisorMode m;

        (void) state;
        assert_int_equal(ksm_advisor_mode_parse("[none] scan-time\n", &m), 0);
        assert_int_equal(m, KSM_ADVISOR_NONE);
        assert_int_equal(ksm_advisor_mode_parse("none [scan-time]\n", &m), 0);
        assert_int_equal(m, KSM_ADVISOR_SCAN_TIME);
        assert_int_equal(ksm_advisor_mode_parse("none scan-time\n", &m), -EINVAL);
        assert_int_equal(ksm_advisor_mode_parse("[bogus] none\n", &m), -EINVAL);
        assert_int_equal(ksm_advisor_mode_parse("", &m), -EINVAL);
}

static void test_apply_writes_only_changes(void **state) {
        KsmKnobs cur;
        KsmTargets t = {};
        KsmApplyResult res;
        int ksm = make_tree(false);
        _cleanup_free_ char *run = NULL, *pages = NULL, *sleep_ms = NULL;

        (void) state;
        assert_int_equal(ksm_sysfs_read(ksm, &cur), 0);
        ksm_targets_set(&t, KSM_KNOB_PAGES_TO_SCAN, 100);       /* unchanged */
        ksm_targets_set(&t, KSM_KNOB_SLEEP_MILLISECS, 30);
        ksm_targets_set(&t, KSM_KNOB_RUN, 1);

        /* Dry run: reports, writes nothing. */
        assert_int_equal(ksm_sysfs_apply(ksm, &t, &cur, true, &res), 0);
        assert_int_equal(res.written, (1u << KSM_KNOB_SLEEP_MILLISECS) | (1u << KSM_KNOB_RUN));
        run = get(ksm, "run");
        assert_string_equal(run, "0\n");

        /* Make pages_to_scan unwritable: a write there would fail the test. */
        unlinkat(ksm, "pages_to_scan", 0);
        assert_int_equal(mkdirat(ksm, "pages_to_scan", 0755), 0);
        assert_int_equal(ksm_sysfs_apply(ksm, &t, &cur, false, &res), 0);
        assert_int_equal(res.written, (1u << KSM_KNOB_SLEEP_MILLISECS) | (1u << KSM_KNOB_RUN));
        assert_int_equal(res.failed, 0);
        free(run);
        run = get(ksm, "run");
        sleep_ms = get(ksm, "sleep_millisecs");
        assert_string_equal(run, "1");
        assert_string_equal(sleep_ms, "30");

        /* A changed value behind our back is corrected; a failing knob is
         * reported and the others still written. */
        cur.pages_to_scan = 99;
        cur.sleep_millisecs = 10;
        cur.run = 1;
        assert_int_equal(ksm_sysfs_apply(ksm, &t, &cur, false, &res), -EISDIR);
        assert_int_equal(res.failed, 1u << KSM_KNOB_PAGES_TO_SCAN);
        assert_int_equal(res.error[KSM_KNOB_PAGES_TO_SCAN], -EISDIR);
        assert_int_equal(res.written, 1u << KSM_KNOB_SLEEP_MILLISECS);
        (void) pages;
        close(ksm);
        remove_tree();
}

static void test_apply_advisor_mode(void **state) {
        KsmKnobs cur;
        KsmTargets t = {};
        KsmApplyResult res;
        int ksm = make_tree(true);
        _cleanup_free_ char *mode = NULL;

        (void) state;
        assert_int_equal(ksm_sysfs_read(ksm, &cur), 0);
        ksm_targets_set(&t, KSM_KNOB_ADVISOR_MODE, KSM_ADVISOR_NONE);
        assert_int_equal(ksm_sysfs_apply(ksm, &t, &cur, false, &res), 0);
        mode = get(ksm, "advisor_mode");
        assert_string_equal(mode, "none");
        assert_string_equal(ksm_knob_name(KSM_KNOB_ADVISOR_MODE), "advisor_mode");
        assert_null(ksm_knob_name(_KSM_KNOB_MAX));
        close(ksm);
        remove_tree();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read_old_kernel),
                cmocka_unit_test(test_read_modern_kernel),
                cmocka_unit_test(test_read_errors),
                cmocka_unit_test(test_read_bad_optional),
                cmocka_unit_test(test_read_held),
                cmocka_unit_test(test_read_held_sysfs),
                cmocka_unit_test(test_advisor_parse),
                cmocka_unit_test(test_apply_writes_only_changes),
                cmocka_unit_test(test_apply_advisor_mode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
