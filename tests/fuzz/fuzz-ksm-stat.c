/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/PID/ksm_stat. */
#include <errno.h>

#include "fuzz.h"
#include "ksm-stat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        KsmProcStat s;
        int r;

        r = ksm_stat_parse(text, &s);
        if (r == 0) {
                FUZZ_ASSERT(s.present != 0);
                /* Saturates rather than wrapping. */
                FUZZ_ASSERT(ksm_proc_saved_bytes(&s, 4096) >= s.merging_pages ||
                            ksm_proc_saved_bytes(&s, 4096) == UINT64_MAX);
        } else
                FUZZ_ASSERT(r == -EBADMSG);
        free(text);
        return 0;
}
