/* SPDX-License-Identifier: MIT */
/* Unit tests for src/rules/group.c and manager.c over a real store with synthetic data
 * and explicit times: a recording rule writes its result back (name, rule labels) and
 * marks stale a series it no longer produces; duplicate output and `limit` are errors
 * that write nothing; an alerting rule writes ALERTS{alertstate} and ALERTS_FOR_STATE
 * (activeAt in seconds) while pending and firing and marks them stale once resolved,
 * sends what is due, reports the fired and resolved transitions; keep_firing_for keeps
 * it firing; the schedule (phase, next time, missed iterations); a reload keeps an
 * unchanged rule's alert state and marks a removed group's series stale. */
#include "rules/group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/manager.h"
#include "tg_test.h"
#include "tsdb/tsdb.h"

#define M 60000LL /* a minute in ms */
#define T0 (1700000000000LL / M * M)

/* The value at exactly `t` of the one series named `name` with label k=v (k NULL: any);
 * NAN when there is none, and `stale` says whether it was a stale marker. */
static double at(struct tg_tsdb *db, const char *name, const char *k, const char *v, int64_t t,
                 bool *stale)
{
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher ms[2] = {{0}, {0}};
    size_t n = 1;
    TG_EXPECT_EQ(tg_matcher_init(&ms[0], TG_MATCH_EQUAL, "__name__", name, NULL), 0);
    if (k) {
        TG_EXPECT_EQ(tg_matcher_init(&ms[1], TG_MATCH_EQUAL, k, v, NULL), 0);
        n = 2;
    }
    struct tg_series_set set = {0};
    TG_EXPECT_EQ(q.select(q.ctx, ms, n, t, t, &set, NULL), 0);
    double out = NAN;
    if (stale)
        *stale = false;
    if (set.n == 1 && set.series[0].nsamples == 1) {
        out = set.series[0].samples[0].v;
        if (stale)
            *stale = tg_is_stale(out);
    } else {
        TG_EXPECT_EQ(set.n, 0u);
    }
    tg_series_set_free(&set);
    tg_matcher_free(&ms[0]);
    tg_matcher_free(&ms[1]);
    return out;
}

static size_t count(struct tg_tsdb *db, const char *name, const char *k, const char *v, int64_t t)
{
    struct tg_queryable q;
    tg_tsdb_queryable(db, &q);
    struct tg_matcher ms[2] = {{0}, {0}};
    TG_EXPECT_EQ(tg_matcher_init(&ms[0], TG_MATCH_EQUAL, "__name__", name, NULL), 0);
    TG_EXPECT_EQ(tg_matcher_init(&ms[1], TG_MATCH_EQUAL, k, v, NULL), 0);
    struct tg_series_set set = {0};
    TG_EXPECT_EQ(q.select(q.ctx, ms, 2, t, t, &set, NULL), 0);
    size_t n = set.n;
    tg_series_set_free(&set);
    tg_matcher_free(&ms[0]);
    tg_matcher_free(&ms[1]);
    return n;
}

static void put(struct tg_tsdb *db, const char *name, const char *a, int64_t t, double v)
{
    const struct tg_label lv[] = {{"__name__", name}, {"a", a}, {"job", "api"}};
    TG_EXPECT_EQ(tg_tsdb_append(db, &(struct tg_labels){lv, 3}, t, v), 0);
}

static struct tg_rule_file *parse(const char *yaml)
{
    struct tg_rule_file *f = NULL;
    struct tg_rule_errors errs = {0};
    int rc = tg_rulefile_parse("rules.yml", yaml, strlen(yaml), &f, &errs);
    if (rc != 0 && errs.n)
        fprintf(stderr, "%s\n", errs.msgs[0]);
    TG_EXPECT_EQ(rc, 0);
    tg_rule_errors_free(&errs);
    return f;
}

/* What the sinks saw. */
struct sink {
    int sent, sent_resolved, fired, resolved;
    char last_labels[256];
};

static void on_send(void *ctx, const struct tg_notify_alert *a, size_t n)
{
    struct sink *s = ctx;
    for (size_t i = 0; i < n; i++) {
        s->sent++;
        s->sent_resolved += a[i].resolved;
        size_t k = 0;
        for (uint32_t j = 0; j < a[i].labels.n; j++)
            k += (size_t)snprintf(s->last_labels + k, sizeof s->last_labels - k, "%s=%s,",
                                  a[i].labels.v[j].name, a[i].labels.v[j].value);
    }
}

static void on_transition(void *ctx, const struct tg_rules_transition *t)
{
    struct sink *s = ctx;
    TG_EXPECT_STREQ(t->rule, "High");
    if (t->inst->state == TG_ALERT_FIRING)
        s->fired++;
    else
        s->resolved++;
}

static struct tg_rules_env env_of(struct tg_tsdb *db, struct sink *s)
{
    static const struct tg_label ext[] = {{"site", "lab"}};
    static const struct tg_labels ext_ls = {ext, 1};
    return (struct tg_rules_env){.db = db,
                                 .ext_labels = &ext_ls,
                                 .ext_url = "http://tg:9090",
                                 .send = on_send,
                                 .transition = on_transition,
                                 .ctx = s};
}

static void test_recording(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_rule_file *f = parse("groups:\n- name: g\n  rules:\n"
                                   "  - record: job:x:double\n    expr: x * 2\n"
                                   "    labels: {k: v, job: ''}\n");
    struct tg_rules_group *g = NULL;
    TG_EXPECT_EQ(tg_rules_group_new(f->path, &f->groups[0], M, &g), 0);
    struct sink s = {0};
    struct tg_rules_env env = env_of(db, &s);
    put(db, "x", "1", T0, 1);
    put(db, "x", "2", T0, 2);
    tg_rules_group_eval(g, &env, T0 + 1000);
    struct tg_rules_rule_info ri;
    tg_rules_group_rule(g, 0, &ri);
    TG_EXPECT_EQ(ri.health, TG_RULES_OK);
    TG_EXPECT_EQ(at(db, "job:x:double", "a", "2", T0 + 1000, NULL), 4.0);
    TG_EXPECT_EQ(count(db, "job:x:double", "k", "v", T0 + 1000), 2u); /* the rule's label */
    /* The rule's label `job: ''` removed the label. */
    TG_EXPECT(isnan(at(db, "job:x:double", "job", "api", T0 + 1000, NULL)));
    /* The scrape of job "api" leaves the rule's series alone although it has that job:
     * the scrape did not write it. */
    struct tg_rules_group *g2 = NULL;
    struct tg_rule_file *f2 = parse("groups:\n- name: g2\n  rules:\n"
                                    "  - record: keeps_job\n    expr: x\n");
    TG_EXPECT_EQ(tg_rules_group_new(f2->path, &f2->groups[0], M, &g2), 0);
    tg_rules_group_eval(g2, &env, T0 + 1000);
    TG_EXPECT_EQ(at(db, "keeps_job", "a", "1", T0 + 1000, NULL), 1.0);
    TG_EXPECT_EQ(tg_tsdb_end_scrape(db, "api", T0 + 2000), 2);     /* x{a=1}, x{a=2} only */
    TG_EXPECT_EQ(count(db, "keeps_job", "a", "1", T0 + 2000), 0u); /* no stale marker */
    tg_rules_group_free(g2);
    tg_rulefile_free(f2);
    /* x{a="2"} goes stale: the recorded series gets a stale marker. */
    put(db, "x", "1", T0 + M, 1);
    put(db, "x", "2", T0 + M, tg_stale_nan());
    tg_rules_group_eval(g, &env, T0 + M + 1000);
    bool stale = false;
    TG_EXPECT_EQ(at(db, "job:x:double", "a", "1", T0 + M + 1000, &stale), 2.0);
    TG_EXPECT(!stale);
    at(db, "job:x:double", "a", "2", T0 + M + 1000, &stale);
    TG_EXPECT(stale);
    tg_rules_group_free(g);
    tg_rulefile_free(f);
    tg_tsdb_free(db);
}

static void test_recording_errors(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_rule_file *f = parse("groups:\n- name: g\n  limit: 1\n  rules:\n"
                                   "  - record: dup\n    expr: x\n    labels: {a: same}\n"
                                   "  - record: over\n    expr: x\n"
                                   "  - record: s\n    expr: '3'\n");
    struct tg_rules_group *g = NULL;
    TG_EXPECT_EQ(tg_rules_group_new(f->path, &f->groups[0], M, &g), 0);
    struct sink s = {0};
    struct tg_rules_env env = env_of(db, &s);
    put(db, "x", "1", T0, 1);
    put(db, "x", "2", T0, 2);
    tg_rules_group_eval(g, &env, T0 + 1000);
    struct tg_rules_rule_info ri;
    tg_rules_group_rule(g, 0, &ri);
    TG_EXPECT_EQ(ri.health, TG_RULES_ERR);
    TG_EXPECT_STREQ(ri.last_error,
                    "vector contains metrics with the same labelset after applying rule labels");
    tg_rules_group_rule(g, 1, &ri);
    TG_EXPECT_STREQ(ri.last_error, "exceeded limit of 1 with 2 series");
    TG_EXPECT_EQ(ri.failures_total, 1u);
    TG_EXPECT(isnan(at(db, "dup", NULL, NULL, T0 + 1000, NULL)));
    TG_EXPECT(isnan(at(db, "over", "a", "1", T0 + 1000, NULL)));
    /* A scalar is one sample with only the name. */
    tg_rules_group_rule(g, 2, &ri);
    TG_EXPECT_EQ(ri.health, TG_RULES_OK);
    TG_EXPECT_EQ(at(db, "s", NULL, NULL, T0 + 1000, NULL), 3.0);
    tg_rules_group_free(g);
    tg_rulefile_free(f);
    tg_tsdb_free(db);
}

static const char alert_yaml[] =
    "groups:\n- name: api\n  interval: 1m\n  rules:\n"
    "  - alert: High\n    expr: x > 1\n    for: 2m\n"
    "    labels: {severity: page}\n"
    "    annotations: {summary: 'x is {{ $value }} on {{ $labels.a }}'}\n";

static void test_alerting(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_rule_file *f = parse(alert_yaml);
    struct tg_rules_group *g = NULL;
    TG_EXPECT_EQ(tg_rules_group_new(f->path, &f->groups[0], M, &g), 0);
    struct sink s = {0};
    struct tg_rules_env env = env_of(db, &s);
    for (int i = 0; i <= 6; i++)
        put(db, "x", "2", T0 + i * M, i < 4 ? 5 : 0);
    /* Pending at the first true evaluation, with activeAt in whole seconds. */
    tg_rules_group_eval(g, &env, T0 + 500);
    TG_EXPECT_EQ(at(db, "ALERTS", "alertstate", "pending", T0 + 500, NULL), 1.0);
    TG_EXPECT_EQ(at(db, "ALERTS_FOR_STATE", "severity", "page", T0 + 500, NULL),
                 (double)(T0 / 1000));
    TG_EXPECT_EQ(at(db, "ALERTS", "alertname", "High", T0 + 500, NULL), 1.0);
    TG_EXPECT_EQ(s.sent, 0); /* pending is never sent */
    tg_rules_group_eval(g, &env, T0 + M + 500);
    TG_EXPECT_EQ(s.fired, 0);
    /* Firing once `for` has passed: the pending series goes stale. */
    tg_rules_group_eval(g, &env, T0 + 2 * M + 500);
    bool stale = false;
    TG_EXPECT_EQ(at(db, "ALERTS", "alertstate", "firing", T0 + 2 * M + 500, NULL), 1.0);
    at(db, "ALERTS", "alertstate", "pending", T0 + 2 * M + 500, &stale);
    TG_EXPECT(stale);
    TG_EXPECT_EQ(s.fired, 1);
    TG_EXPECT_EQ(s.sent, 1);
    TG_EXPECT(strstr(s.last_labels, "alertname=High,") != NULL);
    TG_EXPECT(strstr(s.last_labels, "site=lab,") != NULL); /* external labels when sent */
    tg_rules_group_eval(g, &env, T0 + 3 * M + 500);
    TG_EXPECT_EQ(s.sent, 1); /* resend after 1m, strictly: not yet */
    tg_rules_group_eval(g, &env, T0 + 4 * M + 500);
    TG_EXPECT_EQ(s.resolved, 1);
    TG_EXPECT_EQ(s.sent_resolved, 1);
    at(db, "ALERTS", "alertstate", "firing", T0 + 4 * M + 500, &stale);
    TG_EXPECT(stale);
    at(db, "ALERTS_FOR_STATE", "severity", "page", T0 + 4 * M + 500, &stale);
    TG_EXPECT(stale);
    struct tg_rules_rule_info ri;
    tg_rules_group_rule(g, 0, &ri);
    TG_EXPECT_EQ(ri.health, TG_RULES_OK);
    TG_EXPECT_EQ(tg_alert_rule_state(ri.alert), TG_ALERT_INACTIVE);
    tg_rules_group_free(g);
    tg_rulefile_free(f);
    tg_tsdb_free(db);
}

static void test_keep_firing_for(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_rule_file *f = parse("groups:\n- name: g\n  rules:\n"
                                   "  - alert: High\n    expr: x > 1\n    keep_firing_for: 2m\n");
    struct tg_rules_group *g = NULL;
    TG_EXPECT_EQ(tg_rules_group_new(f->path, &f->groups[0], M, &g), 0);
    struct sink s = {0};
    struct tg_rules_env env = env_of(db, &s);
    for (int i = 0; i <= 4; i++)
        put(db, "x", "2", T0 + i * M, i == 0 ? 5 : 0);
    tg_rules_group_eval(g, &env, T0 + 500);
    TG_EXPECT_EQ(at(db, "ALERTS", "alertstate", "firing", T0 + 500, NULL), 1.0);
    tg_rules_group_eval(g, &env, T0 + M + 500); /* absent: keeps firing */
    TG_EXPECT_EQ(at(db, "ALERTS", "alertstate", "firing", T0 + M + 500, NULL), 1.0);
    tg_rules_group_eval(g, &env, T0 + 2 * M + 500);
    TG_EXPECT_EQ(at(db, "ALERTS", "alertstate", "firing", T0 + 2 * M + 500, NULL), 1.0);
    tg_rules_group_eval(g, &env, T0 + 3 * M + 500); /* 2m after the first absence */
    bool stale = false;
    at(db, "ALERTS", "alertstate", "firing", T0 + 3 * M + 500, &stale);
    TG_EXPECT(stale);
    TG_EXPECT_EQ(s.fired, 1);
    TG_EXPECT_EQ(s.resolved, 1);
    tg_rules_group_free(g);
    tg_rulefile_free(f);
    tg_tsdb_free(db);
}

static void test_schedule(void)
{
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct tg_rule_file *f = parse("groups:\n- name: a\n  interval: 10s\n  rules:\n"
                                   "  - record: r\n    expr: '1'\n"
                                   "- name: b\n  rules:\n  - record: r2\n    expr: '1'\n");
    struct tg_rules_group *g = NULL;
    TG_EXPECT_EQ(tg_rules_group_new(f->path, &f->groups[0], M, &g), 0);
    TG_EXPECT_EQ(tg_rules_group_interval_ms(g), 10000);
    int64_t off = tg_rules_group_offset_ms(g);
    TG_EXPECT(off >= 0 && off < 10000);
    int64_t n1 = tg_rules_group_next_after(g, T0);
    TG_EXPECT(n1 > T0 && n1 <= T0 + 10000);
    TG_EXPECT_EQ((n1 - off) % 10000, 0);
    TG_EXPECT_EQ(tg_rules_group_next_after(g, n1), n1 + 10000);
    struct sink s = {0};
    struct tg_rules_env env = env_of(db, &s);
    TG_EXPECT(!tg_rules_group_run(g, &env, T0)); /* sets the first time */
    TG_EXPECT(!tg_rules_group_run(g, &env, n1 - 1));
    TG_EXPECT(tg_rules_group_run(g, &env, n1 + 3));
    struct tg_rules_group_stats st;
    tg_rules_group_stats(g, &st);
    TG_EXPECT_EQ(st.last_eval_ms, n1); /* at the scheduled time, not when it ran */
    TG_EXPECT_EQ(st.missed_total, 0u);
    TG_EXPECT(tg_rules_group_run(g, &env, n1 + 35000)); /* 2 times skipped */
    tg_rules_group_stats(g, &st);
    TG_EXPECT_EQ(st.last_eval_ms, n1 + 30000);
    TG_EXPECT_EQ(st.missed_total, 2u);
    TG_EXPECT_EQ(st.iterations_total, 2u);
    TG_EXPECT_EQ(st.next_ms, n1 + 40000);
    /* The group without an interval takes the default. */
    struct tg_rules_group *g2 = NULL;
    TG_EXPECT_EQ(tg_rules_group_new(f->path, &f->groups[1], 20000, &g2), 0);
    TG_EXPECT_EQ(tg_rules_group_interval_ms(g2), 20000);
    tg_rules_group_free(g2);
    tg_rules_group_free(g);
    tg_rulefile_free(f);
    tg_tsdb_free(db);
}

static int write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static void test_reload_keeps_state(void)
{
    char dir[] = "/tmp/tg-rules-XXXXXX";
    TG_EXPECT(mkdtemp(dir) != NULL);
    char path[64], path2[80];
    snprintf(path, sizeof path, "%s/a.yml", dir);
    snprintf(path2, sizeof path2, "%s/b.yml", dir);
    TG_EXPECT_EQ(write_file(path, alert_yaml), 0);
    TG_EXPECT_EQ(write_file(path2, "groups:\n- name: rec\n  rules:\n"
                                   "  - record: r\n    expr: x\n"),
                 0);
    struct tg_tsdb *db = tg_tsdb_new(NULL);
    struct sink s = {0};
    struct tg_rules_env env = env_of(db, &s);
    for (int i = 0; i <= 4; i++)
        put(db, "x", "2", T0 + i * M, 5);
    const char *both[] = {path, path2};
    struct tg_rules_mgr *m = NULL;
    struct tg_rule_errors errs = {0};
    TG_EXPECT_EQ(tg_rules_mgr_load(both, 2, M, &m, &errs), 0);
    TG_EXPECT_EQ(tg_rules_mgr_ngroups(m), 2u);
    TG_EXPECT_EQ(tg_rules_mgr_nrules(m), 2u);
    tg_rules_group_eval(tg_rules_mgr_group(m, 0), &env, T0 + 500);
    tg_rules_group_eval(tg_rules_mgr_group(m, 1), &env, T0 + 500);
    /* The same alert file, the record file dropped: pending is kept, r goes stale. */
    const char *one[] = {path};
    struct tg_rules_mgr *m2 = NULL;
    TG_EXPECT_EQ(tg_rules_mgr_load(one, 1, M, &m2, &errs), 0);
    tg_rules_mgr_adopt(m2, m, &env, T0 + 30000);
    tg_rules_mgr_free(m);
    bool stale = false;
    at(db, "r", "a", "2", T0 + 30000, &stale);
    TG_EXPECT(stale);
    tg_rules_group_eval(tg_rules_mgr_group(m2, 0), &env, T0 + 2 * M + 500);
    TG_EXPECT_EQ(at(db, "ALERTS", "alertstate", "firing", T0 + 2 * M + 500, NULL), 1.0);
    TG_EXPECT_EQ(at(db, "ALERTS_FOR_STATE", "a", "2", T0 + 2 * M + 500, NULL), (double)(T0 / 1000));
    /* A broken file refuses the whole set, with promtool's message. */
    TG_EXPECT_EQ(write_file(path2, "- alert: X\n  expr: up\n"), 0);
    const char *broken[] = {path, path2};
    struct tg_rules_mgr *m3 = NULL;
    TG_EXPECT_EQ(tg_rules_mgr_load(broken, 2, M, &m3, &errs), TG_ECONFIG);
    TG_EXPECT(m3 == NULL);
    TG_EXPECT(errs.n >= 1 && strstr(errs.msgs[0], "cannot unmarshal !!seq") != NULL);
    tg_rule_errors_free(&errs);
    tg_rules_mgr_free(m2);
    tg_tsdb_free(db);
    remove(path);
    remove(path2);
    remove(dir);
}

int main(void)
{
    test_recording();
    test_recording_errors();
    test_alerting();
    test_keep_firing_for();
    test_schedule();
    test_reload_keeps_state();
    return tg_test_report("rules/group");
}
