/* SPDX-License-Identifier: MIT */
/* Unit tests for src/rules/alert.c with explicit times: pending → firing after `for`
 * (Prometheus's own example: true from 4m with for 5m and a 1m interval is pending
 * 4m-8m and firing at 9m), `for: 0`, pending forgotten when absent, firing resolved and
 * kept 15 minutes, keep_firing_for, instance labels (no __name__, rule labels from
 * templates overwrite, an empty one removes, alertname last), annotations with $value,
 * duplicate labels (an error that changes nothing), the limit (an error that clears),
 * and what is due to be sent when: resend delay compared strictly, resolved sent once,
 * validUntil, external labels added where missing. */
#include "rules/alert.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

#define M 60000LL /* a minute in ms */

static struct tg_template *tmpl(const char *text)
{
    struct tg_template *t = NULL;
    TG_EXPECT_EQ(tg_template_parse(text, &t, NULL), 0);
    return t;
}

static const struct tg_label s1[] = {{"__name__", "latency"}, {"endpoint", "/a"}, {"job", "api"}};
static const struct tg_label s2[] = {{"endpoint", "/b"}, {"job", "api"}};

static struct tg_alert_sample sample(const struct tg_label *v, uint32_t n, double value)
{
    return (struct tg_alert_sample){{v, n}, value};
}

struct seen {
    int n;
    struct tg_alert_instance last;
    char labels[256];
};

static void collect(const struct tg_alert_instance *in, void *ctx)
{
    struct seen *s = ctx;
    s->n++;
    s->last = *in;
    size_t k = 0;
    for (uint32_t i = 0; i < in->labels.n && k < sizeof s->labels; i++)
        k += (size_t)snprintf(s->labels + k, sizeof s->labels - k, "%s%s=%s", i ? "," : "",
                              in->labels.v[i].name, in->labels.v[i].value);
}

static struct seen instances(struct tg_alert_rule *r)
{
    struct seen s = {0};
    tg_alert_rule_foreach(r, collect, &s);
    return s;
}

static void test_for_and_resolve(void)
{
    struct tg_alert_rule_def def = {.name = "APIHighLatency", .for_ms = 5 * M};
    struct tg_alert_rule *r;
    TG_EXPECT_EQ(tg_alert_rule_new(&def, &r), 0);
    struct tg_alert_sample s = sample(s1, 3, 1.5);
    for (int64_t m = 0; m < 4; m++)
        TG_EXPECT_EQ(tg_alert_rule_eval(r, m * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_INACTIVE);
    for (int64_t m = 4; m <= 8; m++) {
        TG_EXPECT_EQ(tg_alert_rule_eval(r, m * M, &s, 1, NULL, NULL, NULL), 0);
        TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_PENDING);
    }
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 9 * M, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_FIRING);
    struct seen in = instances(r);
    TG_EXPECT_EQ(in.n, 1);
    TG_EXPECT_EQ(in.last.active_at_ms, 4 * M);
    TG_EXPECT_EQ(in.last.fired_at_ms, 9 * M);
    TG_EXPECT_STREQ(in.labels, "alertname=APIHighLatency,endpoint=/a,job=api");
    /* Gone: resolved at once, kept 15 minutes, then forgotten. */
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 10 * M, NULL, 0, NULL, NULL, NULL), 0);
    in = instances(r);
    TG_EXPECT_EQ(in.n, 1);
    TG_EXPECT_EQ(in.last.state, TG_ALERT_INACTIVE);
    TG_EXPECT_EQ(in.last.resolved_at_ms, 10 * M);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 25 * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(instances(r).n, 1); /* exactly 15 minutes: still kept */
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 25 * M + 1, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(instances(r).n, 0);
    /* A pending instance that goes away is forgotten at once. */
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 30 * M, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 31 * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(instances(r).n, 0);
    tg_alert_rule_free(r);

    def.for_ms = 0;
    TG_EXPECT_EQ(tg_alert_rule_new(&def, &r), 0);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 0, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_FIRING);
    tg_alert_rule_free(r);
}

static void test_keep_firing_for(void)
{
    struct tg_alert_rule_def def = {.name = "A", .keep_firing_for_ms = 2 * M};
    struct tg_alert_rule *r;
    TG_EXPECT_EQ(tg_alert_rule_new(&def, &r), 0);
    struct tg_alert_sample s = sample(s2, 2, 1);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 0, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_FIRING);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 1 * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_FIRING);
    TG_EXPECT_EQ(instances(r).last.keep_firing_since_ms, 1 * M);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 2 * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_FIRING); /* 1m < 2m */
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 3 * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_INACTIVE);
    tg_alert_rule_free(r);
}

static void test_labels_and_errors(void)
{
    struct tg_template *lab = tmpl("{{ $labels.job }}-team"), *empty = tmpl(""),
                       *name = tmpl("Overridden"), *sum = tmpl("p95 is {{ $value }}s");
    struct tg_alert_kv labels[] = {{"alertname", name}, {"endpoint", empty}, {"team", lab}};
    struct tg_alert_kv ann[] = {{"summary", sum}};
    struct tg_alert_rule_def def = {.name = "Lat", .labels = labels, .nlabels = 3,
                                    .annotations = ann, .nannotations = 1, .limit = 1};
    struct tg_alert_rule *r;
    TG_EXPECT_EQ(tg_alert_rule_new(&def, &r), 0);
    struct tg_alert_sample s = sample(s1, 3, 2.5);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 0, &s, 1, NULL, NULL, NULL), 0);
    struct seen in = instances(r);
    TG_EXPECT_STREQ(in.labels, "alertname=Lat,job=api,team=api-team");
    TG_EXPECT_STREQ(in.last.annotations.v[0].value, "p95 is 2.5s");
    /* Two samples that end up with the same labels (the endpoint label is removed). */
    struct tg_alert_sample two[2] = {sample(s1, 3, 1), sample(s2, 2, 1)};
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_alert_rule_eval(r, M, two, 2, NULL, NULL, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "same labelset after applying alert labels") != NULL);
    TG_EXPECT_EQ(instances(r).n, 1); /* unchanged */
    tg_alert_rule_free(r);
    /* Over the limit: an error, and everything is cleared. */
    def.nlabels = 0;
    TG_EXPECT_EQ(tg_alert_rule_new(&def, &r), 0);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 0, two, 2, NULL, NULL, &eb), TG_ELIMIT);
    TG_EXPECT_STREQ(eb.msg, "exceeded limit of 1 with 2 alerts");
    TG_EXPECT_EQ(instances(r).n, 0);
    tg_alert_rule_free(r);
    tg_template_free(lab);
    tg_template_free(empty);
    tg_template_free(name);
    tg_template_free(sum);
}

static void test_due(void)
{
    struct tg_alert_rule_def def = {.name = "A"};
    struct tg_alert_rule *r;
    TG_EXPECT_EQ(tg_alert_rule_new(&def, &r), 0);
    static const struct tg_label ev[] = {{"job", "ignored"}, {"site", "lab"}};
    struct tg_labels ext = {ev, 2};
    struct tg_alert_sample s = sample(s2, 2, 1);
    struct tg_notify_alert out[4];
    const int64_t resend = M, interval = 30000;
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 0, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_due(r, 0, resend, interval, &ext, "http://g", out, 4), 1);
    TG_EXPECT_EQ(out[0].starts_at_ms, 0);
    TG_EXPECT_EQ(out[0].ends_at_ms, 4 * M); /* 4 × max(resend, interval) */
    TG_EXPECT(!out[0].resolved);
    TG_EXPECT_EQ(out[0].labels.n, 4); /* alertname, endpoint, job (its own), site */
    TG_EXPECT_STREQ(out[0].labels.v[2].value, "api");
    TG_EXPECT_STREQ(out[0].labels.v[3].name, "site");
    /* Re-sent only once last sent + resend delay is strictly before ts. */
    TG_EXPECT_EQ(tg_alert_rule_eval(r, M, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_due(r, M, resend, interval, &ext, "", out, 4), 0);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, M + 30000, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_due(r, M + 30000, resend, interval, &ext, "", out, 4), 1);
    /* Resolved: sent once at once, with endsAt = the resolution time. */
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 2 * M, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_due(r, 2 * M, resend, interval, &ext, "", out, 4), 1);
    TG_EXPECT(out[0].resolved);
    TG_EXPECT_EQ(out[0].ends_at_ms, 2 * M);
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 2 * M + 30000, NULL, 0, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_due(r, 2 * M + 30000, resend, interval, &ext, "", out, 4), 0);
    /* Pending instances are never sent. */
    def.for_ms = 10 * M;
    TG_EXPECT_EQ(tg_alert_rule_eval(r, 3 * M, &s, 1, NULL, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_alert_rule_state(r), TG_ALERT_PENDING);
    TG_EXPECT_EQ(tg_alert_rule_due(r, 3 * M, resend, interval, &ext, "", out, 4), 0);
    tg_alert_rule_free(r);
}

int main(void)
{
    test_for_and_resolve();
    test_keep_firing_for();
    test_labels_and_errors();
    test_due();
    return tg_test_report("rules/alert");
}
