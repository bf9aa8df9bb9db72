/* SPDX-License-Identifier: MIT */
/* Percent-decoding; see url.h. */
#include "http/url.h"

#include <stdint.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long tg_http_url_decode(char *dst, size_t cap, struct tg_str s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        char ch = s.p[i];
        if (ch == '%') {
            if ((uint64_t)i + 2 >= s.len)
                return -1;
            int hi = hexval(s.p[i + 1]), lo = hexval(s.p[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+') {
            ch = ' ';
        }
        if (n == cap)
            return -1;
        dst[n++] = ch;
    }
    return (long)n;
}

bool tg_http_query_param(struct tg_str query, const char *name, struct tg_str *value)
{
    size_t nlen = strlen(name);
    const char *p = query.p, *end = query.p + query.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
            value->p = eq ? eq + 1 : stop;
            value->len = (uint32_t)(stop - value->p);
            return true;
        }
        p = amp ? amp + 1 : end;
    }
    return false;
}
