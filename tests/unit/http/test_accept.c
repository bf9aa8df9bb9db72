/* SPDX-License-Identifier: MIT */
/* Tests for src/http/accept.c: Accept-Encoding weights, as browsers and curl send them
 * and as a hostile client might. */
#include "http/accept.h"

#include <string.h>

#include "tg_test.h"

static int weight1(const char *v, const char *coding)
{
    struct tg_str s = {v, (uint32_t)strlen(v)};
    return tg_http_coding_weight(&s, 1, coding);
}

static void test_common(void)
{
    TG_EXPECT_EQ(weight1("gzip, deflate, br, zstd", "gzip"), 1000); /* Chromium */
    TG_EXPECT_EQ(weight1("deflate, gzip;q=1.0, *;q=0.5", "gzip"), 1000);
    TG_EXPECT_EQ(weight1("br;q=1.0, gzip;q=0.8, *;q=0.1", "gzip"), 800);
    TG_EXPECT_EQ(weight1("GZIP ; Q=0.25", "gzip"), 250);
    TG_EXPECT_EQ(weight1("x-gzip", "gzip"), 1000);
    TG_EXPECT_EQ(weight1("br", "gzip"), -1);
    TG_EXPECT_EQ(weight1("", "gzip"), -1); /* only identity */
    TG_EXPECT_EQ(weight1("identity", "gzip"), -1);
}

static void test_star_and_refusal(void)
{
    TG_EXPECT_EQ(weight1("*", "gzip"), 1000);
    TG_EXPECT_EQ(weight1("*;q=0", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzip;q=0, *", "gzip"), 0);    /* its own element wins over * */
    TG_EXPECT_EQ(weight1("*, gzip;q=0", "gzip"), 0);    /* in any order */
    TG_EXPECT_EQ(weight1("gzip, gzip;q=0", "gzip"), 0); /* twice: the lower */
    TG_EXPECT_EQ(weight1("gzip;q=0.000", "gzip"), 0);
}

static void test_malformed(void)
{
    /* A weight that does not parse is no preference for it. */
    TG_EXPECT_EQ(weight1("gzip;q=2", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzip;q=1.5", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzip;q=0.1234", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzip;q=", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzip;level=9", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzip;", "gzip"), 0);
    TG_EXPECT_EQ(weight1("gzipx", "gzip"), -1); /* a prefix is another name */
    TG_EXPECT_EQ(weight1(",,, ,gzip,,", "gzip"), 1000);
    TG_EXPECT_EQ(weight1(";;;", "gzip"), -1);
    TG_EXPECT_EQ(weight1("q=1", "gzip"), -1);
}

static void test_several_lines(void)
{
    struct tg_str v[2] = {{"br", 2}, {"gzip;q=0.5", 10}};
    TG_EXPECT_EQ(tg_http_coding_weight(v, 2, "gzip"), 500);
    TG_EXPECT_EQ(tg_http_coding_weight(v, 0, "gzip"), -1);
    /* A value that is not NUL-terminated is read only up to its length. */
    struct tg_str cut = {"gzip;q=0.5junk", 10};
    TG_EXPECT_EQ(tg_http_coding_weight(&cut, 1, "gzip"), 500);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_common();
    test_star_and_refusal();
    test_malformed();
    test_several_lines();
    return tg_test_report(argv[0]);
}
