/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

void json_write_escaped(FILE *f, const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *) str;
        size_t i = 0;

        fputc('"', f);
        while (i < len) {
                unsigned char c = s[i];
                size_t n;

                switch (c) {
                case '"':  fputs("\\\"", f); i++; continue;
                case '\\': fputs("\\\\", f); i++; continue;
                case '\b': fputs("\\b", f); i++; continue;
                case '\f': fputs("\\f", f); i++; continue;
                case '\n': fputs("\\n", f); i++; continue;
                case '\r': fputs("\\r", f); i++; continue;
                case '\t': fputs("\\t", f); i++; continue;
                }
                if (c < 0x20) {
                        fprintf(f, "\\u%04x", c);
                        i++;
                        continue;
                }
                n = utf8_sequence_len(str + i, len - i);
                if (n == 0) {
                        fprintf(f, "\\u%04x", c);
                        i++;
                        continue;
                }
                /* Exact, but never a raw control or bidi override in a
                 * terminal or log that shows the JSON. */
                if (unichar_is_unsafe(utf8_decode(str + i, n))) {
                        fprintf(f, "\\u%04x", (unsigned) utf8_decode(str + i, n));
                        i += n;
                        continue;
                }
                fwrite(s + i, 1, n, f);
                i += n;
        }
        fputc('"', f);
}

void json_init(JsonWriter *w, FILE *f) {
        *w = (JsonWriter) { .f = f };
        w->first[0] = true;
}

/* Separate this value from the previous one at the same level. */
static void json_prefix(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (!w->first[w->depth])
                fputc(',', w->f);
        w->first[w->depth] = false;
}

static void json_open(JsonWriter *w, char c) {
        json_prefix(w);
        fputc(c, w->f);
        if (w->depth < JSON_DEPTH_MAX)
                w->depth++;
        w->first[w->depth] = true;
}

static void json_close(JsonWriter *w, char c) {
        fputc(c, w->f);
        if (w->depth > 0)
                w->depth--;
}

void json_object_begin(JsonWriter *w) {
        json_open(w, '{');
}

void json_object_end(JsonWriter *w) {
        json_close(w, '}');
}

void json_array_begin(JsonWriter *w) {
        json_open(w, '[');
}

void json_array_end(JsonWriter *w) {
        json_close(w, ']');
}

void json_key(JsonWriter *w, const char *key) {
        json_prefix(w);
        json_write_escaped(w->f, key, strlen(key));
        fputc(':', w->f);
        w->after_key = true;
}

void json_string_len(JsonWriter *w, const char *s, size_t len) {
        json_prefix(w);
        json_write_escaped(w->f, s, len);
}

void json_string(JsonWriter *w, const char *s) {
        if (!s)
                json_null(w);
        else
                json_string_len(w, s, strlen(s));
}

void json_uint(JsonWriter *w, uint64_t v) {
        json_prefix(w);
        fprintf(w->f, "%" PRIu64, v);
}

void json_int(JsonWriter *w, int64_t v) {
        json_prefix(w);
        fprintf(w->f, "%" PRId64, v);
}

void json_bool(JsonWriter *w, bool v) {
        json_prefix(w);
        fputs(v ? "true" : "false", w->f);
}

void json_fixed(JsonWriter *w, double v, int decimals) {
        if (!isfinite(v)) {
                json_null(w);
                return;
        }
        json_prefix(w);
        fprintf(w->f, "%.*f", decimals, v);
}

void json_null(JsonWriter *w) {
        json_prefix(w);
        fputs("null", w->f);
}
