/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
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
        return conf_parse(text, strlen(text), "test.conf", c, collect_warning, w, err, 512);
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
        { "# comment\n\n   \nKSM_MONITOR_INTERVAL=17\n", F(monitor_interval_s), 17 },
        { "   # indented comments are fine\nKSM_MONITOR_INTERVAL=18\n", F(monitor_interval_s), 18 },
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
        /* NUMA: auto (leave the kernel's value alone), 0 or 1 */
        { "KSM_MERGE_ACROSS_NODES=auto\n", F(merge_across_nodes), -1 },
        { "KSM_MERGE_ACROSS_NODES=0\n", F(merge_across_nodes), 0 },
        { "KSM_MERGE_ACROSS_NODES='1'\n", F(merge_across_nodes), 1 },
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
        { "KSM_CPU_BUDGET=\n", "test.conf:1: KSM_CPU_BUDGET=: not an integer" },
        { "KSM_MONITOR_INTERVAL=10s\n", "test.conf:1: KSM_MONITOR_INTERVAL=10s: not an integer" },
        { "KSM_MONITOR_INTERVAL=1.5\n", "test.conf:1: KSM_MONITOR_INTERVAL=1.5: not an integer" },
        { "\n\nKSM_MONITOR_INTERVAL=86401\n", "test.conf:3: KSM_MONITOR_INTERVAL=86401: out of range, must be 1..86400" },
        { "KSM_THRES_COEF=1000001\n", "test.conf:1: KSM_THRES_COEF=1000001: out of range, must be 0..100" },
        { "KSM_NPAGES_DECAY=10000001\n", "test.conf:1: KSM_NPAGES_DECAY=10000001: out of range, must be -10000000..0" },
        { "KSM_NPAGES_BOOST=-10000001\n", "test.conf:1: KSM_NPAGES_BOOST=-10000001: out of range, must be 0..10000000" },
        { "KSM_SLEEP_MSEC=1000001\n", "test.conf:1: KSM_SLEEP_MSEC=1000001: out of range, must be 1..1000000" },
        { "KSM_MONITOR_INTERVAL=99999999999999999999\n",
          "test.conf:1: KSM_MONITOR_INTERVAL=99999999999999999999: out of range, must be 1..86400" },
        { "KSM_GUEST_REGEX='(qemu'\n", "test.conf:1: KSM_GUEST_REGEX='(qemu': bad regular expression: Unmatched ( or \\(" },
        { "KSM_GUEST_REGEX=\n", "test.conf:1: KSM_GUEST_REGEX=: empty pattern" },
        { "KSM_MERGE_ANY_REGEX='a('\n", "test.conf:1: KSM_MERGE_ANY_REGEX='a(': bad regular expression: Unmatched ( or \\(" },
        { "KSM_LIBVIRT_URI=\"a:// b:// c:// d:// e:// f:// g:// h:// i://\"\n",
          "test.conf:1: KSM_LIBVIRT_URI=\"a:// b:// c:// d:// e:// f:// g:// h:// i://\": more than 8 URIs" },
        { "\nKSM_LIBVIRT_URI='qemu:///system lxc:///system qemu:///system'\n",
          "test.conf:2: KSM_LIBVIRT_URI='qemu:///system lxc:///system qemu:///system': qemu:///system is listed twice" },
        { "KSM_POLICY=fast\n", "test.conf:1: KSM_POLICY=fast: unknown policy (use compat or adaptive)" },
        { "KSM_MERGE_ACROSS_NODES=2\n", "test.conf:1: KSM_MERGE_ACROSS_NODES=2: expected auto, 0 or 1" },
        { "KSM_MERGE_ACROSS_NODES=\n", "test.conf:1: KSM_MERGE_ACROSS_NODES=: expected auto, 0 or 1" },
        { "KSM_MERGE_ACROSS_NODES=Auto\n", "test.conf:1: KSM_MERGE_ACROSS_NODES=Auto: expected auto, 0 or 1" },
        { "KSM_POLICY=\n", "test.conf:1: KSM_POLICY=: unknown policy (use compat or adaptive)" },
        { "KSM_POLICY=Adaptive\n", "test.conf:1: KSM_POLICY=Adaptive: unknown policy (use compat or adaptive)" },
        { "KSM_GUEST_CGROUPS='machine.slice a/b'\n",
          "test.conf:1: KSM_GUEST_CGROUPS='machine.slice a/b': a cgroup name is one path component (no '/', not . or ..)" },
        { "KSM_GUEST_CGROUPS=..\n", "test.conf:1: KSM_GUEST_CGROUPS=..: a cgroup name is one path component (no '/', not . or ..)" },
        { "KSM_GUEST_PIDFILES=run/*.pid\n", "test.conf:1: KSM_GUEST_PIDFILES=run/*.pid: pid file patterns are absolute paths" },
        { "KSM_METRICS_FILE=ksmtuned.prom\n",
          "test.conf:1: KSM_METRICS_FILE=ksmtuned.prom: an absolute file name, or empty for none" },
        { "KSM_METRICS_FILE=/var/lib/prometheus/\n",
          "test.conf:1: KSM_METRICS_FILE=/var/lib/prometheus/: an absolute file name, or empty for none" },
        { "KSM_GUEST_MEMORY=vss\n", "test.conf:1: KSM_GUEST_MEMORY=vss: unknown measure (use rss or pss)" },
        { "KSM_GUEST_MEMORY=PSS\n", "test.conf:1: KSM_GUEST_MEMORY=PSS: unknown measure (use rss or pss)" },
        { "KSM_PROC_EVENTS=2\n", "test.conf:1: KSM_PROC_EVENTS=2: not a boolean (use 1, yes, true, on or 0, no, false, off)" },
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


/* The cases table of ksmtuned.conf(5): how the old script's shell read a
 * line, and what this parser does with it. OK: taken as the shell did;
 * WARN: the old script ran with it, accepted with this (last) warning;
 * ERR: the shell read it differently from what it seems to say. */
typedef enum Outcome { OK, WARN, ERR } Outcome;

typedef struct ShellCase {
        const char *text;
        size_t size;            /* 0: strlen(text) (for rows with NUL bytes) */
        Outcome outcome;
        const char *msg;        /* the warning or error, exact */
        size_t offset;          /* of an int64_t field, for OK and WARN */
        int64_t want;
} ShellCase;

static const ShellCase shell_cases[] = {
        { "KSM_MONITOR_INTERVAL=\"10\"\n", 0, OK, NULL, F(monitor_interval_s), 10 },
        { "export KSM_MONITOR_INTERVAL=12\n", 0, OK, NULL, F(monitor_interval_s), 12 },
        { "KSM_MONITOR_INTERVAL=14 # every 14 s\n", 0, OK, NULL, F(monitor_interval_s), 14 },
        { "KSM_MONITOR_INTERVAL=1\"6\"\n", 0, OK, NULL, F(monitor_interval_s), 16 },
        { "    KSM_MONITOR_INTERVAL=18\n", 0, OK, NULL, F(monitor_interval_s), 18 },
        { "KSM_MONITOR_INTERVAL=5 KSM_SLEEP_MSEC=20\n", 0, OK, NULL, F(sleep_msec), 20 },
        { "KSM_MONITOR_INTERVAL=7", 0, OK, NULL, F(monitor_interval_s), 7 },
        /* what the old script ran with */
        { "KSM_SLEEP_MSEC=10\nKSM_SLEEP_MSEC=30\n", 0, WARN,
          "test.conf:2: KSM_SLEEP_MSEC set again (first on line 1): the last value counts, as in the old script",
          F(sleep_msec), 30 },
        { "KSM_SLEEP_MSEC=10 KSM_SLEEP_MSEC=40\n", 0, WARN,
          "test.conf:1: KSM_SLEEP_MSEC set again (first on line 1): the last value counts, as in the old script",
          F(sleep_msec), 40 },
        { "LOGFILE=ksmtuned.log\n", 0, WARN,
          "test.conf:1: LOGFILE=ksmtuned.log: a relative file name, taken from the daemon's working directory "
          "(/ under systemd or once detached)", F(monitor_interval_s), 60 },
        { "LOGFILE=/var/log/ksmtuned\n", 0, OK, NULL, F(monitor_interval_s), 60 },
        { "DEBUG=foo\n", 0, WARN, 
          "test.conf:1: DEBUG=foo: not a boolean: the old script turned debugging on for any value but the empty one; taken as 1", F(monitor_interval_s), 60 },
        { "KSM_THRES_COEF=150\n", 0, WARN, 
          "test.conf:1: KSM_THRES_COEF=150: outside 0..100: the threshold is above MemTotal, so KSM never stops and always boosts, as in the old script", F(thres_coef_pct), 150 },
        { "KSM_THRES_COEF=-3\n", 0, WARN, 
          "test.conf:1: KSM_THRES_COEF=-3: outside 0..100: the old script then used KSM_THRES_CONST alone, as for 0; taken as 0", F(thres_coef_pct), 0 },
        { "KSM_THRES_CONST=-1\n", 0, WARN, 
          "test.conf:1: KSM_THRES_CONST=-1: outside 0..1099511627776: the old script ignored it, as for 0; taken as 0", F(thres_const_kib), 0 },
        { "KSM_NPAGES_DECAY=50\n", 0, WARN, 
          "test.conf:1: KSM_NPAGES_DECAY=50: outside -10000000..0: the old script raised pages_to_scan by it at each tuning, and so does this one", F(npages_decay), 50 },
        { "KSM_NPAGES_BOOST=-10\n", 0, WARN, 
          "test.conf:1: KSM_NPAGES_BOOST=-10: outside 0..10000000: the old script lowered pages_to_scan by it when memory was short, and so does this one", F(npages_boost), -10 },
        { "KSM_NPAGES_MIN=-5\n", 0, WARN, 
          "test.conf:1: KSM_NPAGES_MIN=-5: outside 0..10000000: the old script could write a negative pages_to_scan, which the kernel refuses; taken as 0", F(npages_min), 0 },
        { "KSM_NPAGES_MIN=2000\n", 0, WARN, 
          "test.conf:1: KSM_NPAGES_MIN=2000 is greater than KSM_NPAGES_MAX=1250: pages_to_scan is raised to the minimum, else cut to the maximum, as in the old script", F(npages_min), 2000 },
        { "KSM_MONITOR_INTERVAL=0\n", 0, WARN, 
          "test.conf:1: KSM_MONITOR_INTERVAL=0: outside 1..86400: the old script's sleep returned at once and it tuned without pause; taken as 1", F(monitor_interval_s), 1 },
        { "KSM_SLEEP_MSEC=0\n", 0, WARN, 
          "test.conf:1: KSM_SLEEP_MSEC=0: outside 1..1000000: the old script scanned at its 10 ms floor; taken as 0, which does the same", F(sleep_msec), 0 },
        { "KSM_MONITOR_INTERVAL=\n", 0, WARN, 
          "test.conf:1: KSM_MONITOR_INTERVAL=: empty: the old script used the default, and so does this one", F(monitor_interval_s), 60 },
        { "KSM_MONITOR_INTERVAL=060\n", 0, WARN, 
          "test.conf:1: KSM_MONITOR_INTERVAL=060: leading zero: read as decimal, as the old script's sleep did", F(monitor_interval_s), 60 },
        /* what the shell read differently */
        { "KSM_NPAGES_BOOST = 500\n", 0, ERR, 
          "test.conf:1: KSM_NPAGES_BOOST = 500: blanks around '=': the shell runs a command named KSM_NPAGES_BOOST and the line sets nothing; write KSM_NPAGES_BOOST=value", 0, 0 },
        { "KSM_NPAGES_BOOST =500\n", 0, ERR, 
          "test.conf:1: KSM_NPAGES_BOOST =500: blanks around '=': the shell runs a command named KSM_NPAGES_BOOST and the line sets nothing; write KSM_NPAGES_BOOST=value", 0, 0 },
        { "KSM_NPAGES_BOOST= 500\n", 0, ERR, 
          "test.conf:1: KSM_NPAGES_BOOST= 500: the shell runs the command '500' with KSM_NPAGES_BOOST set for it alone, and the line sets nothing; quote the value", 0, 0 },
        { "KSM_NPAGES_BOOST:500\n", 0, ERR, 
          "test.conf:1: KSM_NPAGES_BOOST:500: the shell runs a command named 'KSM_NPAGES_BOOST:500' and the line sets nothing; write KSM_NPAGES_BOOST=value", 0, 0 },
        { "KSM_SLEEP_MSEC=020\n", 0, ERR, 
          "test.conf:1: KSM_SLEEP_MSEC=020: leading zero: the old script's shell arithmetic read it as octal 16; write the number without the zero", 0, 0 },
        { "KSM_SLEEP_MSEC=08\n", 0, ERR, 
          "test.conf:1: KSM_SLEEP_MSEC=08: leading zero: the old script's shell arithmetic failed on it (not octal); write the number without the zero", 0, 0 },
        { "KSM_MONITOR_INTERVAL=19\r\n", 0, ERR, 
          "test.conf:1: carriage return at column 24 (DOS line ending?): the shell keeps it in the value, which the old script then could not use; save the file with Unix line endings", 0, 0 },
        { "KSM_MONITOR_INTERVAL=1\nKSM_SLEEP_MSEC=2\0\0\nDEBUG=1\n", 50, ERR, 
          "test.conf:2: NUL byte at column 17: the shell stops reading the file there and ignores the rest (a file filled with zeros after a crash?)", 0, 0 },
        { "\0\0\0\0\0\0\0\0", 8, ERR, 
          "test.conf:1: NUL byte at column 1: the shell stops reading the file there and ignores the rest (a file filled with zeros after a crash?)", 0, 0 },
        { "\xEF\xBB\xBFKSM_MONITOR_INTERVAL=21\n", 0, ERR, 
          "test.conf:1: UTF-8 byte order mark: the shell reads it as part of the first word, runs that as a command and the line sets nothing; save the file without it", 0, 0 },
        { "KSM_MONITOR_INTERVAL=1 2\n", 0, ERR, 
          "test.conf:1: KSM_MONITOR_INTERVAL=1 2: the shell runs the command '2' with KSM_MONITOR_INTERVAL set for it alone, and the line sets nothing; quote the value", 0, 0 },
        { "KSM_MONITOR_INTERVAL\n", 0, ERR, 
          "test.conf:1: expected KEY=value: KSM_MONITOR_INTERVAL (the shell runs 'KSM_MONITOR_INTERVAL' as a command)", 0, 0 },
        { "; comment\n", 0, ERR, 
          "test.conf:1: ; comment: a shell syntax error: the old script stopped reading the file here", 0, 0 },
        { "[main]\n", 0, ERR, 
          "test.conf:1: expected KEY=value: [main] (the shell runs '[main]' as a command)", 0, 0 },
        { "1KEY=5\n", 0, ERR, 
          "test.conf:1: expected KEY=value: 1KEY=5 (the shell runs '1KEY=5' as a command)", 0, 0 },
        { "KSM_MONITOR_INTERVAL='10\n", 0, ERR, 
          "test.conf:1: KSM_MONITOR_INTERVAL='10: unterminated quote (a value across lines is not supported)", 0, 0 },
        { "KSM_MONITOR_INTERVAL=$FOO\n", 0, ERR, 
          "test.conf:1: KSM_MONITOR_INTERVAL=$FOO: shell expansion is not supported", 0, 0 },
        { "KSM_MONITOR_INTERVAL=`date`\n", 0, ERR, 
          "test.conf:1: KSM_MONITOR_INTERVAL=`date`: shell expansion is not supported", 0, 0 },
        { "KSM_MONITOR_INTERVAL=10; KSM_SLEEP_MSEC=20\n", 0, ERR, 
          "test.conf:1: KSM_MONITOR_INTERVAL=10;: shell operators (; & | < > ( )) are not supported: one KEY=value per line", 0, 0 },
        { "KSM_MONITOR_INTERVAL=10\\\n", 0, ERR, 
          "test.conf:1: KSM_MONITOR_INTERVAL=10\\: a backslash at the end continues the line in the shell: not supported", 0, 0 },
        { "LOGFILE=~/ksmtuned.log\n", 0, ERR, 
          "test.conf:1: LOGFILE=~/ksmtuned.log: tilde expansion is not supported (write the path out)", 0, 0 },
};

static void test_shell_cases(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(shell_cases); i++) {
                const ShellCase *t = &shell_cases[i];
                size_t size = t->size ? t->size : strlen(t->text);
                KsmConfig c, before;
                char err[512] = "";
                Warnings w = {};
                int r;

                memset(&c, 0x5a, sizeof(c));
                before = c;
                r = conf_parse(t->text, size, "test.conf", &c, collect_warning, &w, err, sizeof(err));
                if (t->outcome == ERR) {
                        if (r != -EINVAL || strcmp(err, t->msg) != 0)
                                fail_msg("row %zu: expected error\n  '%s'\ngot %d\n  '%s'", i, t->msg, r, err);
                        if (memcmp(&c, &before, sizeof(c)) != 0)
                                fail_msg("row %zu: output written on failure", i);
                        continue;
                }
                if (r != 0)
                        fail_msg("row %zu: expected success, got %d: %s", i, r, err);
                if (t->outcome == OK && w.n != 0)
                        fail_msg("row %zu: unexpected warning %s", i, w.last);
                if (t->outcome == WARN && (w.n != 1 || strcmp(w.last, t->msg) != 0))
                        fail_msg("row %zu: expected one warning\n  '%s'\ngot %u, last\n  '%s'", i, t->msg, w.n, w.last);
                int64_t got = *(int64_t *) ((char *) &c + t->offset);
                if (got != t->want)
                        fail_msg("row %zu: expected %jd, got %jd", i, (intmax_t) t->want, (intmax_t) got);
        }
}

static void test_not_a_regular_file(void **state) {
        char dir[] = "/tmp/test-conf.XXXXXX", path[64], err[512];
        KsmConfig c;

        (void) state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/fifo", dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        /* No writer: an open that could block would hang the test here. */
        assert_int_equal(conf_load(path, &c, NULL, NULL, err, sizeof(err)), -EBADFD);
        assert_non_null(strstr(err, "/fifo: not a regular file"));
        unlink(path);
        assert_int_equal(conf_load(dir, &c, NULL, NULL, err, sizeof(err)), -EISDIR);
        assert_int_equal(conf_load("/dev/null", &c, NULL, NULL, err, sizeof(err)), -EBADFD);
        assert_string_equal(err, "/dev/null: not a regular file");
        rmdir(dir);
}

static void test_long_line(void **state) {
        char text[700], err[512];
        KsmConfig c;
        Warnings w = {};

        (void) state;
        /* No limit on a line (the shell has none): a long comment is fine. */
        snprintf(text, sizeof(text), "# %0600d\nKSM_MONITOR_INTERVAL=5\n", 0);
        assert_int_equal(parse(text, &c, err, &w), 0);
        assert_int_equal(c.monitor_interval_s, 5);
        /* 199 characters is the longest value. */
        snprintf(text, sizeof(text), "LOGFILE=/%0198d\n", 0);
        assert_int_equal(parse(text, &c, err, &w), 0);
        assert_int_equal(strlen(c.logfile), 199);
        snprintf(text, sizeof(text), "# x\nLOGFILE=/%0199d\n", 0);
        assert_int_equal(parse(text, &c, err, &w), -EINVAL);
        assert_true(strncmp(err, "test.conf:2: LOGFILE=/000", 25) == 0);
        assert_non_null(strstr(err, ": value too long"));
        /* A line of 100 kB: the message still says why, after a cut value. */
        {
                size_t size = 100 * 1024;
                _cleanup_free_ char *big = malloc(size + 1);

                assert_non_null(big);
                memcpy(big, "LOGFILE=/", 9);
                memset(big + 9, 'x', size - 10);
                big[size - 1] = '\n';
                big[size] = '\0';
                assert_int_equal(parse(big, &c, err, &w), -EINVAL);
                assert_true(strncmp(err, "test.conf:1: LOGFILE=/xxx", 25) == 0);
                assert_non_null(strstr(err, "...: value too long"));
        }
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
        assert_string_equal(d.guest_regex, "^(qemu(-(kvm|system-.+)|:.{1,11})|kvm)$");
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
        assert_int_equal(parse("", &c, err, &w), 0);
        assert_string_equal(c.metrics_file, "/var/lib/prometheus/node-exporter/ksmtuned.prom");
        assert_int_equal(parse("KSM_METRICS_FILE=\n", &c, err, &w), 0);
        assert_string_equal(c.metrics_file, "");
        assert_int_equal(parse("KSM_METRICS_FILE=/run/k.prom\n", &c, err, &w), 0);
        assert_string_equal(c.metrics_file, "/run/k.prom");
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
                { "KSM_POLICY", "adaptive" }, { "KSM_GUEST_PIDFILES", "/run/x/*.pid" }, { "KSM_GUEST_MEMORY", "pss" },
                { "KSM_PROC_EVENTS", "no" }, { "KSM_METRICS_FILE", "/x.prom" },
                { "KSM_MERGE_ACROSS_NODES", "0" },
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
                { "", "KSM_GUEST_REGEX", "^(qemu(-(kvm|system-.+)|:.{1,11})|kvm)$" },
                { "", "LOGFILE", "" },
                { "", "DEBUG", "0" },
                { "", "KSM_MERGE_ACROSS_NODES", "auto" },
                { "KSM_MERGE_ACROSS_NODES=0\n", "KSM_MERGE_ACROSS_NODES", "0" },
                { "DEBUG=yes\n", "DEBUG", "1" },
                { "LOGFILE='/var/log/a b'\n", "LOGFILE", "/var/log/a b" },
                { "KSM_THRES_CONST=1099511627776\n", "KSM_THRES_CONST", "1099511627776" },
                { "", "KSM_GUEST_CGROUPS", "machine.slice" },
                { "", "KSM_GUEST_PIDFILES", "/var/run/qemu-server/*.pid" },
                { "", "KSM_GUEST_MEMORY", "rss" },
                { "KSM_GUEST_CGROUPS=\n", "KSM_GUEST_CGROUPS", "" },
                { "KSM_GUEST_CGROUPS='machine.slice  lxc.payload'\n", "KSM_GUEST_CGROUPS", "machine.slice  lxc.payload" },
                { "KSM_GUEST_MEMORY=pss\n", "KSM_GUEST_MEMORY", "pss" },
                { "", "KSM_PROC_EVENTS", "1" },
                { "KSM_PROC_EVENTS=0\n", "KSM_PROC_EVENTS", "0" },
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

/* The patterns validated by the load are handed over compiled; those of
 * prev with the same text are shared, not compiled again. */
static void test_load_patterns_shared(void **state) {
        const char *text = "KSM_GUEST_REGEX=^vm$\nKSM_MERGE_ANY_REGEX=^vm$\n";
        char path[] = "/tmp/test-conf-patterns.XXXXXX", err[512] = "";
        ConfPatterns a = {}, b = {};
        unsigned long n0;
        KsmConfig c;
        int fd;

        (void) state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        n0 = guest_regex_compilations();
        assert_int_equal(conf_load_patterns(path, NULL, &c, &a, NULL, NULL, err, sizeof(err)), 0);
        assert_int_equal(guest_regex_compilations() - n0, 2);
        assert_string_equal(guest_pattern_text(a.guest), "^vm$");
        assert_true(guest_pattern_match(a.merge_any, "vm"));
        assert_false(guest_pattern_match(a.guest, "vm2"));

        n0 = guest_regex_compilations();
        assert_int_equal(conf_load_patterns(path, &a, &c, &b, NULL, NULL, err, sizeof(err)), 0);
        assert_int_equal(guest_regex_compilations() - n0, 0);
        assert_ptr_equal(b.guest, a.guest);
        conf_patterns_clear(&b);

        /* Defaults: the built-in guest pattern, no merge-any pattern. */
        conf_init_defaults(&c);
        n0 = guest_regex_compilations();
        assert_int_equal(conf_patterns_build(&c, &a, &b), 0);
        assert_int_equal(guest_regex_compilations() - n0, 1);
        assert_string_equal(guest_pattern_text(b.guest), GUEST_REGEX_DEFAULT);
        assert_null(b.merge_any);
        conf_patterns_clear(&b);
        conf_patterns_clear(&a);
        assert_null(a.guest);
        unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_shell_cases),
                cmocka_unit_test(test_not_a_regular_file),
                cmocka_unit_test(test_long_line),
                cmocka_unit_test(test_defaults_and_old_file),
                cmocka_unit_test(test_strings_and_bools),
                cmocka_unit_test(test_libvirt_uri),
                cmocka_unit_test(test_unknown_key_warns),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_key_names_complete),
                cmocka_unit_test(test_key_format),
                cmocka_unit_test(test_key_format_errors),
                cmocka_unit_test(test_load_patterns_shared),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
