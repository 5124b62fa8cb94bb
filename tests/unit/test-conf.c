/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "macro.h"

typedef struct Warnings {
        unsigned n;
        char last[512];
} Warnings;

static void collect_warning(const char *msg, void *userdata) {
        Warnings *w = userdata;
        w->n++;
        snprintf(w->last, sizeof(w->last), "%s", msg);
}

static int parse(const char *text, KsmConfig *c, char *err, Warnings *w) {
        return conf_parse(text, "test.conf", c, collect_warning, w, err, 512);
}

/* Rows that parse: the text and one field to check. */
typedef struct GoodRow {
        const char *text;
        size_t offset;          /* of an int64_t field */
        int64_t want;
} GoodRow;

#define F(f) offsetof(KsmConfig, f)

static const GoodRow good[] = {
        { "KSM_MONITOR_INTERVAL=5\n", F(monitor_interval_s), 5 },
        { "KSM_SLEEP_MSEC=20\n", F(sleep_msec), 20 },
        { "KSM_NPAGES_BOOST=600\n", F(npages_boost), 600 },
        { "KSM_NPAGES_DECAY=-100\n", F(npages_decay), -100 },
        { "KSM_NPAGES_MIN=32\n", F(npages_min), 32 },
        { "KSM_NPAGES_MAX=5000\n", F(npages_max), 5000 },
        { "KSM_THRES_COEF=30\n", F(thres_coef_pct), 30 },
        { "KSM_THRES_CONST=4096\n", F(thres_const_kib), 4096 },
        /* shell quoting and export, as the old script's "source" accepted */
        { "KSM_MONITOR_INTERVAL=\"10\"\n", F(monitor_interval_s), 10 },
        { "KSM_MONITOR_INTERVAL='11'\n", F(monitor_interval_s), 11 },
        { "export KSM_MONITOR_INTERVAL=12\n", F(monitor_interval_s), 12 },
        { "export KSM_MONITOR_INTERVAL=\"13\"\n", F(monitor_interval_s), 13 },
        { "KSM_MONITOR_INTERVAL=14 # every 14 s\n", F(monitor_interval_s), 14 },
        { "KSM_MONITOR_INTERVAL=\"15\" # quoted, then a comment\n", F(monitor_interval_s), 15 },
        { "KSM_MONITOR_INTERVAL=1\"6\"\n", F(monitor_interval_s), 16 },
        { "# comment\n; comment\n\n   \nKSM_MONITOR_INTERVAL=17\n", F(monitor_interval_s), 17 },
        { "   # indented comments are fine\nKSM_MONITOR_INTERVAL=18\n", F(monitor_interval_s), 18 },
        { "KSM_MONITOR_INTERVAL=19\r\n", F(monitor_interval_s), 19 },
        { "KSM_MONITOR_INTERVAL=1\nKSM_MONITOR_INTERVAL=20\n", F(monitor_interval_s), 20 },   /* last wins, as in sh */
        { "\xEF\xBB\xBFKSM_MONITOR_INTERVAL=21\n", F(monitor_interval_s), 21 },
        /* range edges */
        { "KSM_MONITOR_INTERVAL=1\n", F(monitor_interval_s), 1 },
        { "KSM_MONITOR_INTERVAL=86400\n", F(monitor_interval_s), 86400 },
        { "KSM_THRES_COEF=0\n", F(thres_coef_pct), 0 },
        { "KSM_THRES_COEF=100\n", F(thres_coef_pct), 100 },
        { "KSM_NPAGES_DECAY=0\n", F(npages_decay), 0 },
        { "KSM_THRES_CONST=1099511627776\n", F(thres_const_kib), INT64_C(1099511627776) },
        { "KSM_NPAGES_MIN=1250\nKSM_NPAGES_MAX=1250\n", F(npages_min), 1250 },
        /* the adaptive policy's keys, with their range edges */
        { "KSM_CPU_BUDGET=1\n", F(cpu_budget_pct), 1 },
        { "KSM_CPU_BUDGET=100\n", F(cpu_budget_pct), 100 },
        { "KSM_BURST_SECS=1\n", F(burst_secs), 1 },
        { "KSM_BURST_SECS=3600\n", F(burst_secs), 3600 },
        { "KSM_TRICKLE_SECS=10\n", F(trickle_secs), 10 },
        { "KSM_TRICKLE_SECS=604800\n", F(trickle_secs), 604800 },
        { "KSM_PSI_THRES=0\n", F(psi_thres_pct), 0 },
        { "KSM_PSI_THRES=100\n", F(psi_thres_pct), 100 },
};

static void test_good(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                KsmConfig c;
                char err[512] = "";
                Warnings w = {};
                int r = parse(good[i].text, &c, err, &w);

                if (r != 0)
                        fail_msg("'%s': expected success, got %d: %s", good[i].text, r, err);
                int64_t got = *(int64_t *) ((char *) &c + good[i].offset);
                if (got != good[i].want)
                        fail_msg("'%s': expected %jd, got %jd", good[i].text, (intmax_t) good[i].want, (intmax_t) got);
                if (w.n != 0)
                        fail_msg("'%s': unexpected warning %s", good[i].text, w.last);
        }
}

typedef struct BadRow {
        const char *text;
        const char *want_err;   /* exact message */
} BadRow;

static const BadRow bad[] = {
        { "KSM_MONITOR_INTERVAL=abc\n", "test.conf:1: KSM_MONITOR_INTERVAL=abc: not an integer" },
        { "KSM_MONITOR_INTERVAL=\n", "test.conf:1: KSM_MONITOR_INTERVAL=: not an integer" },
        { "KSM_MONITOR_INTERVAL=10s\n", "test.conf:1: KSM_MONITOR_INTERVAL=10s: not an integer" },
        { "KSM_MONITOR_INTERVAL=1.5\n", "test.conf:1: KSM_MONITOR_INTERVAL=1.5: not an integer" },
        { "\n\nKSM_MONITOR_INTERVAL=0\n", "test.conf:3: KSM_MONITOR_INTERVAL=0: out of range, must be 1..86400" },
        { "KSM_MONITOR_INTERVAL=-1\n", "test.conf:1: KSM_MONITOR_INTERVAL=-1: out of range, must be 1..86400" },
        { "KSM_MONITOR_INTERVAL=99999999999999999999\n",
          "test.conf:1: KSM_MONITOR_INTERVAL=99999999999999999999: out of range, must be 1..86400" },
        { "KSM_THRES_COEF=101\n", "test.conf:1: KSM_THRES_COEF=101: out of range, must be 0..100" },
        { "KSM_NPAGES_DECAY=50\n", "test.conf:1: KSM_NPAGES_DECAY=50: out of range, must be -10000000..0" },
        { "KSM_NPAGES_BOOST=-1\n", "test.conf:1: KSM_NPAGES_BOOST=-1: out of range, must be 0..10000000" },
        { "KSM_SLEEP_MSEC=0\n", "test.conf:1: KSM_SLEEP_MSEC=0: out of range, must be 1..1000000" },
        { "KSM_NPAGES_MIN=2000\n", "test.conf:1: KSM_NPAGES_MIN=2000 is greater than KSM_NPAGES_MAX=1250" },
        { "KSM_NPAGES_MIN=100\n# x\nKSM_NPAGES_MAX=50\n",
          "test.conf:3: KSM_NPAGES_MIN=100 is greater than KSM_NPAGES_MAX=50" },
        { "KSM_MONITOR_INTERVAL=10\n  KSM_SLEEP_MSEC=20\n",
          "test.conf:2: indented line (it would continue the previous value): remove the leading blanks" },
        { "KSM_MONITOR_INTERVAL='10\n", "test.conf:1: KSM_MONITOR_INTERVAL='10: unterminated quote" },
        { "KSM_MONITOR_INTERVAL=1 2\n", "test.conf:1: KSM_MONITOR_INTERVAL=1 2: unquoted space in value (quote it)" },
        { "KSM_MONITOR_INTERVAL=$FOO\n", "test.conf:1: KSM_MONITOR_INTERVAL=$FOO: shell expansion is not supported" },
        { "KSM_MONITOR_INTERVAL=`date`\n", "test.conf:1: KSM_MONITOR_INTERVAL=`date`: shell expansion is not supported" },
        { "KSM_MONITOR_INTERVAL\n", "test.conf:1: expected KEY=value: KSM_MONITOR_INTERVAL" },
        { "[main]\nKSM_MONITOR_INTERVAL=1\n", "test.conf:1: sections are not supported: [main]" },
        { "1KEY=5\n", "test.conf:1: '1KEY': not a variable name" },
        { "DEBUG=maybe\n", "test.conf:1: DEBUG=maybe: not a boolean (use 1 or 0)" },
        { "KSM_GUEST_REGEX=(qemu\n", "test.conf:1: KSM_GUEST_REGEX=(qemu: bad regular expression: Unmatched ( or \\(" },
        { "KSM_GUEST_REGEX=\n", "test.conf:1: KSM_GUEST_REGEX=: empty pattern" },
        { "KSM_MERGE_ANY_REGEX=a(\n", "test.conf:1: KSM_MERGE_ANY_REGEX=a(: bad regular expression: Unmatched ( or \\(" },
        { "KSM_LIBVIRT_URI=\"a:// b:// c:// d:// e:// f:// g:// h:// i://\"\n",
          "test.conf:1: KSM_LIBVIRT_URI=\"a:// b:// c:// d:// e:// f:// g:// h:// i://\": more than 8 URIs" },
        { "\nKSM_LIBVIRT_URI='qemu:///system lxc:///system qemu:///system'\n",
          "test.conf:2: KSM_LIBVIRT_URI='qemu:///system lxc:///system qemu:///system': qemu:///system is listed twice" },
        { "KSM_LIBVIRT_URI=qemu:///system lxc:///system\n",
          "test.conf:1: KSM_LIBVIRT_URI=qemu:///system lxc:///system: unquoted space in value (quote it)" },
        { "KSM_POLICY=fast\n", "test.conf:1: KSM_POLICY=fast: unknown policy (use compat or adaptive)" },
        { "KSM_POLICY=\n", "test.conf:1: KSM_POLICY=: unknown policy (use compat or adaptive)" },
        { "KSM_POLICY=Adaptive\n", "test.conf:1: KSM_POLICY=Adaptive: unknown policy (use compat or adaptive)" },
        { "KSM_CPU_BUDGET=0\n", "test.conf:1: KSM_CPU_BUDGET=0: out of range, must be 1..100" },
        { "KSM_CPU_BUDGET=101\n", "test.conf:1: KSM_CPU_BUDGET=101: out of range, must be 1..100" },
        { "KSM_CPU_BUDGET=20%\n", "test.conf:1: KSM_CPU_BUDGET=20%: not an integer" },
        { "KSM_BURST_SECS=0\n", "test.conf:1: KSM_BURST_SECS=0: out of range, must be 1..3600" },
        { "KSM_TRICKLE_SECS=9\n", "test.conf:1: KSM_TRICKLE_SECS=9: out of range, must be 10..604800" },
        { "KSM_PSI_THRES=-1\n", "test.conf:1: KSM_PSI_THRES=-1: out of range, must be 0..100" },
};

static void test_bad(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                KsmConfig c, before;
                char err[512] = "";
                Warnings w = {};
                int r;

                memset(&c, 0x5a, sizeof(c));
                before = c;
                r = parse(bad[i].text, &c, err, &w);
                if (r != -EINVAL)
                        fail_msg("'%s': expected -EINVAL, got %d", bad[i].text, r);
                if (strcmp(err, bad[i].want_err) != 0)
                        fail_msg("'%s': expected error\n  '%s'\ngot\n  '%s'", bad[i].text, bad[i].want_err, err);
                if (memcmp(&c, &before, sizeof(c)) != 0)
                        fail_msg("'%s': output written on failure", bad[i].text);
        }
}

static void test_long_line(void **state) {
        char text[400], err[512];
        KsmConfig c;
        Warnings w = {};

        (void) state;
        /* 199 characters is the longest line libinih keeps whole. */
        snprintf(text, sizeof(text), "LOGFILE=/%0190d\n", 0);
        assert_int_equal(strlen(text) - 1, 199);
        assert_int_equal(parse(text, &c, err, &w), 0);
        assert_int_equal(strlen(c.logfile), 191);

        snprintf(text, sizeof(text), "# x\nLOGFILE=/%0191d\n", 0);
        assert_int_equal(parse(text, &c, err, &w), -EINVAL);
        assert_string_equal(err, "test.conf:2: line is 200 characters long, at most 199 are allowed");
}

static void test_defaults_and_old_file(void **state) {
        KsmConfig c, d;
        char err[512];
        Warnings w = {};

        (void) state;
        conf_init_defaults(&d);
        assert_int_equal(d.monitor_interval_s, 60);
        assert_int_equal(d.sleep_msec, 10);
        assert_int_equal(d.npages_boost, 300);
        assert_int_equal(d.npages_decay, -50);
        assert_int_equal(d.npages_min, 64);
        assert_int_equal(d.npages_max, 1250);
        assert_int_equal(d.thres_coef_pct, 20);
        assert_int_equal(d.thres_const_kib, 2048);
        assert_string_equal(d.guest_regex, "^qemu(-(kvm|system-.+)|:.{1,11})$");
        assert_string_equal(d.logfile, "");
        assert_string_equal(d.libvirt_uri, "qemu:///system");
        assert_false(d.debug);
        /* An old file keeps the old policy; adaptive's keys have defaults. */
        assert_int_equal(d.policy, KSM_POLICY_COMPAT);
        assert_int_equal(d.cpu_budget_pct, 20);
        assert_int_equal(d.burst_secs, 5);
        assert_int_equal(d.trickle_secs, 1800);
        assert_int_equal(d.psi_thres_pct, 10);

        /* The file the old Debian/Fedora package shipped: all commented out. */
        assert_int_equal(conf_load(TEST_DATA "/ksmtuned.conf.debian-old", &c, collect_warning, &w, err, sizeof(err)), 0);
        assert_memory_equal(&c, &d, sizeof(c));
        assert_int_equal(w.n, 0);

        assert_int_equal(parse("", &c, err, &w), 0);
        assert_memory_equal(&c, &d, sizeof(c));
}

static void test_strings_and_bools(void **state) {
        KsmConfig c;
        char err[512];
        Warnings w = {};

        (void) state;
        assert_int_equal(parse("KSM_POLICY=adaptive\n", &c, err, &w), 0);
        assert_int_equal(c.policy, KSM_POLICY_ADAPTIVE);
        assert_int_equal(parse("KSM_POLICY=\"compat\"\n", &c, err, &w), 0);
        assert_int_equal(c.policy, KSM_POLICY_COMPAT);
        assert_int_equal(parse("LOGFILE=/var/log/ksmtuned\nDEBUG=1\n", &c, err, &w), 0);
        assert_string_equal(c.logfile, "/var/log/ksmtuned");
        assert_true(c.debug);
        assert_int_equal(parse("LOGFILE=\"/var/log/my ksm\"\nDEBUG=0\n", &c, err, &w), 0);
        assert_string_equal(c.logfile, "/var/log/my ksm");
        assert_false(c.debug);
        assert_int_equal(parse("DEBUG=yes\n", &c, err, &w), 0);
        assert_true(c.debug);
        assert_int_equal(parse("DEBUG=\n", &c, err, &w), 0);
        assert_false(c.debug);
        assert_int_equal(parse("KSM_GUEST_REGEX='^(qemu-.*|kvm)$'\n", &c, err, &w), 0);
        assert_string_equal(c.guest_regex, "^(qemu-.*|kvm)$");
        assert_string_equal(c.merge_any_regex, "");
        assert_int_equal(parse("KSM_MERGE_ANY_REGEX='^(java|node)$'\n", &c, err, &w), 0);
        assert_string_equal(c.merge_any_regex, "^(java|node)$");
        assert_int_equal(parse("KSM_MERGE_ANY_REGEX=\n", &c, err, &w), 0);
        assert_string_equal(c.merge_any_regex, "");
        /* A bare trailing $ is literal in sh too. */
        assert_int_equal(parse("KSM_GUEST_REGEX=^kvm$\n", &c, err, &w), 0);
        assert_string_equal(c.guest_regex, "^kvm$");
}

static void test_libvirt_uri(void **state) {
        static const struct { const char *text, *want; } rows[] = {
                { "", "qemu:///system" },
                { "KSM_LIBVIRT_URI=\n", "" },
                { "KSM_LIBVIRT_URI=\"\"\n", "" },
                { "KSM_LIBVIRT_URI=test+unix:///default\n", "test+unix:///default" },
                { "KSM_LIBVIRT_URI=\"qemu:///system lxc:///system\"\n", "qemu:///system lxc:///system" },
                { "KSM_LIBVIRT_URI='a:// b:// c:// d:// e:// f:// g:// h://'\n", "a:// b:// c:// d:// e:// f:// g:// h://" },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                KsmConfig c;
                char err[512] = "";
                Warnings w = {};

                if (parse(rows[i].text, &c, err, &w) != 0)
                        fail_msg("'%s': expected success, got %s", rows[i].text, err);
                if (strcmp(c.libvirt_uri, rows[i].want) != 0)
                        fail_msg("'%s': expected '%s', got '%s'", rows[i].text, rows[i].want, c.libvirt_uri);
        }
}

static void test_unknown_key_warns(void **state) {
        KsmConfig c;
        char err[512];
        Warnings w = {};

        (void) state;
        assert_int_equal(parse("# hello\nKSM_FOO=1\nKSM_MONITOR_INTERVAL=3\n", &c, err, &w), 0);
        assert_int_equal(w.n, 1);
        assert_string_equal(w.last, "test.conf:2: unknown key KSM_FOO, ignored");
        assert_int_equal(c.monitor_interval_s, 3);
}

static void test_missing_file(void **state) {
        KsmConfig c;
        char err[512];

        (void) state;
        assert_int_equal(conf_load(TEST_DATA "/does-not-exist.conf", &c, NULL, NULL, err, sizeof(err)), -ENOENT);
        assert_string_equal(err, TEST_DATA "/does-not-exist.conf: No such file or directory");
}

static void test_key_names_complete(void **state) {
        static const struct { const char *key, *value; } samples[] = {
                { "KSM_NPAGES_DECAY", "-1" }, { "DEBUG", "0" }, { "LOGFILE", "/x" }, { "KSM_GUEST_REGEX", "x" },
                { "KSM_POLICY", "adaptive" },
        };
        const char *k;
        size_t n;

        (void) state;
        for (n = 0; (k = conf_key_name(n)); n++) {
                const char *value = "64";
                char text[256], err[512];
                KsmConfig c;
                Warnings w = {};

                for (size_t i = 0; i < ELEMENTSOF(samples); i++)
                        if (strcmp(samples[i].key, k) == 0)
                                value = samples[i].value;
                /* Every listed key is known to the parser (no warning). */
                snprintf(text, sizeof(text), "%s=%s\n", k, value);
                if (parse(text, &c, err, &w) != 0 || w.n != 0)
                        fail_msg("key %s not accepted: %s %s", k, err, w.last);
        }
        assert_true(n >= 12);
}

/* Each key's text form, for the defaults and for values read from a file. */
static void test_key_format(void **state) {
        static const struct { const char *text, *key, *want; } rows[] = {
                { "", "KSM_MONITOR_INTERVAL", "60" },
                { "", "KSM_NPAGES_DECAY", "-50" },
                { "", "KSM_THRES_CONST", "2048" },
                { "", "KSM_GUEST_REGEX", "^qemu(-(kvm|system-.+)|:.{1,11})$" },
                { "", "LOGFILE", "" },
                { "", "DEBUG", "0" },
                { "DEBUG=yes\n", "DEBUG", "1" },
                { "LOGFILE='/var/log/a b'\n", "LOGFILE", "/var/log/a b" },
                { "KSM_THRES_CONST=1099511627776\n", "KSM_THRES_CONST", "1099511627776" },
        };

        (void) state;
        for (size_t r = 0; r < ELEMENTSOF(rows); r++) {
                char err[512], buf[CONF_VALUE_MAX];
                KsmConfig c;
                Warnings w = {};
                const char *k;
                size_t i;

                assert_int_equal(parse(rows[r].text, &c, err, &w), 0);
                for (i = 0; (k = conf_key_name(i)) && strcmp(k, rows[r].key) != 0; i++)
                        ;
                assert_non_null(k);
                assert_int_equal(conf_key_format(&c, i, buf, sizeof(buf)), 0);
                if (strcmp(buf, rows[r].want) != 0)
                        fail_msg("row %zu: %s: expected '%s', got '%s'", r, rows[r].key, rows[r].want, buf);
        }
}

/* Past the last key, and a buffer too small, which stays untouched. */
static void test_key_format_errors(void **state) {
        KsmConfig c;
        char buf[3] = "xy";
        size_t n, interval = SIZE_MAX;

        (void) state;
        conf_init_defaults(&c);
        for (n = 0; conf_key_name(n); n++)
                if (strcmp(conf_key_name(n), "KSM_MONITOR_INTERVAL") == 0)
                        interval = n;
        assert_int_not_equal(interval, SIZE_MAX);
        assert_int_equal(conf_key_format(&c, n, buf, sizeof(buf)), -ENOENT);
        assert_int_equal(conf_key_format(&c, interval, buf, 2), -ENOBUFS);     /* "60" needs 3 */
        assert_string_equal(buf, "xy");
        assert_int_equal(conf_key_format(&c, interval, buf, 3), 0);
        assert_string_equal(buf, "60");
        assert_true(n >= 16);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_defaults_and_old_file),
                cmocka_unit_test(test_strings_and_bools),
                cmocka_unit_test(test_libvirt_uri),
                cmocka_unit_test(test_unknown_key_warns),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_key_names_complete),
                cmocka_unit_test(test_key_format),
                cmocka_unit_test(test_key_format_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
