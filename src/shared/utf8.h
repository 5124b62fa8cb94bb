/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length in bytes of the valid UTF-8 sequence at s (at most n bytes
 * available), or 0 when the bytes there do not start one (n == 0 too).
 * Overlong forms, surrogates and code points above U+10FFFF are invalid, as
 * in RFC 3629. */
size_t utf8_sequence_len(const char *s, size_t n);

/* The code point of the valid sequence of len bytes at s (utf8_sequence_len). */
uint32_t utf8_decode(const char *s, size_t len);

/* Whether a code point must not reach a log line or a terminal unchanged:
 * C0 and C1 controls, DEL, the bidirectional marks, embeddings, overrides
 * and isolates (which reorder what follows), line and paragraph separators. */
bool unichar_is_unsafe(uint32_t cp);

/* Untrusted text (a process or domain name) for a log line or a table: each
 * invalid byte and each unsafe code point becomes '?', the rest is kept;
 * cut at a character boundary to fit size bytes. Returns buf. */
const char *text_printable(const char *s, char *buf, size_t size);
