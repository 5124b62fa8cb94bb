/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src/ksmtuned/proc-events.c against the kernel's real process connector
 * (root and CONFIG_PROC_EVENTS, else skipped): a storm of short-lived
 * processes makes it unsubscribe and close its socket, so that nothing more
 * is read while the storm goes on; the caller's resume subscribes again, so
 * does the end of the pause by itself (reported to the caller), and a
 * process that execs into a guest name is then checked again. Every wait
 * has a generous limit and the assertions are on counters, not on
 * durations: the machine may be busy with other work.
 */
#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "macro.h"
#include "proc-events.h"
#include "units.h"

/* How long to wait for something that takes milliseconds on a quiet machine. */
#define PATIENCE_USEC (60 * USEC_PER_SEC)
#define GUEST_COMM "qemu-system-x86"    /* what the kernel keeps of qemu-system-x86_64 */

typedef struct Watch {
        pid_t want;                     /* the process to find */
        unsigned long long found;       /* checks that found it a guest */
        unsigned long long resumed;     /* pauses that ended by themselves */
} Watch;

static int on_check(pid_t pid, void *userdata) {
        Watch *w = userdata;
        char path[64], comm[32] = "";
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -ESRCH;
        if (!fgets(comm, sizeof(comm), f))
                comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        /* Other processes may carry a guest's name: only ours counts. */
        if (pid != w->want || strcmp(comm, GUEST_COMM) != 0)
                return 0;
        w->found++;
        return 1;
}

static void on_exited(pid_t pid, void *userdata) {
        (void) pid, (void) userdata;
}

static void on_changed(void *userdata) {
        (void) userdata;
}

static void on_resumed(void *userdata) {
        Watch *w = userdata;

        w->resumed++;
}

static const ProcEventsOps ops = { .check = on_check, .exited = on_exited, .changed = on_changed,
                                   .resumed = on_resumed };

/* How many NETLINK_CONNECTOR sockets this process holds: the inodes of
 * /proc/self/net/netlink with protocol 11, among the links of /proc/self/fd. */
static unsigned connector_sockets(void) {
        unsigned long inodes[64];
        size_t n = 0;
        unsigned count = 0;
        char line[512];
        struct dirent *de;
        FILE *f;
        DIR *d;

        f = fopen("/proc/self/net/netlink", "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f) && n < ELEMENTSOF(inodes)) {
                unsigned long inode;
                int proto;

                /* sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode */
                if (sscanf(line, "%*s %d %*s %*s %*s %*s %*s %*s %*s %lu", &proto, &inode) == 2 &&
                    proto == NETLINK_CONNECTOR)
                        inodes[n++] = inode;
        }
        fclose(f);
        d = opendir("/proc/self/fd");
        assert_non_null(d);
        while ((de = readdir(d))) {
                char path[300], target[64];
                unsigned long inode;
                ssize_t k;

                snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                k = readlink(path, target, sizeof(target) - 1);
                if (k <= 0)
                        continue;
                target[k] = '\0';
                if (sscanf(target, "socket:[%lu]", &inode) != 1)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (inodes[i] == inode)
                                count++;
        }
        closedir(d);
        return count;
}

/* Fork a child that dies with the test, even one that fails half-way. */
static pid_t fork_child(void) {
        pid_t parent = getpid(), pid = fork();

        assert_true(pid >= 0);
        if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
                _exit(1);
        return pid;
}

/* A child that execs /bin/true as fast as it can (an exec and an exit
 * event each), counting them in *count (shared memory), until killed.
 * The execs make the reader pace itself, so that it reads batches. */
static pid_t storm_start(volatile unsigned long *count) {
        pid_t pid = fork_child();

        if (pid > 0)
                return pid;
        for (;;) {
                pid_t c = fork();

                if (c == 0) {
                        execl("/bin/true", "true", (char *) NULL);
                        _exit(127);
                }
                if (c > 0)
                        (void) waitpid(c, NULL, 0);
                (*count)++;
        }
}

static void stop_child(pid_t pid) {
        kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

/* Run the loop until done(p, arg) or the patience is out. Returns done's last answer. */
static bool run_until(sd_event *e, ProcEvents *p, bool (*done)(ProcEvents *p, const void *arg), const void *arg) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + PATIENCE_USEC;

        while (!done(p, arg) && now_usec(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        return done(p, arg);
}

static bool storms_at_least(ProcEvents *p, const void *arg) {
        ProcEventsStats st;

        proc_events_stats(p, &st);
        return st.storms >= *(const unsigned long long *) arg;
}

static bool resumed_at_least(ProcEvents *p, const void *arg) {
        const Watch *w = arg;

        (void) p;
        return w->resumed >= 1;
}

static bool found_or_paused(ProcEvents *p, const void *arg) {
        const Watch *w = arg;
        ProcEventsStats st;

        proc_events_stats(p, &st);
        return w->found > 0 || st.paused;
}

static void test_storm_unsubscribes(void **state) {
        volatile unsigned long *count;
        unsigned long long one = 1, two = 2, before;
        ProcEventsStats st;
        ProcEvents *p = NULL;
        sd_event *e = NULL;
        Watch w = {};
        char why[256];
        pid_t storm;

        (void) state;
        count = mmap(NULL, sizeof(*count), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(count != MAP_FAILED);
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(proc_events_new(e, &ops, &w, &p, why, sizeof(why)), 0);
        assert_int_equal(connector_sockets(), 1);

        storm = storm_start(count);
        if (!run_until(e, p, storms_at_least, &one))
                fail_msg("a storm of %lu processes: expected a storm counted, none was", *count);
        proc_events_stats(p, &st);
        assert_true(st.paused);
        if (connector_sockets() != 0)
                fail_msg("after a storm: expected the connector socket closed, %u open", connector_sockets());

        /* The storm goes on, and nothing more is read. */
        before = st.messages;
        for (unsigned long c0 = *count; *count - c0 < 200;) {
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
                assert_int_equal(waitpid(storm, NULL, WNOHANG), 0);
        }
        proc_events_stats(p, &st);
        if (st.messages != before)
                fail_msg("while paused: expected %llu messages, %llu were read", before, st.messages);

        /* A resume while it goes on: listening again. Let the socket fill
         * with more than twice a batch of the storm's events before the
         * first read: the budget is checked batch by batch, so the read
         * stops at the one event that tells the storm, not at the end of a
         * batch or of the queue. */
        assert_int_equal(proc_events_resume(p), 1);
        assert_int_equal(connector_sockets(), 1);
        proc_events_stats(p, &st);
        assert_false(st.paused);
        for (unsigned long c0 = *count; *count - c0 < PROC_EVENTS_BUDGET + 1;)
                usleep(10 * 1000);
        if (!run_until(e, p, storms_at_least, &two))
                fail_msg("after the resume: expected a second storm counted, none was");
        proc_events_stats(p, &st);
        assert_int_equal(connector_sockets(), 0);
        if (st.messages - before != PROC_EVENTS_BUDGET + 1)
                fail_msg("a storm after the resume: expected %u events read, %llu were", PROC_EVENTS_BUDGET + 1,
                         st.messages - before);
        /* The caller's resume is not reported back to it. */
        assert_int_equal(w.resumed, 0);

        /* Left alone, the pause ends by itself (PROC_EVENTS_PAUSE_USEC),
         * says so, and the storm that goes on trips the budget again. */
        if (!run_until(e, p, resumed_at_least, &w))
                fail_msg("after a storm: expected the pause to end by itself, it did not");
        assert_int_equal(w.resumed, 1);
        if (!run_until(e, p, storms_at_least, &(unsigned long long) { 3 }))
                fail_msg("after the pause ended: expected the lasting storm counted again, it was not");
        stop_child(storm);

        /* Quiet again: a process that execs into a guest's name is checked.
         * Another storm on the machine may trip the budget first: then
         * resume and try again with a new process. */
        char dir[] = "/tmp/test-proc-events.XXXXXX", path[sizeof(dir) + 32];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/qemu-system-x86_64", dir);
        assert_int_equal(symlink("/bin/sleep", path), 0);
        for (unsigned attempt = 0; attempt < 20 && w.found == 0; attempt++) {
                (void) proc_events_resume(p);
                w.want = fork_child();
                if (w.want == 0) {
                        execl(path, "qemu-system-x86_64", "30", (char *) NULL);
                        _exit(127);
                }
                (void) run_until(e, p, found_or_paused, &w);
                stop_child(w.want);
        }
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
        if (w.found == 0)
                fail_msg("after the storm: expected a new guest process checked, none was");

        proc_events_free(p);
        assert_int_equal(connector_sockets(), 0);
        sd_event_unref(e);
        munmap((void *) count, sizeof(*count));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_storm_unsubscribes),
        };
        ProcEvents *p = NULL;
        sd_event *e = NULL;
        Watch w = {};
        char why[256];
        int r;

        if (geteuid() != 0) {
                printf("SKIP: process events need root\n");
                return 77;
        }
        if (sd_event_new(&e) < 0)
                return 1;
        r = proc_events_new(e, &ops, &w, &p, why, sizeof(why));
        proc_events_free(p);
        sd_event_unref(e);
        if (r < 0) {
                printf("SKIP: %s\n", why);
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
