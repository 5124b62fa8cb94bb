/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest-like process for tests and benchmarks: anonymous memory marked
 * MADV_MERGEABLE with a known make-up, named so ksmtuned's default pattern
 * finds it.
 *
 *   fake-guest [--mib N] [--shared PCT] [--zero PCT] [--volatile PCT]
 *              [--name COMM] [--seed N] [--rewrite-ms MS] [--no-madvise]
 *              [--merge-any] [--image N] [--backing anon|memfd|thp|hugetlb]
 *              [--fill-after-ms MS] [--fill-ms MS]
 *
 * Pages: shared ones hold content identical across all fake guests of the
 * same --image (page i holds pattern i of that image, so within a guest they
 * are distinct too; images share nothing, like two OS images); zero pages are
 * all zero; volatile pages are rewritten every --rewrite-ms; the rest are
 * unique (seeded by --seed and the pid). It prints one line
 * "ready pid=P pages=N shared=S zero=Z volatile=V unique=U" and then waits
 * for SIGTERM/SIGINT.
 *
 * --backing chooses the memory that KSM is offered, for ksmctl doctor's
 * tests: private anonymous (the default), a memfd mapped MAP_SHARED (never
 * merged), anonymous memory that asks for transparent huge pages, or
 * hugetlbfs pages (MAP_HUGETLB: needs vm.nr_hugepages). Arguments after
 * "--" are ignored: they only show in /proc/PID/cmdline (a qemu-like
 * "-machine mem-merge=off").
 *
 * A real guest fills its RAM over a while after it starts: --fill-after-ms
 * waits that long before touching any page, --fill-ms spreads the filling
 * over that long, in a hundred steps.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
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

/* Returns the mapping or NULL (reported). */
static char *map_memory(const char *backing, size_t len) {
        const size_t huge = 2 << 20;
        char *mem;

        if (strcmp(backing, "anon") == 0 || strcmp(backing, "thp") == 0) {
                /* THP: a 2 MiB aligned start, so every huge page fits. */
                size_t extra = strcmp(backing, "thp") == 0 ? huge : 0;

                mem = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (mem == MAP_FAILED) {
                        perror("fake-guest: mmap");
                        return NULL;
                }
                if (extra) {
                        mem = (char *) (((uintptr_t) mem + huge - 1) & ~(uintptr_t) (huge - 1));
                        if (madvise(mem, len, MADV_HUGEPAGE) < 0) {
                                perror("fake-guest: madvise(MADV_HUGEPAGE)");
                                return NULL;
                        }
                }
                return mem;
        }
        if (strcmp(backing, "memfd") == 0) {
                int fd = memfd_create("guest-ram", MFD_CLOEXEC);

                if (fd < 0 || ftruncate(fd, (off_t) len) < 0) {
                        perror("fake-guest: memfd");
                        return NULL;
                }
                mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                close(fd);
                if (mem == MAP_FAILED) {
                        perror("fake-guest: mmap(memfd, MAP_SHARED)");
                        return NULL;
                }
                return mem;
        }
        if (strcmp(backing, "hugetlb") == 0) {
                mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
                if (mem == MAP_FAILED) {
                        perror("fake-guest: mmap(MAP_HUGETLB)");
                        return NULL;
                }
                return mem;
        }
        fprintf(stderr, "fake-guest: --backing must be anon, memfd, thp or hugetlb, not '%s'\n", backing);
        return NULL;
}

static void sleep_ms(unsigned long ms) {
        struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
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
                { "image",      required_argument, NULL, 'I' },
                { "backing",    required_argument, NULL, 'B' },
                { "fill-after-ms", required_argument, NULL, 'a' },
                { "fill-ms",    required_argument, NULL, 'f' },
                {}
        };
        unsigned long mib = 64, shared_pct = 100, zero_pct = 0, volatile_pct = 0, seed = 1, rewrite_ms = 1000, image = 0;
        unsigned long fill_after_ms = 0, fill_ms = 0;
        const char *name = "qemu-system-x86", *backing = "anon";
        int madv = 1, merge_any = 0, c;
        long psize = sysconf(_SC_PAGESIZE);

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                char *end;
                unsigned long v = 0;

                if (c != 'n' && c != 'M' && c != 'A' && c != 'B') {
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
                case 'I': image = v; break;
                case 'B': backing = optarg; break;
                case 'a': fill_after_ms = v; break;
                case 'f': fill_ms = v; break;
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
        char *mem = map_memory(backing, len);
        if (!mem)
                return 1;
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
        sleep_ms(fill_after_ms);
        /* Layout: shared | zero | volatile | unique. */
        for (size_t i = 0; i < pages; i++) {
                uint64_t *p = (uint64_t *) (mem + i * (size_t) psize);

                if (fill_ms && i % (pages / 100 + 1) == 0)
                        sleep_ms(fill_ms / 100);
                if (i < n_shared)
                        fill(p, words, i + 1, (uint64_t) image << 48);
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
                sleep_ms(rewrite_ms);
                if (n_volatile == 0)
                        continue;
                gen++;
                for (size_t i = n_shared + n_zero; i < n_shared + n_zero + n_volatile; i++)
                        ((uint64_t *) (mem + i * (size_t) psize))[0] = gen ^ i;
        }
        return 0;
}
