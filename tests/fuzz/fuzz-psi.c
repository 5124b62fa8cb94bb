/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc/pressure/memory. */
#include <errno.h>

#include "fuzz.h"
#include "psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size);
        KsmPsi p;
        int r;

        r = psi_parse(text, &p);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG);
        free(text);
        return 0;
}
