/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/cache_policy.{h,c}: Cache-Control parsing (case, quoting,
 * duplicates, junk, overflow), the three HTTP-date forms, the facts gathered from
 * request and response fields, what may be stored and why not, the freshness lifetime's
 * precedence, the initial age, and when an entry may answer a lookup or a failed
 * upstream, with explicit times throughout. */
#include "protect/cache_policy.h"

#include <string.h>

#include "tg_test.h"

#define S 1000000LL /* µs per second */
#define FIELD(n, v)                                                                                \
    {                                                                                              \
        n, v, sizeof(n) - 1, sizeof(v) - 1                                                         \
    }

static struct tg_cache_cc cc_of(const char *v)
{
    struct tg_cache_cc cc;
    tg_cache_cc_init(&cc);
    tg_cache_cc_parse(&cc, v, strlen(v));
    return cc;
}

static void test_cc_parse(void)
{
    struct tg_cache_cc cc = cc_of("max-age=60, public");
    TG_EXPECT_EQ(cc.max_age_s, 60);
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_PUBLIC);
    TG_EXPECT_EQ(cc.s_maxage_s, TG_CACHE_ABSENT);

    cc = cc_of("MAX-AGE=60,Private");
    TG_EXPECT_EQ(cc.max_age_s, 60);
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_PRIVATE);

    TG_EXPECT_EQ(cc_of("max-age=\"30\"").max_age_s, 30); /* quoted form accepted */
    TG_EXPECT_EQ(cc_of("max-age=abc").max_age_s, 0);     /* invalid: stale */
    TG_EXPECT_EQ(cc_of("max-age").max_age_s, 0);         /* no value: stale */
    TG_EXPECT_EQ(cc_of("max-age=-5").max_age_s, 0);
    TG_EXPECT_EQ(cc_of("max-age=60, max-age=10").max_age_s, 10); /* most restrictive */
    TG_EXPECT_EQ(cc_of("max-age=99999999999999999999999").max_age_s, TG_CACHE_DELTA_MAX);
    TG_EXPECT_EQ(cc_of("max-age = 7").max_age_s, 7); /* spaces around '=' tolerated */

    /* A comma inside a quoted argument does not end the member. */
    cc = cc_of("no-cache=\"Set-Cookie, max-age=1\", max-age=5");
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_NO_CACHE);
    TG_EXPECT_EQ(cc.max_age_s, 5);

    cc = cc_of("s-maxage=5, must-revalidate, proxy-revalidate, no-store, only-if-cached");
    TG_EXPECT_EQ(cc.s_maxage_s, 5);
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_MUST_REVALIDATE | TG_CACHE_CC_PROXY_REVALIDATE |
                               TG_CACHE_CC_NO_STORE | TG_CACHE_CC_ONLY_IF_CACHED);

    cc = cc_of("max-stale");
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_MAX_STALE_ANY);
    TG_EXPECT_EQ(cc.max_stale_s, TG_CACHE_ABSENT);
    cc = cc_of("max-stale=10, min-fresh=3, min-fresh=4, stale-if-error=300");
    TG_EXPECT_EQ(cc.max_stale_s, 10);
    TG_EXPECT_EQ(cc.min_fresh_s, 4); /* the larger min-fresh is the stricter */
    TG_EXPECT_EQ(cc.stale_if_error_s, 300);
    TG_EXPECT_EQ(cc_of("stale-if-error=x").stale_if_error_s, TG_CACHE_ABSENT);

    /* Junk: skipped members, while a restrictive directive followed by junk holds. */
    cc = cc_of(", ,=5,\"quoted\", no-store junk, foo=\"bar\"");
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_NO_STORE);
    TG_EXPECT_EQ(cc.max_age_s, TG_CACHE_ABSENT);
    cc = cc_of("max-age=\"unterminated");
    TG_EXPECT_EQ(cc.max_age_s, 0);

    /* Two field lines: the second adds to the first and cannot loosen it. */
    tg_cache_cc_init(&cc);
    tg_cache_cc_parse(&cc, "max-age=10", 10);
    tg_cache_cc_parse(&cc, "max-age=100, private", 21);
    TG_EXPECT_EQ(cc.max_age_s, 10);
    TG_EXPECT_EQ(cc.flags, TG_CACHE_CC_PRIVATE);
}

static int64_t date(const char *s)
{
    int64_t t = -1;
    if (!tg_cache_http_date(s, strlen(s), &t))
        return -2;
    return t;
}

static void test_http_date(void)
{
    /* RFC 9110 §5.6.7's example in its three forms. */
    TG_EXPECT_EQ(date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    TG_EXPECT_EQ(date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    TG_EXPECT_EQ(date("Sun Nov  6 08:49:37 1994"), 784111777);
    TG_EXPECT_EQ(date("Sun Nov 16 08:49:37 1994"), 784111777 + 10 * 86400);
    TG_EXPECT_EQ(date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    TG_EXPECT_EQ(date("Thursday, 01-Jan-26 00:00:00 GMT"), 1767225600); /* 26 -> 2026 */
    TG_EXPECT_EQ(date("Thu, 29 Feb 2024 12:00:00 GMT"), 1709208000);    /* leap day */

    TG_EXPECT_EQ(date("Wed, 29 Feb 2023 12:00:00 GMT"), -2); /* not a leap year */
    TG_EXPECT_EQ(date("Sun, 31 Apr 1994 08:49:37 GMT"), -2);
    TG_EXPECT_EQ(date("Sun, 06 Nov 1994 24:00:00 GMT"), -2);
    TG_EXPECT_EQ(date("Sun, 06 Nov 1994 08:49:37 UTC"), -2);
    TG_EXPECT_EQ(date("Sun, 06 Nov 1994 08:49:37 GMT "), -2); /* trailing byte */
    TG_EXPECT_EQ(date("Sun, 6 Nov 1994 08:49:37 GMT"), -2);
    TG_EXPECT_EQ(date("Xyz, 06 Nov 1994 08:49:37 GMT"), -2);
    TG_EXPECT_EQ(date("Sun, 06 Nov 1969 08:49:37 GMT"), -2);
    TG_EXPECT_EQ(date("0"), -2);
    TG_EXPECT_EQ(date(""), -2);
    TG_EXPECT_EQ(date("-1"), -2);
}

static void test_req_facts(void)
{
    struct tg_cache_req_facts rf;
    struct tg_cache_field a[] = {FIELD("Pragma", "no-cache"), FIELD("authorization", "x")};
    tg_cache_req_facts(a, 2, &rf);
    TG_EXPECT_EQ(rf.cc.flags, TG_CACHE_CC_NO_CACHE);
    TG_EXPECT(rf.authorization);

    /* With a Cache-Control field, Pragma is ignored (RFC 9111 §5.4). */
    struct tg_cache_field b[] = {FIELD("Pragma", "no-cache"), FIELD("Cache-Control", "max-age=5")};
    tg_cache_req_facts(b, 2, &rf);
    TG_EXPECT_EQ(rf.cc.flags, 0);
    TG_EXPECT_EQ(rf.cc.max_age_s, 5);
    TG_EXPECT(!rf.authorization);
}

static void test_resp_facts(void)
{
    struct tg_cache_resp_facts rs;
    struct tg_cache_field a[] = {
        FIELD("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        FIELD("Expires", "0"),
        FIELD("Age", "12"),
        FIELD("Age", "99"),
        FIELD("Vary", "Accept-Encoding, Origin"),
        FIELD("vary", " accept "),
        FIELD("Set-Cookie", "a=b"),
    };
    tg_cache_resp_facts(a, 7, &rs);
    TG_EXPECT_EQ(rs.date_s, 784111777);
    TG_EXPECT_EQ(rs.expires_s, INT64_MIN); /* invalid Expires: already expired */
    TG_EXPECT_EQ(rs.age_s, 12);            /* the first one */
    TG_EXPECT(rs.set_cookie);
    TG_EXPECT(!rs.vary_star);
    TG_EXPECT_EQ(rs.nvary, 3);
    TG_EXPECT_MEMEQ(rs.vary[0].p, rs.vary[0].len, "Accept-Encoding");
    TG_EXPECT_MEMEQ(rs.vary[1].p, rs.vary[1].len, "Origin");
    TG_EXPECT_MEMEQ(rs.vary[2].p, rs.vary[2].len, "accept");

    struct tg_cache_field b[] = {FIELD("Vary", "Accept, *"), FIELD("Age", "x")};
    tg_cache_resp_facts(b, 2, &rs);
    TG_EXPECT(rs.vary_star);
    TG_EXPECT_EQ(rs.age_s, TG_CACHE_ABSENT);
    TG_EXPECT_EQ(rs.date_s, TG_CACHE_ABSENT);
    TG_EXPECT_EQ(rs.expires_s, TG_CACHE_ABSENT);

    struct tg_cache_field c[] = {FIELD("Vary", "a b")}; /* not a token: cannot be matched */
    tg_cache_resp_facts(c, 1, &rs);
    TG_EXPECT(rs.vary_star);

    struct tg_cache_field d[] = {FIELD("Vary", "a,b,c,d,e,f,g,h,i,j")};
    tg_cache_resp_facts(d, 1, &rs);
    TG_EXPECT_EQ(rs.nvary, 10);
}

static enum tg_cache_decline decide(bool get, bool auth, int status, const char *cc,
                                    const char *extra_name, const char *extra_value)
{
    struct tg_cache_req_facts rq = {.authorization = auth};
    tg_cache_cc_init(&rq.cc);
    struct tg_cache_field f[2] = {{"Cache-Control", cc, 13, (uint32_t)strlen(cc)}};
    uint32_t n = 1;
    if (extra_name)
        f[n++] = (struct tg_cache_field){extra_name, extra_value, (uint32_t)strlen(extra_name),
                                         (uint32_t)strlen(extra_value)};
    struct tg_cache_resp_facts rs;
    tg_cache_resp_facts(f, n, &rs);
    return tg_cache_storable(get, &rq, status, &rs);
}

static void test_storable(void)
{
    TG_EXPECT_EQ(decide(true, false, 200, "max-age=60", NULL, NULL), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(decide(true, false, 200, "", NULL, NULL), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(decide(false, false, 200, "max-age=60", NULL, NULL), TG_CACHE_DECLINE_METHOD);
    TG_EXPECT_EQ(decide(true, false, 206, "max-age=60", NULL, NULL), TG_CACHE_DECLINE_STATUS);
    TG_EXPECT_EQ(decide(true, false, 500, "max-age=60", NULL, NULL), TG_CACHE_DECLINE_STATUS);
    TG_EXPECT_EQ(decide(true, false, 302, "max-age=60", NULL, NULL), TG_CACHE_DECLINE_STATUS);
    TG_EXPECT_EQ(decide(true, false, 200, "no-store", NULL, NULL), TG_CACHE_DECLINE_NO_STORE);
    TG_EXPECT_EQ(decide(true, false, 200, "public, private", NULL, NULL), TG_CACHE_DECLINE_PRIVATE);
    TG_EXPECT_EQ(decide(true, false, 200, "private=\"x\"", NULL, NULL), TG_CACHE_DECLINE_PRIVATE);
    TG_EXPECT_EQ(decide(true, false, 200, "no-cache", NULL, NULL), TG_CACHE_DECLINE_NO_CACHE);
    TG_EXPECT_EQ(decide(true, true, 200, "max-age=60", NULL, NULL), TG_CACHE_DECLINE_AUTHORIZATION);
    TG_EXPECT_EQ(decide(true, true, 200, "max-age=60, public", NULL, NULL), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(decide(true, true, 200, "s-maxage=60", NULL, NULL), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(decide(true, true, 200, "must-revalidate", NULL, NULL), TG_CACHE_DECLINE_NONE);
    TG_EXPECT_EQ(decide(true, false, 200, "max-age=60", "Set-Cookie", "s=1"),
                 TG_CACHE_DECLINE_SET_COOKIE);
    TG_EXPECT_EQ(decide(true, false, 200, "max-age=60", "Vary", "*"), TG_CACHE_DECLINE_VARY);
    TG_EXPECT_EQ(decide(true, false, 200, "max-age=60", "Vary", "a,b,c,d,e,f,g,h,i"),
                 TG_CACHE_DECLINE_VARY);
    TG_EXPECT_EQ(decide(true, false, 200, "max-age=60", "Vary", "a,b,c,d,e,f,g,h"),
                 TG_CACHE_DECLINE_NONE);

    /* A request's no-store forbids storing the answer to it. */
    struct tg_cache_req_facts rq = {0};
    tg_cache_cc_init(&rq.cc);
    rq.cc.flags = TG_CACHE_CC_NO_STORE;
    struct tg_cache_resp_facts rs;
    tg_cache_resp_facts(NULL, 0, &rs);
    TG_EXPECT_EQ(tg_cache_storable(true, &rq, 200, &rs), TG_CACHE_DECLINE_NO_STORE);

    TG_EXPECT(tg_cache_status_storable(404) && !tg_cache_status_default_ttl(404));
    TG_EXPECT(tg_cache_status_storable(301) && tg_cache_status_default_ttl(301));
    TG_EXPECT(!tg_cache_status_storable(304) && !tg_cache_status_storable(0));
    TG_EXPECT_STREQ(tg_cache_decline_name(TG_CACHE_DECLINE_TOO_BIG), "too_big");
    TG_EXPECT_STREQ(tg_cache_decline_name(TG_CACHE_DECLINE__COUNT), "unknown");
}

static int64_t lifetime(const char *cc, const char *date_v, const char *expires, int64_t recv)
{
    struct tg_cache_field f[3] = {{"Cache-Control", cc, 13, (uint32_t)strlen(cc)}};
    uint32_t n = 1;
    if (date_v)
        f[n++] = (struct tg_cache_field){"Date", date_v, 4, (uint32_t)strlen(date_v)};
    if (expires)
        f[n++] = (struct tg_cache_field){"Expires", expires, 7, (uint32_t)strlen(expires)};
    struct tg_cache_resp_facts rs;
    tg_cache_resp_facts(f, n, &rs);
    return tg_cache_explicit_lifetime_s(&rs, recv);
}

static void test_lifetime_precedence(void)
{
    const char *d0 = "Sun, 06 Nov 1994 08:49:37 GMT"; /* 784111777 */
    const char *d1 = "Sun, 06 Nov 1994 08:50:37 GMT"; /* + 60 */
    TG_EXPECT_EQ(lifetime("s-maxage=5, max-age=10", d0, d1, 0), 5);
    TG_EXPECT_EQ(lifetime("max-age=10", d0, d1, 0), 10);
    TG_EXPECT_EQ(lifetime("", d0, d1, 0), 60);                      /* Expires - Date */
    TG_EXPECT_EQ(lifetime("", NULL, d1, 784111777 + 20), 40);       /* no Date: the arrival */
    TG_EXPECT_EQ(lifetime("", d1, d0, 0), 0);                       /* Expires before Date */
    TG_EXPECT_EQ(lifetime("", d0, "0", 0), 0);                      /* invalid: expired */
    TG_EXPECT_EQ(lifetime("public", d0, NULL, 0), TG_CACHE_ABSENT); /* the route's TTL */
}

static void test_initial_age(void)
{
    struct tg_cache_field f[] = {FIELD("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), FIELD("Age", "5")};
    struct tg_cache_resp_facts rs;
    tg_cache_resp_facts(f, 2, &rs);
    /* Date 10 s before arrival, Age 5 plus a 2 s round trip: the larger, 10 s. */
    TG_EXPECT_EQ(tg_cache_initial_age_us(&rs, 100 * S, 102 * S, 784111777 + 10), 10 * S);
    rs.age_s = 20; /* now Age and the round trip win: 22 s */
    TG_EXPECT_EQ(tg_cache_initial_age_us(&rs, 100 * S, 102 * S, 784111777 + 10), 22 * S);
    /* A Date in the future (clock skew) adds nothing; neither does a send time after the
     * arrival. */
    TG_EXPECT_EQ(tg_cache_initial_age_us(&rs, 103 * S, 102 * S, 784111777 - 50), 20 * S);
    tg_cache_resp_facts(NULL, 0, &rs);
    TG_EXPECT_EQ(tg_cache_initial_age_us(&rs, 0, 300, 0), 300);
}

static void test_usable(void)
{
    struct tg_cache_cc none = cc_of("");
    struct tg_cache_freshness f = {
        .age_us = 30 * S, .lifetime_us = 60 * S, .stale_if_error_us = TG_CACHE_ABSENT};
    TG_EXPECT_EQ(tg_cache_usable(&f, &none), TG_CACHE_USE_FRESH);
    struct tg_cache_cc max_age = cc_of("max-age=29");
    TG_EXPECT_EQ(tg_cache_usable(&f, &max_age), TG_CACHE_USE_NO);
    max_age = cc_of("max-age=30");
    TG_EXPECT_EQ(tg_cache_usable(&f, &max_age), TG_CACHE_USE_FRESH);
    struct tg_cache_cc min_fresh = cc_of("min-fresh=31");
    TG_EXPECT_EQ(tg_cache_usable(&f, &min_fresh), TG_CACHE_USE_NO);
    min_fresh = cc_of("min-fresh=30");
    TG_EXPECT_EQ(tg_cache_usable(&f, &min_fresh), TG_CACHE_USE_FRESH);
    struct tg_cache_cc no_cache = cc_of("no-cache");
    TG_EXPECT_EQ(tg_cache_usable(&f, &no_cache), TG_CACHE_USE_NO);

    f.age_us = 60 * S; /* age == lifetime: stale */
    TG_EXPECT_EQ(tg_cache_usable(&f, &none), TG_CACHE_USE_NO);
    struct tg_cache_cc ms = cc_of("max-stale");
    TG_EXPECT_EQ(tg_cache_usable(&f, &ms), TG_CACHE_USE_STALE);
    f.age_us = 70 * S;
    ms = cc_of("max-stale=10");
    TG_EXPECT_EQ(tg_cache_usable(&f, &ms), TG_CACHE_USE_STALE);
    ms = cc_of("max-stale=9");
    TG_EXPECT_EQ(tg_cache_usable(&f, &ms), TG_CACHE_USE_NO);
    f.no_stale = true; /* must-revalidate: max-stale cannot override it */
    ms = cc_of("max-stale");
    TG_EXPECT_EQ(tg_cache_usable(&f, &ms), TG_CACHE_USE_NO);
}

static void test_fallback_usable(void)
{
    struct tg_cache_cc none = cc_of("");
    struct tg_cache_freshness f = {
        .age_us = 10 * S, .lifetime_us = 60 * S, .stale_if_error_us = TG_CACHE_ABSENT};
    TG_EXPECT(tg_cache_fallback_usable(&f, &none, 0)); /* fresh */
    f.age_us = 3600 * S;
    TG_EXPECT(tg_cache_fallback_usable(&f, &none, 3600 * S));
    TG_EXPECT(!tg_cache_fallback_usable(&f, &none, 3600 * S - 1));
    TG_EXPECT(!tg_cache_fallback_usable(&f, &none, 0));
    f.no_stale = true;
    TG_EXPECT(!tg_cache_fallback_usable(&f, &none, 7200 * S));
    f.no_stale = false;
    f.stale_if_error_us = 3540 * S; /* staleness is 3540 s */
    TG_EXPECT(tg_cache_fallback_usable(&f, &none, 0));
    f.stale_if_error_us = 3539 * S;
    TG_EXPECT(!tg_cache_fallback_usable(&f, &none, 0));
    struct tg_cache_cc sie = cc_of("stale-if-error=3540");
    TG_EXPECT(tg_cache_fallback_usable(&f, &sie, 0));
    struct tg_cache_cc no_cache = cc_of("no-cache, max-age=0");
    TG_EXPECT(tg_cache_fallback_usable(&f, &no_cache, 3600 * S)); /* preferences yield */
}

static void test_format_age(void)
{
    char buf[128];
    size_t n = tg_cache_format_age(buf, sizeof buf, 61 * S + 999999, false, true);
    TG_EXPECT_MEMEQ(buf, n, "Age: 61\r\n");
    n = tg_cache_format_age(buf, sizeof buf, 100 * S, true, false);
    TG_EXPECT_MEMEQ(buf, n, "Age: 100\r\nWarning: 110 - \"Response is Stale\"\r\n");
    n = tg_cache_format_age(buf, sizeof buf, INT64_MAX, true, true);
    TG_EXPECT_MEMEQ(buf, n,
                    "Age: 2147483648\r\nWarning: 110 - \"Response is Stale\"\r\n"
                    "Warning: 111 - \"Revalidation Failed\"\r\n");
    n = tg_cache_format_age(buf, sizeof buf, -5, false, false);
    TG_EXPECT_MEMEQ(buf, n, "Age: 0\r\n");
    TG_EXPECT_EQ(tg_cache_format_age(buf, 12, 100 * S, true, false), 0);
}

int main(void)
{
    test_cc_parse();
    test_http_date();
    test_req_facts();
    test_resp_facts();
    test_storable();
    test_lifetime_precedence();
    test_initial_age();
    test_usable();
    test_fallback_usable();
    test_format_age();
    return tg_test_report("test_cache_policy");
}
