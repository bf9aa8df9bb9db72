/* SPDX-License-Identifier: MIT */
/* The diagnosis as JSON (diagnosis.h: tg_diag_json): the keys in its order, the
 * runbook checks to run next and the control-API operations (seed-inventory.md §e) that
 * mitigate what was found, each with the exact method, path and body to send and why. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "diagnose/diagnosis.h"

/* Milliseconds with at most one decimal: 823.4, not 823.3999999. */
static json_t *ms(double seconds)
{
    if (isnan(seconds) || isinf(seconds))
        return json_null();
    return json_real(round(seconds * 1e4) / 10.0);
}

static json_t *num(double v, double scale)
{
    if (isnan(v) || isinf(v))
        return json_null();
    return json_real(round(v * scale) / scale);
}

static json_t *iso(int64_t ms_)
{
    char b[40];
    return ms_ ? json_string(tg_clock_iso_ms(ms_ * 1000, b, sizeof b)) : json_null();
}

static json_t *affected_json(const struct tg_diag_input *in, const struct tg_diag_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->naffected; i++) {
        const struct tg_diag_ep *e = &in->eps[r->affected[i]];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "endpoint", e->endpoint,
                         "method", e->method, "p95_ms", ms(e->p95_s), "target_ms",
                         ms(r->target_s[i]), "baseline_p95_ms", ms(e->baseline_p95_s), "rps",
                         num(e->rps, 100), "error_rate", num(e->error_ratio, 1e4), "p99_ms",
                         ms(e->p99_s), "requests", num(e->requests, 1)));
    }
    return a;
}

static json_t *corr_json(const struct tg_diag_input *in, const struct tg_diag_corr_out *c)
{
    json_t *o =
        json_pack("{s:s, s:s}", "kind", tg_diag_corr_name(c->kind), "evidence", c->evidence);
    char b[40];
    switch (c->kind) {
    case TG_DIAG_K_HIGH_TRAFFIC:
        json_object_set_new(o, "rps", num(in->rps, 100));
        json_object_set_new(o, "baseline_rps", num(in->baseline_rps, 100));
        break;
    case TG_DIAG_K_DEPLOYMENT:
    case TG_DIAG_K_CONFIG_CHANGE: {
        const struct tg_diag_event *e = &in->events[c->index];
        json_object_set_new(o, e->audit ? "audit_id" : "event_id", json_integer(e->id));
        json_object_set_new(o, "ts", json_string(tg_clock_iso_ms(e->ts_ms * 1000, b, sizeof b)));
        if (e->audit) {
            json_object_set_new(o, "action", json_string(e->text));
        } else {
            json_object_set_new(o, "service", json_string(e->service));
            json_object_set_new(o, "version", json_string(e->version));
        }
        break;
    }
    case TG_DIAG_K_SERVER: {
        const struct tg_diag_server *s = &in->servers[c->index];
        json_object_set_new(o, "upstream", json_string(s->upstream));
        json_object_set_new(o, "server", json_string(s->server));
        json_object_set_new(o, "p95_ms", ms(s->p95_s));
        json_object_set_new(o, "ejected", json_boolean(s->ejected));
        break;
    }
    case TG_DIAG_K_DEPENDENCY: {
        static const char *const kinds[] = {"postgres", "redis", "probes"};
        const struct tg_diag_dep *d = &in->deps[c->index];
        json_object_set_new(o, "collector", json_string(kinds[d->kind]));
        json_object_set_new(o, "target", json_string(d->instance));
        json_object_set_new(o, "up", json_boolean(d->up));
        break;
    }
    case TG_DIAG_K_RESOURCE:
        json_object_set_new(o, "resource", json_string(c->index ? "memory" : "cpu"));
        json_object_set_new(o, "ratio", num(c->index ? in->memory_ratio : in->cpu_ratio, 1000));
        break;
    case TG_DIAG_K_TIME_OF_DAY: {
        const struct tg_diag_ep *e = &in->eps[c->index];
        json_object_set_new(o, "endpoint", json_string(e->endpoint));
        json_object_set_new(o, "day_ago_p95_ms", ms(e->day_p95_s));
        break;
    }
    }
    return o;
}

static json_t *causes_json(const struct tg_diag_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->ncauses; i++) {
        const struct tg_diag_cause_out *c = &r->causes[i];
        json_t *ev = json_array();
        for (size_t j = 0; j < c->nevidence; j++)
            json_array_append_new(ev, json_string(c->evidence[j]));
        json_t *o = json_pack("{s:s, s:o, s:o}", "cause", tg_diag_cause_name(c->cause),
                              "confidence", num(c->confidence, 100), "evidence", ev);
        if (c->target[0])
            json_object_set_new(o, "target", json_string(c->target));
        json_array_append_new(a, o);
    }
    return a;
}

static bool has_cause(const struct tg_diag_result *r, enum tg_diag_cause c)
{
    for (size_t i = 0; i < r->ncauses; i++)
        if (r->causes[i].cause == c)
            return true;
    return false;
}

static void check(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(json_t *a, const char *fmt, ...)
{
    char b[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    json_array_append_new(a, json_string(b));
}

/* Seed 000's tree, in its order: scope first (system-wide: CPU/memory, database,
 * network; targeted: per category), then what the pattern points at, then each cause. */
static json_t *checks_json(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                           const struct tg_diag_result *r)
{
    json_t *a = json_array();
    if (!r->degraded)
        return a;
    if (r->scope == TG_DIAG_SCOPE_SYSTEM) {
        check(a, "System-wide: check CPU and memory (GET /metrics/node; "
                 "node_cpu_seconds_total, node_memory_MemAvailable_bytes)");
        check(a, "System-wide: check the database (GET /api/v1/monitoring/slow-queries?limit=10; "
                 "pg_stat_statements mean_exec_time > 100 ms: "
                 "GET /api/v1/monitoring/database/slow-queries)");
        check(a, "System-wide: check the network and upstream connections "
                 "(GET /api/v1/monitoring/external-services, GET /health/detailed)");
    } else {
        for (uint32_t c = 0; c < cfg->ncategories; c++) {
            if (!(r->categories & (1u << c)))
                continue;
            const char *n = cfg->categories[c].name;
            if (strcmp(n, "agent") == 0)
                check(a,
                      "Agent endpoints: check coordination (GET /api/v1/monitoring/agents/pool)");
            else if (strcmp(n, "knowledge_graph") == 0)
                check(a, "Knowledge-graph endpoints: check query complexity "
                         "(GET /api/v1/monitoring/traces?min_duration_ms=1000, the database's "
                         "slow statements)");
            else if (strcmp(n, "auth") == 0)
                check(a, "Auth endpoints: check token validation (their latency, the auth "
                         "dependency)");
            else
                check(a, "Category %s: check its endpoints' dependency", n);
        }
        char list[300] = "";
        for (size_t i = 0; i < r->naffected && i < 5; i++) {
            const struct tg_diag_ep *e = &in->eps[r->affected[i]];
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%s %s", i ? ", " : "", e->method, e->endpoint);
        }
        check(a,
              "Targeted: compare the affected endpoints (%s) with the others "
              "(GET /api/v1/monitoring/endpoints/stats) and read their slow traces "
              "(GET /api/v1/monitoring/traces?min_duration_ms=1000)",
              list);
    }
    if (r->pattern == TG_DIAG_PAT_SUDDEN)
        check(a, "Sudden onset: look for a recent change (GET /api/v1/events, "
                 "GET /api/v1/system/audit) or a traffic spike");
    else if (r->pattern == TG_DIAG_PAT_GRADUAL)
        check(a, "Gradual rise: look for a growing queue or a leak "
                 "(GET /api/v1/monitoring/requests/active, memory growth)");
    else if (r->pattern == TG_DIAG_PAT_PERIODIC)
        check(a, "Periodic: look for a scheduled job running at the same phase");
    if (has_cause(r, TG_DIAG_C_DATABASE))
        check(a, "Database: list slow and long-running queries "
                 "(GET /api/v1/monitoring/database/slow-queries, .../database/connections, "
                 ".../database/locks)");
    if (has_cause(r, TG_DIAG_C_REDIS) || has_cause(r, TG_DIAG_C_CACHE))
        check(a, "Redis/cache: SLOWLOG and memory (GET /api/v1/monitoring/redis/slowlog, "
                 "GET /api/v1/monitoring/redis/info)");
    if (has_cause(r, TG_DIAG_C_EXTERNAL))
        check(a,
              "External services: GET /api/v1/monitoring/external-services, GET /health/services");
    if (has_cause(r, TG_DIAG_C_SERVER))
        check(a, "One upstream server is slow: GET /health/detailed, compare "
                 "upstream_request_duration_seconds by server");
    if (has_cause(r, TG_DIAG_C_ERRORS))
        check(a, "Errors: GET /api/v1/monitoring/metrics/requests (status breakdown)");
    if (has_cause(r, TG_DIAG_C_CAPACITY))
        check(a, "Capacity: compare the request rate with the breaking point "
                 "(tailguard bench --find-capacity)");
    return a;
}

static void suggest(json_t *a, const char *op, const char *method, const char *path, json_t *body,
                    const char *why)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *s = json_array_get(a, i);
        if (strcmp(json_string_value(json_object_get(s, "op")), op) == 0 &&
            json_equal(json_object_get(s, "body"), body)) {
            json_decref(body);
            return;
        }
    }
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o, s:s}", "op", op, "method", method,
                                       "path", path, "body", body, "why", why));
}

/* The runbook's breaker (000: 5 s, 50 %, 60 s); for one slow endpoint `e`, its calls are
 * cut at 3 x its baseline p95 when it is a route (the breaker can be scoped to it) (at least 50 ms,
 * at most its target and 5 s), so the slow ones fail fast and the fallback, when on, answers them
 * from the cache. */
static json_t *breaker_body(const struct tg_diag_ep *e, double target_s)
{
    int timeout_ms = 5000;
    if (e && e->route && !isnan(e->baseline_p95_s) && e->baseline_p95_s > 0)
        timeout_ms =
            (int)fmin(fmin(5000, target_s * 1e3), fmax(50, round(3 * e->baseline_p95_s * 1e3)));
    json_t *b = json_pack("{s:b, s:i, s:f, s:i}", "enabled", 1, "timeout_ms", timeout_ms,
                          "failure_threshold", 0.5, "recovery_time", 60);
    if (e && e->route)
        json_object_set_new(b, "route", json_string(e->endpoint));
    return b;
}

/* The §e operations for what was found, most specific first; a playbook (or an operator)
 * sends them as they are. */
static json_t *suggestions_json(const struct tg_diag_input *in, const struct tg_diag_result *r)
{
    json_t *a = json_array();
    if (!r->degraded)
        return a;
    const struct tg_diag_ep *worst = &in->eps[r->affected[0]];
    for (size_t i = 0; i < r->ncauses; i++) {
        const struct tg_diag_cause_out *c = &r->causes[i];
        switch (c->cause) {
        case TG_DIAG_C_SERVER:
            for (size_t k = 0; k < r->ncorr; k++) {
                if (r->corr[k].kind != TG_DIAG_K_SERVER)
                    continue;
                const struct tg_diag_server *s = &in->servers[r->corr[k].index];
                if (s->ejected)
                    continue;
                suggest(a, "EJECT", "POST", "/api/v1/system/upstreams/eject",
                        json_pack("{s:s, s:s, s:i}", "upstream", s->upstream, "server", s->server,
                                  "duration_s", 300),
                        "take the slow server out of the pool while its peers are healthy");
            }
            break;
        case TG_DIAG_C_DATABASE:
        case TG_DIAG_C_EXTERNAL:
        case TG_DIAG_C_REDIS:
            suggest(a, "TIMEOUTS", "PUT", "/api/v1/system/timeouts",
                    json_pack("{s:i, s:i}", "default_ms", 10000, "critical_ms", 30000),
                    "bound the time requests wait on the slow dependency (runbook 000)");
            suggest(a, "BREAKER", "PUT", "/api/v1/system/circuit-breaker", breaker_body(NULL, 0),
                    "fail fast while the dependency is slow or down (runbook 000)");
            suggest(a, "FALLBACK", "PUT", "/api/v1/system/fallback",
                    json_pack("{s:b, s:i}", "enabled", 1, "cache_ttl", 3600),
                    "serve the last good responses while it recovers (runbook 000)");
            if (c->cause == TG_DIAG_C_DATABASE)
                suggest(a, "KILL_LONG_QUERIES", "POST", "/api/v1/system/db/terminate-long-queries",
                        json_pack("{s:s}", "older_than", "5m"),
                        "end queries running for more than 5 minutes (runbooks 001-003)");
            break;
        case TG_DIAG_C_CAPACITY:
        case TG_DIAG_C_CPU: {
            if (in->autoscale)
                suggest(a, "SCALE", "POST", "/api/v1/system/scale",
                        json_pack("{s:i}", "instances", (int)in->instances + 1),
                        "add an instance (runbook 000's autoscaler)");
            double rpm = (in->baseline_rps > 0 ? in->baseline_rps : in->rps / 2) * 60 * 1.2;
            suggest(a, "RATE_LIMIT", "PUT", "/api/v1/system/rate-limit",
                    json_pack("{s:b, s:i}", "enabled", 1, "requests_per_minute",
                              (int)fmax(60, round(rpm))),
                    "hold traffic near what the API served before the rise (baseline x 1.2)");
            if (in->nfeatures) {
                json_t *f = json_array();
                for (size_t k = 0; k < in->nfeatures; k++)
                    json_array_append_new(f, json_string(in->features[k]));
                suggest(a, "FEATURES_DISABLE", "POST", "/api/v1/system/features/disable",
                        json_pack("{s:o}", "features", f),
                        "shed the optional features' load (runbook 000)");
            }
            break;
        }
        case TG_DIAG_C_ERRORS:
            suggest(a, "BREAKER", "PUT", "/api/v1/system/circuit-breaker", breaker_body(NULL, 0),
                    "stop sending to a failing upstream (runbook 000)");
            break;
        case TG_DIAG_C_MEMORY:
            suggest(a, "GC", "POST", "/api/v1/system/gc", json_object(),
                    "release memory (runbook 000)");
            break;
        case TG_DIAG_C_CACHE:
            suggest(a, "FALLBACK", "PUT", "/api/v1/system/fallback",
                    json_pack("{s:b, s:i}", "enabled", 1, "cache_ttl", 3600),
                    "keep serving cached responses (runbook 000)");
            break;
        case TG_DIAG_C_UNKNOWN:
        case TG_DIAG_C_COUNT:
            break;
        }
    }
    /* A slow endpoint whatever the cause: cut its slow calls and answer from the cache. */
    suggest(a, "FALLBACK", "PUT", "/api/v1/system/fallback",
            json_pack("{s:b, s:i}", "enabled", 1, "cache_ttl", 3600),
            "serve the last good response when a call fails or is cut (runbook 000)");
    bool one = r->scope == TG_DIAG_SCOPE_TARGETED && worst->route;
    suggest(a, "BREAKER", "PUT", "/api/v1/system/circuit-breaker",
            breaker_body(one ? worst : NULL, r->target_s[0]),
            one ? "cut the slow endpoint's calls at 3x its usual p95 and fail fast"
                : "count calls slower than 5 s as failures and fail fast (runbook 000)");
    return a;
}

json_t *tg_diag_json(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                     const struct tg_diag_result *r)
{
    json_t *cats = json_array(), *corr = json_array();
    for (uint32_t c = 0; c < cfg->ncategories; c++)
        if (r->categories & (1u << c))
            json_array_append_new(cats, json_string(cfg->categories[c].name));
    for (size_t i = 0; i < r->ncorr; i++)
        json_array_append_new(corr, corr_json(in, &r->corr[i]));
    char sev[8];
    snprintf(sev, sizeof sev, "SEV-%d", r->severity);
    json_t *o = json_pack(
        "{s:b, s:o, s:I, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "degraded", r->degraded,
        "severity", r->severity ? json_string(sev) : json_null(), "window_s",
        (json_int_t)(cfg->window_us / 1000000), "scope", tg_diag_scope_name(r->scope), "affected",
        affected_json(in, r), "categories", cats, "pattern", tg_diag_pattern_name(r->pattern),
        "onset", iso(r->onset_ms), "correlations", corr, "causes", causes_json(r), "checks",
        checks_json(cfg, in, r), "suggested_mitigations", suggestions_json(in, r));
    if (!o)
        return NULL;
    json_object_set_new(o, "at", iso(in->now_ms));
    json_object_set_new(o, "baseline_s", json_integer(cfg->baseline_us / 1000000));
    if (r->pattern == TG_DIAG_PAT_PERIODIC && r->period_ms)
        json_object_set_new(o, "period_s", num((double)r->period_ms / 1000, 10));
    if (r->pattern_evidence[0])
        json_object_set_new(o, "pattern_evidence", json_string(r->pattern_evidence));
    json_object_set_new(o, "requests",
                        json_pack("{s:o, s:o, s:o, s:o}", "rps", num(in->rps, 100), "baseline_rps",
                                  num(in->baseline_rps, 100), "error_rate",
                                  num(in->error_ratio, 1e4), "timeouts", num(in->timeouts, 1)));
    return o;
}
