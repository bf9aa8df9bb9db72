/* SPDX-License-Identifier: MIT */
/* Unit tests for src/rules/template*.c: the expansions Prometheus 2.42 gave for the
 * humanize family, printf and $value (prometheus-compat.md §c.4, observed with promtool),
 * labels and external labels, if/else if/else, comparisons, trimming, comments, and the
 * errors: unknown functions and malformed actions at parse time, type errors at
 * expansion time as "<error expanding template: ...>". */
#include "rules/template.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static const struct tg_label lv[] = {{"endpoint", "/api/products"}, {"instance", "gw:8000"},
                                     {"job", "api"}};
static const struct tg_labels labels = {lv, 3};
static const struct tg_label ev[] = {{"site", "lab"}};
static const struct tg_labels ext = {ev, 1};

static char *expand(const char *text, double value)
{
    struct tg_template *t = NULL;
    struct tg_errbuf eb = {0};
    if (tg_template_parse(text, &t, &eb) != 0) {
        fprintf(stderr, "parse failed: %s: %s\n", text, eb.msg);
        return strdup("<parse failed>");
    }
    struct tg_template_data d = {value, &labels, &ext, "http://tg:9090"};
    char *s = tg_template_expand(t, &d);
    tg_template_free(t);
    return s;
}

#define EXPANDS(text, value, want)                                                           \
    do {                                                                                     \
        char *got_ = expand(text, value);                                                    \
        TG_EXPECT_STREQ(got_, want);                                                         \
        free(got_);                                                                          \
    } while (0)

/* The table observed with Prometheus 2.42 (promtool test rules). */
static void test_observed_table(void)
{
    static const struct {
        double v;
        const char *value, *humanize, *h1024, *dur, *pct, *printf2;
    } rows[] = {
        {1000000, "1e+06", "1M", "976.6ki", "11d 13h 46m 40s", "1e+08%", "1000000.00"},
        {1234567, "1.234567e+06", "1.235M", "1.177Mi", "14d 6h 56m 7s", "1.235e+08%",
         "1234567.00"},
        {100000, "100000", "100k", "97.66ki", "1d 3h 46m 40s", "1e+07%", NULL},
        {3661, "3661", "3.661k", "3.575ki", "1h 1m 1s", "3.661e+05%", NULL},
        {2048, "2048", "2.048k", "2ki", "34m 8s", NULL, NULL},
        {0.445, "0.445", "445m", "0.445", "445ms", "44.5%", "0.45"},
        {0.0001, "0.0001", "100u", "0.0001", "100us", "0.01%", NULL},
        {0.00001, "1e-05", "10u", "1e-05", "10us", "0.001%", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        EXPANDS("{{ $value }}", rows[i].v, rows[i].value);
        EXPANDS("{{ $value | humanize }}", rows[i].v, rows[i].humanize);
        EXPANDS("{{ $value | humanize1024 }}", rows[i].v, rows[i].h1024);
        EXPANDS("{{ humanizeDuration $value }}", rows[i].v, rows[i].dur);
        if (rows[i].pct)
            EXPANDS("{{ $value | humanizePercentage }}", rows[i].v, rows[i].pct);
        if (rows[i].printf2)
            EXPANDS("{{ printf \"%.2f\" $value }}", rows[i].v, rows[i].printf2);
    }
    char buf[32];
    TG_EXPECT_STREQ(tg_template_go_float(NAN, buf, sizeof buf), "NaN");
    TG_EXPECT_STREQ(tg_template_go_float(-INFINITY, buf, sizeof buf), "-Inf");
    TG_EXPECT_STREQ(tg_template_go_float(0.1 + 0.2, buf, sizeof buf), "0.30000000000000004");
    TG_EXPECT_STREQ(tg_template_go_float(123456.5, buf, sizeof buf), "123456.5");
    TG_EXPECT_STREQ(tg_template_go_float(-2.5e-7, buf, sizeof buf), "-2.5e-07");
    TG_EXPECT_STREQ(tg_template_go_float(1e21, buf, sizeof buf), "1e+21");
    TG_EXPECT_STREQ(tg_template_go_float(0, buf, sizeof buf), "0");
}

static void test_seed_annotations(void)
{
    EXPANDS("P95 latency is {{ $value }}s on {{ $labels.endpoint }}", 1.5,
            "P95 latency is 1.5s on /api/products");
    EXPANDS("Error rate is {{ $value | humanizePercentage }}", 0.0123, "Error rate is 1.23%");
    EXPANDS("{{ $labels.missing }}|{{ $externalLabels.site }}|{{ $externalURL }}", 0,
            "|lab|http://tg:9090");
    EXPANDS("{{ index $labels \"job\" }} {{ $labels.instance | toUpper }}", 0, "api GW:8000");
    EXPANDS("{{ title \"api is slow\" }}", 0, "Api Is Slow");
}

static void test_control(void)
{
    const char *sev = "{{ if gt $value 5.0 }}SEV-1{{ else if gt $value 3.0 }}SEV-2"
                      "{{ else }}SEV-3{{ end }}";
    EXPANDS(sev, 6, "SEV-1");
    EXPANDS(sev, 4, "SEV-2");
    EXPANDS(sev, 1, "SEV-3");
    EXPANDS("{{ if eq $labels.job \"api\" }}yes{{ end }}", 0, "yes");
    EXPANDS("{{ if and (gt $value 1.0) (lt $value 10.0) }}in{{ else }}out{{ end }}", 5, "in");
    EXPANDS("{{ if not $labels.missing }}none{{ end }}", 0, "none");
    EXPANDS("a  {{- $value -}}  b", 2, "a2b");
    EXPANDS("a {{/* a comment */}}b", 0, "a b");
    EXPANDS("{{ printf \"%s=%d\" \"x\" $value }}", 3, "x=%!d(float64=3)");
    EXPANDS("{{ humanizeTimestamp 1700000000 }}", 0, "2023-11-14 22:13:20 +0000 UTC");
    EXPANDS("plain text, no actions", 0, "plain text, no actions");
}

static void test_errors(void)
{
    const char *bad[][2] = {
        {"{{ frobnicate $value }}", "function \"frobnicate\" not defined"},
        {"{{ $nope }}", "undefined variable \"$nope\""},
        {"{{ $value ", "unclosed action"},
        {"{{ if $value }}x", "missing {{end}}"},
        {"x{{ end }}", "unexpected {{end}}"},
        {"{{ }}", "missing value for command"},
        {"{{ \"unterminated }}", "unterminated quoted string"},
        {"{{ $value 1 }}", "can't give argument to non-function"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tg_template *t = NULL;
        struct tg_errbuf eb = {0};
        TG_EXPECT_EQ(tg_template_parse(bad[i][0], &t, &eb), TG_EPARSE);
        TG_EXPECT(t == NULL);
        TG_EXPECT(strstr(eb.msg, bad[i][1]) != NULL);
        TG_EXPECT(strncmp(eb.msg, "template: 1:", 12) == 0);
    }
    /* Errors found while expanding replace the whole value. */
    EXPANDS("x {{ gt $value \"a\" }}", 1,
            "<error expanding template: error calling gt: incompatible types for comparison>");
    EXPANDS("{{ humanize \"abc\" }}", 0,
            "<error expanding template: error calling humanize: expected a number>");
    EXPANDS("{{ humanize \"1500\" }}", 0, "1.5k"); /* strings that are numbers convert */
}

int main(void)
{
    test_observed_table();
    test_seed_annotations();
    test_control();
    test_errors();
    return tg_test_report("rules/template");
}
