/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "ksm-sysfs.h"
#include "macro.h"

static const char *const knob_names[_KSM_KNOB_MAX] = {
        [KSM_KNOB_ADVISOR_MODE] = "advisor_mode",
        [KSM_KNOB_PAGES_TO_SCAN] = "pages_to_scan",
        [KSM_KNOB_SLEEP_MILLISECS] = "sleep_millisecs",
        [KSM_KNOB_SMART_SCAN] = "smart_scan",
        [KSM_KNOB_USE_ZERO_PAGES] = "use_zero_pages",
        [KSM_KNOB_RUN] = "run",
};

static const size_t knob_offsets[_KSM_KNOB_MAX] = {
        [KSM_KNOB_ADVISOR_MODE] = offsetof(KsmKnobs, advisor_mode),
        [KSM_KNOB_PAGES_TO_SCAN] = offsetof(KsmKnobs, pages_to_scan),
        [KSM_KNOB_SLEEP_MILLISECS] = offsetof(KsmKnobs, sleep_millisecs),
        [KSM_KNOB_SMART_SCAN] = offsetof(KsmKnobs, smart_scan),
        [KSM_KNOB_USE_ZERO_PAGES] = offsetof(KsmKnobs, use_zero_pages),
        [KSM_KNOB_RUN] = offsetof(KsmKnobs, run),
};

#define NO_FEATURE (-1)

/* Unsigned counters and knobs; advisor_mode and general_profit are special. */
static const struct {
        const char *name;
        size_t offset;
        int feature;            /* optional when >= 0 */
} files[] = {
        { "run",              offsetof(KsmKnobs, run),              NO_FEATURE },
        { "pages_to_scan",    offsetof(KsmKnobs, pages_to_scan),    NO_FEATURE },
        { "sleep_millisecs",  offsetof(KsmKnobs, sleep_millisecs),  NO_FEATURE },
        { "pages_shared",     offsetof(KsmKnobs, pages_shared),     NO_FEATURE },
        { "pages_sharing",    offsetof(KsmKnobs, pages_sharing),    NO_FEATURE },
        { "full_scans",       offsetof(KsmKnobs, full_scans),       NO_FEATURE },
        /* pages_unshared/volatile exist since 2.6.32 but are cheap to treat as optional. */
        { "pages_unshared",   offsetof(KsmKnobs, pages_unshared),   _KSM_FEATURE_MAX },
        { "pages_volatile",   offsetof(KsmKnobs, pages_volatile),   _KSM_FEATURE_MAX },
        { "smart_scan",       offsetof(KsmKnobs, smart_scan),       KSM_FEATURE_SMART_SCAN },
        { "use_zero_pages",   offsetof(KsmKnobs, use_zero_pages),   KSM_FEATURE_USE_ZERO_PAGES },
        { "ksm_zero_pages",   offsetof(KsmKnobs, ksm_zero_pages),   KSM_FEATURE_ZERO_PAGES },
        { "pages_scanned",    offsetof(KsmKnobs, pages_scanned),    KSM_FEATURE_PAGES_SCANNED },
        { "max_kernel_pages", offsetof(KsmKnobs, max_kernel_pages), KSM_FEATURE_MAX_KERNEL_PAGES },
        { "pages_skipped",    offsetof(KsmKnobs, pages_skipped),    KSM_FEATURE_PAGES_SKIPPED },
        { "merge_across_nodes", offsetof(KsmKnobs, merge_across_nodes), KSM_FEATURE_MERGE_ACROSS_NODES },
};

const char *ksm_knob_name(KsmKnob knob) {
        return knob >= 0 && knob < _KSM_KNOB_MAX ? knob_names[knob] : NULL;
}

uint64_t ksm_knobs_get(const KsmKnobs *cur, KsmKnob knob) {
        return *(const uint64_t *) ((const char *) cur + knob_offsets[knob]);
}

int ksm_sysfs_open(int root_fd) {
        int fd = openat(root_fd, KSM_SYSFS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

int ksm_advisor_mode_parse(const char *s, KsmAdvisorMode *ret) {
        /* The kernel brackets the active mode: "[none] scan-time". */
        const char *open = strchr(s, '['), *close;

        if (!open || !(close = strchr(open, ']')))
                return -EINVAL;
        open++;
        if ((size_t) (close - open) == strlen("none") && strncmp(open, "none", 4) == 0)
                *ret = KSM_ADVISOR_NONE;
        else if ((size_t) (close - open) == strlen("scan-time") && strncmp(open, "scan-time", 9) == 0)
                *ret = KSM_ADVISOR_SCAN_TIME;
        else
                return -EINVAL;
        return 0;
}

/* The largest value read, as before: a sysfs attribute is at most a page. */
#define VALUE_MAX 4096

void ksm_sysfs_fds_init(KsmSysfsFds *h) {
        h->hold = -1;
        for (size_t i = 0; i < ELEMENTSOF(h->fd); i++)
                h->fd[i] = -1;
}

void ksm_sysfs_fds_close(KsmSysfsFds *h) {
        h->hold = -1;
        for (size_t i = 0; i < ELEMENTSOF(h->fd); i++)
                closep(&h->fd[i]);
}

/* Read name under ksm_fd into buf. With held (a slot of KsmSysfsFds), the
 * file stays open for the next read (read_file_held()). */
static int read_value(int ksm_fd, const char *name, int *held, char buf[static VALUE_MAX + 2]) {
        ssize_t n = read_file_held(ksm_fd, name, held, buf, VALUE_MAX + 2);

        return n < 0 ? (int) n : 0;
}

static int read_advisor_mode(int ksm_fd, int *held, KsmKnobs *k) {
        char s[VALUE_MAX + 2];
        KsmAdvisorMode mode;
        int r;

        r = read_value(ksm_fd, "advisor_mode", held, s);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = ksm_advisor_mode_parse(s, &mode);
        if (r < 0)
                return r;
        k->advisor_mode = mode;
        k->features |= 1u << KSM_FEATURE_ADVISOR;
        return 0;
}

static int read_general_profit(int ksm_fd, int *held, KsmKnobs *k) {
        char s[VALUE_MAX + 2];
        int64_t v;
        int r;

        r = read_value(ksm_fd, "general_profit", held, s);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = parse_int64(s, INT64_MIN, INT64_MAX, &v);
        if (r < 0)
                return r;
        k->general_profit = v;
        k->features |= 1u << KSM_FEATURE_GENERAL_PROFIT;
        return 0;
}

/* An optional file that exists but cannot be read or parsed costs only its
 * own value: note the first one and go on without its feature. */
static void skip_optional(KsmKnobs *k, const char *name, int r) {
        if (k->skipped_file)
                return;
        k->skipped_file = name;
        k->skipped_error = r;
}

_Static_assert(ELEMENTSOF(files) + 2 == KSM_SYSFS_READ_FILES, "one held fd per file read");

int ksm_sysfs_read_held(int ksm_fd, KsmSysfsFds *h, KsmKnobs *ret, const char **ret_file) {
        KsmKnobs k = {};
        char s[VALUE_MAX + 2];
        int r;

        if (h && h->hold < 0)
                h->hold = fd_on_kernel_fs(ksm_fd);
        if (h && !h->hold)
                h = NULL;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = read_value(ksm_fd, files[i].name, h ? &h->fd[i] : NULL, s);
                if (r >= 0)
                        r = parse_uint64(s, (uint64_t *) ((char *) &k + files[i].offset));
                if (r < 0 && files[i].feature != NO_FEATURE) {
                        if (r != -ENOENT)
                                skip_optional(&k, files[i].name, r);
                        continue;
                }
                if (r < 0) {
                        if (ret_file)
                                *ret_file = files[i].name;
                        return r;
                }
                if (files[i].feature >= 0 && files[i].feature < _KSM_FEATURE_MAX)
                        k.features |= 1u << files[i].feature;
        }
        r = read_advisor_mode(ksm_fd, h ? &h->fd[ELEMENTSOF(files)] : NULL, &k);
        if (r < 0)
                skip_optional(&k, "advisor_mode", r);
        r = read_general_profit(ksm_fd, h ? &h->fd[ELEMENTSOF(files) + 1] : NULL, &k);
        if (r < 0)
                skip_optional(&k, "general_profit", r);
        *ret = k;
        return 0;
}

int ksm_sysfs_read_named(int ksm_fd, KsmKnobs *ret, const char **ret_file) {
        return ksm_sysfs_read_held(ksm_fd, NULL, ret, ret_file);
}

int ksm_sysfs_read(int ksm_fd, KsmKnobs *ret) {
        return ksm_sysfs_read_named(ksm_fd, ret, NULL);
}

static int write_knob(int ksm_fd, KsmKnob knob, uint64_t value) {
        char buf[32];

        if (knob == KSM_KNOB_ADVISOR_MODE)
                snprintf(buf, sizeof(buf), "%s", value == KSM_ADVISOR_SCAN_TIME ? "scan-time" : "none");
        else
                snprintf(buf, sizeof(buf), "%" PRIu64, value);
        return write_string_file_at(ksm_fd, knob_names[knob], buf);
}

int ksm_sysfs_apply(int ksm_fd, const KsmTargets *t, const KsmKnobs *cur, bool dry_run, KsmApplyResult *ret) {
        KsmApplyResult res = {};
        bool stopping = (t->set & (1u << KSM_KNOB_RUN)) && t->value[KSM_KNOB_RUN] != 1;
        KsmKnob order[_KSM_KNOB_MAX];
        size_t n = 0;
        int first = 0;

        if (stopping)
                order[n++] = KSM_KNOB_RUN;
        for (KsmKnob k = 0; k < _KSM_KNOB_MAX; k++)
                if (!(stopping && k == KSM_KNOB_RUN))
                        order[n++] = k;

        for (size_t i = 0; i < n; i++) {
                KsmKnob k = order[i];
                int r;

                if (!(t->set & (1u << k)) || ksm_knobs_get(cur, k) == t->value[k])
                        continue;
                res.written |= 1u << k;
                if (dry_run)
                        continue;
                r = write_knob(ksm_fd, k, t->value[k]);
                if (r < 0) {
                        res.written &= ~(1u << k);
                        res.failed |= 1u << k;
                        res.error[k] = r;
                        if (first == 0)
                                first = r;
                }
        }
        *ret = res;
        return first;
}
