/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Length in bytes of the valid UTF-8 sequence at s (at most n bytes
 * available), or 0 when the bytes there do not start one (n == 0 too).
 * Overlong forms, surrogates and code points above U+10FFFF are invalid, as
 * in RFC 3629. */
size_t utf8_sequence_len(const char *s, size_t n);
