/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "utf8.h"

size_t utf8_sequence_len(const char *str, size_t n) {
        const unsigned char *s = (const unsigned char *) str;
        unsigned char lo = 0x80, hi = 0xBF;
        size_t len;

        if (n == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                len = 2;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                len = 3;
                if (s[0] == 0xE0)
                        lo = 0xA0;              /* overlong */
                else if (s[0] == 0xED)
                        hi = 0x9F;              /* surrogates */
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                len = 4;
                if (s[0] == 0xF0)
                        lo = 0x90;              /* overlong */
                else if (s[0] == 0xF4)
                        hi = 0x8F;              /* above U+10FFFF */
        } else
                return 0;
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xBF)
                        return 0;
        return len;
}

uint32_t utf8_decode(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *) str;
        uint32_t cp;

        switch (len) {
        case 1: return s[0];
        case 2: cp = s[0] & 0x1F; break;
        case 3: cp = s[0] & 0x0F; break;
        default: cp = s[0] & 0x07; break;
        }
        for (size_t i = 1; i < len; i++)
                cp = cp << 6 | (s[i] & 0x3F);
        return cp;
}

bool unichar_is_unsafe(uint32_t cp) {
        return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||     /* C0, DEL, C1 */
               cp == 0x061C || cp == 0x200E || cp == 0x200F ||  /* bidi marks */
               (cp >= 0x202A && cp <= 0x202E) ||                /* bidi embeddings, overrides */
               (cp >= 0x2066 && cp <= 0x2069) ||                /* bidi isolates */
               cp == 0x2028 || cp == 0x2029;                    /* line, paragraph separators */
}

const char *text_printable(const char *str, char *buf, size_t size) {
        size_t len = strlen(str), i = 0, o = 0;

        if (size == 0)
                return "";
        while (i < len) {
                size_t n = utf8_sequence_len(str + i, len - i);

                if (n == 0 || unichar_is_unsafe(utf8_decode(str + i, n))) {
                        if (o + 1 >= size)
                                break;
                        buf[o++] = '?';
                        i += n ? n : 1;
                        continue;
                }
                if (o + n >= size)
                        break;
                memcpy(buf + o, str + i, n);
                o += n;
                i += n;
        }
        buf[o] = '\0';
        return buf;
}
