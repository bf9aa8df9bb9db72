/* SPDX-License-Identifier: MIT */
/* The decision tree (diagnosis.h): affected endpoints, scope, categories, correlations,
 * causes and severity. The pattern of the series is pattern.c's; the JSON, the checks
 * and the suggested operations are diagnosis_json.c's. */
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/diagnosis.h"
#include "diagnose/diagnosis_int.h"
#include "diagnose/pattern_stats_int.h"

double tg_diag_target_s(const struct tg_cfg_diagnosis *cfg, const char *endpoint,
                        const char *method)
{
    for (uint32_t i = 0; i < cfg->ntargets; i++) {
        const struct tg_cfg_diag_target *t = &cfg->targets[i];
        if ((!t->method[0] || strcmp(t->method, method) == 0) && fnmatch(t->path, endpoint, 0) == 0)
            return (double)t->p95_us / 1e6;
    }
    return (double)cfg->target_us / 1e6;
}

/* snprintf through a va_list: evidence is cut at its buffer's end, on purpose. */
static void put(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static bool known(double v)
{
    return !isnan(v) && !isinf(v);
}

static bool affected(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_ep *e, double target)
{
    if (!known(e->p95_s) || !(e->requests >= cfg->min_requests))
        return false;
    if (e->p95_s > target)
        return true;
    double floor = (double)cfg->min_excess_us / 1e6;
    return known(e->baseline_p95_s) && e->baseline_p95_s > 0 &&
           e->p95_s > cfg->baseline_factor * e->baseline_p95_s &&
           e->p95_s - e->baseline_p95_s >= floor;
}

static void find_affected(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                          struct tg_diag_result *r)
{
    for (size_t i = 0; i < in->neps && r->naffected < TG_DIAG_MAX_ENDPOINTS; i++) {
        const struct tg_diag_ep *e = &in->eps[i];
        if (e->requests >= cfg->min_requests)
            r->ntraffic++;
        if (affected(cfg, e, tg_diag_target_s(cfg, e->endpoint, e->method)))
            r->affected[r->naffected++] = i;
    }
    /* Worst p95 first (insertion sort: a few hundred endpoints at most, and stable). */
    for (size_t i = 1; i < r->naffected; i++)
        for (size_t j = i;
             j > 0 && in->eps[r->affected[j - 1]].p95_s < in->eps[r->affected[j]].p95_s; j--) {
            size_t t = r->affected[j];
            r->affected[j] = r->affected[j - 1];
            r->affected[j - 1] = t;
        }
    for (size_t i = 0; i < r->naffected; i++) {
        const struct tg_diag_ep *e = &in->eps[r->affected[i]];
        r->target_s[i] = tg_diag_target_s(cfg, e->endpoint, e->method);
    }
    r->degraded = r->naffected > 0;
    if (!r->degraded)
        r->scope = TG_DIAG_SCOPE_NONE;
    else if (r->naffected == r->ntraffic ||
             (double)r->naffected >= cfg->system_wide_share * (double)r->ntraffic)
        r->scope = TG_DIAG_SCOPE_SYSTEM;
    else
        r->scope = TG_DIAG_SCOPE_TARGETED;
}

static void find_categories(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                            struct tg_diag_result *r)
{
    for (size_t i = 0; i < r->naffected; i++) {
        const char *name = in->eps[r->affected[i]].endpoint;
        for (uint32_t c = 0; c < cfg->ncategories; c++) {
            for (uint32_t g = 0; g < cfg->categories[c].nglobs; g++) {
                if (fnmatch(cfg->categories[c].globs[g], name, 0) == 0)
                    r->categories |= 1u << c;
            }
        }
    }
}

/* The severity ladder over the worst affected p95 / p99 and the timeouts. A degradation
 * below every rung (slower than its own baseline, under the profile's lowest threshold)
 * is still an incident: SEV-3, the lowest level. */
static void find_severity(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                          struct tg_diag_result *r)
{
    if (!r->degraded)
        return;
    double p95 = 0, p99 = 0, timeouts = in->timeouts;
    for (size_t i = 0; i < r->naffected; i++) {
        const struct tg_diag_ep *e = &in->eps[r->affected[i]];
        if (known(e->p95_s) && e->p95_s > p95)
            p95 = e->p95_s;
        if (known(e->p99_s) && e->p99_s > p99)
            p99 = e->p99_s;
        if (known(e->timeouts) && e->timeouts > timeouts)
            timeouts = e->timeouts;
    }
    for (uint32_t i = 0; i < cfg->nrungs; i++) {
        const struct tg_cfg_diag_rung *g = &cfg->rungs[i];
        if ((g->p95_us && p95 > (double)g->p95_us / 1e6) ||
            (g->p99_us && p99 > (double)g->p99_us / 1e6) || (g->timeouts && timeouts > 0)) {
            r->severity = g->level[4] - '0';
            return;
        }
    }
    r->severity = 3;
}

static struct tg_diag_corr_out *add_corr(struct tg_diag_result *r, enum tg_diag_corr k,
                                         size_t index)
{
    if (r->ncorr == TG_DIAG_MAX_CORR)
        return NULL;
    struct tg_diag_corr_out *c = &r->corr[r->ncorr++];
    c->kind = k;
    c->index = index;
    return c;
}

/* The cause `c`, added once; each call adds a piece of evidence and keeps the highest
 * confidence, plus a little for each further piece (two signals agreeing say more than
 * one), never reaching 1. */
struct tg_diag_cause_out *tg_diag__cause(struct tg_diag_result *r, enum tg_diag_cause c,
                                         double conf, const char *target, const char *fmt, ...)
{
    struct tg_diag_cause_out *o = NULL;
    for (size_t i = 0; i < r->ncauses && !o; i++)
        if (r->causes[i].cause == c)
            o = &r->causes[i];
    if (!o) {
        if (r->ncauses == TG_DIAG_MAX_CAUSES)
            return NULL;
        o = &r->causes[r->ncauses++];
        memset(o, 0, sizeof *o);
        o->cause = c;
        o->confidence = conf;
        snprintf(o->target, sizeof o->target, "%s", target ? target : "");
    } else {
        o->confidence = fmin(0.95, fmax(o->confidence, conf) + 0.05);
    }
    if (o->nevidence < TG_DIAG_MAX_EVIDENCE) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->evidence[o->nevidence++], sizeof o->evidence[0], fmt, ap);
        va_end(ap);
    }
    return o;
}

/* One slow server among healthy peers of the same upstream (envoy#288's latency
 * outlier): its p95 above server_factor x the median of the others, by min_excess. An
 * ejected server is named too: the gateway already took it out for being slow or
 * failing. */
static void find_servers(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                         struct tg_diag_result *r)
{
    double peers[TG_DIAG_MAX_SERVERS];
    for (size_t i = 0; i < in->nservers; i++) {
        const struct tg_diag_server *s = &in->servers[i];
        size_t n = 0;
        for (size_t j = 0; j < in->nservers; j++) {
            const struct tg_diag_server *p = &in->servers[j];
            if (j != i && strcmp(p->upstream, s->upstream) == 0 && known(p->p95_s) &&
                p->requests >= cfg->min_requests && !p->ejected)
                peers[n++] = p->p95_s;
        }
        double med = tg_pattern__median_inplace(peers, n);
        bool slow = n > 0 && known(s->p95_s) && s->requests >= cfg->min_requests &&
                    s->p95_s > cfg->server_factor * med &&
                    s->p95_s - med >= (double)cfg->min_excess_us / 1e6;
        if (!slow && !(s->ejected && r->degraded))
            continue;
        struct tg_diag_corr_out *c = add_corr(r, TG_DIAG_K_SERVER, i);
        char what[200];
        if (slow)
            put(what, sizeof what,
                "server %s of upstream %s: p95 %.0f ms, its %zu peers' median %.0f ms%s", s->server,
                s->upstream, s->p95_s * 1e3, n, med * 1e3, s->ejected ? " (ejected now)" : "");
        else
            put(what, sizeof what, "server %s of upstream %s is ejected by outlier detection",
                s->server, s->upstream);
        if (c)
            put(c->evidence, sizeof c->evidence, "%s", what);
        if (r->degraded)
            tg_diag__cause(r, TG_DIAG_C_SERVER, slow ? 0.85 : 0.6, s->server, "%s", what);
    }
}

static void find_dependencies(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                              struct tg_diag_result *r)
{
    for (size_t i = 0; i < in->ndeps; i++) {
        const struct tg_diag_dep *d = &in->deps[i];
        char ev[200] = "";
        enum tg_diag_cause cause = TG_DIAG_C_DATABASE;
        double conf = 0;
        switch (d->kind) {
        case TG_DIAG_DEP_POSTGRES:
            if (!d->up) {
                put(ev, sizeof ev, "PostgreSQL %s is down (pg_up 0)", d->instance);
                conf = 0.9;
            } else if (known(d->oldest_query_s) && d->oldest_query_s * 1e6 >= cfg->db_query_us) {
                put(ev, sizeof ev,
                    "PostgreSQL %s: an active query has run for %.1f s (threshold %.1f s)",
                    d->instance, d->oldest_query_s, (double)cfg->db_query_us / 1e6);
                conf = 0.8;
            } else if (known(d->mean_ms) && cfg->db_mean_us &&
                       d->mean_ms * 1e3 >= cfg->db_mean_us) {
                put(ev, sizeof ev,
                    "PostgreSQL %s: a statement's mean time is %.0f ms (threshold %.0f ms)",
                    d->instance, d->mean_ms, (double)cfg->db_mean_us / 1e3);
                conf = 0.6;
            } else if (known(d->backends) && d->backends >= cfg->db_backends) {
                put(ev, sizeof ev, "PostgreSQL %s: %.0f connections (warning band %u)", d->instance,
                    d->backends, cfg->db_backends);
                conf = 0.5;
            }
            break;
        case TG_DIAG_DEP_REDIS:
            cause = TG_DIAG_C_REDIS;
            if (!d->up) {
                put(ev, sizeof ev, "Redis %s is down (redis_up 0)", d->instance);
                conf = 0.8;
            } else if (known(d->memory_ratio) && d->memory_ratio >= 0.9) {
                put(ev, sizeof ev, "Redis %s uses %.0f%% of maxmemory", d->instance,
                    d->memory_ratio * 100);
                conf = 0.5;
            } else if (known(d->hit_ratio) && d->hit_ratio < cfg->cache_hit_ratio) {
                cause = TG_DIAG_C_CACHE;
                put(ev, sizeof ev, "Redis %s keyspace hit ratio %.0f%% (below %.0f%%)", d->instance,
                    d->hit_ratio * 100, cfg->cache_hit_ratio * 100);
                conf = 0.4;
            }
            break;
        case TG_DIAG_DEP_PROBE:
            cause = TG_DIAG_C_EXTERNAL;
            if (!d->up) {
                put(ev, sizeof ev, "external service %s fails its probe (probe_success 0)",
                    d->instance);
                conf = 0.8;
            } else if (known(d->latency_s) && d->latency_s * 1e6 >= cfg->probe_latency_us) {
                put(ev, sizeof ev, "external service %s answers in %.0f ms (threshold %.0f ms)",
                    d->instance, d->latency_s * 1e3, (double)cfg->probe_latency_us / 1e3);
                conf = 0.7;
            }
            break;
        }
        if (conf == 0)
            continue;
        struct tg_diag_corr_out *c = add_corr(r, TG_DIAG_K_DEPENDENCY, i);
        if (c)
            put(c->evidence, sizeof c->evidence, "%s", ev);
        if (r->degraded || !d->up)
            tg_diag__cause(r, cause, r->degraded ? conf : conf / 2, d->instance, "%s", ev);
    }
}

/* A saturated host slows every endpoint: a cause of a system-wide degradation only; beside
 * a targeted one it stays a correlation (it may make the slow endpoint worse). */
static void find_resources(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                           struct tg_diag_result *r)
{
    bool wide = r->scope == TG_DIAG_SCOPE_SYSTEM;
    if (in->host && known(in->cpu_ratio) && in->cpu_ratio > cfg->cpu_ratio) {
        struct tg_diag_corr_out *c = add_corr(r, TG_DIAG_K_RESOURCE, 0);
        if (c)
            put(c->evidence, sizeof c->evidence, "host CPU %.0f%% (threshold %.0f%%)",
                in->cpu_ratio * 100, cfg->cpu_ratio * 100);
        if (wide)
            tg_diag__cause(r, TG_DIAG_C_CPU, 0.6, NULL, "host CPU %.0f%% busy",
                           in->cpu_ratio * 100);
    }
    if (in->host && known(in->memory_ratio) && in->memory_ratio > cfg->memory_ratio) {
        struct tg_diag_corr_out *c = add_corr(r, TG_DIAG_K_RESOURCE, 1);
        if (c)
            put(c->evidence, sizeof c->evidence, "host memory %.0f%% used (threshold %.0f%%)",
                in->memory_ratio * 100, cfg->memory_ratio * 100);
        if (wide)
            tg_diag__cause(r, TG_DIAG_C_MEMORY, 0.6, NULL, "host memory %.0f%% used",
                           in->memory_ratio * 100);
    }
    if (r->degraded && known(in->error_ratio) && in->error_ratio > cfg->error_ratio)
        tg_diag__cause(r, TG_DIAG_C_ERRORS, fmin(0.9, 0.5 + in->error_ratio), NULL,
                       "%.1f%% of requests failed with 5xx (threshold %.1f%%)",
                       in->error_ratio * 100, cfg->error_ratio * 100);
    if (r->degraded && known(in->cache_hit_ratio) && in->cache_hit_ratio < cfg->cache_hit_ratio)
        tg_diag__cause(r, TG_DIAG_C_CACHE, 0.3, NULL,
                       "the gateway's cache hit ratio is %.0f%% (below %.0f%%)",
                       in->cache_hit_ratio * 100, cfg->cache_hit_ratio * 100);
    if (r->degraded && in->breakers_open)
        tg_diag__cause(r, TG_DIAG_C_EXTERNAL, 0.5, NULL, "%u circuit breaker(s) open",
                       in->breakers_open);
}

static void find_traffic(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                         struct tg_diag_result *r)
{
    bool ratio = known(in->baseline_rps) && in->baseline_rps > 0 &&
                 in->rps >= cfg->high_traffic_factor * in->baseline_rps;
    bool kpi = known(in->rps) && in->rps >= cfg->high_traffic_rps;
    if (!ratio && !kpi)
        return;
    struct tg_diag_corr_out *c = add_corr(r, TG_DIAG_K_HIGH_TRAFFIC, 0);
    if (c && known(in->baseline_rps) && in->baseline_rps > 0)
        put(c->evidence, sizeof c->evidence,
            "%.1f req/s now against %.1f req/s in the baseline (%.1fx)", in->rps, in->baseline_rps,
            in->rps / in->baseline_rps);
    else if (c)
        put(c->evidence, sizeof c->evidence, "%.1f req/s now (KPI %u req/s)", in->rps,
            cfg->high_traffic_rps);
    if (r->degraded)
        tg_diag__cause(r, TG_DIAG_C_CAPACITY, r->scope == TG_DIAG_SCOPE_SYSTEM ? 0.75 : 0.45, NULL,
                       "traffic %.1f req/s is %.1fx its baseline while latency is up", in->rps,
                       known(in->baseline_rps) && in->baseline_rps > 0 ? in->rps / in->baseline_rps
                                                                       : 0.0);
}

/* Change markers between change_window before the onset (or before the window when the
 * onset is unknown) and the onset itself: a change after the degradation began did not
 * cause it (it is more likely its mitigation). The latest deploy and the latest config
 * change are named. */
static void find_changes(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                         struct tg_diag_result *r)
{
    if (!r->degraded)
        return;
    int64_t ref = r->onset_ms ? r->onset_ms : in->now_ms - cfg->window_us / 1000;
    int64_t from = ref - cfg->change_window_us / 1000;
    int64_t to = r->onset_ms ? r->onset_ms + in->step_ms : in->now_ms;
    long best[2] = {-1, -1};
    for (size_t i = 0; i < in->nevents; i++) {
        const struct tg_diag_event *e = &in->events[i];
        if (e->ts_ms < from || e->ts_ms > to)
            continue;
        int k = e->audit ? 1 : strcmp(e->type, "deploy") == 0 ? 0 : -1;
        if (k >= 0 && (best[k] < 0 || e->ts_ms >= in->events[best[k]].ts_ms))
            best[k] = (long)i;
    }
    for (int k = 0; k < 2; k++) {
        if (best[k] < 0)
            continue;
        const struct tg_diag_event *e = &in->events[best[k]];
        struct tg_diag_corr_out *c =
            add_corr(r, k ? TG_DIAG_K_CONFIG_CHANGE : TG_DIAG_K_DEPLOYMENT, (size_t)best[k]);
        double min = (double)(ref - e->ts_ms) / 60000.0;
        if (c && k == 0)
            put(c->evidence, sizeof c->evidence, "deploy of %s %s %.1f min before %s",
                e->service[0] ? e->service : "(service)", e->version, fabs(min),
                r->onset_ms ? "the onset" : "the window");
        else if (c)
            put(c->evidence, sizeof c->evidence, "control change \"%s\" %.1f min before %s",
                e->text, fabs(min), r->onset_ms ? "the onset" : "the window");
    }
}

static void find_time_of_day(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                             struct tg_diag_result *r)
{
    for (size_t i = 0; i < r->naffected; i++) {
        const struct tg_diag_ep *e = &in->eps[r->affected[i]];
        if (!known(e->day_p95_s) || !(e->day_p95_s > r->target_s[i] ||
                                      (known(e->baseline_p95_s) && e->baseline_p95_s > 0 &&
                                       e->day_p95_s > cfg->baseline_factor * e->baseline_p95_s)))
            continue;
        struct tg_diag_corr_out *c = add_corr(r, TG_DIAG_K_TIME_OF_DAY, r->affected[i]);
        if (c)
            put(c->evidence, sizeof c->evidence,
                "%s %s was also slow a day ago at this time (p95 %.0f ms)", e->method, e->endpoint,
                e->day_p95_s * 1e3);
        return;
    }
}

static int by_confidence(const void *a, const void *b)
{
    double x = ((const struct tg_diag_cause_out *)a)->confidence,
           y = ((const struct tg_diag_cause_out *)b)->confidence;
    return x < y ? 1 : x > y ? -1 : 0;
}

void tg_diag_decide(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                    struct tg_diag_result *out)
{
    memset(out, 0, sizeof *out);
    find_affected(cfg, in, out);
    find_categories(cfg, in, out);
    tg_diag__pattern(cfg, in, out);
    find_severity(cfg, in, out);
    find_traffic(cfg, in, out);
    find_changes(cfg, in, out);
    find_time_of_day(cfg, in, out);
    find_servers(cfg, in, out);
    find_dependencies(cfg, in, out);
    find_resources(cfg, in, out);
    if (out->degraded && out->ncauses == 0)
        tg_diag__cause(out, TG_DIAG_C_UNKNOWN, 0.2, NULL,
                       "no dependency, resource, traffic or server signal crossed its "
                       "threshold: look at the application (traces, slow requests)");
    /* Stable: equal confidences keep the order they were found in (most specific first). */
    for (size_t i = 1; i < out->ncauses; i++)
        for (size_t j = i; j > 0 && by_confidence(&out->causes[j - 1], &out->causes[j]) > 0; j--) {
            struct tg_diag_cause_out t = out->causes[j];
            out->causes[j] = out->causes[j - 1];
            out->causes[j - 1] = t;
        }
}

const char *tg_diag_scope_name(enum tg_diag_scope s)
{
    static const char *const n[] = {"none", "targeted", "system_wide"};
    return n[s];
}

const char *tg_diag_pattern_name(enum tg_diag_pattern p)
{
    static const char *const n[] = {"none", "sudden", "gradual", "periodic"};
    return n[p];
}

const char *tg_diag_cause_name(enum tg_diag_cause c)
{
    static const char *const n[] = {"database", "redis",           "external_service", "cpu",
                                    "memory",   "upstream_server", "errors",           "cache",
                                    "capacity", "unknown"};
    return n[c];
}

const char *tg_diag_corr_name(enum tg_diag_corr k)
{
    static const char *const n[] = {"high_traffic",    "deployment", "config_change", "time_of_day",
                                    "upstream_server", "dependency", "resource"};
    return n[k];
}
