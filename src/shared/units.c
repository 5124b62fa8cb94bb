/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "arith.h"
#include "units.h"

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        /* Only fails for an invalid clock id, which callers never pass. */
        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

uint64_t page_size(void) {
        /* POSIX requires _SC_PAGESIZE to be supported: it cannot fail. */
        return (uint64_t) sysconf(_SC_PAGESIZE);
}

uint64_t ksm_saved_pages(const KsmKnobs *k) {
        return sat_add_u64(k->pages_sharing, k->ksm_zero_pages);
}

uint64_t ksm_saved_bytes(const KsmKnobs *k, uint64_t page_size_bytes) {
        return sat_mul_u64(ksm_saved_pages(k), page_size_bytes);
}

const char *format_bytes(uint64_t bytes, char *buf, size_t size) {
        static const char *const suffix[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        unsigned i = 0;
        uint64_t scaled = bytes;

        while (scaled >= 1024 && i < 6) {
                scaled /= 1024;
                i++;
        }
        if (i == 0)
                snprintf(buf, size, "%" PRIu64 " B", bytes);
        else {
                /* Tenths, computed in integers to stay exact. */
                uint64_t div = UINT64_C(1) << (10 * i);
                uint64_t tenths = (bytes % div) * 10 / div;
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " %s", bytes / div, tenths, suffix[i]);
        }
        return buf;
}
