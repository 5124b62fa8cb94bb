/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf-shell.h"
#include "fileio.h"
#include "guests.h"
#include "libvirt-util.h"
#include "macro.h"

typedef enum KeyType {
        KEY_INT,
        KEY_BOOL,
        KEY_REGEX,
        KEY_REGEX_OR_EMPTY,     /* empty turns the feature off */
        KEY_URI_LIST,
        KEY_POLICY,
        KEY_CGROUPS,            /* blank-separated cgroup names */
        KEY_PIDFILES,           /* blank-separated absolute globs */
        KEY_MEASURE,            /* rss or pss */
        KEY_FILE_OR_EMPTY,      /* an absolute file name; empty turns the feature off */
        KEY_AUTO_BOOL,          /* auto (-1), 0 or 1 */
        KEY_LOGFILE,            /* a file name; a relative one is warned about */
} KeyType;

typedef struct KeyDef {
        const char *name;
        KeyType type;
        size_t offset;
        int64_t min, max;       /* KEY_INT: the documented range */
        bool old;               /* the old script's key: empty means its default */
} KeyDef;

#define INT_KEY(n, field, lo, hi) { n, KEY_INT, offsetof(KsmConfig, field), lo, hi, false }
#define OLD_KEY(n, field, lo, hi) { n, KEY_INT, offsetof(KsmConfig, field), lo, hi, true }
#define STR_KEY(n, field, t) { n, t, offsetof(KsmConfig, field), 0, 0, false }

/* Ranges: wide enough for any sane host, narrow enough that the arithmetic
 * in the policies cannot overflow 64 bits. */
static const KeyDef keys[] = {
        OLD_KEY("KSM_MONITOR_INTERVAL", monitor_interval_s, 1, 86400),
        OLD_KEY("KSM_SLEEP_MSEC", sleep_msec, 1, 1000000),
        OLD_KEY("KSM_NPAGES_BOOST", npages_boost, 0, 10000000),
        OLD_KEY("KSM_NPAGES_DECAY", npages_decay, -10000000, 0),
        OLD_KEY("KSM_NPAGES_MIN", npages_min, 0, 10000000),
        OLD_KEY("KSM_NPAGES_MAX", npages_max, 0, 10000000),
        OLD_KEY("KSM_THRES_COEF", thres_coef_pct, 0, 100),
        OLD_KEY("KSM_THRES_CONST", thres_const_kib, 0, INT64_C(1) << 40),
        STR_KEY("KSM_GUEST_REGEX", guest_regex, KEY_REGEX),
        STR_KEY("KSM_POLICY", policy, KEY_POLICY),
        INT_KEY("KSM_CPU_BUDGET", cpu_budget_pct, 1, 100),
        INT_KEY("KSM_BURST_SECS", burst_secs, 1, 3600),
        INT_KEY("KSM_TRICKLE_SECS", trickle_secs, 10, 604800),
        INT_KEY("KSM_PSI_THRES", psi_thres_pct, 0, 100),
        STR_KEY("LOGFILE", logfile, KEY_LOGFILE),
        STR_KEY("KSM_LIBVIRT_URI", libvirt_uri, KEY_URI_LIST),
        STR_KEY("KSM_MERGE_ANY_REGEX", merge_any_regex, KEY_REGEX_OR_EMPTY),
        STR_KEY("KSM_METRICS_FILE", metrics_file, KEY_FILE_OR_EMPTY),
        INT_KEY("KSM_METRICS_TOP_GUESTS", metrics_top_guests, 0, 100000),
        STR_KEY("KSM_MERGE_ACROSS_NODES", merge_across_nodes, KEY_AUTO_BOOL),
        STR_KEY("DEBUG", debug, KEY_BOOL),
        STR_KEY("KSM_GUEST_CGROUPS", guest_cgroups, KEY_CGROUPS),
        STR_KEY("KSM_GUEST_PIDFILES", guest_pidfiles, KEY_PIDFILES),
        STR_KEY("KSM_GUEST_MEMORY", guest_measure, KEY_MEASURE),
        STR_KEY("KSM_PROC_EVENTS", proc_events, KEY_BOOL),
};

static const char *const policy_names[_KSM_POLICY_MAX] = {
        [KSM_POLICY_COMPAT] = "compat",
        [KSM_POLICY_ADAPTIVE] = "adaptive",
};

const char *conf_policy_name(KsmPolicyKind kind) {
        return kind >= 0 && kind < _KSM_POLICY_MAX ? policy_names[kind] : NULL;
}

const char *conf_key_name(size_t i) {
        return i < ELEMENTSOF(keys) ? keys[i].name : NULL;
}

int conf_key_format(const KsmConfig *c, size_t i, char *buf, size_t size) {
        char out[CONF_VALUE_MAX + 32];
        const void *field;
        int n = 0;

        if (i >= ELEMENTSOF(keys))
                return -ENOENT;
        field = (const char *) c + keys[i].offset;
        switch (keys[i].type) {
        case KEY_INT:
                n = snprintf(out, sizeof(out), "%" PRId64, *(const int64_t *) field);
                break;
        case KEY_BOOL:
                n = snprintf(out, sizeof(out), "%d", *(const bool *) field ? 1 : 0);
                break;
        case KEY_LOGFILE:
        case KEY_REGEX:
        case KEY_REGEX_OR_EMPTY:
        case KEY_URI_LIST:
        case KEY_CGROUPS:
        case KEY_PIDFILES:
        case KEY_FILE_OR_EMPTY:
                n = snprintf(out, sizeof(out), "%s", (const char *) field);
                break;
        case KEY_MEASURE:
                n = snprintf(out, sizeof(out), "%s", guest_measure_to_string(*(const GuestMeasure *) field));
                break;
        case KEY_POLICY:
                n = snprintf(out, sizeof(out), "%s", conf_policy_name(*(const KsmPolicyKind *) field));
                break;
        case KEY_AUTO_BOOL:
                if (*(const int64_t *) field < 0)
                        n = snprintf(out, sizeof(out), "auto");
                else
                        n = snprintf(out, sizeof(out), "%" PRId64, *(const int64_t *) field);
                break;
        }
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        memcpy(buf, out, (size_t) n + 1);
        return 0;
}

void conf_init_defaults(KsmConfig *c) {
        *c = (KsmConfig) {
                .monitor_interval_s = 60,
                .sleep_msec = 10,
                .npages_boost = 300,
                .npages_decay = -50,
                .npages_min = 64,
                .npages_max = 1250,
                .thres_coef_pct = 20,
                .thres_const_kib = 2048,
                .guest_regex = GUEST_REGEX_DEFAULT,
                .libvirt_uri = LIBVIRT_URI_DEFAULT,
                /* An old /etc/ksmtuned.conf keeps the old behaviour. */
                .policy = KSM_POLICY_COMPAT,
                .merge_across_nodes = -1,       /* auto: leave the kernel's value alone */
                .cpu_budget_pct = 20,
                .burst_secs = 5,
                .trickle_secs = 1800,
                .psi_thres_pct = 10,
                .metrics_file = METRICS_FILE_DEFAULT,
                .metrics_top_guests = 50,
                .guest_cgroups = GUEST_CGROUPS_DEFAULT,
                .guest_pidfiles = GUEST_PIDFILES_DEFAULT,
                .guest_measure = GUEST_MEASURE_RSS,
                .proc_events = true,
        };
}

static const KeyDef *key_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

/* Values outside the documented range that the old script ran with: they
 * are accepted with a warning that says what it did, as the value that
 * does the same here. */
#define AS_IS INT64_MIN
typedef struct Tolerated {
        const char *key;
        int64_t lo, hi;
        int64_t take;           /* AS_IS: the value itself */
        const char *old;        /* what the old script did with it */
} Tolerated;

static const Tolerated tolerated[] = {
        { "KSM_MONITOR_INTERVAL", INT64_MIN, 0, 1, "the old script's sleep returned at once and it tuned without pause; taken as 1" },
        { "KSM_SLEEP_MSEC", INT64_MIN, 0, 0, "the old script scanned at its 10 ms floor; taken as 0, which does the same" },
        { "KSM_NPAGES_BOOST", -10000000, -1, AS_IS, "the old script lowered pages_to_scan by it when memory was short, and so does this one" },
        { "KSM_NPAGES_DECAY", 1, 10000000, AS_IS, "the old script raised pages_to_scan by it at each tuning, and so does this one" },
        { "KSM_NPAGES_MIN", INT64_MIN, -1, 0, "the old script could write a negative pages_to_scan, which the kernel refuses; taken as 0" },
        { "KSM_NPAGES_MAX", INT64_MIN, -1, 0, "the old script could write a negative pages_to_scan, which the kernel refuses; taken as 0" },
        { "KSM_THRES_COEF", INT64_MIN, -1, 0, "the old script then used KSM_THRES_CONST alone, as for 0; taken as 0" },
        { "KSM_THRES_COEF", 101, 1000000, AS_IS, "the threshold is above MemTotal, so KSM never stops and always boosts, as in the old script" },
        { "KSM_THRES_CONST", INT64_MIN, -1, 0, "the old script ignored it, as for 0; taken as 0" },
};

typedef struct ParseContext {
        const char *filename;
        KsmConfig config;
        unsigned set_line[ELEMENTSOF(keys)];
        ConfWarnFn warn;
        void *userdata;
        char *err;
        size_t err_size;
        int error;
        const ConfPatterns *prev;       /* patterns to share, NULL for none */
        ConfPatterns patterns;          /* compiled from the lines so far */
} ParseContext;

/* The compiled form of text: prev's when it has that text, else a new one. */
static int pattern_get(const ConfPatterns *prev, const char *text, GuestPattern **ret, char *why, size_t why_size) {
        if (prev && prev->guest && strcmp(guest_pattern_text(prev->guest), text) == 0)
                *ret = guest_pattern_ref(prev->guest);
        else if (prev && prev->merge_any && strcmp(guest_pattern_text(prev->merge_any), text) == 0)
                *ret = guest_pattern_ref(prev->merge_any);
        else
                return guest_pattern_new(text, ret, why, why_size);
        return 0;
}

static GuestPattern **pattern_slot(ConfPatterns *p, const KeyDef *k) {
        return k->offset == offsetof(KsmConfig, guest_regex) ? &p->guest : &p->merge_any;
}

_printf_(3, 4)
static int fail(ParseContext *ctx, unsigned line, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (ctx->error == 0 && ctx->err)
                snprintf(ctx->err, ctx->err_size, "%s:%u: %s", ctx->filename, line, msg);
        if (ctx->error == 0)
                ctx->error = -EINVAL;
        return -EINVAL;
}

_printf_(3, 4)
static void warn_at(ParseContext *ctx, unsigned line, const char *fmt, ...) {
        char msg[512], full[600];
        va_list ap;

        if (!ctx->warn)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(full, sizeof(full), "%s:%u: %s", ctx->filename, line, msg);
        ctx->warn(full, ctx->userdata);
}

static int parse_boolean_word(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "", "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return *ret = true, 0;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return *ret = false, 0;
        return -EINVAL;
}

/* "020" is octal in the shell's arithmetic (16), "08" an error there. */
static int check_leading_zero(ParseContext *ctx, const KeyDef *k, unsigned line, const char *raw, const char *value) {
        const char *d = value + strspn(value, " \t");
        char *end;
        long long octal;

        if (*d == '-' || *d == '+')
                d++;
        if (!(d[0] == '0' && isdigit((unsigned char) d[1])))
                return 0;
        /* The old script gave KSM_MONITOR_INTERVAL to sleep(1), which reads decimal. */
        if (strcmp(k->name, "KSM_MONITOR_INTERVAL") == 0) {
                warn_at(ctx, line, "%s=%s: leading zero: read as decimal, as the old script's sleep did", k->name, raw);
                return 0;
        }
        errno = 0;
        octal = strtoll(d, &end, 8);
        if (errno == 0 && *end == '\0')
                return fail(ctx, line, "%s=%s: leading zero: the old script's shell arithmetic read it as octal %lld; "
                            "write the number without the zero", k->name, raw, octal);
        return fail(ctx, line, "%s=%s: leading zero: the old script's shell arithmetic failed on it (not octal); "
                    "write the number without the zero", k->name, raw);
}

static int set_int(ParseContext *ctx, const KeyDef *k, unsigned line, const char *raw, const char *value, int64_t *field) {
        int64_t v;
        int r;

        if (!*value && k->old) {
                /* The script read every key as ${KEY:-default}. */
                warn_at(ctx, line, "%s=: empty: the old script used the default, and so does this one", k->name);
                return 0;
        }
        r = check_leading_zero(ctx, k, line, raw, value);
        if (r < 0)
                return r;
        r = parse_int64(value, INT64_MIN, INT64_MAX, &v);
        if (r == -EINVAL)
                return fail(ctx, line, "%s=%s: not an integer", k->name, raw);
        if (r == 0 && v >= k->min && v <= k->max) {
                *field = v;
                return 0;
        }
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(tolerated); i++)
                if (strcmp(tolerated[i].key, k->name) == 0 && v >= tolerated[i].lo && v <= tolerated[i].hi) {
                        warn_at(ctx, line, "%s=%s: outside %" PRId64 "..%" PRId64 ": %s",
                             k->name, raw, k->min, k->max, tolerated[i].old);
                        *field = tolerated[i].take == AS_IS ? v : tolerated[i].take;
                        return 0;
                }
        return fail(ctx, line, "%s=%s: out of range, must be %" PRId64 "..%" PRId64, k->name, raw, k->min, k->max);
}

static int set_bool(ParseContext *ctx, const KeyDef *k, unsigned line, const char *raw, const char *value, bool *field) {
        if (parse_boolean_word(value, field) == 0)
                return 0;
        if (strcmp(k->name, "DEBUG") != 0)
                return fail(ctx, line, "%s=%s: not a boolean (use 1, yes, true, on or 0, no, false, off)", k->name, raw);
        /* The script tested [ -n "$DEBUG" ]. */
        warn_at(ctx, line, "%s=%s: not a boolean: the old script turned debugging on for any value but the empty one; taken as 1",
             k->name, raw);
        *field = true;
        return 0;
}

static int set_uri_list(ParseContext *ctx, const KeyDef *k, unsigned line, const char *raw, const char *value, char *field) {
        LibvirtUriList l;
        char dup[CONF_VALUE_MAX];
        int r;

        r = libvirt_uri_list_split(value, &l, dup, sizeof(dup));
        if (r == -E2BIG)
                return fail(ctx, line, "%s=%s: more than %d URIs", k->name, raw, LIBVIRT_URIS_MAX);
        if (r == -EEXIST)
                return fail(ctx, line, "%s=%s: %s is listed twice", k->name, raw, dup);
        if (r < 0)
                return fail(ctx, line, "%s=%s: %s", k->name, raw, strerror(-r));
        snprintf(field, CONF_VALUE_MAX, "%s", value);
        return 0;
}

static int set_key(ParseContext *ctx, const KeyDef *k, unsigned line, const char *raw, const char *value) {
        void *field = (char *) &ctx->config + k->offset;
        int r = 0;

        switch (k->type) {
        case KEY_INT:
                r = set_int(ctx, k, line, raw, value, field);
                break;
        case KEY_AUTO_BOOL:
                if (strcmp(value, "auto") == 0)
                        *(int64_t *) field = -1;
                else if (strcmp(value, "0") == 0 || strcmp(value, "1") == 0)
                        *(int64_t *) field = value[0] - '0';
                else
                        return fail(ctx, line, "%s=%s: expected auto, 0 or 1", k->name, raw);
                break;
        case KEY_POLICY: {
                size_t i = 0;

                while (i < _KSM_POLICY_MAX && strcmp(value, policy_names[i]) != 0)
                        i++;
                if (i == _KSM_POLICY_MAX)
                        return fail(ctx, line, "%s=%s: unknown policy (use compat or adaptive)", k->name, raw);
                *(KsmPolicyKind *) field = (KsmPolicyKind) i;
                break;
        }
        case KEY_BOOL:
                r = set_bool(ctx, k, line, raw, value, field);
                break;
        case KEY_URI_LIST:
                r = set_uri_list(ctx, k, line, raw, value, field);
                break;
        case KEY_CGROUPS:
                if (guest_cgroups_check(value) < 0)
                        return fail(ctx, line, "%s=%s: a cgroup name is one path component (no '/', not . or ..)",
                                    k->name, raw);
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        case KEY_PIDFILES:
                if (guest_pidfiles_check(value) < 0)
                        return fail(ctx, line, "%s=%s: pid file patterns are absolute paths", k->name, raw);
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        case KEY_FILE_OR_EMPTY: {
                size_t len = strlen(value);

                /* The daemon detaches to /: a relative name would land there. */
                if (len > 0 && (value[0] != '/' || value[len - 1] == '/'))
                        return fail(ctx, line, "%s=%s: an absolute file name, or empty for none", k->name, raw);
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        }
        case KEY_LOGFILE:
                /* The old script took any name; a relative one is taken
                 * from the daemon's working directory. */
                if (*value && value[0] != '/')
                        warn_at(ctx, line, "%s=%s: a relative file name, taken from the daemon's working directory "
                                "(/ under systemd or once detached)", k->name, raw);
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        case KEY_MEASURE:
                if (guest_measure_from_string(value, field) < 0)
                        return fail(ctx, line, "%s=%s: unknown measure (use rss or pss)", k->name, raw);
                break;
        case KEY_REGEX:
        case KEY_REGEX_OR_EMPTY: {
                GuestPattern **slot = pattern_slot(&ctx->patterns, k), *re = NULL;
                char why[128];

                if (!*value && k->type == KEY_REGEX)
                        return fail(ctx, line, "%s=%s: empty pattern", k->name, raw);
                /* Validated by compiling it: the one compiled here is the
                 * scanner's. */
                if (*value && pattern_get(ctx->prev, value, &re, why, sizeof(why)) < 0)
                        return fail(ctx, line, "%s=%s: bad regular expression: %s", k->name, raw, why);
                guest_pattern_unref(*slot);
                *slot = re;
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        }
        }
        if (r < 0)
                return r;
        ctx->set_line[k - keys] = line;
        return 0;
}

static int parse_line(ParseContext *ctx, unsigned line, const char *p, size_t len) {
        ShellAssignment a[SHELL_ASSIGNMENTS_MAX];
        char why[512];
        int n;

        n = shell_parse_line(p, len, a, why, sizeof(why));
        if (n < 0)
                return fail(ctx, line, "%s", why);
        for (int i = 0; i < n; i++) {
                const KeyDef *k = key_find(a[i].name);
                char raw[CONF_VALUE_MAX + 8];

                if (!k) {
                        warn_at(ctx, line, "unknown key %s, ignored", a[i].name);
                        continue;
                }
                snprintf(raw, sizeof(raw), "%.*s", (int) a[i].raw_len, a[i].raw);
                /* The shell takes the last one too; say so, since an operator
                 * who edits the first one sees no change. */
                if (ctx->set_line[k - keys] > 0)
                        warn_at(ctx, line, "%s set again (first on line %u): the last value counts, as in the old script",
                                k->name, ctx->set_line[k - keys]);
                if (set_key(ctx, k, line, raw, a[i].value) < 0)
                        return -EINVAL;
        }
        return 0;
}

void conf_patterns_clear(ConfPatterns *p) {
        p->guest = guest_pattern_unref(p->guest);
        p->merge_any = guest_pattern_unref(p->merge_any);
}

/* Fill in the slots of ret that the lines did not set (keys left at their
 * defaults). */
static int patterns_complete(const KsmConfig *c, const ConfPatterns *prev, ConfPatterns *ret) {
        int r;

        if (!ret->guest) {
                r = pattern_get(prev, c->guest_regex, &ret->guest, NULL, 0);
                if (r < 0)
                        return r;
        }
        if (!ret->merge_any && c->merge_any_regex[0]) {
                r = pattern_get(prev, c->merge_any_regex, &ret->merge_any, NULL, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int conf_patterns_build(const KsmConfig *c, const ConfPatterns *prev, ConfPatterns *ret) {
        ConfPatterns p = {};
        int r;

        r = patterns_complete(c, prev, &p);
        if (r < 0) {
                conf_patterns_clear(&p);
                return r;
        }
        *ret = p;
        return 0;
}

static int parse_text(const char *text, size_t size, const char *filename, const ConfPatterns *prev, KsmConfig *ret,
                      ConfPatterns *ret_patterns, ConfWarnFn warn_fn, void *userdata, char *err, size_t err_size) {
        ParseContext ctx = {
                .filename = filename,
                .warn = warn_fn,
                .userdata = userdata,
                .err = err,
                .err_size = err_size,
                .prev = prev,
        };
        const KeyDef *kmin = key_find("KSM_NPAGES_MIN"), *kmax = key_find("KSM_NPAGES_MAX");
        const char *p = text, *end = text + size;
        unsigned line = 0;

        conf_init_defaults(&ctx.config);
        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                size_t len = (size_t) ((eol ? eol : end) - p);

                if (parse_line(&ctx, ++line, p, len) < 0) {
                        conf_patterns_clear(&ctx.patterns);
                        return -EINVAL;
                }
                p += len + (eol ? 1 : 0);
        }
        if (ctx.config.npages_min > ctx.config.npages_max) {
                unsigned l1 = ctx.set_line[kmin - keys], l2 = ctx.set_line[kmax - keys];

                /* "[ $npages -lt $MIN ] && npages=$MIN; elif [ $npages -gt $MAX ]": what clamp_npages() does too. */
                warn_at(&ctx, l1 > l2 ? l1 : l2,
                     "KSM_NPAGES_MIN=%" PRId64 " is greater than KSM_NPAGES_MAX=%" PRId64
                     ": pages_to_scan is raised to the minimum, else cut to the maximum, as in the old script",
                     ctx.config.npages_min, ctx.config.npages_max);
        }
        if (ret_patterns) {
                int r = patterns_complete(&ctx.config, prev, &ctx.patterns);

                if (r < 0) {
                        conf_patterns_clear(&ctx.patterns);
                        if (err)
                                snprintf(err, err_size, "%s: cannot compile the default patterns: %s", filename,
                                         strerror(-r));
                        return r;
                }
                *ret_patterns = ctx.patterns;
        } else
                conf_patterns_clear(&ctx.patterns);
        *ret = ctx.config;
        return 0;
}

int conf_parse(const char *text, size_t size, const char *filename, KsmConfig *ret,
               ConfWarnFn warn_fn, void *userdata, char *err, size_t err_size) {
        return parse_text(text, size, filename, NULL, ret, NULL, warn_fn, userdata, err, err_size);
}

int conf_load_patterns(const char *path, const ConfPatterns *prev, KsmConfig *ret, ConfPatterns *ret_patterns,
                       ConfWarnFn warn, void *userdata, char *err, size_t err_size) {
        _cleanup_free_ char *text = NULL;
        int r;

        size_t size;

        r = read_regular_file(path, 1 << 20, &text, &size);
        if (r < 0) {
                if (err)
                        snprintf(err, err_size, "%s: %s", path, file_strerror(r));
                return r;
        }
        return parse_text(text, size, path, prev, ret, ret_patterns, warn, userdata, err, err_size);
}

int conf_load(const char *path, KsmConfig *ret, ConfWarnFn warn, void *userdata, char *err, size_t err_size) {
        return conf_load_patterns(path, NULL, ret, NULL, warn, userdata, err, err_size);
}
