/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One pass over raw lines is the configuration parser. libinih was tried and
 * dropped: it reports no line numbers to its callback, cuts lines at 199
 * characters, takes an indented line as a continuation, keeps quotes, cuts
 * values at " ;" and treats "[x]" as a section. Each of these is a place
 * where it reads a line differently from the shell that ran the old
 * script's configuration, so every line had to be scanned again by hand
 * beside it, with two line counts kept in step. The shell's grammar for
 * "NAME=word" lines is small: it is all here, and a line is read once.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf-shell.h"
#include "macro.h"

/* The most of a bad value quoted in an error message. */
#define RAW_SHOWN_MAX 64

_printf_(3, 4)
static int refuse(char *why, size_t why_size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Characters that end an unquoted word and start shell syntax. */
static bool is_operator(char c) {
        return c && strchr(";&|<>()", c);
}

/* "$NAME", "${", "$(", "$'", "$\"", "$1" and backquotes: a lone "$" is literal in sh. */
static bool is_expansion(const char *p, const char *end) {
        if (*p == '`')
                return true;
        return p[0] == '$' && p + 1 < end &&
               (isalnum((unsigned char) p[1]) || strchr("_{('\"#?*@!$-", p[1]));
}

/* Undo the shell's quoting of one word starting at *pp: '...', "..." and
 * bare text, concatenated as the shell does. Expansions, operators and
 * line continuations are refused rather than taken literally. */
static int unquote_word(const char **pp, const char *end, char *out, size_t out_size, const char **why) {
        const char *p = *pp;
        size_t n = 0;
        char quote = 0;

        if (p < end && *p == '~') {
                *why = "tilde expansion is not supported (write the path out)";
                return -EINVAL;
        }
        for (; p < end; p++) {
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
                        if (c == '\\' && p + 1 < end && strchr("$`\"\\", p[1]))
                                c = *++p;
                        else if (is_expansion(p, end)) {
                                *why = "shell expansion is not supported";
                                return -EINVAL;
                        }
                } else {
                        if (c == '\'' || c == '"') {
                                quote = c;
                                continue;
                        }
                        if (is_blank(c))
                                break;
                        if (is_operator(c)) {
                                *why = "shell operators (; & | < > ( )) are not supported: one KEY=value per line";
                                return -EINVAL;
                        }
                        if (c == '\\') {
                                if (p + 1 == end) {
                                        *why = "a backslash at the end continues the line in the shell: not supported";
                                        return -EINVAL;
                                }
                                c = *++p;
                        } else if (is_expansion(p, end)) {
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
                *why = "unterminated quote (a value across lines is not supported)";
                return -EINVAL;
        }
        out[n] = '\0';
        *pp = p;
        return 0;
}

static size_t name_length(const char *p, const char *end) {
        size_t n = 0;

        if (p < end && (isalpha((unsigned char) *p) || *p == '_'))
                while (p + n < end && (isalnum((unsigned char) p[n]) || p[n] == '_'))
                        n++;
        return n;
}

static size_t word_length(const char *p, const char *end) {
        size_t n = 0;

        while (p + n < end && !is_blank(p[n]))
                n++;
        return n;
}

/* The first word is not NAME=...: say what the shell makes of the line. */
static int refuse_command(const char *p, const char *end, char *why, size_t why_size) {
        size_t name = name_length(p, end), word = word_length(p, end);
        const char *q = p + name;

        while (q < end && is_blank(*q))
                q++;
        if (name > 0 && q > p + name && q < end && *q == '=')
                return refuse(why, why_size,
                              "%.*s: blanks around '=': the shell runs a command named %.*s and the line sets nothing; write %.*s=value",
                              (int) (end - p), p, (int) name, p, (int) name, p);
        if (name > 0 && p[name] == ':')
                return refuse(why, why_size,
                              "%.*s: the shell runs a command named '%.*s' and the line sets nothing; write %.*s=value",
                              (int) (end - p), p, (int) word, p, (int) name, p);
        if (is_operator(*p))
                return refuse(why, why_size,
                              "%.*s: a shell syntax error: the old script stopped reading the file here",
                              (int) (end - p), p);
        return refuse(why, why_size, "expected KEY=value: %.*s (the shell runs '%.*s' as a command)",
                      (int) (end - p), p, (int) word, p);
}

/* Bytes that the shell reads differently from any editor. */
static int check_bytes(const char *line, size_t len, char *why, size_t why_size) {
        const char *nul = memchr(line, '\0', len), *cr = memchr(line, '\r', len);

        if (nul)
                return refuse(why, why_size,
                              "NUL byte at column %zu: the shell stops reading the file there and ignores the rest "
                              "(a file filled with zeros after a crash?)", (size_t) (nul - line) + 1);
        if (cr)
                return refuse(why, why_size,
                              "carriage return at column %zu (DOS line ending?): the shell keeps it in the value, "
                              "which the old script then could not use; save the file with Unix line endings",
                              (size_t) (cr - line) + 1);
        if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
                return refuse(why, why_size,
                              "UTF-8 byte order mark: the shell reads it as part of the first word, runs that as a "
                              "command and the line sets nothing; save the file without it");
        return 0;
}

int shell_parse_line(const char *line, size_t len, ShellAssignment ret[static SHELL_ASSIGNMENTS_MAX],
                     char *why, size_t why_size) {
        const char *p = line, *end = line + len;
        int n = 0, r;

        r = check_bytes(line, len, why, why_size);
        if (r < 0)
                return r;
        while (p < end && is_blank(*p))
                p++;
        if (p == end || *p == '#')
                return 0;
        if (end - p > 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6]))
                for (p += 6; p < end && is_blank(*p); p++)
                        ;

        while (p < end && *p != '#') {
                size_t name = name_length(p, end);
                ShellAssignment *a = &ret[n];
                const char *what = NULL;

                if (name == 0 || p + name == end || p[name] != '=') {
                        if (n == 0)
                                return refuse_command(p, end, why, why_size);
                        return refuse(why, why_size,
                                      "%.*s: the shell runs the command '%.*s' with %s set for it alone, "
                                      "and the line sets nothing; quote the value",
                                      (int) (end - line), line, (int) word_length(p, end), p, ret[n - 1].name);
                }
                if (name >= SHELL_NAME_MAX)
                        return refuse(why, why_size, "%.*s: variable name too long", (int) name, p);
                if (n == SHELL_ASSIGNMENTS_MAX)
                        return refuse(why, why_size, "more than %d assignments on one line", SHELL_ASSIGNMENTS_MAX);
                memcpy(a->name, p, name);
                a->name[name] = '\0';
                a->raw = p + name + 1;
                p = a->raw;
                r = unquote_word(&p, end, a->value, sizeof(a->value), &what);
                a->raw_len = (size_t) (r < 0 ? word_length(a->raw, end) : (size_t) (p - a->raw));
                /* A value of any length is cut to RAW_SHOWN_MAX in the message, so
                 * that the reason after it is not lost. */
                if (r < 0)
                        return refuse(why, why_size, "%s=%.*s%s: %s", a->name,
                                      (int) (a->raw_len > RAW_SHOWN_MAX ? RAW_SHOWN_MAX : a->raw_len), a->raw,
                                      a->raw_len > RAW_SHOWN_MAX ? "..." : "", what);
                n++;
                while (p < end && is_blank(*p))
                        p++;
        }
        return n;
}
