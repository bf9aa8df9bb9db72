/* SPDX-License-Identifier: MIT */
/* Unit tests for demo/json.c: escapes, UTF-8 pass-through, and invalid bytes as \u00XX. */
#include "demo/json.h"

#include <string.h>

#include "tg_test.h"

static void expect_esc(const char *in, size_t n, const char *want)
{
    char out[256];
    size_t len = tg_demo_json_escape(out, in, n);
    TG_EXPECT_LE(len, TG_DEMO_JSON_ESC_MAX * n);
    TG_EXPECT_MEMEQ(out, len, want);
}

int main(void)
{
    expect_esc("plain", 5, "plain");
    expect_esc("a\"b\\c", 5, "a\\\"b\\\\c");
    expect_esc("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f");
    expect_esc("\x00\x01\x1f", 3, "\\u0000\\u0001\\u001f");
    expect_esc("caf\xc3\xa9", 5, "caf\xc3\xa9");                       /* valid 2-byte */
    expect_esc("\xe2\x82\xac", 3, "\xe2\x82\xac");                     /* euro sign */
    expect_esc("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");             /* emoji */
    expect_esc("\xff\xfe", 2, "\\u00ff\\u00fe");                       /* never valid */
    expect_esc("\xc3", 1, "\\u00c3");                                  /* truncated sequence */
    expect_esc("\xc0\xaf", 2, "\\u00c0\\u00af");                       /* overlong */
    expect_esc("\xed\xa0\x80", 3, "\\u00ed\\u00a0\\u0080");            /* surrogate */
    expect_esc("\xf4\x90\x80\x80", 4, "\\u00f4\\u0090\\u0080\\u0080"); /* > U+10FFFF */
    const unsigned char ok[] = {0xe0, 0xa0, 0x80};
    TG_EXPECT_EQ(tg_demo_utf8_seq_len(ok, 3), 3);
    TG_EXPECT_EQ(tg_demo_utf8_seq_len(ok, 2), 0);
    return tg_test_report("test_json");
}
