/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/playbook.c: which shipped rule each kind of diagnosis
 * matches (a slow server before a slow endpoint; none when not degraded), rules with
 * severity, pattern, confidence and endpoint globs, bodies from the rule or from the
 * diagnosis' suggestion (none: skipped), and every guardrail (kill switch, max actions,
 * verifying, cooldown, critical route and feature), and the playbooks: section's errors. */
#include "diagnose/playbook.h"

#include <math.h>
#include <string.h>

#include "tg_test.h"

static json_t *diag(const char *scope, const char *cause, double conf, const char *sev)
{
    json_t *d =
        json_pack("{s:b,s:s,s:s,s:s,s:[{s:s,s:f}],s:[{s:s}],s:[]}", "degraded", 1, "scope", scope,
                  "pattern", "sudden", "severity", sev, "causes", "cause", cause, "confidence",
                  conf, "affected", "endpoint", "/api/products/:id", "suggested_mitigations");
    json_array_append_new(
        json_object_get(d, "suggested_mitigations"),
        json_pack("{s:s,s:{s:b,s:i}}", "op", "FALLBACK", "body", "enabled", 1, "cache_ttl", 3600));
    return d;
}

static struct tg_config *load(const char *yaml)
{
    struct tg_config *c = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_config_load_string(yaml, strlen(yaml), "t.yml", &c, &eb), 0);
    if (!c)
        fprintf(stderr, "%s\n", eb.msg);
    return c;
}

static void test_shipped(void)
{
    struct tg_config *c = tg_config_new_default();
    const struct tg_cfg_playbooks *p = &c->playbooks;
    struct {
        const char *scope, *cause, *want;
    } cases[] = {
        {"targeted", "upstream_server", "slow-server"},
        {"system_wide", "database", "failing-dependency"},
        {"targeted", "external_service", "failing-dependency"},
        {"targeted", "errors", "error-burst"},
        {"system_wide", "capacity", "system-overload"},
        {"targeted", "cpu", "slow-endpoint"},
        {"targeted", "unknown", "slow-endpoint"}, /* any cause */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *d = diag(cases[i].scope, cases[i].cause,
                         strcmp(cases[i].cause, "unknown") ? 0.8 : 0.2, "SEV-3");
        const struct tg_cfg_playbook *b = tg_pb_match(p, d);
        if (cases[i].want)
            TG_EXPECT(b && strcmp(b->name, cases[i].want) == 0);
        else
            TG_EXPECT(b == NULL);
        TG_EXPECT(!b || !b->automatic); /* shipped in suggest mode */
        json_decref(d);
    }
    json_t *calm = diag("none", "unknown", 0.9, "SEV-3");
    json_object_set_new(calm, "degraded", json_false());
    TG_EXPECT(tg_pb_match(p, calm) == NULL);
    json_decref(calm);
    tg_config_free(c);
}

static void test_rules_and_bodies(void)
{
    struct tg_config *c = load("playbooks:\n"
                               "  mode: auto\n"
                               "  rules:\n"
                               "    - name: bad\n"
                               "      mode: suggest\n"
                               "      match: {severity: SEV-1}\n"
                               "      actions: [{op: GC}]\n"
                               "    - name: api\n"
                               "      match: {endpoints: [\"/api/*\"], pattern: [sudden], "
                               "cause: unknown, min_confidence: 0.1}\n"
                               "      actions:\n"
                               "        - {op: FALLBACK}\n"
                               "        - {op: BREAKER, body: {enabled: true, timeout_ms: 300, "
                               "route: \"r1\", failure_threshold: 0.5}}\n"
                               "        - {op: EJECT}\n");
    if (!c)
        return;
    const struct tg_cfg_playbooks *p = &c->playbooks;
    TG_EXPECT_EQ(p->n, 2u);
    TG_EXPECT(!p->list[0].automatic && p->list[1].automatic); /* mode: auto for the unset */
    json_t *d = diag("targeted", "unknown", 0.2, "SEV-3");
    const struct tg_cfg_playbook *b = tg_pb_match(p, d);
    TG_EXPECT(b && strcmp(b->name, "api") == 0);
    json_object_set_new(d, "severity", json_string("SEV-1"));
    b = tg_pb_match(p, d);
    TG_EXPECT(b && strcmp(b->name, "bad") == 0);
    json_object_set_new(d, "pattern", json_string("gradual"));
    json_object_set_new(d, "severity", json_string("SEV-2"));
    TG_EXPECT(tg_pb_match(p, d) == NULL);
    b = &p->list[1];
    json_t *fb = tg_pb_body(&b->actions[0], d); /* from the diagnosis */
    TG_EXPECT(json_integer_value(json_object_get(fb, "cache_ttl")) == 3600);
    json_t *br = tg_pb_body(&b->actions[1], d); /* its own, YAML typed */
    TG_EXPECT(json_is_true(json_object_get(br, "enabled")));
    TG_EXPECT_EQ(json_integer_value(json_object_get(br, "timeout_ms")), 300);
    TG_EXPECT(json_is_real(json_object_get(br, "failure_threshold")));
    TG_EXPECT_STREQ(json_string_value(json_object_get(br, "route")), "r1");
    TG_EXPECT(tg_pb_body(&b->actions[2], d) == NULL); /* no EJECT suggested: skipped */
    json_decref(fb);
    json_decref(br);
    json_decref(d);
    tg_config_free(c);
}

static void test_guards(void)
{
    struct tg_config *c = load("routes:\n"
                               "  - {name: pay, prefix: /pay, class: critical, feature: payments}\n"
                               "  - {name: recs, prefix: /recs, feature: recommendations}\n"
                               "upstreams:\n  - {name: default, servers: [{address: "
                               "127.0.0.1:9}]}\n"
                               "playbooks: {max_actions: 2, cooldown: 10s}\n");
    if (!c)
        return;
    const struct tg_cfg_playbooks *p = &c->playbooks;
    const struct tg_pb_op *br = tg_pb_op("BREAKER"), *fd = tg_pb_op("FEATURES_DISABLE");
    TG_EXPECT(br && fd && tg_pb_op("NOPE") == NULL);
    TG_EXPECT_STREQ(br->path, "/api/v1/system/circuit-breaker");
    json_t *plain = json_pack("{s:b}", "enabled", 1);
    struct tg_pb_state s = {0};
    int64_t now = 100000000;
    TG_EXPECT(tg_pb_guard(p, c, &s, now, br, plain) == NULL);
    s.verifying = true;
    TG_EXPECT(strstr(tg_pb_guard(p, c, &s, now, br, plain), "verified"));
    s.verifying = false;
    s.actions = 1;
    s.last_action_us = now - 5000000;
    TG_EXPECT(strstr(tg_pb_guard(p, c, &s, now, br, plain), "cooldown"));
    TG_EXPECT(tg_pb_guard(p, c, &s, now + 5000000, br, plain) == NULL);
    s.actions = 2;
    TG_EXPECT(strstr(tg_pb_guard(p, c, &s, now + 5000000, br, plain), "most actions"));
    s.actions = 0;
    s.last_action_us = 0;
    json_t *pay = json_pack("{s:b,s:s}", "enabled", 1, "route", "pay");
    TG_EXPECT(strstr(tg_pb_guard(p, c, &s, now, br, pay), "critical"));
    json_t *fpay = json_pack("{s:[s,s]}", "features", "recommendations", "payments");
    json_t *frec = json_pack("{s:[s]}", "features", "recommendations");
    TG_EXPECT(strstr(tg_pb_guard(p, c, &s, now, fd, fpay), "critical"));
    TG_EXPECT(tg_pb_guard(p, c, &s, now, fd, frec) == NULL);
    /* TIMEOUTS sheds nothing: a critical route may be named. */
    TG_EXPECT(tg_pb_guard(p, c, &s, now, tg_pb_op("TIMEOUTS"), pay) == NULL);
    c->playbooks.enabled = false;
    TG_EXPECT(strstr(tg_pb_guard(p, c, &s, now, br, plain), "switched off"));
    json_decref(plain);
    json_decref(pay);
    json_decref(fpay);
    json_decref(frec);
    tg_config_free(c);
}

static void test_config_errors(void)
{
    struct {
        const char *yaml, *err;
    } bad[] = {
        {"playbooks: {rules: [{name: a, actions: [{op: NOPE}]}]}\n", "op"},
        {"playbooks: {rules: [{name: a, actions: []}]}\n", "at least one action"},
        {"playbooks: {rules: [{name: a}]}\n", "needs name and actions"},
        {"playbooks: {rules: [{name: a, actions: [{op: GC}]}, {name: a, actions: [{op: GC}]}]}\n",
         "defined twice"},
        {"playbooks: {rules: [{name: a, match: {cause: nope}, actions: [{op: GC}]}]}\n", "cause"},
        {"playbooks: {rules: [{name: a, actions: [{op: GC, body: 3}]}]}\n", "must be a mapping"},
        {"playbooks: {mode: sometimes}\n", "mode"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tg_config *c = NULL;
        struct tg_errbuf eb = {0};
        TG_EXPECT_NE(tg_config_load_string(bad[i].yaml, strlen(bad[i].yaml), "t.yml", &c, &eb), 0);
        TG_EXPECT(strstr(eb.msg, bad[i].err) != NULL);
        tg_config_free(c);
    }
}

/* The verdict of an action taken within seconds of the onset. */
static void test_short_verdict(void)
{
    double back[10] = {800, 800, 30, 28, 31, 29, 30, 27, 32, 30};
    double still[10] = {800, 810, 790, 805, 800, 820, 790, 800, 815, 800};
    double half[10] = {800, 500, 420, 410, 400, 430, 400, 410, 420, 400};
    double none[10];
    for (int i = 0; i < 10; i++)
        none[i] = NAN;
    bool final;
    char why[200];
    /* Back near the 25 ms baseline after the 2 settle points: helped at once. */
    TG_EXPECT_EQ(tg_pb_short_verdict(back, 10, 2, 4, 25, 820, 1000, 1, 5, &final, why, sizeof why),
                 1);
    TG_EXPECT(final && strstr(why, "baseline"));
    /* Still degraded: wait, then no_effect at the last look. */
    TG_EXPECT_EQ(tg_pb_short_verdict(still, 10, 2, 4, 25, 820, 1000, 2, 5, &final, why, sizeof why),
                 0);
    TG_EXPECT(!final);
    TG_EXPECT_EQ(tg_pb_short_verdict(still, 10, 2, 4, 25, 820, 1000, 5, 5, &final, why, sizeof why),
                 2);
    TG_EXPECT(final);
    /* Halfway: never claimed; inconclusive at the end. */
    TG_EXPECT_EQ(tg_pb_short_verdict(half, 10, 2, 4, 25, 820, 1000, 5, 5, &final, why, sizeof why),
                 0);
    TG_EXPECT(final);
    /* ...unless it is within a target the degradation had crossed. */
    TG_EXPECT_EQ(tg_pb_short_verdict(half, 10, 2, 4, 25, 820, 500, 1, 5, &final, why, sizeof why),
                 1);
    TG_EXPECT(strstr(why, "target"));
    /* No data is not a pass. */
    TG_EXPECT_EQ(tg_pb_short_verdict(none, 10, 2, 4, 25, 820, 1000, 5, 5, &final, why, sizeof why),
                 0);
    TG_EXPECT(strstr(why, "too few"));
    TG_EXPECT_EQ(tg_pb_short_verdict(back, 5, 2, 4, 25, 820, 1000, 1, 5, &final, why, sizeof why),
                 0);
    /* Levels from the diagnosis: the worst baseline and p95, the smallest target. */
    json_t *d = json_pack("{s:[{s:f,s:f,s:f},{s:f,s:f,s:f}]}", "affected", "p95_ms", 820.0,
                          "baseline_p95_ms", 25.0, "target_ms", 1000.0, "p95_ms", 900.0,
                          "baseline_p95_ms", 40.0, "target_ms", 200.0);
    double b, g, t;
    tg_pb_levels(d, &b, &g, &t);
    TG_EXPECT(b == 40 && g == 900 && t == 200);
    json_decref(d);
}

int main(void)
{
    test_short_verdict();
    test_shipped();
    test_rules_and_bodies();
    test_guards();
    test_config_errors();
    return tg_test_report("diagnose/playbook");
}
