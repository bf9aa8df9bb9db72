/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/clientip.{h,c}: the address forms X-Forwarded-For entries
 * take, CIDR parsing and matching across both families, the right-to-left walk (trusted
 * hops skipped, spoofed entries to the left of the client ignored, every hop trusted,
 * malformed entries, several header lines), and formatting. */
#include "protect/clientip.h"

#include <string.h>

#include "tg_test.h"

static bool parse(const char *s, uint8_t out[16])
{
    return tg_clientip_parse(s, strlen(s), out);
}

static const char *fmt(const uint8_t a[16])
{
    static char buf[TG_CLIENTIP_STRLEN];
    return tg_clientip_format(a, buf, sizeof buf) ? buf : "(none)";
}

static void test_parse(void)
{
    uint8_t a[16];
    static const char *const good[][2] = {
        {"192.0.2.1", "192.0.2.1"},
        {" \t192.0.2.1 ", "192.0.2.1"},
        {"192.0.2.1:8080", "192.0.2.1"},
        {"2001:db8::1", "2001:db8::1"},
        {"[2001:db8::1]", "2001:db8::1"},
        {"[2001:db8::1]:443", "2001:db8::1"},
        {"::ffff:192.0.2.1", "192.0.2.1"}, /* the same client as 192.0.2.1 */
        {"::1", "::1"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        TG_EXPECT(parse(good[i][0], a));
        TG_EXPECT_STREQ(fmt(a), good[i][1]);
    }
    static const char *const bad[] = {
        "",
        "unknown",
        "192.0.2",
        "192.0.2.256",
        "192.0.02.1",
        "192.0.2.1:",
        "192.0.2.1:99999",
        "192.0.2.1:8a",
        "[2001:db8::1",
        "[192.0.2.1]",
        "2001:db8::1:",
        "fe80::1%eth0",
        "[::1]x",
        "[::1]:",
        "1.2.3.4 5.6.7.8",
        "_",
        "0x7f.0.0.1",
        "1.2.3.4.5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool ok = parse(bad[i], a);
        if (ok)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        TG_EXPECT(!ok);
    }
    /* Not NUL-terminated, and a NUL inside: only the given bytes count. */
    TG_EXPECT(tg_clientip_parse("10.0.0.1999", 8, a));
    TG_EXPECT_STREQ(fmt(a), "10.0.0.1");
    TG_EXPECT(!tg_clientip_parse("10.0.0.1\0", 9, a));
    /* Longer than any address. */
    char big[200];
    memset(big, '1', sizeof big);
    TG_EXPECT(!tg_clientip_parse(big, sizeof big, a));
}

static struct tg_clientip_cidr cidr(const char *s)
{
    struct tg_clientip_cidr c;
    memset(&c, 0xee, sizeof c);
    TG_EXPECT(tg_clientip_parse_cidr(s, strlen(s), &c));
    return c;
}

static void test_cidr(void)
{
    uint8_t a[16];
    struct tg_clientip_cidr c = cidr("10.1.2.3/8");
    TG_EXPECT_EQ(c.bits, 104);
    TG_EXPECT_STREQ(fmt(c.net), "10.0.0.0");
    TG_EXPECT(parse("10.255.0.1", a) && tg_clientip_in(&c, a));
    TG_EXPECT(parse("11.0.0.1", a) && !tg_clientip_in(&c, a));
    /* An IPv4 rule never matches an IPv6 client with the same low bytes. */
    TG_EXPECT(parse("::a00:1", a) && !tg_clientip_in(&c, a));
    c = cidr("192.0.2.128/25");
    TG_EXPECT(parse("192.0.2.200", a) && tg_clientip_in(&c, a));
    TG_EXPECT(parse("192.0.2.127", a) && !tg_clientip_in(&c, a));
    c = cidr("2001:db8::/32");
    TG_EXPECT_EQ(c.bits, 32);
    TG_EXPECT(parse("2001:db8:ffff::1", a) && tg_clientip_in(&c, a));
    TG_EXPECT(parse("2001:db9::1", a) && !tg_clientip_in(&c, a));
    c = cidr("fd00::1/7"); /* host bits cleared: fc00::/7 */
    TG_EXPECT_STREQ(fmt(c.net), "fc00::");
    TG_EXPECT(parse("fdff::1", a) && tg_clientip_in(&c, a));
    c = cidr("::1");
    TG_EXPECT_EQ(c.bits, 128);
    c = cidr("127.0.0.1");
    TG_EXPECT_EQ(c.bits, 128);
    c = cidr("0.0.0.0/0"); /* every IPv4 client, no IPv6 one */
    TG_EXPECT(parse("8.8.8.8", a) && tg_clientip_in(&c, a));
    TG_EXPECT(parse("2001:db8::1", a) && !tg_clientip_in(&c, a));
    c = cidr("::/0");
    TG_EXPECT(tg_clientip_in(&c, a));
    static const char *const bad[] = {"10.0.0.0/33",  "::/129",        "10.0.0.0/", "10.0.0.0/-1",
                                      "10.0.0.0/1a",  "10.0.0.0/0008", "/8",        "[::1]/128",
                                      "10.0.0.0/8/8", "10.0.0.0:80/8", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bool ok = tg_clientip_parse_cidr(bad[i], strlen(bad[i]), &c);
        if (ok)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        TG_EXPECT(!ok);
    }
}

static struct tg_clientip_cidr trusted[3];

/* Resolves `xff` (lines separated by '\n') from `peer`; returns the source and writes the
 * client's text into `who`. */
static enum tg_clientip_source resolve(const char *peer, const char *xff, const char **who)
{
    struct tg_clientip_field f[8];
    size_t n = 0;
    for (const char *p = xff; p && n < 8;) {
        const char *nl = strchr(p, '\n');
        f[n].p = p;
        f[n++].n = nl ? (size_t)(nl - p) : strlen(p);
        p = nl ? nl + 1 : NULL;
    }
    uint8_t pa[16], out[16];
    TG_EXPECT(parse(peer, pa));
    enum tg_clientip_source src = tg_clientip_resolve(pa, f, n, trusted, 3, out);
    *who = fmt(out);
    return src;
}

static void test_resolve(void)
{
    trusted[0] = cidr("10.0.0.0/8");
    trusted[1] = cidr("2001:db8:1::/48");
    trusted[2] = cidr("192.0.2.7");
    const char *who;
    /* An untrusted peer's header is not looked at. */
    TG_EXPECT_EQ(resolve("203.0.113.5", "1.1.1.1", &who), TG_CLIENTIP_PEER);
    TG_EXPECT_STREQ(who, "203.0.113.5");
    /* A trusted peer without the header. */
    TG_EXPECT_EQ(resolve("10.0.0.1", NULL, &who), TG_CLIENTIP_PEER);
    TG_EXPECT_STREQ(who, "10.0.0.1");
    TG_EXPECT_EQ(resolve("10.0.0.1", " , ,", &who), TG_CLIENTIP_PEER);
    /* Trusted hops are skipped from the right; the first untrusted entry is the client,
     * and what the client wrote to its left (a spoofed 10.9.9.9 too) is ignored. */
    TG_EXPECT_EQ(resolve("10.0.0.1", "10.9.9.9, 198.51.100.4, 192.0.2.7,10.0.0.2", &who),
                 TG_CLIENTIP_FORWARDED);
    TG_EXPECT_STREQ(who, "198.51.100.4");
    /* Every hop trusted: the leftmost. */
    TG_EXPECT_EQ(resolve("10.0.0.1", "10.0.0.3, 10.0.0.2", &who), TG_CLIENTIP_FORWARDED);
    TG_EXPECT_STREQ(who, "10.0.0.3");
    /* Several header lines are one list, in order. */
    TG_EXPECT_EQ(resolve("10.0.0.1", "198.51.100.9\n10.0.0.4, 10.0.0.3\n\n10.0.0.2", &who),
                 TG_CLIENTIP_FORWARDED);
    TG_EXPECT_STREQ(who, "198.51.100.9");
    /* IPv6 hops with brackets and ports. */
    TG_EXPECT_EQ(resolve("2001:db8:1::5", "[2001:db8:2::9]:4431, [2001:db8:1::6]", &who),
                 TG_CLIENTIP_FORWARDED);
    TG_EXPECT_STREQ(who, "2001:db8:2::9");
    /* A bad entry where the walk needs one: the peer. One left of the client: ignored. */
    TG_EXPECT_EQ(resolve("10.0.0.1", "198.51.100.4, unknown, 10.0.0.2", &who),
                 TG_CLIENTIP_MALFORMED);
    TG_EXPECT_STREQ(who, "10.0.0.1");
    TG_EXPECT_EQ(resolve("10.0.0.1", "garbage, 198.51.100.4, 10.0.0.2", &who),
                 TG_CLIENTIP_FORWARDED);
    TG_EXPECT_STREQ(who, "198.51.100.4");
    /* No trusted list: the peer, always. */
    uint8_t pa[16], out[16];
    struct tg_clientip_field f = {"198.51.100.4", 12};
    TG_EXPECT(parse("10.0.0.1", pa));
    TG_EXPECT_EQ(tg_clientip_resolve(pa, &f, 1, NULL, 0, out), TG_CLIENTIP_PEER);
    TG_EXPECT(memcmp(out, pa, 16) == 0);
}

static void test_format(void)
{
    uint8_t a[16];
    char buf[TG_CLIENTIP_STRLEN];
    static const uint8_t in4[4] = {192, 0, 2, 33};
    tg_clientip_from_v4(in4, a);
    TG_EXPECT_EQ(tg_clientip_format(a, buf, sizeof buf), 10);
    TG_EXPECT_STREQ(buf, "192.0.2.33");
    TG_EXPECT_EQ(tg_clientip_format(a, buf, 10), 0);
    TG_EXPECT_EQ(tg_clientip_format(a, buf, 11), 10);
    TG_EXPECT(parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a));
    TG_EXPECT_EQ(tg_clientip_format(a, buf, sizeof buf), 39);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_parse();
    test_cidr();
    test_resolve();
    test_format();
    return tg_test_report(argv[0]);
}
