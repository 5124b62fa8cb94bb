/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the fuzz targets: each defines LLVMFuzzerTestOneInput(), run by
 * libFuzzer ("make fuzz", clang) or by replay.c over the stored corpus (the
 * normal test suite, any compiler). A broken invariant aborts. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: libFuzzer saves the input as a crash reproducer. */
#define FUZZ_ASSERT(cond)                                                            \
        do {                                                                         \
                if (!(cond)) {                                                       \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,   \
                                __LINE__, #cond);                                    \
                        abort();                                                     \
                }                                                                    \
        } while (0)

/* The input as a NUL-terminated string (it may hold NULs of its own). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* Consume the input as a stream of integers; zeros when it runs out. */
typedef struct FuzzReader {
        const uint8_t *p;
        size_t n;
} FuzzReader;

static inline uint64_t fuzz_u64(FuzzReader *r) {
        uint64_t v = 0;
        size_t k = r->n < 8 ? r->n : 8;

        for (size_t i = 0; i < k; i++)
                v |= (uint64_t) r->p[i] << (8 * i);
        r->p += k;
        r->n -= k;
        return v;
}

static inline uint8_t fuzz_u8(FuzzReader *r) {
        uint8_t v = r->n ? r->p[0] : 0;

        if (r->n) {
                r->p++;
                r->n--;
        }
        return v;
}

/* A value of one of the sizes kernels and fixtures produce: small, near a
 * power of two, or anything at all. */
static inline uint64_t fuzz_size(FuzzReader *r) {
        uint8_t kind = fuzz_u8(r);
        uint64_t v = fuzz_u64(r);

        switch (kind % 4) {
        case 0: return v % 4096;
        case 1: return v % (UINT64_C(1) << 40);
        case 2: return (UINT64_C(1) << (v % 64)) + (uint64_t) (int8_t) kind;
        default: return v;
        }
}
