/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fixture.h"
#include <errno.h>
#include <fcntl.h>
#include <libproc2/pids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "procfs.h"

typedef struct Row {
        const char *name, *text;
        int ret;
        ProcStat want;
} Row;

static const Row rows[] = {
        { "qemu as Linux 6.18 prints it",
          "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 100 0 0 0 50 20 0 0 20 0 3 0 123456 2200000000 262900 "
          "18446744073709551615 1 1 0 0 0\n",
          0, { "qemu-system-x86", 'S', 1, 70, 123456, 262900 } },
        { "ksmd, a kernel thread",
          "37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 1234 567 0 0 25 5 1 0 16 0 0 18446744073709551615 0 0 0 0 0 0 0 "
          "2147483647 0 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
          0, { "ksmd", 'S', 2, 1801, 16, 0 } },
        { "a name with spaces and parentheses",
          "7 (a) b (c)) Z 1 1 1 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 99 0 5\n", 0, { "a) b (c)", 'Z', 1, 30, 99, 5 } },
        { "a name of 15 characters", "7 (123456789012345) R 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n",
          0, { "123456789012345", 'R', 0, 0, 5, 0 } },
        { "name longer than 15", "7 (0123456789abcdef) S 2 0 0 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 5 0 0\n", .ret = -EBADMSG },
        { "cut short before rss", "7 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0\n", .ret = -EBADMSG },
        { "cut short before stime", "37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 1234", .ret = -EBADMSG },
        { "non-numeric starttime", "7 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 y 0 5\n", .ret = -EBADMSG },
        { "non-numeric utime", "37 (ksmd) S 2 0 0 0 -1 0 0 0 0 0 x 2 0 0 20 0 1 0 5 0 0\n", .ret = -EBADMSG },
        { "negative rss", "7 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 -5\n", .ret = -EBADMSG },
        { "utime + stime overflow",
          "7 (x) R 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 1 0 0 20 0 1 0 9 0 5\n", .ret = -EBADMSG },
        { "no parentheses", "7 x R 1\n", .ret = -EBADMSG },
        { "nothing after the name", "7 (x)", .ret = -EBADMSG },
        { "empty", "", .ret = -EBADMSG },
};

static void test_stat_parse(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                const Row *row = &rows[i];
                ProcStat st = { .comm = "unset", .rss_pages = 77 };
                int r = proc_stat_parse(row->text, &st);

                if (r != row->ret)
                        fail_msg("%s: expected %d, got %d", row->name, row->ret, r);
                if (r < 0) {
                        if (st.rss_pages != 77 || strcmp(st.comm, "unset") != 0)
                                fail_msg("%s: output written on failure", row->name);
                        continue;
                }
                if (strcmp(st.comm, row->want.comm) != 0 || st.state != row->want.state || st.ppid != row->want.ppid ||
                    st.cpu_ticks != row->want.cpu_ticks || st.start_ticks != row->want.start_ticks ||
                    st.rss_pages != row->want.rss_pages)
                        fail_msg("%s: expected %s %c ppid %d cpu %ju start %ju rss %ju, got %s %c ppid %d cpu %ju start %ju rss %ju",
                                 row->name, row->want.comm, row->want.state, (int) row->want.ppid,
                                 (uintmax_t) row->want.cpu_ticks, (uintmax_t) row->want.start_ticks,
                                 (uintmax_t) row->want.rss_pages, st.comm, st.state, (int) st.ppid,
                                 (uintmax_t) st.cpu_ticks, (uintmax_t) st.start_ticks, (uintmax_t) st.rss_pages);
        }
}

static void make_dir(const char *root, const char *rel) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        assert_int_equal(mkdir(path, 0755), 0);
}

/* Kernel threads by PF_KTHREAD in field 9, whatever the length of comm. */
static void test_stat_is_kernel_thread(void **state) {
        static const struct {
                const char *name, *text;
                int ret;
        } kt_rows[] = {
                { "ksmd", "37 (ksmd) S 2 0 0 0 -1 2097216 0 0 0 0 1234 567\n", 1 },
                { "kthreadd", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0\n", 1 },
                { "a kernel thread's full name, longer than 15",
                  "3 (pool_workqueue_release) S 2 0 0 0 -1 2129984 0 0 0 0 0 0\n", 1 },
                { "a user process", "40 (qemu-kvm) S 1 1 1 0 -1 4194560 0 0 0 0 3 4\n", 0 },
                { "a name with ') ' in it", "41 (a) S 2 0 0 0 -1 2097216) S 1 1 1 0 -1 0 0 0\n", 0 },
                { "flags not a number", "37 (ksmd) S 2 0 0 0 -1 x 0 0\n", -EBADMSG },
                { "flags negative", "37 (ksmd) S 2 0 0 0 -1 -2097216 0 0\n", -EBADMSG },
                { "cut short before flags", "37 (ksmd) S 2 0 0 0 -1", -EBADMSG },
                { "cut short at flags", "37 (ksmd) S 2 0 0 0 -1 ", -EBADMSG },
                { "no parentheses", "37 ksmd S 2 0 0 0 -1 2097216 0\n", -EBADMSG },
                { "empty", "", -EBADMSG },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(kt_rows); i++) {
                int r = proc_stat_is_kernel_thread(kt_rows[i].text);

                if (r != kt_rows[i].ret)
                        fail_msg("%s: expected %d, got %d", kt_rows[i].name, kt_rows[i].ret, r);
        }
}

/* A fixture tree: the listing gives the numeric entries only, files of a
 * pid that is not there are -ESRCH, threads are told from processes. */
static void test_fixture_tree(void **state) {
        char root[] = "/tmp/test-procfs.XXXXXX", cmd[600];
        _cleanup_close_ int root_fd = -1, fd = -1;
        ProcIter it = {};
        ProcStat st;
        char comm[16];
        pid_t pid, seen[8];
        size_t n = 0;
        int r;

        (void) state;
        assert_non_null(mkdtemp(root));
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        assert_int_equal(proc_open(root_fd), -ENOENT);
        make_dir(root, "proc");
        make_dir(root, "proc/self");
        make_dir(root, "proc/sys");
        make_dir(root, "proc/0");
        make_dir(root, "proc/012");
        make_dir(root, "proc/99999999999");
        make_dir(root, "proc/12x");
        make_dir(root, "proc/1");
        make_dir(root, "proc/40");
        make_dir(root, "proc/41");
        fixture_put(root, "proc/1/comm", "systemd\n");
        fixture_put(root, "proc/40/stat", "40 (qemu-kvm) S 1 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 500 0 256\n");
        fixture_put(root, "proc/40/status", "Name:\tqemu-kvm\nTgid:\t40\nPid:\t40\n");
        fixture_put(root, "proc/41/status", "Name:\tqemu-kvm\nTgid:\t40\nPid:\t41\n");
        fixture_put(root, "proc/41/stat", "41 (qemu-kvm S\n");
        fd = proc_open(root_fd);
        assert_true(fd >= 0);

        assert_int_equal(proc_iter_start(&it, fd), 0);
        for (int pass = 0; pass < 2; pass++) {
                n = 0;
                while ((r = proc_iter_next(&it, &pid)) > 0 && n < ELEMENTSOF(seen))
                        seen[n++] = pid;
                assert_int_equal(r, 0);
                assert_int_equal(n, 3);
                /* Directory order is the file system's: compare as a set. */
                bool has1 = false, has40 = false, has41 = false;
                for (size_t i = 0; i < n; i++) {
                        has1 |= seen[i] == 1;
                        has40 |= seen[i] == 40;
                        has41 |= seen[i] == 41;
                }
                assert_true(has1 && has40 && has41);
                assert_int_equal(proc_iter_start(&it, fd), 0);  /* again, from the start */
        }
        proc_iter_done(&it);

        assert_int_equal(proc_read_comm(fd, 1, comm), 0);
        assert_string_equal(comm, "systemd");
        assert_int_equal(proc_read_comm(fd, 2, comm), -ESRCH);
        assert_int_equal(proc_read_stat(fd, 40, &st), 0);
        assert_string_equal(st.comm, "qemu-kvm");
        assert_int_equal(st.cpu_ticks, 7);
        assert_int_equal(st.start_ticks, 500);
        assert_int_equal(st.rss_pages, 256);
        assert_int_equal(proc_read_stat(fd, 41, &st), -EBADMSG);
        assert_int_equal(proc_read_stat(fd, 2, &st), -ESRCH);
        assert_int_equal(proc_is_kernel_thread(fd, 40), 0);
        assert_int_equal(proc_is_kernel_thread(fd, 41), -EBADMSG);
        assert_int_equal(proc_is_kernel_thread(fd, 2), -ESRCH);
        assert_int_equal(proc_is_process(fd, 40), 1);
        assert_int_equal(proc_is_process(fd, 41), 0);
        assert_int_equal(proc_is_process(fd, 1), -ESRCH);

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

/* The live /proc, read by this module and by procps' libproc2 (the
 * reference reader of /proc): every process both see agrees on name, start
 * time and resident size. */
enum { ITEM_PID, ITEM_CMD, ITEM_START, ITEM_RSS, _ITEM_MAX };

static void test_live_against_libproc2(void **state) {
        enum pids_item items[_ITEM_MAX] = {
                [ITEM_PID] = PIDS_ID_PID, [ITEM_CMD] = PIDS_CMD,
                [ITEM_START] = PIDS_TICS_BEGAN, [ITEM_RSS] = PIDS_VM_RSS,
        };
        struct pids_info *info = NULL;
        struct pids_fetch *f;
        _cleanup_close_ int root_fd = -1, fd = -1;
        uint64_t page_kib = (uint64_t) sysconf(_SC_PAGESIZE) / 1024;
        size_t compared = 0, self_seen = 0;
        ProcIter it = {};
        pid_t pid;
        int r;

        (void) state;
        root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(root_fd >= 0);
        fd = proc_open(root_fd);
        assert_true(fd >= 0);
        assert_true(procps_pids_new(&info, items, _ITEM_MAX) >= 0);
        f = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY);
        assert_non_null(f);
        for (int i = 0; i < f->counts->total; i++) {
                struct pids_result *h = f->stacks[i]->head;
                ProcStat st;

                if (proc_read_stat(fd, h[ITEM_PID].result.s_int, &st) < 0)
                        continue;       /* exited since */
                if (strcmp(st.comm, h[ITEM_CMD].result.str) != 0 ||
                    st.start_ticks != h[ITEM_START].result.ull_int)
                        fail_msg("pid %d: libproc2 reads %s started at %llu, procfs %s started at %ju",
                                 h[ITEM_PID].result.s_int, h[ITEM_CMD].result.str, h[ITEM_START].result.ull_int,
                                 st.comm, (uintmax_t) st.start_ticks);
                /* Resident size moves while processes run: ours (the live
                 * one) is compared only for this test's own process below. */
                if (h[ITEM_PID].result.s_int == getpid()) {
                        uint64_t theirs = h[ITEM_RSS].result.ul_int, ours = st.rss_pages * page_kib;
                        if (ours + 1024 < theirs || ours > theirs + 1024)
                                fail_msg("own RSS: libproc2 %ju KiB, procfs %ju KiB", (uintmax_t) theirs, (uintmax_t) ours);
                        self_seen++;
                }
                compared++;
        }
        assert_int_equal(self_seen, 1);
        assert_true(compared > 1);

        /* The listing finds this process too. */
        self_seen = 0;
        r = proc_iter_start(&it, fd);
        while (r >= 0 && (r = proc_iter_next(&it, &pid)) > 0)
                self_seen += pid == getpid();
        assert_int_equal(r, 0);
        assert_int_equal(self_seen, 1);
        assert_int_equal(proc_is_process(fd, getpid()), 1);
        proc_iter_done(&it);
        procps_pids_unref(&info);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stat_parse),
                cmocka_unit_test(test_stat_is_kernel_thread),
                cmocka_unit_test(test_fixture_tree),
                cmocka_unit_test(test_live_against_libproc2),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
