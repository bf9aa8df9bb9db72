/* SPDX-License-Identifier: MIT */
/* The protections' collector: each circuit breaker's state (the runbook greps
 * circuit_breaker_state), its transitions and refusals, each rate limit's decisions and
 * table, each upstream's retries and concurrency limit (in flight, queue, refusals, the
 * adaptive limit), passive ejection, and the response cache (the runbooks grep
 * cache_hit_rate). Every family is described even with no series, so the names the
 * runbooks grep are always there. Breakers, limits and retry budgets the running
 * configuration no longer uses keep their state but leave the exposition, so their series
 * go stale. One family per step; it pauses between families. */
#include "proxy/collect.h"

#include <stdio.h>

#include "core/err.h"
#include "proxy/collect_int.h"
#include "proxy/gateway.h"

static const char *const upstream_only[] = {"upstream"};
static const char *const upstream_reason[] = {"upstream", "reason"};

static void family(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                   const char *help)
{
    v->family(v->ctx, &(struct tg_mfamily){name, help, NULL, type});
}

/* ---- the cache: its counters, zeros before any configuration turned it on ---------- */

static void cache_metrics(struct tg_gateway *gw, const struct tg_mvisitor *v)
{
    struct tg_cache_stats st = {0};
    struct tg_cache *c = tg_gateway_cache(gw);
    if (c)
        tg_cache_stats(c, &st);
    const enum tg_metric_type C = TG_METRIC_COUNTER, G = TG_METRIC_GAUGE;
    tg_proxy__one(v, "cache_hits_total", C, "Requests answered from the response cache (fresh).",
                  (double)st.hits);
    tg_proxy__one(v, "cache_misses_total", C,
                  "Cacheable requests the response cache had nothing usable for.",
                  (double)st.misses);
    uint64_t looked = st.hits + st.misses;
    tg_proxy__one(v, "cache_hit_rate", G, "cache_hits_total / (hits + misses), 0 with neither.",
                  looked ? (double)st.hits / (double)looked : 0.0);
    tg_proxy__one(v, "tailguard_cache_stale_served_total", C,
                  "Stale answers served (fallback, or a request's max-stale).",
                  (double)st.stale_served);
    tg_proxy__one(v, "tailguard_cache_fallback_served_total", C,
                  "Answers fallback gave for a failing upstream or an open breaker.",
                  (double)st.fallback_served);
    tg_proxy__one(v, "tailguard_cache_stores_total", C, "Responses stored.", (double)st.stores);
    tg_proxy__one(v, "tailguard_cache_evictions_total", C,
                  "Entries evicted to make room (least recently used first).",
                  (double)st.evictions);
    tg_proxy__one(v, "tailguard_cache_expired_total", C,
                  "Entries dropped past their retention by POST /api/v1/system/gc.",
                  (double)st.expired);
    tg_proxy__one(v, "tailguard_cache_purged_total", C, "Entries removed by purges.",
                  (double)st.purged);
    family(v, "tailguard_cache_declined_total", C, "Responses not stored, by reason.");
    static const char *const reason[] = {"reason"};
    for (int d = TG_CACHE_DECLINE_NONE + 1; d < TG_CACHE_DECLINE__COUNT; d++) {
        const char *values[] = {tg_cache_decline_name((enum tg_cache_decline)d)};
        v->value(v->ctx, &(struct tg_mlabels){reason, values, 1}, (double)st.declined[d]);
    }
    tg_proxy__one(v, "tailguard_cache_entries", G, "Entries stored.", (double)st.entries);
    tg_proxy__one(v, "tailguard_cache_bytes", G,
                  "Memory the entries hold, counted against cache.max_bytes.", (double)st.bytes);
    tg_proxy__one(v, "tailguard_cache_max_bytes", G, "The cache's memory budget (cache.max_bytes).",
                  (double)st.max_bytes);
}

/* A walk over one of the gateway's lists for one family (`pass`). */
struct walk {
    const struct tg_mvisitor *v;
    unsigned pass;
};

/* ---- passive ejection per upstream ------------------------------------------------ */

static void on_outlier(const struct tg_gateway_outlier_info *o, void *vctx)
{
    struct walk *w = vctx;
    if (w->pass == 0) {
        for (int r = 0; r < TG_OUTLIER_R_COUNT; r++) {
            const char *values[] = {o->upstream, tg_outlier_reason_name((enum tg_outlier_reason)r)};
            w->v->value(w->v->ctx, &(struct tg_mlabels){upstream_reason, values, 2},
                        (double)o->stats.ejections_total[r]);
        }
        return;
    }
    const char *values[] = {o->upstream};
    w->v->value(w->v->ctx, &(struct tg_mlabels){upstream_only, values, 1},
                (double)(w->pass == 1 ? o->stats.ejected_now : o->stats.cap_refused_total));
}

static const struct tg_mfamily outlier_fams[] = {
    {"tailguard_outlier_ejections_total",
     "Servers taken out of rotation by passive ejection (consecutive_errors, latency) or by request (operator: POST /api/v1/system/upstreams/eject), by reason.", NULL, TG_METRIC_COUNTER},
    {"tailguard_outlier_ejected_servers", "Servers of the upstream out of rotation now.", NULL,
     TG_METRIC_GAUGE},
    {"tailguard_outlier_ejections_refused_total",
     "Ejections due but refused by passive.max_ejection_percent.", NULL, TG_METRIC_COUNTER},
};

/* ---- concurrency limits: one series per upstream a limit is on for --------------- */

enum cfam {
    CF_INFLIGHT = 0,
    CF_LIMIT,
    CF_SOFT,
    CF_QUEUE,
    CF_QUEUED,
    CF_DEQUEUED,
    CF_SOFT_ADMITTED,
    CF_REJECTED,
    CF_A_LIMIT,
    CF_A_BASELINE,
    CF_A_LATENCY,
    CF_COUNT
};

static const struct tg_mfamily cfams[CF_COUNT] = {
    [CF_INFLIGHT] = {"tailguard_concurrency_in_flight",
                     "Requests holding a concurrency slot of the upstream, all workers.", NULL,
                     TG_METRIC_GAUGE},
    [CF_LIMIT] = {"tailguard_concurrency_limit",
                  "The effective hard limit: concurrency.hard_limit, or the adaptive limit "
                  "when lower.",
                  NULL, TG_METRIC_GAUGE},
    [CF_SOFT] = {"tailguard_concurrency_soft_limit",
                 "The effective soft limit (scaled with the adaptive limit).", NULL,
                 TG_METRIC_GAUGE},
    [CF_QUEUE] = {"tailguard_concurrency_queue_depth",
                  "Requests waiting for a slot now, all workers.", NULL, TG_METRIC_GAUGE},
    [CF_QUEUED] = {"tailguard_concurrency_queued_total", "Requests that waited for a slot.", NULL,
                   TG_METRIC_COUNTER},
    [CF_DEQUEUED] = {"tailguard_concurrency_dequeued_total", "Waiting requests that got a slot.",
                     NULL, TG_METRIC_COUNTER},
    [CF_SOFT_ADMITTED] = {"tailguard_concurrency_admitted_soft_total",
                          "Requests admitted above the soft limit.", NULL, TG_METRIC_COUNTER},
    [CF_REJECTED] = {"tailguard_concurrency_rejected_total",
                     "Requests refused with 503, by reason (limit, shed, queue_full, "
                     "queue_timeout) and tier.",
                     NULL, TG_METRIC_COUNTER},
    [CF_A_LIMIT] = {"tailguard_concurrency_adaptive_limit",
                    "The adaptive limit (concurrency.adaptive).", NULL, TG_METRIC_GAUGE},
    [CF_A_BASELINE] = {"tailguard_concurrency_adaptive_baseline_seconds",
                       "The latency the adaptive limit takes as the upstream's unloaded one.",
                       "seconds", TG_METRIC_GAUGE},
    [CF_A_LATENCY] = {"tailguard_concurrency_adaptive_latency_seconds",
                      "The upstream's recent latency as the adaptive limit sees it (smoothed).",
                      "seconds", TG_METRIC_GAUGE},
};

static void rejected(const struct tg_mvisitor *v, const struct tg_gateway_conclimit_info *ci)
{
    static const char *const names[] = {"upstream", "reason", "tier"};
    for (unsigned r = 0; r < TG_CONCLIMIT_R_COUNT; r++) {
        for (unsigned tier = 0; tier < TG_CONCLIMIT_TIERS; tier++) {
            const char *values[] = {ci->upstream,
                                    tg_conclimit_reason_name((enum tg_conclimit_reason)r),
                                    tg_conclimit_tier_name((enum tg_conclimit_tier)tier)};
            v->value(v->ctx, &(struct tg_mlabels){names, values, 3},
                     (double)ci->stats.rejected[r][tier]);
        }
    }
}

static void on_conclimit(const struct tg_gateway_conclimit_info *ci, void *vctx)
{
    struct walk *w = vctx;
    const struct tg_conclimit_stats *st = &ci->stats;
    if (!ci->active)
        return;
    if (w->pass == CF_REJECTED) {
        rejected(w->v, ci);
        return;
    }
    if (w->pass >= CF_A_LIMIT && !ci->adaptive)
        return;
    double x[CF_COUNT] = {
        [CF_INFLIGHT] = st->inflight,
        [CF_LIMIT] = st->limit,
        [CF_SOFT] = st->soft_limit,
        [CF_QUEUE] = st->queued,
        [CF_QUEUED] = (double)st->queued_total,
        [CF_DEQUEUED] = (double)st->dequeued_total,
        [CF_SOFT_ADMITTED] = (double)st->admitted_soft,
        [CF_A_LIMIT] = ci->adaptive_stats.limit,
        [CF_A_BASELINE] = ci->adaptive_stats.baseline_us / 1e6,
        [CF_A_LATENCY] = ci->adaptive_stats.short_us / 1e6,
    };
    const char *values[] = {ci->upstream};
    w->v->value(w->v->ctx, &(struct tg_mlabels){upstream_only, values, 1}, x[w->pass]);
}

/* ---- circuit breakers ------------------------------------------------------------- */

static const struct tg_mfamily breaker_fams[] = {
    {"circuit_breaker_state", "Circuit breaker state: 0 closed, 1 open, 2 half-open.", NULL,
     TG_METRIC_GAUGE},
    {"circuit_breaker_transitions_total", "Circuit breaker state changes, by the state entered.",
     NULL, TG_METRIC_COUNTER},
    {"circuit_breaker_rejected_total",
     "Requests a circuit breaker refused (open, or half-open with its probes busy).", NULL,
     TG_METRIC_COUNTER},
};

static void on_breaker(const struct tg_gateway_breaker_info *b, void *vctx)
{
    static const char *const to[] = {"closed", "open", "half_open"};
    static const char *const names[] = {"upstream", "route", "to"};
    struct walk *w = vctx;
    if (!b->active)
        return;
    const char *values[] = {b->upstream, b->route, NULL};
    struct tg_mlabels l = {names, values, 2};
    if (w->pass == 0) {
        w->v->value(w->v->ctx, &l, (double)b->stats.state);
    } else if (w->pass == 1) {
        l.n = 3;
        for (int i = 0; i < 3; i++) {
            values[2] = to[i];
            w->v->value(w->v->ctx, &l, (double)b->stats.transitions_total[i]);
        }
    } else {
        w->v->value(w->v->ctx, &l, (double)b->stats.rejected_total);
    }
}

/* ---- rate limits ------------------------------------------------------------------ */

static const struct tg_mfamily limit_fams[] = {
    {"tailguard_rate_limit_decisions_limited_total",
     "Requests each rate limit found over its limit, dry-run decisions included.", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_rate_limit_evictions_live_total",
     "Per-client entries a rate limit's full table gave up while they still mattered.", NULL,
     TG_METRIC_COUNTER},
};

static void on_limit(const struct tg_gateway_ratelimit_info *r, void *vctx)
{
    static const char *const names[] = {"rule"};
    struct walk *w = vctx;
    if (!r->active)
        return;
    const char *values[] = {r->name};
    w->v->value(w->v->ctx, &(struct tg_mlabels){names, values, 1},
                (double)(w->pass == 0 ? r->stats.hits_total : r->stats.evictions_live_total));
}

/* ---- retries: granted by the failure that led to them, refused by why, and those under
 * way (backoffs included), which is what the retry budget bounds ------------------- */

static const struct tg_mfamily retry_fams[] = {
    {"tailguard_retries_total",
     "Retries granted, by what ended the try before (status, connect, reset, timeout).", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_retries_refused_total",
     "Failed tries worth a retry that got none: the retry budget was spent, max_attempts were "
     "made, or the backoff would pass the deadline.",
     NULL, TG_METRIC_COUNTER},
    {"tailguard_retries_in_flight",
     "Retries under way, backoffs included (the retry budget bounds it).", NULL, TG_METRIC_GAUGE},
};

static void on_retry(const struct tg_gateway_retry_info *r, void *vctx)
{
    /* Reasons by enum tg_retry_failure: a listed status, connect, reset, timeout. */
    static const char *const reason[TG_RETRY_LATE_FAILURE] = {"status", "connect", "reset",
                                                              "timeout"};
    static const char *const why[] = {"budget", "exhausted", "deadline"};
    struct walk *w = vctx;
    const struct tg_retry_stats *st = &r->stats;
    if (!r->active)
        return;
    const char *values[] = {r->upstream, NULL};
    struct tg_mlabels l = {upstream_reason, values, 2};
    if (w->pass == 0) {
        for (int i = 0; i < TG_RETRY_LATE_FAILURE; i++) {
            values[1] = reason[i];
            w->v->value(w->v->ctx, &l, (double)st->retries_by[i]);
        }
    } else if (w->pass == 1) {
        uint64_t n[] = {st->no_budget_total, st->exhausted_total, st->no_time_total};
        for (int i = 0; i < 3; i++) {
            values[1] = why[i];
            w->v->value(w->v->ctx, &l, (double)n[i]);
        }
    } else {
        l.n = 1;
        w->v->value(w->v->ctx, &l, st->retries_inflight);
    }
}

/* ---- the steps, in exposition order ------------------------------------------------ */

enum {
    P_CACHE = 0,
    P_OUTLIER = 1,                      /* 3 families */
    P_CONCLIMIT = P_OUTLIER + 3,        /* CF_COUNT families */
    P_BREAKER = P_CONCLIMIT + CF_COUNT, /* 3 */
    P_LIMIT = P_BREAKER + 3,            /* 2 */
    P_RETRY = P_LIMIT + 2,              /* 3 */
    P_COUNT = P_RETRY + 3
};

static void step(struct tg_gateway *gw, const struct tg_mvisitor *v, unsigned s)
{
    if (s == P_CACHE) {
        cache_metrics(gw, v);
        return;
    }
    struct walk w = {v, 0};
    if (s < P_CONCLIMIT) {
        w.pass = s - P_OUTLIER;
        v->family(v->ctx, &outlier_fams[w.pass]);
        tg_gateway_foreach_outlier(gw, on_outlier, &w);
    } else if (s < P_BREAKER) {
        w.pass = s - P_CONCLIMIT;
        v->family(v->ctx, &cfams[w.pass]);
        tg_gateway_foreach_conclimit(gw, on_conclimit, &w);
    } else if (s < P_LIMIT) {
        w.pass = s - P_BREAKER;
        v->family(v->ctx, &breaker_fams[w.pass]);
        tg_gateway_foreach_breaker(gw, on_breaker, &w);
    } else if (s < P_RETRY) {
        w.pass = s - P_LIMIT;
        v->family(v->ctx, &limit_fams[w.pass]);
        tg_gateway_foreach_ratelimit(gw, on_limit, &w);
    } else {
        w.pass = s - P_RETRY;
        v->family(v->ctx, &retry_fams[w.pass]);
        tg_gateway_foreach_retry(gw, on_retry, &w);
    }
}

int tg_gateway_collect_protect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    for (; cur->step < P_COUNT; tg_mcursor_next(cur)) {
        if (tg_mvisit_full(v))
            return TG_AGAIN;
        step(data, v, cur->step);
    }
    return TG_DONE;
}
