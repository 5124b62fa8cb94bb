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
                { "kvm", false },
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
        GuestScanner *s = NULL;

        (void) state;
        assert_int_equal(guest_regex_compile("a(b", &re, why, sizeof(why)), -EINVAL);
        assert_true(strlen(why) > 0);
        assert_int_equal(guest_scanner_new(AT_FDCWD, "[", &s), -EINVAL);
        assert_null(s);
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

        assert_int_equal(guest_scanner_new(root_fd, pattern, &s), 0);
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
        assert_int_equal(guest_scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
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
        assert_int_equal(guest_scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
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

        assert_int_equal(guest_scanner_new(fd, GUEST_REGEX_DEFAULT, &s), 0);
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
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
