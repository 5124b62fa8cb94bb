/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guests.h"
#include "macro.h"

static void test_default_regex(void **state) {
        static const struct { const char *comm; bool match; } rows[] = {
                { "qemu-kvm", true },
                { "qemu-system-x86", true },            /* qemu-system-x86_64 cut to 15 */
                { "qemu-system-aar", true },
                { "qemu:guest01", true },
                { "qemu:12345678901", true },           /* 11 characters after the colon */
                { "qemu:", false },
                { "qemu", false },
                { "qemu-img", false },
                { "qemu-system-", false },
                { "kvm", true },                        /* Proxmox VE's /usr/bin/kvm */
                { "kvmx", false },
                { "kvm-pit/1234", false },
                { "xqemu-kvm", false },
                { "qemu-kvmx", false },
                { "", false },
        };
        regex_t re;

        (void) state;
        assert_int_equal(guest_regex_compile(GUEST_REGEX_DEFAULT, &re, NULL, 0), 0);
        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                if (guest_regex_match(&re, rows[i].comm) != rows[i].match)
                        fail_msg("'%s': expected %s", rows[i].comm, rows[i].match ? "match" : "no match");
        regfree(&re);
}

static void test_bad_regex(void **state) {
        regex_t re;
        char why[128] = "";
        GuestPattern *p = NULL;

        (void) state;
        assert_int_equal(guest_regex_compile("a(b", &re, why, sizeof(why)), -EINVAL);
        assert_true(strlen(why) > 0);
        assert_int_equal(guest_pattern_new("[", &p, NULL, 0), -EINVAL);
        assert_null(p);
}

/* A scanner for the processes named as pattern says. */
static int scanner_new(int root_fd, const char *pattern, GuestScanner **ret) {
        GuestPattern *p = NULL;
        int r;

        r = guest_pattern_new(pattern, &p, NULL, 0);
        if (r < 0)
                return r;
        r = guest_scanner_new(root_fd, p, ret);
        guest_pattern_unref(p);
        return r;
}

/* A child with a unique name and a known amount of touched memory. */
static pid_t spawn(const char *name, size_t mib, int *ready_fd) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (mem == MAP_FAILED)
                        _exit(1);
                memset(mem, 1, mib << 20);
                prctl(PR_SET_NAME, name, 0, 0, 0);
                (void) !write(p[1], "x", 1);
                pause();
                _exit(0);
        }
        close(p[1]);
        *ready_fd = p[0];
        char c;
        assert_int_equal(read(p[0], &c, 1), 1);
        return pid;
}

static void test_scan_real_processes(void **state) {
        char name[16], pattern[64];
        GuestScanner *s;
        GuestList l = {};
        int fd1, fd2;
        pid_t a, b;

        (void) state;
        snprintf(name, sizeof(name), "tg%d", (int) getpid() % 100000);
        snprintf(pattern, sizeof(pattern), "^%s$", name);
        int root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        a = spawn(name, 32, &fd1);
        b = spawn("unrelated-proc", 8, &fd2);

        assert_int_equal(scanner_new(root_fd, pattern, &s), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.procs[0].pid, a);
        assert_string_equal(l.procs[0].comm, name);
        /* 32 MiB touched, plus the binary and libc. */
        if (l.rss_kib < 32 * 1024 || l.rss_kib > 48 * 1024)
                fail_msg("expected RSS about 32768 KiB, got %ju", (uintmax_t) l.rss_kib);
        assert_true(guest_list_contains(&l, a));
        assert_false(guest_list_contains(&l, b));

        /* An extra pid (from libvirt) counts whatever its name; a pid both
         * matched and listed counts once. */
        pid_t extra[] = { b, a, b };
        assert_int_equal(guest_scanner_scan(s, extra, ELEMENTSOF(extra), &l), 0);
        assert_int_equal(l.n, 2);
        assert_true(l.procs[0].pid < l.procs[1].pid);
        assert_true(guest_list_contains(&l, b));
        assert_int_equal(l.rss_kib, l.procs[0].rss_kib + l.procs[1].rss_kib);

        kill(a, SIGKILL);
        kill(b, SIGKILL);
        waitpid(a, NULL, 0);
        waitpid(b, NULL, 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 0);
        assert_int_equal(l.rss_kib, 0);
        guest_list_clear(&l);
        guest_scanner_free(s);
        close(fd1);
        close(fd2);
        close(root_fd);
}

static void put_proc(const char *root, int pid, const char *comm, uint64_t start_ticks, uint64_t rss_pages) {
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/proc/%d", root, pid);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/proc/%d/stat", root, pid);
        f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%d (%s) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %ju 0 %ju 0\n", pid, comm,
                (uintmax_t) start_ticks, (uintmax_t) rss_pages);
        fclose(f);
}

/* The scanner over a fixture /proc, step by step: each step sets the
 * processes, ns_last_pid, the extra pids and the pid files, scans (repeat
 * times) and expects exactly these guests. */
typedef struct FixtureProc {
        int pid;
        const char *comm;
        int age_s;                      /* seconds since it started; 0: since boot */
        unsigned rss_pages;
        int tgid;                       /* 0: a process; else the thread's process */
        const char *cgroup;             /* the 0:: line's path, NULL for "/user.slice" */
} FixtureProc;

typedef struct ScanStep {
        int last_pid;
        FixtureProc procs[6];
        int extra[4];
        const char *pidfiles[3];        /* "VMID:pid" in var/run/qemu-server */
        int want[6];
        unsigned want_rss_pages;
        unsigned repeat;                /* scans of this state (0: 1) */
} ScanStep;

/* A fixture process: pid, comm and any of the other fields by name. */
#define P(p, c, ...) { .pid = (p), .comm = (c), __VA_ARGS__ }

typedef struct ScanCase {
        const char *name;
        ScanStep steps[4];
} ScanCase;

static const ScanCase scan_cases[] = {
        { "a guest listed above the ns_last_pid read before the listing counts once (not twice for 63 scans)", {
                { .last_pid = 20, .procs = { P(10, "bash"), P(25, "qemu-kvm", .rss_pages = 1000) }, .want = { 25 }, .want_rss_pages = 1000 },
                { .last_pid = 30, .procs = { P(10, "bash"), P(25, "qemu-kvm", .rss_pages = 1000) }, .want = { 25 }, .want_rss_pages = 1000,
                  .repeat = 70 },
        } },
        { "a settled pid handed out again (reused) is read afresh", {
                { .last_pid = 20, .procs = { P(10, "bash"), P(30, "sshd") } },
                { .last_pid = 35, .procs = { P(10, "bash"), P(30, "qemu-kvm", .age_s = 1, .rss_pages = 300) }, .want = { 30 }, .want_rss_pages = 300 },
        } },
        { "a young process that execs qemu becomes a guest", {
                { .last_pid = 20, .procs = { P(10, "bash"), P(20, "libvirtd", .age_s = 1, .rss_pages = 50) } },
                { .last_pid = 20, .procs = { P(10, "bash"), P(20, "qemu-system-x86", .age_s = 2, .rss_pages = 400) }, .want = { 20 }, .want_rss_pages = 400 },
                { .last_pid = 20, .procs = { P(10, "bash") } },
        } },
        { "an old process renamed later is not read again", {
                { .last_pid = 20, .procs = { P(10, "bash") } },
                { .last_pid = 20, .procs = { P(10, "qemu-kvm", .rss_pages = 5) }, .repeat = 3 },
        } },
        { "a new thread named like qemu is not a second guest", {
                { .last_pid = 20, .procs = { P(20, "qemu-kvm", .rss_pages = 100) }, .want = { 20 }, .want_rss_pages = 100 },
                { .last_pid = 22, .procs = { P(20, "qemu-kvm", .rss_pages = 100), P(21, "qemu-kvm", .age_s = 0, .rss_pages = 100, .tgid = 20), P(22, "qemu-kvm", .age_s = 1, .rss_pages = 7) },
                  .want = { 20, 22 }, .want_rss_pages = 107 },
        } },
        { "one guest found by name, extra pid and pid file counts once", {
                { .last_pid = 20, .procs = { P(20, "kvm", .rss_pages = 64) }, .extra = { 20, 20 }, .pidfiles = { "100:20", "101:20" },
                  .want = { 20 }, .want_rss_pages = 64, .repeat = 2 },
        } },
        { "a Proxmox pid file makes a guest whatever its name; a pid file of no process is ignored", {
                { .last_pid = 20, .procs = { P(10, "bash"), P(20, "vm-runner", .rss_pages = 9) }, .pidfiles = { "100:20", "102:77" },
                  .want = { 20 }, .want_rss_pages = 9 },
                { .last_pid = 20, .procs = { P(10, "bash"), P(20, "vm-runner", .rss_pages = 9) }, .want = { } },
        } },
        { "a process under machine.slice is a guest whatever its name", {
                { .last_pid = 20, .procs = { P(10, "bash"), P(11, "bash", .cgroup = "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt"),
                        P(12, "bash", .cgroup = "/machine.sliced/x"), P(13, "systemd-nspawn", .age_s = 1, .rss_pages = 3, .cgroup = "/machine.slice") },
                  .want = { 11, 13 }, .want_rss_pages = 3 },
        } },
};

static void put_step(const char *root, const ScanStep *st, uint64_t now_ticks, uint64_t hz) {
        char cmd[700], rel[128], text[256];

        snprintf(cmd, sizeof(cmd), "cd '%s' && rm -rf proc/[0-9]* var/run/qemu-server/*", root);
        assert_int_equal(system(cmd), 0);
        snprintf(text, sizeof(text), "%d\n", st->last_pid);
        fixture_put(root, "proc/sys/kernel/ns_last_pid", text);
        for (const FixtureProc *p = st->procs; p < st->procs + ELEMENTSOF(st->procs) && p->pid; p++) {
                uint64_t start = p->age_s ? now_ticks - (uint64_t) p->age_s * hz : 0;

                put_proc(root, p->pid, p->comm, start, p->rss_pages);
                snprintf(rel, sizeof(rel), "proc/%d/status", p->pid);
                snprintf(text, sizeof(text), "Name:\t%s\nTgid:\t%d\nPid:\t%d\n", p->comm, p->tgid ?: p->pid, p->pid);
                fixture_put(root, rel, text);
                snprintf(rel, sizeof(rel), "proc/%d/cgroup", p->pid);
                snprintf(text, sizeof(text), "0::%s\n", p->cgroup ?: "/user.slice");
                fixture_put(root, rel, text);
        }
        for (size_t i = 0; i < ELEMENTSOF(st->pidfiles) && st->pidfiles[i]; i++) {
                int vmid, pid;

                assert_int_equal(sscanf(st->pidfiles[i], "%d:%d", &vmid, &pid), 2);
                snprintf(rel, sizeof(rel), "var/run/qemu-server/%d.pid", vmid);
                snprintf(text, sizeof(text), "%d\n", pid);
                fixture_put(root, rel, text);
        }
}

static void test_scan_table(void **state) {
        uint64_t hz = (uint64_t) sysconf(_SC_CLK_TCK), page_kib = (uint64_t) sysconf(_SC_PAGESIZE) / 1024;
        struct timespec ts;

        (void) state;
        for (size_t c = 0; c < ELEMENTSOF(scan_cases); c++) {
                const ScanCase *sc = &scan_cases[c];
                char root[] = "/tmp/test-guests.XXXXXX", cmd[600];
                GuestScanner *s;
                GuestList l = {};
                int fd;

                assert_non_null(mkdtemp(root));
                snprintf(cmd, sizeof(cmd), "mkdir -p '%s/proc/sys/kernel' '%s/var/run/qemu-server'", root, root);
                assert_int_equal(system(cmd), 0);
                fd = open(root, O_RDONLY | O_DIRECTORY);
                assert_true(fd >= 0);
                assert_int_equal(scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
                assert_int_equal(guest_scanner_set_rules(s, root, GUEST_CGROUPS_DEFAULT, GUEST_PIDFILES_DEFAULT,
                                                         GUEST_MEASURE_RSS), 0);
                for (size_t i = 0; i < ELEMENTSOF(sc->steps) && sc->steps[i].procs[0].pid; i++) {
                        const ScanStep *st = &sc->steps[i];
                        size_t n_extra = 0, n_want = 0;

                        clock_gettime(CLOCK_BOOTTIME, &ts);
                        put_step(root, st, (uint64_t) ts.tv_sec * hz, hz);
                        while (n_extra < ELEMENTSOF(st->extra) && st->extra[n_extra])
                                n_extra++;
                        while (n_want < ELEMENTSOF(st->want) && st->want[n_want])
                                n_want++;
                        for (unsigned k = 0; k < (st->repeat ?: 1); k++) {
                                pid_t extra[ELEMENTSOF(st->extra)];

                                for (size_t j = 0; j < n_extra; j++)
                                        extra[j] = st->extra[j];
                                assert_int_equal(guest_scanner_scan(s, extra, n_extra, &l), 0);
                                bool same = l.n == n_want && l.rss_kib == st->want_rss_pages * page_kib;
                                for (size_t j = 0; same && j < n_want; j++)
                                        same = l.procs[j].pid == st->want[j];
                                if (!same) {
                                        char got[256] = "";
                                        for (size_t j = 0; j < l.n && strlen(got) < 200; j++)
                                                snprintf(got + strlen(got), sizeof(got) - strlen(got), " %d",
                                                         (int) l.procs[j].pid);
                                        fail_msg("%s, step %zu, scan %u: expected %zu guest(s), %u pages; got%s (%zu), %ju KiB",
                                                 sc->name, i + 1, k + 1, n_want, st->want_rss_pages, got, l.n,
                                                 (uintmax_t) l.rss_kib);
                                }
                        }
                }
                guest_list_clear(&l);
                guest_scanner_free(s);
                close(fd);
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
                assert_int_equal(system(cmd), 0);
        }
}

/* KSM_GUEST_MEMORY=pss: a guest's PSS from smaps_rollup; a guest whose
 * smaps_rollup cannot be read counts by its RSS and is reported. */
static void test_scan_pss(void **state) {
        char root[] = "/tmp/test-guests.XXXXXX", cmd[600];
        uint64_t page_kib = (uint64_t) sysconf(_SC_PAGESIZE) / 1024;
        GuestScanner *s;
        GuestList l = {};
        int fd;

        (void) state;
        assert_non_null(mkdtemp(root));
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s/proc/sys/kernel' '%s/proc/30/smaps_rollup'", root, root);
        assert_int_equal(system(cmd), 0);
        fixture_put(root, "proc/sys/kernel/ns_last_pid", "40\n");
        put_proc(root, 20, "qemu-kvm", 0, 1000);
        fixture_put(root, "proc/20/smaps_rollup", "1000-2000 ---p 00000000 00:00 0 [rollup]\nRss: 4000 kB\nPss:  1234 kB\n");
        put_proc(root, 30, "qemu-kvm", 0, 10);          /* smaps_rollup is a directory: unreadable */
        fd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);

        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.rss_kib, 1010 * page_kib);      /* rss by default */
        assert_int_equal(l.n_pss_unread, 0);

        assert_int_equal(guest_scanner_set_rules(s, root, "", "", GUEST_MEASURE_PSS), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.procs[0].rss_kib, 1234);
        assert_int_equal(l.procs[1].rss_kib, 10 * page_kib);
        assert_int_equal(l.rss_kib, 1234 + 10 * page_kib);
        assert_int_equal(l.n_pss_unread, 1);

        guest_list_clear(&l);
        guest_scanner_free(s);
        close(fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

/* What the scan remembers, on a fixture /proc: a settled non-guest is not
 * read again (renaming it goes unseen, unless libvirt names its pid), a
 * young one is, until it turns out to be a guest. */
/* Between listings only new pids (after ns_last_pid) are probed; a thread
 * that carries qemu's name is not a second guest. */
static void test_scan_probe(void **state) {
        char root[] = "/tmp/test-guests.XXXXXX", path[512], cmd[600];
        GuestScanner *s;
        GuestList l = {};
        int fd;

        (void) state;
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/proc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/proc/sys", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/proc/sys/kernel", root);
        assert_int_equal(mkdir(path, 0755), 0);
        fixture_put(root, "proc/sys/kernel/ns_last_pid", "20\n");
        put_proc(root, 10, "bash", 0, 100);
        put_proc(root, 20, "qemu-kvm", 0, 1000);
        fd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 1);

        /* A new guest (40) with a thread (41) still named like it. A pid
         * below ns_last_pid that was not there before (15) is not looked
         * for: pids are handed out in order. */
        put_proc(root, 40, "qemu-kvm", 0, 500);
        fixture_put(root, "proc/40/status", "Name:\tqemu-kvm\nTgid:\t40\nPid:\t40\n");
        put_proc(root, 41, "qemu-kvm", 0, 500);
        fixture_put(root, "proc/41/status", "Name:\tqemu-kvm\nTgid:\t40\nPid:\t41\n");
        put_proc(root, 15, "qemu-kvm", 0, 7);
        fixture_put(root, "proc/sys/kernel/ns_last_pid", "41\n");
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.procs[0].pid, 20);
        assert_int_equal(l.procs[1].pid, 40);

        /* pids wrapped: list /proc again, and find 15. (The real /proc does
         * not list threads: take 41 out of the listing.) */
        snprintf(cmd, sizeof(cmd), "rm -r '%s/proc/41'", root);
        assert_int_equal(system(cmd), 0);
        fixture_put(root, "proc/sys/kernel/ns_last_pid", "5\n");
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 3);
        assert_int_equal(l.procs[0].pid, 15);

        /* A guest exits between listings. */
        snprintf(cmd, sizeof(cmd), "rm -r '%s/proc/20'", root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 2);
        assert_false(guest_list_contains(&l, 20));

        guest_list_clear(&l);
        guest_scanner_free(s);
        close(fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

/* Two guests of 2^63 KiB (absurd stat files) summed to 0: saturate. */
static void test_scan_sum_saturates(void **state) {
        char root[] = "/tmp/test-guests.XXXXXX", path[512], cmd[600];
        uint64_t page_kib = (uint64_t) sysconf(_SC_PAGESIZE) / 1024;
        GuestScanner *s;
        GuestList l = {};
        int fd;

        (void) state;
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/proc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        put_proc(root, 20, "qemu-kvm", 0, (UINT64_C(1) << 63) / page_kib);
        put_proc(root, 21, "qemu-kvm", 0, (UINT64_C(1) << 63) / page_kib);
        put_proc(root, 22, "qemu-kvm", 0, UINT64_MAX);         /* pages * page_kib overflows */
        fd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);
        assert_int_equal(scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 3);
        assert_true(l.procs[2].rss_kib == UINT64_MAX);
        assert_true(l.rss_kib == UINT64_MAX);
        guest_list_clear(&l);
        guest_scanner_free(s);
        close(fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

static void test_scan_cache(void **state) {
        char root[] = "/tmp/test-guests.XXXXXX", path[512], cmd[600];
        struct timespec ts;
        uint64_t hz = (uint64_t) sysconf(_SC_CLK_TCK), page_kib = (uint64_t) sysconf(_SC_PAGESIZE) / 1024, now;
        GuestScanner *s;
        GuestList l = {};
        int fd;

        (void) state;
        clock_gettime(CLOCK_BOOTTIME, &ts);
        now = (uint64_t) ts.tv_sec * hz;
        assert_non_null(mkdtemp(root));
        snprintf(path, sizeof(path), "%s/proc", root);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/proc/self", root);
        assert_int_equal(mkdir(path, 0755), 0);
        put_proc(root, 10, "bash", 0, 100);                     /* old, not a guest */
        put_proc(root, 20, "qemu-kvm", 0, 1000);               /* old guest */
        put_proc(root, 30, "libvirtd", now, 50);               /* just forked */
        fd = open(root, O_RDONLY | O_DIRECTORY);
        assert_true(fd >= 0);

        assert_int_equal(scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.procs[0].pid, 20);
        assert_int_equal(l.rss_kib, 1000 * page_kib);

        /* The young one execs qemu; the old one is renamed; the guest grows. */
        put_proc(root, 30, "qemu-system-x86", now, 300);
        put_proc(root, 10, "qemu-kvm", 0, 100);
        put_proc(root, 20, "qemu-kvm", 0, 2000);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.procs[0].pid, 20);
        assert_int_equal(l.procs[1].pid, 30);
        assert_int_equal(l.rss_kib, 2300 * page_kib);

        /* libvirt names pid 10: read whatever its name. */
        pid_t extra[] = { 10 };
        assert_int_equal(guest_scanner_scan(s, extra, 1, &l), 0);
        assert_int_equal(l.n, 3);
        assert_true(guest_list_contains(&l, 10));

        /* A guest exits; pid 10, a guest since libvirt named it, is read
         * again and now matches by its new name too. */
        snprintf(cmd, sizeof(cmd), "rm -r '%s/proc/20'", root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(guest_scanner_scan(s, NULL, 0, &l), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.procs[0].pid, 10);
        assert_int_equal(l.procs[1].pid, 30);

        guest_list_clear(&l);
        guest_scanner_free(s);
        close(fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_regex),
                cmocka_unit_test(test_bad_regex),
                cmocka_unit_test(test_scan_real_processes),
                cmocka_unit_test(test_scan_cache),
                cmocka_unit_test(test_scan_sum_saturates),
                cmocka_unit_test(test_scan_probe),
                cmocka_unit_test(test_scan_table),
                cmocka_unit_test(test_scan_pss),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
