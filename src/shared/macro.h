/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) {
        free(*(void **) p);
}

/* Close *fd if open and mark it closed (-1): a cleanup handler, and the
 * way to drop an fd kept in a struct. */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
        *fd = -1;
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership of a pointer or fd out of a cleanup scope. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* Room for one more element in *array, which holds n of *alloc elements of
 * size bytes: the allocation doubles, starting at first. Returns 0, or
 * -ENOMEM with *array and *alloc unchanged. */
static inline int array_reserve_one(void **array, size_t *alloc, size_t n, size_t size, size_t first) {
        size_t na;
        void *p;

        if (n < *alloc)
                return 0;
        na = *alloc ? *alloc * 2 : first;
        p = reallocarray(*array, na, size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *alloc = na;
        return 0;
}
#define ARRAY_RESERVE_ONE(array, alloc, n, first) \
        array_reserve_one((void **) &(array), &(alloc), (n), sizeof(*(array)), (first))

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
