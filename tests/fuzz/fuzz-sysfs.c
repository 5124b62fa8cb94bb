/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The KSM sysfs files: read whatever they hold, then write targets and read
 * them back. Invariants: a read either fails or fills every required knob;
 * an optional file never fails the read; every knob written reads back as
 * written (the round trip through the files and the parsers). Numbers: a
 * parsed value printed and parsed again is the same. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fuzz.h"
#include "ksm-sysfs.h"

static const char *const files[] = {
        "run", "pages_to_scan", "sleep_millisecs", "pages_shared", "pages_sharing", "full_scans",
        "pages_unshared", "pages_volatile", "smart_scan", "use_zero_pages", "ksm_zero_pages",
        "pages_scanned", "advisor_mode", "general_profit", "max_kernel_pages",
};
#define N_FILES (sizeof(files) / sizeof(files[0]))
_Static_assert(N_FILES <= 32, "held[] is large enough");

static int dir_fd = -1;

/* One directory for the whole run, in memory when /dev/shm is there. */
static int ksm_dir(void) {
        char tmpl[] = "/dev/shm/fuzz-sysfs.XXXXXX", tmpl2[] = "/tmp/fuzz-sysfs.XXXXXX";
        const char *d;

        if (dir_fd >= 0)
                return dir_fd;
        d = mkdtemp(tmpl);
        if (!d)
                d = mkdtemp(tmpl2);
        FUZZ_ASSERT(d);
        dir_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        FUZZ_ASSERT(dir_fd >= 0);
        /* The files stay for the next input; the directory goes at exit
         * only if empty, which it is not: leave it to tmpfs. */
        return dir_fd;
}

/* What each file holds now, to skip rewriting it unchanged: held[i], or
 * unknown (written by the code under test) when NULL and present[i]. */
static char *held[32];
static size_t held_len[32];
static bool present[32];

static void put(int fd, size_t i, const char *name, const char *s, size_t len) {
        int f;

        if (held[i] && held_len[i] == len && memcmp(held[i], s, len) == 0)
                return;
        free(held[i]);
        held[i] = malloc(len + 1);
        FUZZ_ASSERT(held[i]);
        memcpy(held[i], s, len);
        held_len[i] = len;
        present[i] = true;
        f = openat(fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        FUZZ_ASSERT(f >= 0);
        FUZZ_ASSERT(write(f, s, len) == (ssize_t) len);
        close(f);
}

static void numbers(const char *s) {
        uint64_t u, u2;
        int64_t i, i2;
        char buf[32];

        if (parse_uint64(s, &u) == 0) {
                snprintf(buf, sizeof(buf), "%" PRIu64 "\n", u);
                FUZZ_ASSERT(parse_uint64(buf, &u2) == 0 && u2 == u);
        }
        if (parse_int64(s, INT64_MIN, INT64_MAX, &i) == 0) {
                snprintf(buf, sizeof(buf), "%" PRId64, i);
                FUZZ_ASSERT(parse_int64(buf, INT64_MIN, INT64_MAX, &i2) == 0 && i2 == i);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int fd = ksm_dir();
        KsmKnobs k, back;
        KsmTargets t = {};
        KsmApplyResult res;
        const char *bad = NULL;
        size_t pos = 0;
        int r;

        /* The input: up to N_FILES contents separated by NUL bytes; files
         * past the end are missing (optional ones) or "0". */
        for (size_t i = 0; i < N_FILES; i++) {
                const uint8_t *end = pos < size ? memchr(data + pos, '\0', size - pos) : NULL;
                size_t len = pos < size ? (end ? (size_t) (end - (data + pos)) : size - pos) : 0;

                if (pos >= size && i >= 6) {
                        if (present[i])
                                unlinkat(fd, files[i], 0);
                        free(held[i]);
                        held[i] = NULL;
                        present[i] = false;
                } else {
                        put(fd, i, files[i], pos < size ? (const char *) data + pos : "0\n", pos < size ? len : 2);
                        if (pos < size) {
                                char *s = fuzz_text(data + pos, len);

                                numbers(s);
                                free(s);
                        }
                }
                pos += len + 1;
        }
        r = ksm_sysfs_read_named(fd, &k, &bad);
        if (r < 0) {
                FUZZ_ASSERT(bad);
                /* Only a required file can fail the read. */
                FUZZ_ASSERT(strcmp(bad, "run") == 0 || strcmp(bad, "pages_to_scan") == 0 ||
                            strcmp(bad, "sleep_millisecs") == 0 || strcmp(bad, "pages_shared") == 0 ||
                            strcmp(bad, "pages_sharing") == 0 || strcmp(bad, "full_scans") == 0);
                return 0;
        }
        /* Write targets taken from the read values, shifted, then read back. */
        for (KsmKnob knob = 0; knob < _KSM_KNOB_MAX; knob++) {
                uint64_t v = ksm_knobs_get(&k, knob);

                if (knob == KSM_KNOB_ADVISOR_MODE)
                        continue;       /* the fixture has no kernel to bracket the mode */
                if ((knob == KSM_KNOB_SMART_SCAN && !ksm_has(&k, KSM_FEATURE_SMART_SCAN)) ||
                    (knob == KSM_KNOB_USE_ZERO_PAGES && !ksm_has(&k, KSM_FEATURE_USE_ZERO_PAGES)))
                        continue;       /* never created by a write */
                ksm_targets_set(&t, knob, knob == KSM_KNOB_RUN ? !v : v + 1);
        }
        /* The knob files change here: forget what they held. */
        for (size_t i = 0; i < N_FILES; i++)
                for (KsmKnob knob = 0; knob < _KSM_KNOB_MAX; knob++)
                        if (strcmp(files[i], ksm_knob_name(knob)) == 0) {
                                free(held[i]);
                                held[i] = NULL;
                        }
        r = ksm_sysfs_apply(fd, &t, &k, false, &res);
        FUZZ_ASSERT(r == 0 && res.failed == 0);
        r = ksm_sysfs_read(fd, &back);
        FUZZ_ASSERT(r == 0);
        for (KsmKnob knob = 0; knob < _KSM_KNOB_MAX; knob++) {
                bool optional = knob == KSM_KNOB_SMART_SCAN || knob == KSM_KNOB_USE_ZERO_PAGES;

                if (!(res.written & (1u << knob)))
                        continue;
                if (optional && !ksm_has(&back, knob == KSM_KNOB_SMART_SCAN ? KSM_FEATURE_SMART_SCAN :
                                                                              KSM_FEATURE_USE_ZERO_PAGES))
                        continue;
                FUZZ_ASSERT(ksm_knobs_get(&back, knob) == t.value[knob]);
        }
        return 0;
}
