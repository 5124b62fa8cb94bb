/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The manager's tick (collect, decide, apply) against a fixture root: no
 * root privileges, no real KSM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fixture.h"
#include "macro.h"
#include "manager.h"

static char root[] = "/tmp/test-manager.XXXXXX";

static const char *const knobs[][2] = {
        { "run", "0" }, { "pages_to_scan", "100" }, { "sleep_millisecs", "20" },
        { "pages_shared", "0" }, { "pages_sharing", "0" }, { "pages_unshared", "0" },
        { "pages_volatile", "0" }, { "full_scans", "0" }, { "pages_scanned", "0" },
        { "advisor_mode", "none [scan-time]" },
};

static void ksm_put(const char *name, const char *value) {
        char rel[PATH_MAX];

        snprintf(rel, sizeof(rel), "sys/kernel/mm/ksm/%s", name);
        fixture_put(root, rel, value);
}

static char *ksm_get(const char *name) {
        char path[PATH_MAX];
        char *s = NULL;

        snprintf(path, sizeof(path), "%s/sys/kernel/mm/ksm/%s", root, name);
        assert_int_equal(read_full_file_at(AT_FDCWD, path, 4096, &s, NULL), 0);
        s[strcspn(s, "\n")] = '\0';
        return s;
}

static void assert_knob(const char *name, const char *want) {
        _cleanup_free_ char *got = ksm_get(name);

        if (strcmp(got, want) != 0)
                fail_msg("%s: expected \"%s\", got \"%s\"", name, want, got);
}

/* 24 GiB, 2 GiB available: under the threshold of KSM_THRES_COEF=20. One
 * guest of 6 GiB (1572864 pages), named as the default regex wants. */
static int setup(void **state) {
        char path[PATH_MAX];

        (void) state;
        strcpy(root, "/tmp/test-manager.XXXXXX");
        assert_non_null(mkdtemp(root));
        const char *dirs[] = { "proc", "proc/4242", "sys", "sys/kernel", "sys/kernel/mm", "sys/kernel/mm/ksm" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(knobs); i++)
                ksm_put(knobs[i][0], knobs[i][1]);
        fixture_put(root, "proc/meminfo", "MemTotal: 25165824 kB\nMemFree: 1000 kB\nMemAvailable: 2097152 kB\n"
                                          "Buffers: 0 kB\nCached: 0 kB\n");
        /* comm, then fields 3-24: starttime (22) 100, rss (24) 1572864 pages. */
        fixture_put(root, "proc/4242/stat", "4242 (qemu-kvm) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 100 0 1572864\n");
        unsetenv("NOTIFY_SOCKET");
        return 0;
}

static int teardown(void **state) {
        char cmd[PATH_MAX + 16];

        (void) state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static Manager *new_manager(KsmPolicyKind policy, bool dry_run) {
        ManagerOptions o = { .config_path = "/nonexistent", .root = root, .dry_run = dry_run };
        KsmConfig c;
        ConfPatterns p;
        Manager *m = NULL;

        conf_init_defaults(&c);
        c.policy = policy;
        c.libvirt_uri[0] = '\0';
        assert_int_equal(conf_patterns_build(&c, NULL, &p), 0);
        assert_int_equal(manager_new(&o, &c, &p, &m), 0);
        return m;
}

/* Adaptive takes the admin's advisor for its rate and gives it back on exit. */
static void test_advisor_taken_and_restored(void **state) {
        Manager *m = new_manager(KSM_POLICY_ADAPTIVE, false);

        (void) state;
        ksm_put("advisor_mode", "none [scan-time]");
        assert_int_equal(manager_tick(m), 0);
        assert_knob("advisor_mode", "none");
        assert_knob("run", "1");
        assert_true(m->state.advisor.taken);
        assert_int_equal(m->sample.n_guests, 1);
        assert_int_equal(m->sample.committed_kib, 1572864 * 4);
        assert_non_null(strstr(m->decision.reason, "burst: guests changed"));
        manager_free(m);
        assert_knob("advisor_mode", "scan-time");
}

/* The admin turns it back on: it is theirs; exit writes nothing to it. */
static void test_advisor_taken_back(void **state) {
        Manager *m = new_manager(KSM_POLICY_ADAPTIVE, false);
        _cleanup_free_ char *pages = NULL;

        (void) state;
        ksm_put("advisor_mode", "none [scan-time]");
        assert_int_equal(manager_tick(m), 0);
        assert_knob("advisor_mode", "none");
        pages = ksm_get("pages_to_scan");
        ksm_put("advisor_mode", "none [scan-time]");
        assert_int_equal(manager_tick(m), 0);
        assert_false(m->state.advisor.taken);
        assert_true(m->state.advisor.admins);
        assert_knob("advisor_mode", "none [scan-time]");
        assert_non_null(strstr(m->decision.reason, "the kernel's advisor sets the rate"));
        assert_knob("pages_to_scan", pages);
        ksm_put("advisor_mode", "[none] scan-time");
        manager_free(m);
        assert_knob("advisor_mode", "[none] scan-time");
}

/* A reload to compat gives the advisor back at the next tick. */
static void test_advisor_restored_for_compat(void **state) {
        Manager *m = new_manager(KSM_POLICY_ADAPTIVE, false);

        (void) state;
        ksm_put("advisor_mode", "none [scan-time]");
        assert_int_equal(manager_tick(m), 0);
        assert_knob("advisor_mode", "none");
        ksm_put("advisor_mode", "[none] scan-time");
        m->config.policy = KSM_POLICY_COMPAT;
        assert_int_equal(manager_tick(m), 0);
        assert_false(m->state.advisor.taken);
        assert_knob("advisor_mode", "scan-time");
        ksm_put("advisor_mode", "[none] scan-time");
        manager_free(m);
        assert_knob("advisor_mode", "[none] scan-time");
}

/* --dry-run writes nothing, so it takes nothing and restores nothing. */
static void test_dry_run(void **state) {
        Manager *m = new_manager(KSM_POLICY_ADAPTIVE, true);

        (void) state;
        ksm_put("advisor_mode", "none [scan-time]");
        assert_int_equal(manager_tick(m), 0);
        assert_true(m->decision.running);
        assert_false(m->state.advisor.taken);
        assert_knob("run", "0");
        assert_knob("pages_to_scan", "100");
        manager_free(m);
        assert_knob("advisor_mode", "none [scan-time]");
}

/* A guest event counts for the next tick only: it plans passes once. */
static void test_guest_event_latch(void **state) {
        Manager *m = new_manager(KSM_POLICY_ADAPTIVE, false);
        char path[PATH_MAX];

        (void) state;
        ksm_put("advisor_mode", "[none] scan-time");
        assert_int_equal(manager_tick(m), 0);
        assert_non_null(strstr(m->decision.reason, "burst: guests changed"));      /* the first scan */
        assert_int_equal(manager_tick(m), 0);
        assert_non_null(strstr(m->decision.reason, "burst: planned passes"));
        manager_guests_changed(m);
        assert_int_equal(manager_tick(m), 0);
        assert_non_null(strstr(m->decision.reason, "burst: guests changed"));
        assert_int_equal(manager_tick(m), 0);
        assert_non_null(strstr(m->decision.reason, "burst: planned passes"));
        /* A new guest pid in the scan is a change too. */
        snprintf(path, sizeof(path), "%s/proc/4343", root);
        assert_int_equal(mkdir(path, 0755), 0);
        fixture_put(root, "proc/4343/stat", "4343 (qemu-kvm) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 200 0 1000\n");
        assert_int_equal(manager_tick(m), 0);
        assert_int_equal(m->sample.n_guests, 2);
        assert_non_null(strstr(m->decision.reason, "burst: guests changed"));
        manager_free(m);
}

/* The patterns are compiled once, when the file is validated: the scanner
 * uses those, and a reload that keeps them compiles nothing. */
static void test_reload_compiles_patterns_once(void **state) {
        ManagerOptions o = { .root = root, .config_path_explicit = true };
        char path[PATH_MAX], err[512] = "";
        ConfPatterns p = {};
        Manager *m = NULL;
        unsigned long n0;
        KsmConfig c;

        (void) state;
        snprintf(path, sizeof(path), "%s/ksmtuned.conf", root);
        o.config_path = path;
        fixture_put(root, "ksmtuned.conf", "KSM_GUEST_REGEX=^qemu-kvm$\nKSM_MERGE_ANY_REGEX=^java$\nKSM_LIBVIRT_URI=\n");
        n0 = guest_regex_compilations();
        assert_int_equal(manager_load_config(&o, NULL, &c, &p, err, sizeof(err)), 0);
        assert_int_equal(manager_new(&o, &c, &p, &m), 0);
        if (guest_regex_compilations() - n0 != 2)
                fail_msg("load and start: expected 2 compilations, got %lu", guest_regex_compilations() - n0);
        assert_int_equal(manager_tick(m), 0);
        assert_int_equal(m->sample.n_guests, 1);

        n0 = guest_regex_compilations();
        assert_int_equal(manager_reload(m, err, sizeof(err)), 0);
        if (guest_regex_compilations() - n0 != 0)
                fail_msg("reload, patterns unchanged: expected 0 compilations, got %lu", guest_regex_compilations() - n0);
        assert_int_equal(m->sample.n_guests, 1);

        /* One pattern changed: that one only, and the scanner uses it. */
        fixture_put(root, "ksmtuned.conf", "KSM_GUEST_REGEX=^none$\nKSM_MERGE_ANY_REGEX=^java$\nKSM_LIBVIRT_URI=\n");
        n0 = guest_regex_compilations();
        assert_int_equal(manager_reload(m, err, sizeof(err)), 0);
        if (guest_regex_compilations() - n0 != 1)
                fail_msg("reload, one pattern changed: expected 1 compilation, got %lu", guest_regex_compilations() - n0);
        assert_int_equal(m->sample.n_guests, 0);

        /* A bad pattern: the reload fails naming it, the old ones stay. */
        fixture_put(root, "ksmtuned.conf", "KSM_GUEST_REGEX=(\n");
        assert_int_equal(manager_reload(m, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "KSM_GUEST_REGEX"));
        assert_string_equal(guest_pattern_text(m->patterns.guest), "^none$");
        manager_free(m);
}

/* The metrics file: written at the first tick, not at the burst's quick
 * follow-up a moment later, and again at the tick that ends the burst (the
 * next one waits the monitor interval). */
static void test_metrics_follow_ups(void **state) {
        ManagerOptions o = { .config_path = "/nonexistent", .root = root, .dry_run = true };
        char path[PATH_MAX];
        KsmConfig c;
        ConfPatterns p;
        Manager *m = NULL;

        (void) state;
        snprintf(path, sizeof(path), "%s/ksmtuned.prom", root);
        conf_init_defaults(&c);
        c.policy = KSM_POLICY_ADAPTIVE;
        c.libvirt_uri[0] = '\0';
        snprintf(c.metrics_file, sizeof(c.metrics_file), "%s", path);
        assert_int_equal(conf_patterns_build(&c, NULL, &p), 0);
        assert_int_equal(manager_new(&o, &c, &p, &m), 0);

        assert_int_equal(manager_tick(m), 0);
        assert_true(m->decision.next_tick_usec > 0);    /* a burst: look again in a second */
        assert_int_equal(access(path, F_OK), 0);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(manager_tick(m), 0);
        assert_true(m->decision.next_tick_usec > 0);
        assert_int_equal(access(path, F_OK), -1);

        /* The planned passes done and plenty of memory: KSM stops, the next
         * tick waits the interval. */
        ksm_put("full_scans", "100");
        fixture_put(root, "proc/meminfo", "MemTotal: 25165824 kB\nMemFree: 1000 kB\nMemAvailable: 20971520 kB\n"
                                          "Buffers: 0 kB\nCached: 0 kB\n");
        assert_int_equal(manager_tick(m), 0);
        assert_int_equal(m->decision.next_tick_usec, 0);
        assert_int_equal(access(path, F_OK), 0);
        manager_free(m);
}

/* The last planned pass of a burst turns smart_scan off; the daemon turns
 * it back on when it exits (as it gives the advisor back). */
static void test_smart_scan_restored(void **state) {
        Manager *m;

        (void) state;
        ksm_put("smart_scan", "1");
        m = new_manager(KSM_POLICY_ADAPTIVE, false);
        assert_int_equal(manager_tick(m), 0);   /* a burst: three passes from full_scans 0 */
        assert_knob("smart_scan", "1");
        ksm_put("full_scans", "2");
        assert_int_equal(manager_tick(m), 0);   /* the last of them */
        assert_knob("smart_scan", "0");
        manager_free(m);
        assert_knob("smart_scan", "1");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_advisor_taken_and_restored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_advisor_taken_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_advisor_restored_for_compat, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guest_event_latch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reload_compiles_patterns_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_follow_ups, setup, teardown),
                cmocka_unit_test_setup_teardown(test_smart_scan_restored, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
