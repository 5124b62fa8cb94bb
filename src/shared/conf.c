/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "fileio.h"
#include "guests.h"
#include "libvirt-util.h"
#include "macro.h"

typedef enum KeyType {
        KEY_INT,
        KEY_STRING,
        KEY_BOOL,
        KEY_REGEX,
        KEY_REGEX_OR_EMPTY,     /* empty turns the feature off */
        KEY_URI_LIST,
        KEY_POLICY,
} KeyType;

typedef struct KeyDef {
        const char *name;
        KeyType type;
        size_t offset;
        int64_t min, max;       /* KEY_INT */
} KeyDef;

#define INT_KEY(n, field, lo, hi) { n, KEY_INT, offsetof(KsmConfig, field), lo, hi }
#define STR_KEY(n, field, t) { n, t, offsetof(KsmConfig, field), 0, 0 }

/* Ranges: wide enough for any sane host, narrow enough that the arithmetic
 * in the policies cannot overflow 64 bits. */
static const KeyDef keys[] = {
        INT_KEY("KSM_MONITOR_INTERVAL", monitor_interval_s, 1, 86400),
        INT_KEY("KSM_SLEEP_MSEC", sleep_msec, 1, 1000000),
        INT_KEY("KSM_NPAGES_BOOST", npages_boost, 0, 10000000),
        INT_KEY("KSM_NPAGES_DECAY", npages_decay, -10000000, 0),
        INT_KEY("KSM_NPAGES_MIN", npages_min, 0, 10000000),
        INT_KEY("KSM_NPAGES_MAX", npages_max, 0, 10000000),
        INT_KEY("KSM_THRES_COEF", thres_coef_pct, 0, 100),
        INT_KEY("KSM_THRES_CONST", thres_const_kib, 0, INT64_C(1) << 40),
        STR_KEY("KSM_GUEST_REGEX", guest_regex, KEY_REGEX),
        STR_KEY("KSM_POLICY", policy, KEY_POLICY),
        INT_KEY("KSM_CPU_BUDGET", cpu_budget_pct, 1, 100),
        INT_KEY("KSM_BURST_SECS", burst_secs, 1, 3600),
        INT_KEY("KSM_TRICKLE_SECS", trickle_secs, 10, 604800),
        INT_KEY("KSM_PSI_THRES", psi_thres_pct, 0, 100),
        STR_KEY("LOGFILE", logfile, KEY_STRING),
        STR_KEY("KSM_LIBVIRT_URI", libvirt_uri, KEY_URI_LIST),
        STR_KEY("KSM_MERGE_ANY_REGEX", merge_any_regex, KEY_REGEX_OR_EMPTY),
        STR_KEY("KSM_METRICS_FILE", metrics_file, KEY_STRING),
        INT_KEY("KSM_METRICS_TOP_GUESTS", metrics_top_guests, 0, 100000),
        STR_KEY("DEBUG", debug, KEY_BOOL),
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
        case KEY_STRING:
        case KEY_REGEX:
        case KEY_REGEX_OR_EMPTY:
        case KEY_URI_LIST:
                n = snprintf(out, sizeof(out), "%s", (const char *) field);
                break;
        case KEY_POLICY:
                n = snprintf(out, sizeof(out), "%s", conf_policy_name(*(const KsmPolicyKind *) field));
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
                .cpu_budget_pct = 20,
                .burst_secs = 5,
                .trickle_secs = 1800,
                .psi_thres_pct = 10,
                .metrics_file = METRICS_FILE_DEFAULT,
                .metrics_top_guests = 50,
        };
}

static size_t key_index(const char *name) {
        size_t i = 0;

        while (i < ELEMENTSOF(keys) - 1 && strcmp(keys[i].name, name) != 0)
                i++;
        return i;
}

typedef struct ParseContext {
        const char *filename;
        KsmConfig config;
        unsigned *key_lines;    /* line number of each KEY=value line, in order */
        size_t n_key_lines, next_key_line;
        unsigned set_line[ELEMENTSOF(keys)];
        ConfWarnFn warn;
        void *userdata;
        char *err;
        size_t err_size;
        int error;
} ParseContext;

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

/* "$NAME", "${", "$(" and backquotes: a lone "$" is literal in sh. */
static bool is_expansion(const char *p) {
        return *p == '`' || (p[0] == '$' && p[1] && (isalpha((unsigned char) p[1]) || strchr("_{(", p[1])));
}

/* Undo shell quoting of one word: '...', "..." and bare text, concatenated
 * as the shell does; an unquoted " #" starts a comment. Expansions ($VAR,
 * `cmd`) are refused rather than silently taken literally. */
static int shell_unquote(const char *in, char *out, size_t out_size, const char **why) {
        size_t n = 0;
        const char *p = in;
        char quote = 0;

        for (; *p; p++) {
                char c = *p;

                if (quote == '\'') {
                        if (c == '\'') {
                                quote = 0;
                                continue;
                        }
                } else if (quote == '"') {
                        if (c == '"') {
                                quote = 0;
                                continue;
                        }
                        if (c == '\\' && p[1] && strchr("$`\"\\", p[1]))
                                c = *++p;
                        else if (is_expansion(p)) {
                                *why = "shell expansion is not supported";
                                return -EINVAL;
                        }
                } else {
                        if (c == '\'' || c == '"') {
                                quote = c;
                                continue;
                        }
                        if (isspace((unsigned char) c))
                                break;
                        if (c == '\\' && p[1])
                                c = *++p;
                        else if (is_expansion(p)) {
                                *why = "shell expansion is not supported";
                                return -EINVAL;
                        }
                }
                if (n + 1 >= out_size) {
                        *why = "value too long";
                        return -EINVAL;
                }
                out[n++] = c;
        }
        if (quote) {
                *why = "unterminated quote";
                return -EINVAL;
        }
        while (isspace((unsigned char) *p))
                p++;
        if (*p && *p != '#') {
                *why = "unquoted space in value (quote it)";
                return -EINVAL;
        }
        out[n] = '\0';
        return 0;
}

static int parse_bool(const char *s, bool *ret) {
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

static int set_key(ParseContext *ctx, const KeyDef *k, unsigned line, const char *raw, const char *value) {
        void *field = (char *) &ctx->config + k->offset;
        int r;

        switch (k->type) {
        case KEY_INT: {
                int64_t v;

                r = parse_int64(value, k->min, k->max, &v);
                if (r == -ERANGE)
                        return fail(ctx, line, "%s=%s: out of range, must be %" PRId64 "..%" PRId64,
                                    k->name, raw, k->min, k->max);
                if (r < 0)
                        return fail(ctx, line, "%s=%s: not an integer", k->name, raw);
                *(int64_t *) field = v;
                break;
        }
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
                if (parse_bool(value, field) < 0)
                        return fail(ctx, line, "%s=%s: not a boolean (use 1 or 0)", k->name, raw);
                break;
        case KEY_URI_LIST: {
                LibvirtUriList l;
                char dup[CONF_VALUE_MAX];

                r = libvirt_uri_list_split(value, &l, dup, sizeof(dup));
                if (r == -E2BIG)
                        return fail(ctx, line, "%s=%s: more than %d URIs", k->name, raw, LIBVIRT_URIS_MAX);
                if (r == -EEXIST)
                        return fail(ctx, line, "%s=%s: %s is listed twice", k->name, raw, dup);
                if (r < 0)
                        return fail(ctx, line, "%s=%s: %s", k->name, raw, strerror(-r));
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        }
        case KEY_REGEX:
        case KEY_REGEX_OR_EMPTY: {
                char why[128];
                regex_t re;

                if (!*value && k->type == KEY_REGEX)
                        return fail(ctx, line, "%s=%s: empty pattern", k->name, raw);
                if (*value) {
                        if (guest_regex_compile(value, &re, why, sizeof(why)) < 0)
                                return fail(ctx, line, "%s=%s: bad regular expression: %s", k->name, raw, why);
                        regfree(&re);
                }
        }
                /* fall through */
        case KEY_STRING:
                snprintf(field, CONF_VALUE_MAX, "%s", value);
                break;
        }
        ctx->set_line[k - keys] = line;
        return 0;
}

static int handler(void *userdata, const char *section, const char *name, const char *raw) {
        ParseContext *ctx = userdata;
        char value[CONF_VALUE_MAX];
        const char *why = NULL;
        unsigned line;

        (void) section;
        if (ctx->error < 0)
                return 0;
        /* The pre-scan counted exactly the lines inih reports, in order. */
        line = ctx->next_key_line < ctx->n_key_lines ? ctx->key_lines[ctx->next_key_line++] : 0;

        /* "export KEY=value" is valid shell; inih hands us "export KEY". */
        if (strncmp(name, "export", 6) == 0 && isspace((unsigned char) name[6])) {
                name += 6;
                while (isspace((unsigned char) *name))
                        name++;
        }
        for (const char *p = name; *p; p++)
                if (!(isalnum((unsigned char) *p) || *p == '_') || (p == name && isdigit((unsigned char) *p))) {
                        fail(ctx, line, "'%s': not a variable name", name);
                        return 0;
                }

        if (shell_unquote(raw, value, sizeof(value), &why) < 0) {
                fail(ctx, line, "%s=%s: %s", name, raw, why);
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (strcmp(keys[i].name, name) == 0) {
                        set_key(ctx, &keys[i], line, raw, value);
                        return 1;
                }

        if (ctx->warn) {
                char msg[512];
                snprintf(msg, sizeof(msg), "%s:%u: unknown key %s, ignored", ctx->filename, line, name);
                ctx->warn(msg, ctx->userdata);
        }
        return 1;
}

/* Find what libinih would silently get wrong, and remember which lines carry
 * a key so that its callbacks (which have no line numbers) can be placed. */
static int prescan(ParseContext *ctx, const char *text) {
        unsigned line = 0;
        const char *p = text;

        if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;
        while (*p) {
                const char *eol = strchrnul(p, '\n');
                size_t len = (size_t) (eol - p);
                const char *s = p;

                line++;
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                while (s < p + len && isspace((unsigned char) *s))
                        s++;
                if (len > CONF_LINE_MAX)
                        return fail(ctx, line, "line is %zu characters long, at most %d are allowed", len, CONF_LINE_MAX);
                if (s == p + len || *s == '#' || *s == ';')
                        goto next;
                if (s != p)
                        return fail(ctx, line, "indented line (it would continue the previous value): remove the leading blanks");
                if (*s == '[')
                        return fail(ctx, line, "sections are not supported: %.*s", (int) len, p);
                if (!memchr(s, '=', (size_t) (p + len - s)))
                        return fail(ctx, line, "expected KEY=value: %.*s", (int) len, p);
                if (ctx->n_key_lines % 64 == 0) {
                        unsigned *n = realloc(ctx->key_lines, (ctx->n_key_lines + 64) * sizeof(unsigned));
                        if (!n)
                                return -ENOMEM;
                        ctx->key_lines = n;
                }
                ctx->key_lines[ctx->n_key_lines++] = line;
        next:
                p = *eol ? eol + 1 : eol;
        }
        return 0;
}

int conf_parse(const char *text, const char *filename, KsmConfig *ret,
               ConfWarnFn warn, void *userdata, char *err, size_t err_size) {
        ParseContext ctx = {
                .filename = filename,
                .warn = warn,
                .userdata = userdata,
                .err = err,
                .err_size = err_size,
        };
        size_t imin = key_index("KSM_NPAGES_MIN"), imax = key_index("KSM_NPAGES_MAX");
        int r;

        conf_init_defaults(&ctx.config);
        r = prescan(&ctx, text);
        if (r < 0)
                goto out;
        r = ini_parse_string(text, handler, &ctx);
        if (ctx.error < 0) {
                r = ctx.error;
                goto out;
        }
        if (r != 0) {
                r = fail(&ctx, r > 0 ? (unsigned) r : 0, "cannot parse line");
                goto out;
        }
        if (ctx.config.npages_min > ctx.config.npages_max) {
                unsigned line = ctx.set_line[imin] > ctx.set_line[imax] ? ctx.set_line[imin] : ctx.set_line[imax];
                r = fail(&ctx, line, "KSM_NPAGES_MIN=%" PRId64 " is greater than KSM_NPAGES_MAX=%" PRId64,
                         ctx.config.npages_min, ctx.config.npages_max);
                goto out;
        }
        *ret = ctx.config;
        r = 0;
out:
        free(ctx.key_lines);
        return r;
}

int conf_load(const char *path, KsmConfig *ret, ConfWarnFn warn, void *userdata, char *err, size_t err_size) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_regular_file(path, 1 << 20, &text, NULL);
        if (r < 0) {
                if (err)
                        snprintf(err, err_size, "%s: %s", path,
                                 r == -EBADFD ? "not a regular file" : strerror(-r));
                return r;
        }
        return conf_parse(text, path, ret, warn, userdata, err, err_size);
}
