/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest-like process for tests and benchmarks: anonymous memory marked
 * MADV_MERGEABLE with a known make-up, named so ksmtuned's default pattern
 * finds it.
 *
 *   fake-guest [--mib N] [--shared PCT] [--zero PCT] [--volatile PCT]
 *              [--name COMM] [--seed N] [--rewrite-ms MS] [--no-madvise]
 *              [--merge-any]
 *
 * Pages: shared ones hold content identical across all fake guests (page i
 * holds pattern i, so within a guest they are distinct too); zero pages are
 * all zero; volatile pages are rewritten every --rewrite-ms; the rest are
 * unique (seeded by --seed and the pid). It prints one line
 * "ready pid=P pages=N shared=S zero=Z volatile=V unique=U" and then waits
 * for SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static void fill(uint64_t *page, size_t words, uint64_t a, uint64_t b) {
        for (size_t w = 0; w < words; w++)
                page[w] = a * 0x9E3779B97F4A7C15ull + b + w;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "mib",        required_argument, NULL, 'm' },
                { "shared",     required_argument, NULL, 's' },
                { "zero",       required_argument, NULL, 'z' },
                { "volatile",   required_argument, NULL, 'v' },
                { "name",       required_argument, NULL, 'n' },
                { "seed",       required_argument, NULL, 'S' },
                { "rewrite-ms", required_argument, NULL, 'r' },
                { "no-madvise", no_argument,       NULL, 'M' },
                { "merge-any",  no_argument,       NULL, 'A' },
                {}
        };
        unsigned long mib = 64, shared_pct = 100, zero_pct = 0, volatile_pct = 0, seed = 1, rewrite_ms = 1000;
        const char *name = "qemu-system-x86";
        int madv = 1, merge_any = 0, c;
        long psize = sysconf(_SC_PAGESIZE);

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                char *end;
                unsigned long v = 0;

                if (c != 'n' && c != 'M' && c != 'A') {
                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno || *end || end == optarg) {
                                fprintf(stderr, "fake-guest: bad number '%s'\n", optarg);
                                return 2;
                        }
                }
                switch (c) {
                case 'm': mib = v; break;
                case 's': shared_pct = v; break;
                case 'z': zero_pct = v; break;
                case 'v': volatile_pct = v; break;
                case 'S': seed = v; break;
                case 'r': rewrite_ms = v ? v : 1; break;
                case 'n': name = optarg; break;
                case 'M': madv = 0; break;
                case 'A': merge_any = 1; break;
                default: return 2;
                }
        }
        if (shared_pct + zero_pct + volatile_pct > 100 || mib == 0) {
                fprintf(stderr, "fake-guest: --shared + --zero + --volatile must be <= 100 and --mib > 0\n");
                return 2;
        }
        if (prctl(PR_SET_NAME, name, 0, 0, 0) < 0) {
                perror("fake-guest: prctl(PR_SET_NAME)");
                return 1;
        }

        size_t len = mib << 20, pages = len / (size_t) psize, words = (size_t) psize / sizeof(uint64_t);
        size_t n_shared = pages * shared_pct / 100, n_zero = pages * zero_pct / 100;
        size_t n_volatile = pages * volatile_pct / 100, n_unique = pages - n_shared - n_zero - n_volatile;
        char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                perror("fake-guest: mmap");
                return 1;
        }
        /* PR_SET_MEMORY_MERGE (Linux 6.4): the whole process, as ksmtuned's
         * KSM_MERGE_ANY_REGEX does for others on a patched kernel. */
        if (merge_any && prctl(67, 1, 0, 0, 0) < 0) {
                perror("fake-guest: prctl(PR_SET_MEMORY_MERGE)");
                return 1;
        }
        if (madv && madvise(mem, len, MADV_MERGEABLE) < 0) {
                perror("fake-guest: madvise(MADV_MERGEABLE)");
                return 1;
        }
        /* Layout: shared | zero | volatile | unique. */
        for (size_t i = 0; i < pages; i++) {
                uint64_t *p = (uint64_t *) (mem + i * (size_t) psize);

                if (i < n_shared)
                        fill(p, words, i + 1, 0);
                else if (i < n_shared + n_zero)
                        memset(p, 0, (size_t) psize);       /* write faults allocate real pages */
                else
                        fill(p, words, i + 1, (seed << 32) ^ ((uint64_t) getpid() << 8) ^ 0x5bd1e995u);
        }

        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        printf("ready pid=%d pages=%zu shared=%zu zero=%zu volatile=%zu unique=%zu\n",
               (int) getpid(), pages, n_shared, n_zero, n_volatile, n_unique);
        fflush(stdout);

        uint64_t gen = 0;
        while (!stop) {
                struct timespec ts = { (time_t) (rewrite_ms / 1000), (long) (rewrite_ms % 1000) * 1000000L };
                nanosleep(&ts, NULL);
                if (n_volatile == 0)
                        continue;
                gen++;
                for (size_t i = n_shared + n_zero; i < n_shared + n_zero + n_volatile; i++)
                        ((uint64_t *) (mem + i * (size_t) psize))[0] = gen ^ i;
        }
        return 0;
}
