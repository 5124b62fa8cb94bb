/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names from processes: the guest name in a qemu command line, and
 * text_printable() on anything. Invariants: a name is non-empty and no
 * longer than the command line; printable text is valid UTF-8 without a
 * control or bidi character, and never longer than its input. */
#include <errno.h>

#include "fuzz.h"
#include "guest-name.h"
#include "utf8.h"

static void check_printable(const char *in) {
        char buf[64];
        const char *out = text_printable(in, buf, sizeof(buf));
        size_t len = strlen(out);

        FUZZ_ASSERT(len < sizeof(buf));
        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence_len(out + i, len - i);

                FUZZ_ASSERT(n > 0);
                FUZZ_ASSERT(!unichar_is_unsafe(utf8_decode(out + i, n)));
                i += n;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_text(data, size), *name = NULL;
        int r;

        r = guest_name_from_cmdline(text, size, &name);
        if (r == 0) {
                FUZZ_ASSERT(name && name[0] && strlen(name) <= size);
                check_printable(name);
                free(name);
        } else
                FUZZ_ASSERT(r == -ENOENT);
        check_printable(text);
        free(text);
        return 0;
}
