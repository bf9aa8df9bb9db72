/* SPDX-License-Identifier: MIT */
/* Playbook matching, bodies and guardrails (playbook.h). */
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/pattern_stats_int.h"
#include "diagnose/playbook.h"

#define SYS "/api/v1/system/"

static const struct tg_pb_op ops[] = {
    {"BREAKER", "PUT", SYS "circuit-breaker", true, "circuit_breaker"},
    {"TIMEOUTS", "PUT", SYS "timeouts", false, "timeouts"},
    {"RATE_LIMIT", "PUT", SYS "rate-limit", true, "rate_limit"},
    {"FEATURES_DISABLE", "POST", SYS "features/disable", true, NULL},
    {"FALLBACK", "PUT", SYS "fallback", false, "fallback"},
    {"RETRY", "PUT", SYS "retries", false, "retries"},
    {"CONCURRENCY", "PUT", SYS "concurrency", true, "concurrency"},
    {"CACHE_WARM", "POST", SYS "cache/warm", false, NULL},
    {"CACHE_PURGE", "POST", SYS "cache/purge", false, NULL},
    {"GC", "POST", SYS "gc", false, NULL},
    {"SCALE", "POST", SYS "scale", false, NULL},
    {"EJECT", "POST", SYS "upstreams/eject", false, NULL},
    {"TRACING", "PUT", SYS "tracing", false, "tracing"},
};

const struct tg_pb_op *tg_pb_op(const char *id)
{
    for (size_t i = 0; id && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].id, id) == 0)
            return &ops[i];
    return NULL;
}

/* The bit of `value` among `names`, or 0 when absent (then no mask but "any" matches). */
static unsigned bit(const char *const *names, const char *value)
{
    for (unsigned i = 0; value && names[i]; i++)
        if (strcmp(names[i], value) == 0)
            return 1u << i;
    return 0;
}

static const char *const scopes[] = {"none", "targeted", "system_wide", NULL};
static const char *const patterns[] = {"none", "sudden", "gradual", "periodic", NULL};
static const char *const causes[] = {
    "database", "redis", "external_service", "cpu",     "memory", "upstream_server",
    "errors",   "cache", "capacity",         "unknown", NULL};

static bool cause_ok(const struct tg_cfg_pb_match *m, const json_t *diag)
{
    if (!m->causes)
        return true;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(diag, "causes"), i, c)
    {
        unsigned b = bit(causes, json_string_value(json_object_get(c, "cause")));
        double conf = json_number_value(json_object_get(c, "confidence"));
        if ((!m->causes || (m->causes & b)) && conf >= m->min_confidence)
            return true;
    }
    return false;
}

static bool endpoint_ok(const struct tg_cfg_pb_match *m, const json_t *diag)
{
    if (!m->nendpoints)
        return true;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(diag, "affected"), i, a)
    {
        const char *e = json_string_value(json_object_get(a, "endpoint"));
        for (uint32_t g = 0; e && g < m->nendpoints; g++)
            if (fnmatch(m->endpoints[g], e, 0) == 0)
                return true;
    }
    return false;
}

const struct tg_cfg_playbook *tg_pb_match(const struct tg_cfg_playbooks *p, const json_t *diag)
{
    if (!json_is_true(json_object_get(diag, "degraded")))
        return NULL;
    const char *sev = json_string_value(json_object_get(diag, "severity"));
    int level = sev && strlen(sev) == 5 ? sev[4] - '0' : 3;
    unsigned scope = bit(scopes, json_string_value(json_object_get(diag, "scope")));
    unsigned pattern = bit(patterns, json_string_value(json_object_get(diag, "pattern")));
    for (uint32_t i = 0; i < p->n; i++) {
        const struct tg_cfg_pb_match *m = &p->list[i].match;
        if ((m->scopes && !(m->scopes & scope)) || (m->patterns && !(m->patterns & pattern)) ||
            (m->min_severity && level > m->min_severity) || !cause_ok(m, diag) ||
            !endpoint_ok(m, diag))
            continue;
        return &p->list[i];
    }
    return NULL;
}

json_t *tg_pb_body(const struct tg_cfg_pb_action *a, const json_t *diag)
{
    if (a->body[0])
        return json_loads(a->body, 0, NULL);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(diag, "suggested_mitigations"), i, s)
    {
        const char *op = json_string_value(json_object_get(s, "op"));
        if (op && strcmp(op, a->op) == 0)
            return json_deep_copy(json_object_get(s, "body"));
    }
    return NULL;
}

static bool critical_route(const struct tg_config *cfg, const char *name)
{
    for (uint32_t r = 0; name && r < cfg->nroutes; r++)
        if (strcmp(cfg->routes[r].name, name) == 0)
            return cfg->routes[r].cls == TG_CLASS_CRITICAL;
    return false;
}

static bool critical_feature(const struct tg_config *cfg, const char *feature)
{
    for (uint32_t r = 0; feature && r < cfg->nroutes; r++)
        if (cfg->routes[r].cls == TG_CLASS_CRITICAL && strcmp(cfg->routes[r].feature, feature) == 0)
            return true;
    return false;
}

const char *tg_pb_guard(const struct tg_cfg_playbooks *p, const struct tg_config *cfg,
                        const struct tg_pb_state *s, int64_t now_us, const struct tg_pb_op *op,
                        const json_t *body)
{
    if (!p->enabled)
        return "playbooks are switched off (PUT /api/v1/system/playbooks)";
    if (s->actions >= p->max_actions)
        return "the most actions per incident (playbooks.max_actions) were taken";
    if (s->verifying)
        return "the previous action is still being verified";
    if (s->last_action_us && now_us - s->last_action_us < p->cooldown_us)
        return "in the cooldown after the previous action (playbooks.cooldown)";
    if (!op)
        return "unknown operation";
    if (strcmp(op->id, "FEATURES_DISABLE") == 0) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(body, "features"), i, f)
        {
            if (critical_feature(cfg, json_string_value(f)))
                return "the feature is carried by a critical route (never shed)";
        }
    }
    if (op->sheds && critical_route(cfg, json_string_value(json_object_get(body, "route"))))
        return "the route is critical (never shed)";
    return NULL;
}

int tg_pb_short_verdict(const double *after, size_t n, size_t settle, int min_samples,
                        double baseline_ms, double degraded_ms, double target_ms, int look,
                        int max_looks, bool *final, char *reason, size_t cap)
{
    bool last = look >= max_looks;
    *final = last;
    double *v = malloc((n > settle ? n - settle : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = settle; v && i < n; i++)
        if (!isnan(after[i]) && after[i] >= 0)
            v[k++] = after[i];
    if (!v || (int)k < min_samples || isnan(degraded_ms)) {
        snprintf(reason, cap, "too few samples: %zu usable p95 samples after the action, %d needed",
                 k, min_samples);
        free(v);
        return 0;
    }
    double med = tg_pattern__median_inplace(v, k);
    free(v);
    bool near_base = !isnan(baseline_ms) && (med <= 1.5 * baseline_ms || med <= baseline_ms + 20);
    bool in_target =
        !isnan(target_ms) && target_ms > 0 && degraded_ms > target_ms && med <= target_ms;
    if (near_base || in_target) {
        *final = true;
        snprintf(reason, cap,
                 "p95 %.0f ms -> %.0f ms, back %s (the degradation was too recent for a "
                 "test against it)",
                 degraded_ms, med, near_base ? "near its baseline" : "within its target");
        if (near_base)
            snprintf(reason + strlen(reason), cap - strlen(reason), ": baseline %.0f ms",
                     baseline_ms);
        return 1;
    }
    if (med >= 0.8 * degraded_ms) {
        snprintf(reason, cap, "p95 %.0f ms -> %.0f ms, still degraded", degraded_ms, med);
        return last ? 2 : 0;
    }
    snprintf(reason, cap, "p95 %.0f ms -> %.0f ms: better, not back to its baseline", degraded_ms,
             med);
    return 0;
}

void tg_pb_levels(const json_t *diag, double *baseline_ms, double *degraded_ms, double *target_ms)
{
    *baseline_ms = *degraded_ms = *target_ms = NAN;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(diag, "affected"), i, a)
    {
        json_t *b = json_object_get(a, "baseline_p95_ms"), *p = json_object_get(a, "p95_ms"),
               *t = json_object_get(a, "target_ms");
        if (json_is_number(b) && (isnan(*baseline_ms) || json_number_value(b) > *baseline_ms))
            *baseline_ms = json_number_value(b);
        if (json_is_number(p) && (isnan(*degraded_ms) || json_number_value(p) > *degraded_ms))
            *degraded_ms = json_number_value(p);
        if (json_is_number(t) && (isnan(*target_ms) || json_number_value(t) < *target_ms))
            *target_ms = json_number_value(t);
    }
}
