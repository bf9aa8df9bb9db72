/* SPDX-License-Identifier: MIT */
/* Unit tests for src/rules/rulefile.c: Prometheus durations, and what a valid file
 * becomes (groups, interval, limit, rules with their parsed expression, `for`,
 * keep_firing_for, labels and annotations with parsed templates), and that every problem
 * of a broken file is listed with its position. Verdicts against promtool itself are in
 * tests/integration/test_check_rules.py. */
#include "rules/rulefile.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static void test_durations(void)
{
    const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"0", 0},          {"0s", 0},        {"5m", 300000},     {"1h30m", 5400000},
              {"90s", 90000},    {"100ms", 100},   {"1d", 86400000},   {"2w", 1209600000},
              {"1y", 31536000000}, {"1m30s500ms", 90500}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        TG_EXPECT(tg_rule_duration(ok[i].s, &ms));
        TG_EXPECT_EQ(ms, ok[i].ms);
    }
    const char *bad[] = {"", "5", "5 m", "m", "1.5m", "30m1h", "5m5m", "-5m", "5M", "1hx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        TG_EXPECT(!tg_rule_duration(bad[i], &ms));
    }
}

static const char good[] =
    "groups:\n"
    "  - name: api\n"
    "    interval: 15s\n"
    "    limit: 5\n"
    "    rules:\n"
    "      - record: job:errors:rate5m\n"
    "        expr: sum by (job) (rate(http_request_errors_total[5m]))\n"
    "      - alert: APIHighLatency\n"
    "        expr: histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 1\n"
    "        for: 5m\n"
    "        keep_firing_for: 1m\n"
    "        labels: { severity: '{{ if gt $value 5.0 }}SEV-1{{ else }}SEV-3{{ end }}' }\n"
    "        annotations: { summary: 'p95 {{ $value | humanizeDuration }}' }\n";

static void test_structure(void)
{
    struct tg_rule_file *f = NULL;
    struct tg_rule_errors e = {0};
    TG_EXPECT_EQ(tg_rulefile_parse("good.yml", good, strlen(good), &f, &e), 0);
    TG_EXPECT_EQ(e.n, 0);
    TG_EXPECT(f != NULL);
    if (!f)
        return;
    TG_EXPECT_EQ(f->ngroups, 1);
    TG_EXPECT_EQ(tg_rulefile_count(f), 2);
    const struct tg_rule_group *g = &f->groups[0];
    TG_EXPECT_STREQ(g->name, "api");
    TG_EXPECT_EQ(g->interval_ms, 15000);
    TG_EXPECT_EQ(g->limit, 5);
    TG_EXPECT(!g->rules[0].alert && g->rules[0].expr != NULL);
    TG_EXPECT_STREQ(g->rules[0].name, "job:errors:rate5m");
    const struct tg_rule *a = &g->rules[1];
    TG_EXPECT(a->alert && a->expr != NULL);
    TG_EXPECT_EQ(a->for_ms, 300000);
    TG_EXPECT_EQ(a->keep_firing_for_ms, 60000);
    TG_EXPECT_EQ(a->line, 8);
    TG_EXPECT(a->nlabels == 1 && a->labels[0].tmpl != NULL);
    TG_EXPECT(a->nannotations == 1 && a->annotations[0].tmpl != NULL);
    static const struct tg_label lv[] = {{"job", "api"}};
    struct tg_labels ls = {lv, 1};
    struct tg_template_data d = {6, &ls, NULL, NULL};
    char *sev = tg_template_expand(a->labels[0].tmpl, &d);
    TG_EXPECT_STREQ(sev, "SEV-1");
    free(sev);
    tg_rulefile_free(f);
}

static void test_all_problems_listed(void)
{
    static const char bad[] = "groups:\n"
                              "  - name: g\n"
                              "    rules:\n"
                              "      - alert: A\n"
                              "        expr: rate(x[5m]) by (status)\n"
                              "      - record: r\n"
                              "        expr: up\n"
                              "        for: 5m\n"
                              "      - alert: B\n"
                              "        expr: up\n"
                              "        annotations: { s: '{{ nosuchfunc }}' }\n";
    struct tg_rule_file *f = NULL;
    struct tg_rule_errors e = {0};
    TG_EXPECT_EQ(tg_rulefile_parse("bad.yml", bad, strlen(bad), &f, &e), TG_ECONFIG);
    TG_EXPECT(f == NULL);
    TG_EXPECT_EQ(e.n, 3);
    if (e.n == 3) {
        TG_EXPECT(strstr(e.msgs[0], "bad.yml: 5:15: group \"g\", rule 1, \"A\": could not parse "
                                    "expression: 1:13: parse error") != NULL);
        TG_EXPECT(strstr(e.msgs[1], "rule 2, \"r\": invalid field 'for' in recording rule"));
        TG_EXPECT(strstr(e.msgs[2], "rule 3, \"B\"") && strstr(e.msgs[2], "not defined"));
    }
    tg_rule_errors_free(&e);
    TG_EXPECT_EQ(tg_rulefile_load("/nonexistent/rules.yml", &f, &e), -2);
    TG_EXPECT(e.n == 1 && strstr(e.msgs[0], "No such file") != NULL);
    tg_rule_errors_free(&e);
}

int main(void)
{
    test_durations();
    test_structure();
    test_all_problems_listed();
    return tg_test_report("rules/rulefile");
}
