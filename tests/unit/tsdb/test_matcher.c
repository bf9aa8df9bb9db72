/* SPDX-License-Identifier: MIT */
/* Unit tests for src/tsdb/matcher.c and labels.c: the four matchers with Prometheus's
 * semantics (full anchoring, "" for a missing label, no dot-all, UTF-8), the RE2 syntax
 * PCRE2 would otherwise accept refused with Go's messages, and the label-set helpers
 * (lookup, order, hash, the stale NaN). */
#include "tsdb/query.h"

#include <math.h>
#include <string.h>

#include "tg_test.h"

static bool m(enum tg_match_type type, const char *re, const char *v)
{
    struct tg_matcher mt;
    struct tg_errbuf eb = {0};
    int rc = tg_matcher_init(&mt, type, "x", re, &eb);
    TG_EXPECT_EQ(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s: %s\n", re, eb.msg);
        return false;
    }
    bool r = tg_matcher_matches(&mt, v);
    tg_matcher_free(&mt);
    return r;
}

static void test_equal(void)
{
    TG_EXPECT(m(TG_MATCH_EQUAL, "a", "a"));
    TG_EXPECT(!m(TG_MATCH_EQUAL, "a", "ab"));
    TG_EXPECT(m(TG_MATCH_EQUAL, "", ""));
    TG_EXPECT(!m(TG_MATCH_EQUAL, "", "a"));
    TG_EXPECT(m(TG_MATCH_NOT_EQUAL, "a", ""));
    TG_EXPECT(!m(TG_MATCH_NOT_EQUAL, "a", "a"));
    TG_EXPECT(m(TG_MATCH_NOT_EQUAL, "", "a"));
}

static void test_regex(void)
{
    TG_EXPECT(m(TG_MATCH_REGEX, "5..", "500"));
    TG_EXPECT(!m(TG_MATCH_REGEX, "5", "500")); /* anchored both ends */
    TG_EXPECT(!m(TG_MATCH_REGEX, "00", "500"));
    TG_EXPECT(m(TG_MATCH_REGEX, "a|b", "b"));
    TG_EXPECT(!m(TG_MATCH_REGEX, "a|b", "ab")); /* the alternation is inside the anchors */
    TG_EXPECT(m(TG_MATCH_REGEX, ".*", ""));
    TG_EXPECT(m(TG_MATCH_REGEX, "", ""));
    TG_EXPECT(!m(TG_MATCH_REGEX, "", "a"));
    TG_EXPECT(!m(TG_MATCH_REGEX, ".*", "a\nb")); /* "." does not match a newline */
    TG_EXPECT(m(TG_MATCH_REGEX, "(?s).*", "a\nb"));
    TG_EXPECT(!m(TG_MATCH_REGEX, "a$", "a\n")); /* "$" is the end of text only */
    TG_EXPECT(m(TG_MATCH_REGEX, "(?i)GET", "get"));
    TG_EXPECT(m(TG_MATCH_REGEX, "\\d+", "123"));
    TG_EXPECT(m(TG_MATCH_REGEX, "[[:alpha:]]+", "abc"));
    TG_EXPECT(m(TG_MATCH_REGEX, "a{2,3}", "aaa"));
    TG_EXPECT(m(TG_MATCH_REGEX, "a*?b", "aab"));
    TG_EXPECT(m(TG_MATCH_REGEX, "a??b", "ab"));
    TG_EXPECT(m(TG_MATCH_REGEX, "(?P<n>x)y", "xy"));
    TG_EXPECT(m(TG_MATCH_REGEX, "(?i:a)b", "Ab"));
    TG_EXPECT(m(TG_MATCH_REGEX, "/api/.*", "/api/products/:id"));
    TG_EXPECT(m(TG_MATCH_REGEX, "é.", "éü")); /* "." is one code point, not one byte */
    TG_EXPECT(m(TG_MATCH_REGEX, "\\Qa.b\\E", "a.b"));
    TG_EXPECT(!m(TG_MATCH_REGEX, "\\Qa.b\\E", "axb"));
    TG_EXPECT(m(TG_MATCH_REGEX, "a{", "a{")); /* not a repeat: a literal, as in Go */
    TG_EXPECT(!m(TG_MATCH_REGEX, ".*", "\xff\xfe") || true); /* invalid UTF-8: no crash */
    TG_EXPECT(m(TG_MATCH_NOT_REGEX, "5..", ""));
    TG_EXPECT(m(TG_MATCH_NOT_REGEX, "5..", "200"));
    TG_EXPECT(!m(TG_MATCH_NOT_REGEX, "5..", "503"));
    TG_EXPECT(!m(TG_MATCH_NOT_REGEX, ".*", ""));
}

static void expect_error(const char *re, const char *msg)
{
    struct tg_matcher mt;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_matcher_init(&mt, TG_MATCH_REGEX, "x", re, &eb), TG_EPARSE);
    TG_EXPECT_STREQ(eb.msg, msg);
    TG_EXPECT(mt.name == NULL && mt.value == NULL && mt.re == NULL);
    tg_matcher_free(&mt); /* a failed init leaves a matcher that frees cleanly */
}

static void test_regex_errors(void)
{
    expect_error("(?=x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`");
    expect_error("a(?!x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`");
    expect_error("(?<=a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`");
    expect_error("(?>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?>`");
    expect_error("+Inf", "error parsing regexp: missing argument to repetition operator: `+`");
    expect_error("a|*", "error parsing regexp: missing argument to repetition operator: `*`");
    expect_error("a**", "error parsing regexp: invalid nested repetition operator: `**`");
    expect_error("a++", "error parsing regexp: invalid nested repetition operator: `++`");
    expect_error("a*??", "error parsing regexp: invalid nested repetition operator: `*??`");
    expect_error("(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`");
    expect_error("\\k<n>", "error parsing regexp: invalid escape sequence: `\\k`");
    expect_error("a\\", "error parsing regexp: trailing backslash at end of expression: ``");
    expect_error("(abc", "error parsing regexp: missing closing ): `(abc`");
    expect_error("a)(b", "error parsing regexp: unexpected ): `a)(b`");
    expect_error("x[ab", "error parsing regexp: missing closing ]: `[ab`");
    expect_error("a{1001}", "error parsing regexp: invalid repeat count: `{1001}`");
    expect_error("a{3,2}", "error parsing regexp: invalid repeat count: `{3,2}`");
}

static void test_labels(void)
{
    struct tg_label a[] = {{"__name__", "up"}, {"instance", "i"}, {"job", "j"}};
    struct tg_label b[] = {{"__name__", "up"}, {"instance", "i"}};
    struct tg_label c[] = {{"__name__", "up"}, {"instance", "j"}};
    struct tg_labels la = {a, 3}, lb = {b, 2}, lc = {c, 2};
    TG_EXPECT_STREQ(tg_labels_get(&la, "job"), "j");
    TG_EXPECT_STREQ(tg_labels_get(&la, "nope"), "");
    TG_EXPECT_GT(tg_labels_cmp(&la, &lb), 0); /* a prefix sorts first */
    TG_EXPECT_LT(tg_labels_cmp(&lb, &lc), 0);
    TG_EXPECT_EQ(tg_labels_cmp(&la, &la), 0);
    TG_EXPECT(tg_labels_hash(&la) != tg_labels_hash(&lb));
    struct tg_label b2[] = {{"__name__", "up"}, {"instance", "i"}};
    struct tg_labels lb2 = {b2, 2};
    TG_EXPECT(tg_labels_hash(&lb) == tg_labels_hash(&lb2));
    /* The separator keeps "a"+"bc" apart from "ab"+"c". */
    struct tg_label d1[] = {{"a", "bc"}}, d2[] = {{"ab", "c"}};
    struct tg_labels ld1 = {d1, 1}, ld2 = {d2, 1};
    TG_EXPECT(tg_labels_hash(&ld1) != tg_labels_hash(&ld2));
}

static void test_stale(void)
{
    double s = tg_stale_nan();
    TG_EXPECT(isnan(s));
    TG_EXPECT(tg_is_stale(s));
    TG_EXPECT(!tg_is_stale(NAN));
    TG_EXPECT(!tg_is_stale(0.0));
    TG_EXPECT(!tg_is_stale(INFINITY));
}

int main(int argc, char **argv)
{
    (void)argc;
    test_equal();
    test_regex();
    test_regex_errors();
    test_labels();
    test_stale();
    return tg_test_report(argv[0]);
}
