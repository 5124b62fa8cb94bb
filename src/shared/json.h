/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

/* A compact JSON writer onto a stdio stream. Commas and colons are placed by
 * the writer; the caller nests begin/end calls correctly (at most
 * JSON_DEPTH_MAX levels) and writes a key before each value in an object. */
typedef struct JsonWriter {
        FILE *f;
        unsigned depth;
        bool first[JSON_DEPTH_MAX + 1];         /* no element written yet at this level */
        bool after_key;                         /* the next value completes a key: no comma */
} JsonWriter;

/* Start writing to f. */
void json_init(JsonWriter *w, FILE *f);

void json_object_begin(JsonWriter *w);
void json_object_end(JsonWriter *w);
void json_array_begin(JsonWriter *w);
void json_array_end(JsonWriter *w);

/* A member name in the current object; the next call writes its value. */
void json_key(JsonWriter *w, const char *key);

/* String values: NUL-terminated (NULL writes null) or len bytes (NULs allowed). */
void json_string(JsonWriter *w, const char *s);
void json_string_len(JsonWriter *w, const char *s, size_t len);
void json_uint(JsonWriter *w, uint64_t v);
void json_int(JsonWriter *w, int64_t v);
void json_bool(JsonWriter *w, bool v);
/* A number with a fixed count of decimals; NaN and infinities as null. */
void json_fixed(JsonWriter *w, double v, int decimals);
void json_null(JsonWriter *w);

/* Write len bytes of s as a quoted JSON string: '"', '\\' and control
 * characters escaped; valid UTF-8 passes through; each byte that is not part
 * of a valid UTF-8 sequence is written as \u00XX (its value as a code point),
 * so the output is always valid JSON. */
void json_write_escaped(FILE *f, const char *s, size_t len);
