/* SPDX-License-Identifier: MIT */
/* Unit tests for src/http/http1_chars.c: the hand-written byte-class table is recomputed
 * here from the RFC 9110 / RFC 3986 definitions, byte by byte, so a typo in a row cannot
 * silently widen what the parser accepts. */
#include "http/http1_int.h"

#include <stdbool.h>
#include <string.h>

#include "tg_test.h"

static bool in(int c, const char *set)
{
    return c != 0 && strchr(set, c) != NULL;
}

static unsigned expected(int c)
{
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    bool vchar = c >= 0x21 && c <= 0x7e;
    bool obs = c >= 0x80;
    bool ws = c == ' ' || c == '\t';
    unsigned f = 0;
    if (alpha || digit || in(c, "!#$%&'*+-.^_`|~"))
        f |= TG_HTTP1__TCHAR;
    if (ws || vchar || obs)
        f |= TG_HTTP1__VALUE;
    if (vchar && c != '#')
        f |= TG_HTTP1__TARGET;
    if (alpha || digit || in(c, "-._~!$&'()*+,;=%:[]"))
        f |= TG_HTTP1__AUTH;
    if (ws || obs || (vchar && c != '"' && c != '\\'))
        f |= TG_HTTP1__QDTEXT;
    if (digit || in(c, "abcdefABCDEF"))
        f |= TG_HTTP1__HEX;
    if (ws)
        f |= TG_HTTP1__WS;
    return f;
}

int main(int argc, char **argv)
{
    (void)argc;
    for (int c = 0; c < 256; c++) {
        if (tg_http1__cclass[c] != expected(c))
            fprintf(stderr, "byte 0x%02x\n", c);
        TG_EXPECT_EQ(tg_http1__cclass[c], expected(c));
    }
    return tg_test_report(argv[0]);
}
