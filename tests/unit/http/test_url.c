/* SPDX-License-Identifier: MIT */
/* Tests for src/http/url.c: percent-decoding and query parameter lookup. */
#include "http/url.h"

#include <string.h>

#include "tg_test.h"

static struct tg_str S(const char *s)
{
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static void test_decode(void)
{
    char out[32];
    long n = tg_http_url_decode(out, sizeof out, S("a%2Fb+c%22%5c"));
    TG_EXPECT_MEMEQ(out, n, "a/b c\"\\");
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("bad%2")), -1);
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("bad%zz")), -1);
    TG_EXPECT_EQ(tg_http_url_decode(out, 3, S("abcd")), -1); /* does not fit */
    TG_EXPECT_EQ(tg_http_url_decode(out, 4, S("abcd")), 4);
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("")), 0);
    /* Truncated escapes, at the end and before more text. */
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("%")), -1);
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("a%4")), -1);
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("%G0b")), -1);
    TG_EXPECT_EQ(tg_http_url_decode(out, sizeof out, S("%%41")), -1);
    /* %00 is a byte like any other here; callers decide. */
    n = tg_http_url_decode(out, sizeof out, S("a%00b"));
    TG_EXPECT_EQ(n, 3);
    TG_EXPECT(n == 3 && out[1] == '\0' && out[2] == 'b');
}

static void test_query_param(void)
{
    struct tg_str v;
    struct tg_str q = S("window=5m&endpoint=%2Fapi&flag&empty=&window=9s");
    TG_EXPECT(tg_http_query_param(q, "window", &v));
    TG_EXPECT_MEMEQ(v.p, v.len, "5m"); /* the first occurrence wins */
    TG_EXPECT(tg_http_query_param(q, "endpoint", &v));
    TG_EXPECT_MEMEQ(v.p, v.len, "%2Fapi");
    TG_EXPECT(tg_http_query_param(q, "flag", &v));
    TG_EXPECT_EQ(v.len, 0);
    TG_EXPECT(tg_http_query_param(q, "empty", &v));
    TG_EXPECT_EQ(v.len, 0);
    TG_EXPECT(!tg_http_query_param(q, "wind", &v));
    TG_EXPECT(!tg_http_query_param(q, "missing", &v));
    TG_EXPECT(!tg_http_query_param(S(""), "a", &v));
    TG_EXPECT(tg_http_query_param(S("&&a=1"), "a", &v));
    TG_EXPECT_MEMEQ(v.p, v.len, "1");
}

int main(int argc, char **argv)
{
    (void)argc;
    test_decode();
    test_query_param();
    return tg_test_report(argv[0]);
}
