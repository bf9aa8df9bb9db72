/* SPDX-License-Identifier: MIT */
/* The protections in /metrics: each circuit breaker's state (the runbook greps
 * circuit_breaker_state), its transitions and refusals, each rate limit's decisions
 * and table, each upstream's retries and concurrency limit (in flight, queue, refusals,
 * the adaptive limit), and the response cache (the runbooks grep cache_hit_rate).
 * Breakers, limits and retry budgets the running configuration no longer uses keep their
 * state but leave the exposition, so their series go stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/prom.h"
#include "admin/text.h"
#include "proxy/gateway.h"
#include "store/store.h"


static void labels(struct tg_text *t, const struct tg_gateway_breaker_info *b)
{
    tg_text_put(t, "{upstream=\"", 11);
    tg_text_label_value(t, b->upstream);
    tg_text_put(t, "\",route=\"", 9);
    tg_text_label_value(t, b->route);
    tg_text_put(t, "\"", 1);
}

enum pass { P_STATE = 0, P_TRANSITIONS, P_REJECTED };

struct bctx {
    struct tg_text *t;
    enum pass pass;
};

static void on_breaker(const struct tg_gateway_breaker_info *b, void *vctx)
{
    struct bctx *c = vctx;
    static const char *const to[] = {"closed", "open", "half_open"};
    if (!b->active)
        return;
    switch (c->pass) {
    case P_STATE:
        tg_text_put(c->t, "circuit_breaker_state", 21);
        labels(c->t, b);
        tg_text_printf(c->t, "} %d\n", (int)b->stats.state);
        break;
    case P_TRANSITIONS:
        for (int i = 0; i < 3; i++) {
            tg_text_put(c->t, "circuit_breaker_transitions_total", 33);
            labels(c->t, b);
            tg_text_printf(c->t, ",to=\"%s\"} %llu\n", to[i],
                           (unsigned long long)b->stats.transitions_total[i]);
        }
        break;
    case P_REJECTED:
        tg_text_put(c->t, "circuit_breaker_rejected_total", 30);
        labels(c->t, b);
        tg_text_printf(c->t, "} %llu\n", (unsigned long long)b->stats.rejected_total);
        break;
    }
}

struct rctx {
    struct tg_text *t;
    int pass;
};

static void on_limit(const struct tg_gateway_ratelimit_info *r, void *vctx)
{
    struct rctx *c = vctx;
    if (!r->active)
        return;
    tg_text_printf(c->t, "%s{rule=\"",
                   c->pass == 0 ? "tailguard_rate_limit_decisions_limited_total"
                                : "tailguard_rate_limit_evictions_live_total");
    tg_text_label_value(c->t, r->name);
    tg_text_printf(c->t, "\"} %llu\n",
                   (unsigned long long)(c->pass == 0 ? r->stats.hits_total
                                                     : r->stats.evictions_live_total));
}

enum tpass { T_RETRIES = 0, T_REFUSED, T_INFLIGHT };

struct tctx {
    struct tg_text *t;
    enum tpass pass;
};

static void on_retry(const struct tg_gateway_retry_info *r, void *vctx)
{
    struct tctx *c = vctx;
    /* Reasons by enum tg_retry_failure: a listed status, connect, reset, timeout. */
    static const char *const reason[TG_RETRY_LATE_FAILURE] = {"status", "connect", "reset",
                                                              "timeout"};
    const struct tg_retry_stats *st = &r->stats;
    if (!r->active)
        return;
    switch (c->pass) {
    case T_RETRIES:
        for (int i = 0; i < TG_RETRY_LATE_FAILURE; i++) {
            tg_text_put(c->t, "tailguard_retries_total{upstream=\"", 34);
            tg_text_label_value(c->t, r->upstream);
            tg_text_printf(c->t, "\",reason=\"%s\"} %llu\n", reason[i],
                           (unsigned long long)st->retries_by[i]);
        }
        break;
    case T_REFUSED: {
        const char *why[] = {"budget", "exhausted", "deadline"};
        uint64_t n[] = {st->no_budget_total, st->exhausted_total, st->no_time_total};
        for (int i = 0; i < 3; i++) {
            tg_text_put(c->t, "tailguard_retries_refused_total{upstream=\"", 42);
            tg_text_label_value(c->t, r->upstream);
            tg_text_printf(c->t, "\",reason=\"%s\"} %llu\n", why[i], (unsigned long long)n[i]);
        }
        break;
    }
    case T_INFLIGHT:
        tg_text_put(c->t, "tailguard_retries_in_flight{upstream=\"", 38);
        tg_text_label_value(c->t, r->upstream);
        tg_text_printf(c->t, "\"} %u\n", st->retries_inflight);
        break;
    }
}

/* ---- Concurrency limits: one series per upstream a limit is on for, family by family. */

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

static const struct {
    const char *name, *type, *help;
} cfams[CF_COUNT] = {
    [CF_INFLIGHT] = {"tailguard_concurrency_in_flight", "gauge",
                     "Requests holding a concurrency slot of the upstream, all workers."},
    [CF_LIMIT] = {"tailguard_concurrency_limit", "gauge",
                  "The effective hard limit: concurrency.hard_limit, or the adaptive limit "
                  "when lower."},
    [CF_SOFT] = {"tailguard_concurrency_soft_limit", "gauge",
                 "The effective soft limit (scaled with the adaptive limit)."},
    [CF_QUEUE] = {"tailguard_concurrency_queue_depth", "gauge",
                  "Requests waiting for a slot now, all workers."},
    [CF_QUEUED] = {"tailguard_concurrency_queued_total", "counter",
                   "Requests that waited for a slot."},
    [CF_DEQUEUED] = {"tailguard_concurrency_dequeued_total", "counter",
                     "Waiting requests that got a slot."},
    [CF_SOFT_ADMITTED] = {"tailguard_concurrency_admitted_soft_total", "counter",
                          "Requests admitted above the soft limit."},
    [CF_REJECTED] = {"tailguard_concurrency_rejected_total", "counter",
                     "Requests refused with 503, by reason (limit, shed, queue_full, "
                     "queue_timeout) and tier."},
    [CF_A_LIMIT] = {"tailguard_concurrency_adaptive_limit", "gauge",
                    "The adaptive limit (concurrency.adaptive)."},
    [CF_A_BASELINE] = {"tailguard_concurrency_adaptive_baseline_seconds", "gauge",
                       "The latency the adaptive limit takes as the upstream's unloaded one."},
    [CF_A_LATENCY] = {"tailguard_concurrency_adaptive_latency_seconds", "gauge",
                      "The upstream's recent latency as the adaptive limit sees it (smoothed)."},
};

struct cctx {
    struct tg_text *t;
    enum cfam fam;
};

static void cseries(struct tg_text *t, const char *fam, const char *upstream, double v)
{
    tg_text_printf(t, "%s{upstream=\"", fam);
    tg_text_label_value(t, upstream);
    tg_text_printf(t, "\"} %.17g\n", v);
}

static void on_conclimit(const struct tg_gateway_conclimit_info *ci, void *vctx)
{
    struct cctx *c = vctx;
    const struct tg_conclimit_stats *st = &ci->stats;
    const char *fam = cfams[c->fam].name;
    if (!ci->active)
        return;
    switch (c->fam) {
    case CF_INFLIGHT:
        cseries(c->t, fam, ci->upstream, st->inflight);
        break;
    case CF_LIMIT:
        cseries(c->t, fam, ci->upstream, st->limit);
        break;
    case CF_SOFT:
        cseries(c->t, fam, ci->upstream, st->soft_limit);
        break;
    case CF_QUEUE:
        cseries(c->t, fam, ci->upstream, st->queued);
        break;
    case CF_QUEUED:
        cseries(c->t, fam, ci->upstream, (double)st->queued_total);
        break;
    case CF_DEQUEUED:
        cseries(c->t, fam, ci->upstream, (double)st->dequeued_total);
        break;
    case CF_SOFT_ADMITTED:
        cseries(c->t, fam, ci->upstream, (double)st->admitted_soft);
        break;
    case CF_REJECTED:
        for (unsigned r = 0; r < TG_CONCLIMIT_R_COUNT; r++) {
            for (unsigned tier = 0; tier < TG_CONCLIMIT_TIERS; tier++) {
                tg_text_printf(c->t, "%s{upstream=\"", fam);
                tg_text_label_value(c->t, ci->upstream);
                tg_text_printf(c->t, "\",reason=\"%s\",tier=\"%s\"} %llu\n",
                               tg_conclimit_reason_name((enum tg_conclimit_reason)r),
                               tg_conclimit_tier_name((enum tg_conclimit_tier)tier),
                               (unsigned long long)st->rejected[r][tier]);
            }
        }
        break;
    case CF_A_LIMIT:
        if (ci->adaptive)
            cseries(c->t, fam, ci->upstream, ci->adaptive_stats.limit);
        break;
    case CF_A_BASELINE:
        if (ci->adaptive)
            cseries(c->t, fam, ci->upstream, ci->adaptive_stats.baseline_us / 1e6);
        break;
    case CF_A_LATENCY:
        if (ci->adaptive)
            cseries(c->t, fam, ci->upstream, ci->adaptive_stats.short_us / 1e6);
        break;
    case CF_COUNT:
        break;
    }
}

/* Retries per upstream: granted by the failure that led to them, refused by why, and
 * those under way (backoffs included), which is what the retry budget bounds. */
static void retry_metrics(struct tg_text *t, struct tg_gateway *gw)
{
    struct tctx c = {t, T_RETRIES};
    tg_text_family(t, "tailguard_retries_total", "counter",
                   "Retries granted, by what ended the try before (status, connect, reset, "
                   "timeout).");
    tg_gateway_foreach_retry(gw, on_retry, &c);
    tg_text_family(t, "tailguard_retries_refused_total", "counter",
                   "Failed tries worth a retry that got none: the retry budget was spent, "
                   "max_attempts were made, or the backoff would pass the deadline.");
    c.pass = T_REFUSED;
    tg_gateway_foreach_retry(gw, on_retry, &c);
    tg_text_family(t, "tailguard_retries_in_flight", "gauge",
                   "Retries under way, backoffs included (the retry budget bounds it).");
    c.pass = T_INFLIGHT;
    tg_gateway_foreach_retry(gw, on_retry, &c);
}

static void conclimit_metrics(struct tg_text *t, struct tg_gateway *gw)
{
    struct cctx c = {t, CF_INFLIGHT};
    for (; c.fam < CF_COUNT; c.fam++) {
        tg_text_family(t, cfams[c.fam].name, cfams[c.fam].type, cfams[c.fam].help);
        tg_gateway_foreach_conclimit(gw, on_conclimit, &c);
    }
}

static void one(struct tg_text *t, const char *name, const char *type, const char *help,
                double v)
{
    tg_text_family(t, name, type, help);
    tg_text_printf(t, "%s %.17g\n", name, v);
}

/* The cache's counters; zeros before any configuration turned it on, so the names the
 * runbooks grep are always there. */
static void cache_metrics(struct tg_text *t, struct tg_gateway *gw)
{
    struct tg_cache_stats st = {0};
    struct tg_cache *c = tg_gateway_cache(gw);
    if (c)
        tg_cache_stats(c, &st);
    one(t, "cache_hits_total", "counter", "Requests answered from the response cache (fresh).",
        (double)st.hits);
    one(t, "cache_misses_total", "counter",
        "Cacheable requests the response cache had nothing usable for.", (double)st.misses);
    uint64_t looked = st.hits + st.misses;
    one(t, "cache_hit_rate", "gauge", "cache_hits_total / (hits + misses), 0 with neither.",
        looked ? (double)st.hits / (double)looked : 0.0);
    one(t, "tailguard_cache_stale_served_total", "counter",
        "Stale answers served (fallback, or a request's max-stale).", (double)st.stale_served);
    one(t, "tailguard_cache_fallback_served_total", "counter",
        "Answers fallback gave for a failing upstream or an open breaker.",
        (double)st.fallback_served);
    one(t, "tailguard_cache_stores_total", "counter", "Responses stored.", (double)st.stores);
    one(t, "tailguard_cache_evictions_total", "counter",
        "Entries evicted to make room (least recently used first).", (double)st.evictions);
    one(t, "tailguard_cache_expired_total", "counter",
        "Entries dropped past their retention by POST /api/v1/system/gc.", (double)st.expired);
    one(t, "tailguard_cache_purged_total", "counter", "Entries removed by purges.",
        (double)st.purged);
    tg_text_family(t, "tailguard_cache_declined_total", "counter", "Responses not stored, by reason.");
    for (int d = TG_CACHE_DECLINE_NONE + 1; d < TG_CACHE_DECLINE__COUNT; d++)
        tg_text_printf(t, "tailguard_cache_declined_total{reason=\"%s\"} %llu\n",
                       tg_cache_decline_name((enum tg_cache_decline)d),
                       (unsigned long long)st.declined[d]);
    one(t, "tailguard_cache_entries", "gauge", "Entries stored.", (double)st.entries);
    one(t, "tailguard_cache_bytes", "gauge",
        "Memory the entries hold, counted against cache.max_bytes.", (double)st.bytes);
    one(t, "tailguard_cache_max_bytes", "gauge", "The cache's memory budget (cache.max_bytes).",
        (double)st.max_bytes);
}

/* Passive ejection per upstream: one pass per family, as the exposition format wants
 * each family's samples together. */
static void on_outlier(const struct tg_gateway_outlier_info *o, void *vctx)
{
    struct rctx *c = vctx;
    if (c->pass == 0) {
        for (int r = 0; r < TG_OUTLIER_R_COUNT; r++) {
            tg_text_put(c->t, "tailguard_outlier_ejections_total{upstream=\"", 44);
            tg_text_label_value(c->t, o->upstream);
            tg_text_printf(c->t, "\",reason=\"%s\"} %llu\n",
                           tg_outlier_reason_name((enum tg_outlier_reason)r),
                           (unsigned long long)o->stats.ejections_total[r]);
        }
        return;
    }
    tg_text_put(c->t, c->pass == 1 ? "tailguard_outlier_ejected_servers{upstream=\""
                                   : "tailguard_outlier_ejections_refused_total{upstream=\"",
                c->pass == 1 ? 44 : 52);
    tg_text_label_value(c->t, o->upstream);
    tg_text_printf(c->t, "\"} %llu\n",
                   (unsigned long long)(c->pass == 1 ? o->stats.ejected_now
                                                     : o->stats.cap_refused_total));
}

static void outlier_metrics(struct tg_text *t, struct tg_gateway *gw)
{
    struct rctx c = {t, 0};
    tg_text_family(t, "tailguard_outlier_ejections_total", "counter",
                   "Servers taken out of rotation by passive ejection, by reason.");
    tg_gateway_foreach_outlier(gw, on_outlier, &c);
    c.pass = 1;
    tg_text_family(t, "tailguard_outlier_ejected_servers", "gauge",
                   "Servers of the upstream out of rotation now.");
    tg_gateway_foreach_outlier(gw, on_outlier, &c);
    c.pass = 2;
    tg_text_family(t, "tailguard_outlier_ejections_refused_total", "counter",
                   "Ejections due but refused by passive.max_ejection_percent.");
    tg_gateway_foreach_outlier(gw, on_outlier, &c);
}

void tg_admin_prom_protect(struct tg_text *t, struct tg_gateway *gw)
{
    cache_metrics(t, gw);
    outlier_metrics(t, gw);
    conclimit_metrics(t, gw);
    struct bctx c = {t, P_STATE};
    tg_text_family(t, "circuit_breaker_state", "gauge",
           "Circuit breaker state: 0 closed, 1 open, 2 half-open.");
    tg_gateway_foreach_breaker(gw, on_breaker, &c);
    tg_text_family(t, "circuit_breaker_transitions_total", "counter",
           "Circuit breaker state changes, by the state entered.");
    c.pass = P_TRANSITIONS;
    tg_gateway_foreach_breaker(gw, on_breaker, &c);
    tg_text_family(t, "circuit_breaker_rejected_total", "counter",
           "Requests a circuit breaker refused (open, or half-open with its probes busy).");
    c.pass = P_REJECTED;
    tg_gateway_foreach_breaker(gw, on_breaker, &c);
    struct rctx r = {t, 0};
    tg_text_family(t, "tailguard_rate_limit_decisions_limited_total", "counter",
           "Requests each rate limit found over its limit, dry-run decisions included.");
    tg_gateway_foreach_ratelimit(gw, on_limit, &r);
    r.pass = 1;
    tg_text_family(t, "tailguard_rate_limit_evictions_live_total", "counter",
           "Per-client entries a rate limit's full table gave up while they still mattered.");
    tg_gateway_foreach_ratelimit(gw, on_limit, &r);
    retry_metrics(t, gw);
}

void tg_admin_prom_store(struct tg_text *t, struct tg_store *store)
{
    struct tg_store_stats st;
    tg_store_stats(store, &st);
    one(t, "tailguard_store_file_bytes", "gauge", "Size of the store's database file.",
        (double)st.file_bytes);
    one(t, "tailguard_store_wal_bytes", "gauge", "Size of the store's write-ahead log.",
        (double)st.wal_bytes);
    one(t, "tailguard_store_audit_rows", "gauge", "Rows in the audit log.", (double)st.audit_rows);
    one(t, "tailguard_store_overrides", "gauge", "Control-API overrides in force.",
        (double)st.overrides);
    one(t, "tailguard_store_commits_total", "counter",
        "Store write transactions that reached the disk.", (double)st.commits_total);
    one(t, "tailguard_store_write_errors_total", "counter",
        "Store writes that failed and were rolled back.", (double)st.write_errors_total);
}
