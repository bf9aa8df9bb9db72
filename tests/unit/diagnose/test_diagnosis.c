/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/diagnosis.c with made-up inputs: affected endpoints (target,
 * baseline factor and its noise floor, too little traffic), scope (targeted, system-wide,
 * none), categories, the severity ladders of the profiles, high traffic, a deploy and a
 * config change before the onset (and one after it, which is not a cause), one slow
 * server among its peers, failing dependencies, resources only for a system-wide
 * degradation, errors, the unknown cause, and the JSON's keys. */
#include "diagnose/diagnosis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tg_test.h"

static struct tg_config *cfg;

static struct tg_diag_ep ep(const char *name, const char *method, double p95_ms, double base_ms,
                            double requests)
{
    struct tg_diag_ep e;
    memset(&e, 0, sizeof e);
    snprintf(e.endpoint, sizeof e.endpoint, "%s", name);
    snprintf(e.method, sizeof e.method, "%s", method);
    e.p95_s = p95_ms / 1e3;
    e.p99_s = p95_ms * 1.2 / 1e3;
    e.baseline_p95_s = base_ms / 1e3;
    e.day_p95_s = NAN;
    e.requests = requests;
    e.rps = requests / 300;
    e.baseline_rps = e.rps;
    e.error_ratio = 0;
    return e;
}

static struct tg_diag_input input(struct tg_diag_ep *eps, size_t n)
{
    struct tg_diag_input in;
    memset(&in, 0, sizeof in);
    in.now_ms = 1000LL * 86400 * 365;
    in.step_ms = 60000;
    in.eps = eps;
    in.neps = n;
    in.rps = in.baseline_rps = 10;
    in.error_ratio = 0;
    in.cpu_ratio = in.memory_ratio = in.cache_hit_ratio = NAN;
    return in;
}

static bool has_cause(const struct tg_diag_result *r, enum tg_diag_cause c)
{
    for (size_t i = 0; i < r->ncauses; i++)
        if (r->causes[i].cause == c)
            return true;
    return false;
}

static const struct tg_diag_corr_out *corr(const struct tg_diag_result *r, enum tg_diag_corr k)
{
    for (size_t i = 0; i < r->ncorr; i++)
        if (r->corr[i].kind == k)
            return &r->corr[i];
    return NULL;
}

static void test_targeted(void)
{
    struct tg_diag_ep eps[] = {
        ep("/api/products/:id", "GET", 850, 25, 500),
        ep("/api/products", "GET", 30, 28, 500),
        ep("/api/v1/agents", "GET", 20, 19, 500),
        ep("/health", "GET", 2, 2, 500),
        ep("/quiet", "GET", 9000, 10, 3), /* too little traffic to count */
    };
    struct tg_diag_input in = input(eps, 5);
    struct tg_diag_result r;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT(r.degraded);
    TG_EXPECT_EQ(r.scope, TG_DIAG_SCOPE_TARGETED);
    TG_EXPECT_EQ(r.naffected, 1u);
    TG_EXPECT_EQ(r.ntraffic, 4u);
    TG_EXPECT_EQ(r.affected[0], 0u);
    TG_EXPECT_EQ(r.severity, 3); /* under every rung of profile 000: the lowest */
    TG_EXPECT(has_cause(&r, TG_DIAG_C_UNKNOWN));
    /* Twice the baseline but within the 20 ms noise floor: not affected. */
    eps[0] = ep("/api/products/:id", "GET", 12, 5, 500);
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT(!r.degraded);
    TG_EXPECT_EQ(r.scope, TG_DIAG_SCOPE_NONE);
    TG_EXPECT_EQ(r.ncauses, 0u);
    /* Over its own target (seed 004: GET /health p95 < 200 ms) with no baseline. */
    eps[3] = ep("/health", "GET", 250, NAN, 500);
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.naffected, 1u);
    TG_EXPECT_EQ(r.affected[0], 3u);
    TG_EXPECT(fabs(r.target_s[0] - 0.2) < 1e-9);
}

static void test_system_wide_and_severity(void)
{
    struct tg_diag_ep eps[] = {
        ep("/a", "GET", 1500, 30, 500), ep("/b", "GET", 3500, 30, 500),
        ep("/c", "GET", 1200, 30, 500), ep("/d", "GET", 1100, 30, 500),
        ep("/e", "GET", 30, 30, 500),
    };
    struct tg_diag_input in = input(eps, 5);
    in.host = true;
    in.cpu_ratio = 0.95;
    struct tg_diag_result r;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.scope, TG_DIAG_SCOPE_SYSTEM); /* 4 of 5 = 0.8 */
    TG_EXPECT_EQ(r.affected[0], 1u);             /* worst first */
    TG_EXPECT_EQ(r.severity, 2);                 /* 3.5 s > 3 s */
    TG_EXPECT(has_cause(&r, TG_DIAG_C_CPU));
    TG_EXPECT(corr(&r, TG_DIAG_K_RESOURCE) != NULL);
    in.timeouts = 1;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.severity, 1); /* timeouts: SEV-1 in profile 000 */
    /* Profile 003: P1 above 5 s is SEV-2, P2 above 2 s SEV-3. */
    struct tg_cfg_diagnosis d003 = cfg->diagnosis;
    struct tg_config *c3 = NULL;
    struct tg_errbuf eb = {0};
    const char y[] = "diagnosis: {profile: \"003\"}\n";
    TG_EXPECT_EQ(tg_config_load_string(y, sizeof y - 1, "t.yml", &c3, &eb), 0);
    if (c3)
        d003 = c3->diagnosis;
    in.timeouts = 0;
    tg_diag_decide(&d003, &in, &r);
    TG_EXPECT_EQ(r.severity, 3);
    eps[1].p95_s = 6;
    tg_diag_decide(&d003, &in, &r);
    TG_EXPECT_EQ(r.severity, 2);
    tg_config_free(c3);
    /* A targeted degradation on a busy host: the CPU is a correlation, not a cause. */
    eps[1].p95_s = 0.03;
    eps[2].p95_s = eps[3].p95_s = 0.03;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.scope, TG_DIAG_SCOPE_TARGETED);
    TG_EXPECT(!has_cause(&r, TG_DIAG_C_CPU));
    TG_EXPECT(corr(&r, TG_DIAG_K_RESOURCE) != NULL);
}

static void test_categories(void)
{
    struct tg_diag_ep eps[] = {
        ep("/api/v1/agents/:id", "GET", 900, 30, 500),
        ep("/auth/login", "POST", 900, 30, 500),
        ep("/a", "GET", 30, 30, 500),
        ep("/b", "GET", 30, 30, 500),
        ep("/c", "GET", 30, 30, 500),
    };
    struct tg_diag_input in = input(eps, 5);
    struct tg_diag_result r;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.scope, TG_DIAG_SCOPE_TARGETED);
    TG_EXPECT_EQ(r.categories, (1u << 0) | (1u << 2)); /* agent, auth */
}

static void test_traffic_and_changes(void)
{
    struct tg_diag_ep eps[] = {ep("/a", "GET", 900, 30, 500), ep("/b", "GET", 900, 30, 500)};
    struct tg_diag_input in = input(eps, 2);
    in.rps = 31;
    in.baseline_rps = 10;
    int64_t now = in.now_ms;
    struct tg_diag_event ev[] = {
        {.id = 7, .ts_ms = now - 8 * 60000, .type = "deploy", .service = "api", .version = "1.2.3"},
        {.id = 8,
         .ts_ms = now - 9 * 60000,
         .audit = true,
         .type = "config_change",
         .text = "PUT /api/v1/system/timeouts timeouts"},
        {.id = 9, .ts_ms = now - 2 * 3600000, .type = "deploy", .version = "1.2.2"}, /* old */
    };
    in.events = ev;
    in.nevents = 3;
    struct tg_diag_result r;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.scope, TG_DIAG_SCOPE_SYSTEM);
    const struct tg_diag_corr_out *c = corr(&r, TG_DIAG_K_HIGH_TRAFFIC);
    TG_EXPECT(c && strstr(c->evidence, "3.1x"));
    TG_EXPECT(has_cause(&r, TG_DIAG_C_CAPACITY));
    c = corr(&r, TG_DIAG_K_DEPLOYMENT);
    TG_EXPECT(c && c->index == 0);
    c = corr(&r, TG_DIAG_K_CONFIG_CHANGE);
    TG_EXPECT(c && c->index == 1);
    /* Without an onset, a change inside the window may have started it: it counts. */
    ev[0].ts_ms = now - 60000;
    ev[1].ts_ms = now - 60000;
    in.nevents = 2;
    struct tg_diag_result r2;
    tg_diag_decide(&cfg->diagnosis, &in, &r2);
    TG_EXPECT(corr(&r2, TG_DIAG_K_DEPLOYMENT) != NULL);
    TG_EXPECT(corr(&r2, TG_DIAG_K_CONFIG_CHANGE) != NULL);
    /* One after now (a clock step on another host) does not. */
    ev[0].ts_ms = now + 60000;
    ev[1].ts_ms = now + 60000;
    tg_diag_decide(&cfg->diagnosis, &in, &r2);
    TG_EXPECT(corr(&r2, TG_DIAG_K_DEPLOYMENT) == NULL);
    TG_EXPECT(corr(&r2, TG_DIAG_K_CONFIG_CHANGE) == NULL);
    /* Steady traffic: no high_traffic. */
    in.rps = 12;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT(corr(&r, TG_DIAG_K_HIGH_TRAFFIC) == NULL);
    TG_EXPECT(!has_cause(&r, TG_DIAG_C_CAPACITY));
}

static void test_server_and_deps(void)
{
    struct tg_diag_ep eps[] = {ep("/a", "GET", 400, 30, 500), ep("/b", "GET", 400, 30, 500)};
    struct tg_diag_input in = input(eps, 2);
    struct tg_diag_server sv[] = {
        {"api", "127.0.0.1:8081", 0.030, 300, false},
        {"api", "127.0.0.1:8082", 0.850, 300, false},
        {"api", "127.0.0.1:8083", 0.032, 300, false},
        {"other", "127.0.0.1:9000", 0.900, 300, false}, /* alone in its upstream */
    };
    in.servers = sv;
    in.nservers = 4;
    struct tg_diag_dep deps[] = {
        {.kind = TG_DIAG_DEP_POSTGRES,
         .instance = "main",
         .up = true,
         .oldest_query_s = 12,
         .backends = 5,
         .mean_ms = NAN},
        {.kind = TG_DIAG_DEP_REDIS,
         .instance = "cache",
         .up = true,
         .hit_ratio = 0.95,
         .memory_ratio = 0.1},
        {.kind = TG_DIAG_DEP_PROBE, .instance = "payments", .up = false, .latency_s = NAN},
    };
    in.deps = deps;
    in.ndeps = 3;
    struct tg_diag_result r;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.causes[0].cause, TG_DIAG_C_SERVER);   /* 0.85: a named slow server */
    TG_EXPECT_EQ(r.causes[1].cause, TG_DIAG_C_DATABASE); /* 0.8: a 12 s active query */
    TG_EXPECT(has_cause(&r, TG_DIAG_C_EXTERNAL));
    TG_EXPECT(!has_cause(&r, TG_DIAG_C_REDIS));
    const struct tg_diag_corr_out *c = corr(&r, TG_DIAG_K_SERVER);
    TG_EXPECT(c && c->index == 1);
    size_t nserver = 0;
    for (size_t i = 0; i < r.ncorr; i++)
        nserver += r.corr[i].kind == TG_DIAG_K_SERVER;
    TG_EXPECT_EQ(nserver, 1u);
    for (size_t i = 0; i < r.ncauses; i++)
        if (r.causes[i].cause == TG_DIAG_C_SERVER)
            TG_EXPECT_STREQ(r.causes[i].target, "127.0.0.1:8082");
    /* Confidences are ordered. */
    for (size_t i = 1; i < r.ncauses; i++)
        TG_EXPECT(r.causes[i - 1].confidence >= r.causes[i].confidence);
    /* JSON: the keys. */
    json_t *j = tg_diag_json(&cfg->diagnosis, &in, &r);
    static const char *const keys[] = {
        "degraded", "severity", "window_s",     "scope",  "affected", "categories",
        "pattern",  "onset",    "correlations", "causes", "checks",   "suggested_mitigations"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        TG_EXPECT(json_object_get(j, keys[i]) != NULL);
    TG_EXPECT_STREQ(json_string_value(json_object_get(j, "severity")), "SEV-3");
    json_t *a0 = json_array_get(json_object_get(j, "affected"), 0);
    static const char *const akeys[] = {"endpoint",        "method", "p95_ms",    "target_ms",
                                        "baseline_p95_ms", "rps",    "error_rate"};
    for (size_t i = 0; i < sizeof akeys / sizeof akeys[0]; i++)
        TG_EXPECT(json_object_get(a0, akeys[i]) != NULL);
    bool eject = false, kill = false;
    json_t *s;
    size_t i;
    json_array_foreach(json_object_get(j, "suggested_mitigations"), i, s)
    {
        const char *op = json_string_value(json_object_get(s, "op"));
        eject |= strcmp(op, "EJECT") == 0;
        kill |= strcmp(op, "KILL_LONG_QUERIES") == 0;
        TG_EXPECT(json_is_object(json_object_get(s, "body")));
    }
    TG_EXPECT(eject && kill);
    json_decref(j);
}

static void test_errors_and_nothing(void)
{
    struct tg_diag_ep eps[] = {ep("/a", "GET", 900, 30, 500)};
    struct tg_diag_input in = input(eps, 1);
    in.error_ratio = 0.2;
    struct tg_diag_result r;
    tg_diag_decide(&cfg->diagnosis, &in, &r);
    TG_EXPECT_EQ(r.causes[0].cause, TG_DIAG_C_ERRORS);
    /* No data at all: not degraded, nothing claimed. */
    struct tg_diag_input none = input(NULL, 0);
    none.rps = none.baseline_rps = NAN;
    tg_diag_decide(&cfg->diagnosis, &none, &r);
    TG_EXPECT(!r.degraded);
    TG_EXPECT_EQ(r.ncauses + r.ncorr, 0u);
    json_t *j = tg_diag_json(&cfg->diagnosis, &none, &r);
    TG_EXPECT(json_is_null(json_object_get(j, "severity")));
    TG_EXPECT_EQ(json_array_size(json_object_get(j, "checks")), 0u);
    json_decref(j);
}

/* The diagnosis: section: values, and errors that name the key (check-config adds the
 * file's line and column). */
static void test_config(void)
{
    struct {
        const char *yaml, *err;
    } bad[] = {
        {"diagnosis: {profile: \"009\"}\n", "diagnosis.profile"},
        {"diagnosis:\n  lookback: 10s\n  step: 30s\n", "step is longer than lookback"},
        {"diagnosis:\n  targets:\n    - {path: \"/a[\", p95: 1s}\n", "diagnosis.targets[0].path"},
        {"diagnosis:\n  targets:\n    - {path: /a}\n", "needs path and p95"},
        {"diagnosis:\n  categories:\n    - {name: x, paths: [/a]}\n    - {name: x, paths: [/b]}\n",
         "defined twice"},
        {"diagnosis:\n  severity:\n    - {level: SEV-9, p95: 1s}\n", "diagnosis.severity[0].level"},
        {"diagnosis:\n  baseline_factor: 0.5\n", "must be above 1"},
        {"diagnosis:\n  bogus: 1\n", "bogus"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tg_config *c = NULL;
        struct tg_errbuf eb = {0};
        TG_EXPECT_NE(tg_config_load_string(bad[i].yaml, strlen(bad[i].yaml), "t.yml", &c, &eb), 0);
        TG_EXPECT(strstr(eb.msg, bad[i].err) != NULL);
        tg_config_free(c);
    }
    const char ok[] = "diagnosis:\n  profile: \"001\"\n  window: 30s\n  min_requests: 3\n"
                      "  severity:\n    - {level: SEV-1, p99: 2s}\n"
                      "  categories:\n    - {name: search, paths: [\"/search*\"]}\n";
    struct tg_config *c = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_config_load_string(ok, sizeof ok - 1, "t.yml", &c, &eb), 0);
    if (c) {
        TG_EXPECT_EQ(c->diagnosis.target_us, 500000); /* profile 001's */
        TG_EXPECT_EQ(c->diagnosis.nrungs, 1u);        /* the written ladder wins */
        TG_EXPECT_EQ(c->diagnosis.rungs[0].p99_us, 2000000);
        TG_EXPECT_EQ(c->diagnosis.window_us, 30000000);
        TG_EXPECT_EQ(c->diagnosis.ncategories, 1u);
        TG_EXPECT_STREQ(c->diagnosis.categories[0].name, "search");
    }
    tg_config_free(c);
}

int main(void)
{
    test_config();
    cfg = tg_config_new_default();
    test_targeted();
    test_system_wide_and_severity();
    test_categories();
    test_traffic_and_changes();
    test_server_and_deps();
    test_errors_and_nothing();
    tg_config_free(cfg);
    return tg_test_report("diagnose/diagnosis");
}
