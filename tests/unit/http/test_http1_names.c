/* SPDX-License-Identifier: MIT */
/* Unit tests for src/http/http1_names.c: reason phrases and method names, including the
 * fallbacks for values the tables do not know. */
#include "http/http1.h"

#include <string.h>

#include "tg_test.h"

static void test_reasons(void)
{
    TG_EXPECT_STREQ(tg_http_reason(200), "OK");
    TG_EXPECT_STREQ(tg_http_reason(404), "Not Found");
    TG_EXPECT_STREQ(tg_http_reason(431), "Request Header Fields Too Large");
    TG_EXPECT_STREQ(tg_http_reason(502), "Bad Gateway");
    TG_EXPECT_STREQ(tg_http_reason(503), "Service Unavailable");
    TG_EXPECT_STREQ(tg_http_reason(504), "Gateway Timeout");
    TG_EXPECT_STREQ(tg_http_reason(0), "Unknown");
    TG_EXPECT_STREQ(tg_http_reason(299), "Unknown");
    TG_EXPECT_STREQ(tg_http_reason(-1), "Unknown");
    /* Every phrase is usable verbatim in a status line: visible ASCII and spaces only. */
    for (int s = 100; s < 600; s++) {
        const char *r = tg_http_reason(s);
        for (const char *p = r; *p; p++)
            TG_EXPECT(*p >= 0x20 && *p < 0x7f);
    }
}

static void test_methods(void)
{
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_GET), "GET");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_HEAD), "HEAD");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_POST), "POST");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_PUT), "PUT");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_DELETE), "DELETE");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_PATCH), "PATCH");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_OPTIONS), "OPTIONS");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_CONNECT), "CONNECT");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_TRACE), "TRACE");
    TG_EXPECT_STREQ(tg_http_method_name(TG_HTTP_OTHER), "OTHER");
    TG_EXPECT_STREQ(tg_http_method_name((enum tg_http_method)99), "OTHER");
    /* Names round-trip through the parser. */
    char buf[64];
    static struct tg_http_msg msg;
    for (int m = TG_HTTP_GET; m <= TG_HTTP_TRACE; m++) {
        const char *target = m == TG_HTTP_CONNECT ? "h:1" : "/";
        snprintf(buf, sizeof buf, "%s %s HTTP/1.1\r\n\r\n", tg_http_method_name(m), target);
        TG_EXPECT_GT(tg_http1_parse_request(buf, strlen(buf), NULL, &msg, NULL), 0);
        TG_EXPECT_EQ(msg.method, m);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    test_reasons();
    test_methods();
    return tg_test_report(argv[0]);
}
