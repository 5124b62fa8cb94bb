/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON strings of ksmctl status --json. Invariants: the output is one JSON
 * string of valid UTF-8 with no raw control or bidi character, and for an
 * input of valid UTF-8 it decodes back to exactly the input. */
#include <stdbool.h>

#include "fuzz.h"
#include "json.h"
#include "utf8.h"

static int hex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Append code point cp as UTF-8. */
static size_t put_utf8(char *o, uint32_t cp) {
        if (cp < 0x80) {
                o[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char) (0xC0 | cp >> 6);
                o[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        o[0] = (char) (0xE0 | cp >> 12);
        o[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char) (0x80 | (cp & 0x3F));
        return 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *in = (const char *) data;
        char *out = NULL, *dec;
        size_t out_len = 0, n = 0;
        bool valid = true;
        FILE *f = open_memstream(&out, &out_len);

        FUZZ_ASSERT(f);
        json_write_escaped(f, in, size);
        FUZZ_ASSERT(fclose(f) == 0);
        FUZZ_ASSERT(out_len >= 2 && out[0] == '"' && out[out_len - 1] == '"');

        dec = malloc(out_len * 3 + 1);
        FUZZ_ASSERT(dec);
        for (size_t i = 1; i < out_len - 1;) {
                size_t k = utf8_sequence_len(out + i, out_len - 1 - i);

                FUZZ_ASSERT(k > 0);
                FUZZ_ASSERT(!unichar_is_unsafe(utf8_decode(out + i, k)));
                FUZZ_ASSERT(out[i] != '"');
                if (out[i] != '\\') {
                        memcpy(dec + n, out + i, k);
                        n += k;
                        i += k;
                        continue;
                }
                FUZZ_ASSERT(i + 1 < out_len - 1);
                switch (out[i + 1]) {
                case '"': case '\\': case '/': dec[n++] = out[i + 1]; i += 2; break;
                case 'b': dec[n++] = '\b'; i += 2; break;
                case 'f': dec[n++] = '\f'; i += 2; break;
                case 'n': dec[n++] = '\n'; i += 2; break;
                case 'r': dec[n++] = '\r'; i += 2; break;
                case 't': dec[n++] = '\t'; i += 2; break;
                case 'u': {
                        uint32_t cp = 0;

                        FUZZ_ASSERT(i + 6 <= out_len - 1);
                        for (size_t j = 2; j < 6; j++) {
                                FUZZ_ASSERT(hex(out[i + j]) >= 0);
                                cp = cp << 4 | (uint32_t) hex(out[i + j]);
                        }
                        n += put_utf8(dec + n, cp);
                        i += 6;
                        break;
                }
                default:
                        FUZZ_ASSERT(!"a valid JSON escape");
                }
        }
        for (size_t i = 0; i < size;) {
                size_t k = utf8_sequence_len(in + i, size - i);

                if (k == 0) {
                        valid = false;
                        break;
                }
                i += k;
        }
        if (valid)
                FUZZ_ASSERT(n == size && memcmp(dec, in, size) == 0);
        free(dec);
        free(out);
        return 0;
}
