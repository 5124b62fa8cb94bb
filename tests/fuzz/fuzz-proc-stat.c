/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/PID/stat. */
#include <errno.h>

#include "fuzz.h"
#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        ProcStat st;
        int r;

        r = proc_stat_parse(text, &st);
        if (r == 0)
                FUZZ_ASSERT(memchr(st.comm, '\0', sizeof(st.comm)));
        else
                FUZZ_ASSERT(r == -EBADMSG);
        free(text);
        return 0;
}
