/* SPDX-License-Identifier: MIT */
/* The command provider's server list parser (scale/servers.c). */
#include <string.h>

#include "scale/scale_int.h"
#include "tg_test.h"

static int parse(const char *text, struct tg_addr *out, size_t cap, size_t *n,
                 struct tg_errbuf *eb)
{
    memset(eb, 0, sizeof *eb);
    return tg_scale__parse_servers(text, strlen(text), out, cap, n, eb);
}

int main(int argc, char **argv)
{
    (void)argc;
    struct tg_addr a[4];
    size_t n = 99;
    struct tg_errbuf eb;
    TG_EXPECT_EQ(parse("", a, 4, &n, &eb), 0);
    TG_EXPECT_EQ(n, 0);
    TG_EXPECT_EQ(parse("# scaled by compose\n\n  127.0.0.1:8081  \r\n[::1]:8082 # v6\n"
                       "localhost:8083\n127.0.0.1:8081\n",
                       a, 4, &n, &eb),
                 0);
    TG_EXPECT_EQ(n, 3);
    TG_EXPECT_STREQ(a[0].text, "127.0.0.1:8081");
    TG_EXPECT_STREQ(a[1].text, "[::1]:8082");
    TG_EXPECT_STREQ(a[2].text, "127.0.0.1:8083");
    /* No newline at the end. */
    TG_EXPECT_EQ(parse("10.0.0.5:80", a, 4, &n, &eb), 0);
    TG_EXPECT_EQ(n, 1);
    /* A bad line fails the whole read and is named. */
    TG_EXPECT_EQ(parse("127.0.0.1:8081\napi.internal:80\n", a, 4, &n, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "line 2") != NULL);
    TG_EXPECT_EQ(parse("127.0.0.1\n", a, 4, &n, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "line 1") != NULL);
    TG_EXPECT_EQ(parse("127.0.0.1:0\n", a, 4, &n, &eb), TG_EPARSE);
    TG_EXPECT_EQ(parse("1.1.1.1:1\n1.1.1.1:2\n1.1.1.1:3\n", a, 2, &n, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "more than 2") != NULL);
    return tg_test_report(argv[0]);
}
