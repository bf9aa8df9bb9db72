/* SPDX-License-Identifier: MIT */
/* Tests for src/admin/query.c: a parameter that is present but unusable is an error, never
 * taken for an absent one, and numbers are plain decimal digits (strtoull's leading
 * spaces, signs and partial reads are refused), for every typed reader. */
#include "admin/query.h"

#include <string.h>

#include "tg_test.h"

static struct tg_str S(const char *s) {
    return (struct tg_str){s, (uint32_t)strlen(s)};
}

static void
test_get(void)
{
    char out[8];
    TG_EXPECT_EQ(tg_admin_query_get(S("a=1&endpoint=%2Fapi+x"), "endpoint", out, sizeof out), 0);
    TG_EXPECT_STREQ(out, "/api x");
    TG_EXPECT_EQ(tg_admin_query_get(S("a=1"), "endpoint", out, sizeof out), TG_ENOTFOUND);
    TG_EXPECT_EQ(tg_admin_query_get(S("endpoint="), "endpoint", out, sizeof out), 0);
    TG_EXPECT_STREQ(out, "");
    static const char *const bad[] = {"%zz", "%", "%4", "a%", "%00", "a%00b", "%G0", "12345678"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char q[32];
        strcpy(q, "endpoint=");
        strcat(q, bad[i]);
        TG_EXPECT_EQ(tg_admin_query_get(S(q), "endpoint", out, sizeof out), TG_EPARSE);
    }
    /* With its NUL, "12345678" needs 9 bytes, one more than `out` has; 7 digits fit. */
    TG_EXPECT_EQ(tg_admin_query_get(S("endpoint=1234567"), "endpoint", out, sizeof out), 0);
    TG_EXPECT_EQ(tg_admin_query_get(S("endpoint=x"), "endpoint", out, 0), TG_EPARSE);
}

/* Every spelling strtoull would accept, or half-read, and plain digits must not. */
static const char *const not_digits[] = {
    "",
    "+5",
    "%2B5",
    "+",
    "%205",
    "5%20",
    "%095",
    "5%00",
    "%005",
    "-0",
    "-5",
    "5.0",
    "1e3",
    "0x10",
    "0X10",
    "5s5",
    "%zz",
    "%D9%A3" /* Arabic-Indic 3 */,
    "18446744073709551616" /* 2^64 */,
    "99999999999999999999999",
    "123456789012345678901234567890123" /* longer than the buffer */,
};

static void test_uint(void)
{
    uint64_t v = 7;
    TG_EXPECT(tg_admin_query_uint(S("x=1"), "limit", 10, 100, &v));
    TG_EXPECT_EQ(v, 10);
    TG_EXPECT(tg_admin_query_uint(S("limit=0"), "limit", 10, 100, &v));
    TG_EXPECT_EQ(v, 0);
    TG_EXPECT(tg_admin_query_uint(S("limit=007"), "limit", 10, 100, &v));
    TG_EXPECT_EQ(v, 7);
    TG_EXPECT(tg_admin_query_uint(S("limit=%31%30"), "limit", 10, 100, &v)); /* "10" */
    TG_EXPECT_EQ(v, 10);
    TG_EXPECT(tg_admin_query_uint(S("limit=100"), "limit", 10, 100, &v));
    TG_EXPECT(!tg_admin_query_uint(S("limit=101"), "limit", 10, 100, &v));
    TG_EXPECT(tg_admin_query_uint(S("n=18446744073709551615"), "n", 0, UINT64_MAX, &v));
    TG_EXPECT(v == UINT64_MAX);
    for (size_t i = 0; i < sizeof not_digits / sizeof not_digits[0]; i++) {
        char q[64];
        strcpy(q, "n=");
        strcat(q, not_digits[i]);
        v = 42;
        bool ok = tg_admin_query_uint(S(q), "n", 0, UINT64_MAX, &v);
        if (ok)
            fprintf(stderr, "accepted n=%s as %llu\n", not_digits[i], (unsigned long long)v);
        TG_EXPECT(!ok);
        TG_EXPECT_EQ(v, 42);
    }
}

static void test_seconds(void)
{
    uint32_t s = 0;
    TG_EXPECT(tg_admin_query_seconds(S(""), "window", 60, 900, &s));
    TG_EXPECT_EQ(s, 60);
    TG_EXPECT(tg_admin_query_seconds(S("window=90"), "window", 60, 900, &s));
    TG_EXPECT_EQ(s, 90);
    TG_EXPECT(tg_admin_query_seconds(S("window=1m30s"), "window", 60, 900, &s));
    TG_EXPECT_EQ(s, 90);
    TG_EXPECT(tg_admin_query_seconds(S("window=900"), "window", 60, 900, &s));
    TG_EXPECT(!tg_admin_query_seconds(S("window=901"), "window", 60, 900, &s));
    TG_EXPECT(!tg_admin_query_seconds(S("window=0"), "window", 60, 900, &s));
    TG_EXPECT(!tg_admin_query_seconds(S("window=999ms"), "window", 60, 900, &s));
    for (size_t i = 0; i < sizeof not_digits / sizeof not_digits[0]; i++) {
        char q[64];
        strcpy(q, "window=");
        strcat(q, not_digits[i]);
        s = 42;
        TG_EXPECT(!tg_admin_query_seconds(S(q), "window", 60, 900, &s));
        TG_EXPECT_EQ(s, 42);
    }
    TG_EXPECT(!tg_admin_query_seconds(S("window=+5s"), "window", 60, 900, &s));
    TG_EXPECT(!tg_admin_query_seconds(S("window=5s%00"), "window", 60, 900, &s));
}

int main(int argc, char **argv)
{
    (void)argc;
    test_get();
    test_uint();
    test_seconds();
    return tg_test_report(argv[0]);
}
