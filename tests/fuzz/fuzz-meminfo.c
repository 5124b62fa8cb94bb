/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/meminfo. */
#include <errno.h>

#include "fuzz.h"
#include "meminfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        KsmMeminfo m;
        int r;

        r = meminfo_parse(text, &m);
        if (r == 0)
                FUZZ_ASSERT(m.mem_total_kib > 0);
        else
                FUZZ_ASSERT(r == -EBADMSG || r == -ERANGE);
        free(text);
        return 0;
}
