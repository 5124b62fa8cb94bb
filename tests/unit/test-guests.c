/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
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
        assert_int_equal(guest_scanner_new("[", &s), -EINVAL);
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
        a = spawn(name, 32, &fd1);
        b = spawn("unrelated-proc", 8, &fd2);

        assert_int_equal(guest_scanner_new(pattern, &s), 0);
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
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_regex),
                cmocka_unit_test(test_bad_regex),
                cmocka_unit_test(test_scan_real_processes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
