/* SPDX-License-Identifier: MIT */
/* JSON string escaping; see json.h. */
#include "demo/json.h"

#include <stdbool.h>

static bool cont(unsigned char b)
{
    return (b & 0xC0) == 0x80;
}

size_t tg_demo_utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char b = p[0];
    if (b < 0x80)
        return 1;
    /* Second-byte ranges from RFC 3629's table exclude overlongs and surrogates. */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (b >= 0xC2 && b <= 0xDF)
        len = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (!cont(p[i]))
            return 0;
    return len;
}

size_t tg_demo_json_escape(char *dst, const void *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = src;
    char *d = dst;
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\') {
            *d++ = (char)b;
            i++;
            continue;
        }
        char short_esc = 0;
        switch (b) {
        case '"':
            short_esc = '"';
            break;
        case '\\':
            short_esc = '\\';
            break;
        case '\n':
            short_esc = 'n';
            break;
        case '\r':
            short_esc = 'r';
            break;
        case '\t':
            short_esc = 't';
            break;
        case '\b':
            short_esc = 'b';
            break;
        case '\f':
            short_esc = 'f';
            break;
        default:
            break;
        }
        if (short_esc) {
            *d++ = '\\';
            *d++ = short_esc;
            i++;
            continue;
        }
        size_t len = b >= 0x80 ? tg_demo_utf8_seq_len(s + i, n - i) : 0;
        if (len) {
            for (size_t k = 0; k < len; k++)
                *d++ = (char)s[i + k];
            i += len;
            continue;
        }
        *d++ = '\\';
        *d++ = 'u';
        *d++ = '0';
        *d++ = '0';
        *d++ = hex[b >> 4];
        *d++ = hex[b & 15];
        i++;
    }
    return (size_t)(d - dst);
}
