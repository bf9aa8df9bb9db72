/* SPDX-License-Identifier: MIT */
/* host:port parsing: the accepted spellings and their normalised text, the sockaddr
 * bytes, every refusal with its message, equality and ports. */
#include "config/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tg_test.h"

static const char *norm(const char *s)
{
    static struct tg_addr a;
    static struct tg_errbuf eb;
    if (tg_addr_parse(s, &a, &eb) != 0)
        return eb.msg;
    return a.text;
}

static const char *err(const char *s)
{
    static struct tg_errbuf eb;
    struct tg_addr a;
    memset(&a, 0xab, sizeof a);
    if (tg_addr_parse(s, &a, &eb) != TG_EPARSE)
        return "(accepted)";
    /* A refused parse leaves the address zeroed, never half-filled. */
    TG_EXPECT_EQ(a.len, 0);
    TG_EXPECT_EQ(a.ss.ss_family, AF_UNSPEC);
    TG_EXPECT_STREQ(a.text, "");
    return eb.msg;
}

static void test_accepted(void)
{
    TG_EXPECT_STREQ(norm("127.0.0.1:8080"), "127.0.0.1:8080");
    TG_EXPECT_STREQ(norm(":8000"), "0.0.0.0:8000");
    TG_EXPECT_STREQ(norm("*:8000"), "0.0.0.0:8000");
    TG_EXPECT_STREQ(norm("0.0.0.0:0"), "0.0.0.0:0");
    TG_EXPECT_STREQ(norm("localhost:80"), "127.0.0.1:80");
    TG_EXPECT_STREQ(norm("LocalHost:80"), "127.0.0.1:80");
    TG_EXPECT_STREQ(norm("[::1]:8080"), "[::1]:8080");
    TG_EXPECT_STREQ(norm("[::]:8000"), "[::]:8000");
    TG_EXPECT_STREQ(norm("[2001:DB8:0:0::1]:443"), "[2001:db8::1]:443");
    TG_EXPECT_STREQ(norm("[::ffff:10.0.0.1]:1"), "[::ffff:10.0.0.1]:1");
    TG_EXPECT_STREQ(norm("10.1.2.3:65535"), "10.1.2.3:65535");
    TG_EXPECT_STREQ(norm("10.1.2.3:00080"), "10.1.2.3:80");

    struct tg_addr a;
    TG_EXPECT_EQ(tg_addr_parse("192.168.1.2:8081", &a, NULL), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
    TG_EXPECT_EQ(sin->sin_family, AF_INET);
    TG_EXPECT_EQ(a.len, sizeof(struct sockaddr_in));
    TG_EXPECT_EQ(ntohs(sin->sin_port), 8081);
    TG_EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0xc0a80102u);
    TG_EXPECT_EQ(tg_addr_port(&a), 8081);

    TG_EXPECT_EQ(tg_addr_parse("[::1]:9", &a, NULL), 0);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
    TG_EXPECT_EQ(sin6->sin6_family, AF_INET6);
    TG_EXPECT_EQ(a.len, sizeof(struct sockaddr_in6));
    TG_EXPECT(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    TG_EXPECT_EQ(tg_addr_port(&a), 9);

    /* Re-parsing the normalised text in place is allowed. */
    TG_EXPECT_EQ(tg_addr_parse(a.text, &a, NULL), 0);
    TG_EXPECT_STREQ(a.text, "[::1]:9");
}

static void test_refused(void)
{
    TG_EXPECT_STREQ(err("example.com:80"),
                    "bad address \"example.com:80\": hostnames are not supported, use an IP "
                    "address");
    TG_EXPECT_STREQ(err("db:5432"),
                    "bad address \"db:5432\": hostnames are not supported, use an IP address");
    TG_EXPECT_STREQ(err("127.0.0.1"), "bad address \"127.0.0.1\": missing port (use host:port, "
                                      "e.g. 127.0.0.1:8080 or :8000)");
    TG_EXPECT_STREQ(err("8000"), "bad address \"8000\": missing port (use host:port, e.g. "
                                 "127.0.0.1:8080 or :8000)");
    TG_EXPECT_STREQ(err(""), "bad address \"\": empty (use host:port, e.g. 127.0.0.1:8080)");
    TG_EXPECT_STREQ(err("127.0.0.1:"),
                    "bad address \"127.0.0.1:\": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("127.0.0.1:65536"),
                    "bad address \"127.0.0.1:65536\": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("127.0.0.1:123456"),
                    "bad address \"127.0.0.1:123456\": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("127.0.0.1:-1"),
                    "bad address \"127.0.0.1:-1\": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("127.0.0.1:http"),
                    "bad address \"127.0.0.1:http\": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("127.0.0.1:80 "),
                    "bad address \"127.0.0.1:80 \": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("256.0.0.1:80"), "bad address \"256.0.0.1:80\": not an IPv4 address");
    TG_EXPECT_STREQ(err("010.0.0.1:80"), "bad address \"010.0.0.1:80\": not an IPv4 address");
    TG_EXPECT_STREQ(err("1.2.3:80"), "bad address \"1.2.3:80\": not an IPv4 address");
    TG_EXPECT_STREQ(err("::1:8080"),
                    "bad address \"::1:8080\": IPv6 addresses need brackets, e.g. [::1]:8080");
    TG_EXPECT_STREQ(err("[::1]"), "bad address \"[::1]\": use [ipv6]:port, e.g. [::1]:8080");
    TG_EXPECT_STREQ(err("[::1]8080"),
                    "bad address \"[::1]8080\": use [ipv6]:port, e.g. [::1]:8080");
    TG_EXPECT_STREQ(err("[::1:8080"),
                    "bad address \"[::1:8080\": use [ipv6]:port, e.g. [::1]:8080");
    TG_EXPECT_STREQ(err("[1.2.3.4]:80"), "bad address \"[1.2.3.4]:80\": not an IPv6 address");
    TG_EXPECT_STREQ(err("[fe80::1%eth0]:80"),
                    "bad address \"[fe80::1%eth0]:80\": IPv6 zone ids are not supported");
    TG_EXPECT_STREQ(err("http://127.0.0.1:8080"),
                    "bad address \"http://127.0.0.1:8080\": write host:port without a scheme, "
                    "e.g. 127.0.0.1:8080");
    TG_EXPECT_STREQ(err("[::1]:99999"),
                    "bad address \"[::1]:99999\": port must be a number from 0 to 65535");
    TG_EXPECT_STREQ(err("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1"),
                    "bad address \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...: hostnames are "
                    "not supported, use an IP address");
    TG_EXPECT_STREQ(err("[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]:1"),
                    "bad address \"[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...: not an IPv6 "
                    "address");
}

static void test_equal(void)
{
    struct tg_addr a, b, c, d, z;
    memset(&z, 0, sizeof z);
    TG_EXPECT_EQ(tg_addr_parse("localhost:80", &a, NULL), 0);
    TG_EXPECT_EQ(tg_addr_parse("127.0.0.1:80", &b, NULL), 0);
    TG_EXPECT_EQ(tg_addr_parse("127.0.0.1:81", &c, NULL), 0);
    TG_EXPECT_EQ(tg_addr_parse("[::ffff:127.0.0.1]:80", &d, NULL), 0);
    TG_EXPECT(tg_addr_equal(&a, &b));
    TG_EXPECT(!tg_addr_equal(&a, &c));
    TG_EXPECT(!tg_addr_equal(&a, &d));
    TG_EXPECT(tg_addr_equal(&d, &d));
    TG_EXPECT(!tg_addr_equal(&d, &z));
    TG_EXPECT(tg_addr_equal(&z, &z));
    TG_EXPECT_EQ(tg_addr_port(&z), 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_accepted();
    test_refused();
    test_equal();
    return tg_test_report(argv[0]);
}
