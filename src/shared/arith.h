/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Saturating arithmetic: counters and sizes come from the kernel or from
 * fixture files and may be anything up to 2^64 - 1; a sum or product that
 * does not fit stays at the limit instead of wrapping (or, signed, being UB). */
#pragma once

#include <stdint.h>

/* a + b, or UINT64_MAX when it does not fit. */
static inline uint64_t sat_add_u64(uint64_t a, uint64_t b) {
        uint64_t r;

        return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* a * b, or UINT64_MAX when it does not fit. */
static inline uint64_t sat_mul_u64(uint64_t a, uint64_t b) {
        uint64_t r;

        return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* a - b, or 0 when b > a. */
static inline uint64_t sat_sub_u64(uint64_t a, uint64_t b) {
        return a > b ? a - b : 0;
}

/* a + b, or INT64_MIN/INT64_MAX when it does not fit. */
static inline int64_t sat_add_i64(int64_t a, int64_t b) {
        int64_t r;

        if (!__builtin_add_overflow(a, b, &r))
                return r;
        return b > 0 ? INT64_MAX : INT64_MIN;
}

/* An unsigned value as int64_t, INT64_MAX when larger. */
static inline int64_t u64_to_i64_sat(uint64_t v) {
        return v > (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) v;
}
