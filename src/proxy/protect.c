/* SPDX-License-Identifier: MIT */
/* The proxy's side of the protection seam (protect/chain.h): the chain's parameters
 * from the configuration, the request's facts, the verdict turned into a response, and
 * the outcome reported back. This is the only place the proxy calls the protections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"

_Static_assert((int)TG_TIER_CRITICAL == (int)TG_CONCLIMIT_CRITICAL &&
                   (int)TG_TIER_STANDARD == (int)TG_CONCLIMIT_STANDARD &&
                   (int)TG_TIER_SHEDDABLE == (int)TG_CONCLIMIT_SHEDDABLE,
               "route tiers and concurrency tiers are the same scale");
_Static_assert((int)TG_CFG_JITTER_FULL == (int)TG_RETRY_JITTER_FULL &&
                   (int)TG_CFG_JITTER_DECORRELATED == (int)TG_RETRY_JITTER_DECORRELATED &&
                   (int)TG_CFG_JITTER_NONE == (int)TG_RETRY_JITTER_NONE,
               "configured jitters and retry jitters are listed alike");
_Static_assert(TG_CFG_MAX_RETRY_STATUSES <= TG_RETRY_MAX_STATUSES,
               "every configured retry status fits the retry parameters");

/* The routes admin.mount_on_proxy adds (the control and monitoring API, the
 * application's agent paths) are the operator's way back in: no protection sheds them. */
static bool exempt(const struct tg_config *cfg, int route)
{
    return route >= 0 && (uint32_t)route < cfg->mounted_routes;
}

static void breaker_params(const struct tg_cfg_breaker *c, struct tg_breaker_params *p)
{
    tg_breaker_params_default(p);
    p->enabled = c->enabled;
    p->timeout_us = (int64_t)c->timeout_ms * 1000;
    p->failure_threshold = c->failure_threshold;
    p->recovery_us = (int64_t)c->recovery_time * 1000000;
    p->recovery_max_us = 0; /* the runbook's recovery_time, as written */
    p->min_calls = c->min_requests;
    if (c->window_requests) {
        p->window = TG_BREAKER_WINDOW_COUNT;
        p->window_size = c->window_requests;
    } else {
        p->window = TG_BREAKER_WINDOW_TIME;
        p->window_us = (int64_t)c->window_seconds * 1000000;
        p->window_buckets = c->window_seconds < TG_BREAKER_BUCKETS_MAX ? c->window_seconds
                                                                        : TG_BREAKER_BUCKETS_MAX;
    }
    p->half_open_probes = c->half_open_requests;
    p->half_open_successes = c->half_open_requests;
    p->latency_factor = c->latency_factor;
}

static const enum tg_ratelimit_scope scope_of[] = {
    [TG_RL_GLOBAL] = TG_RATELIMIT_GLOBAL,
    [TG_RL_CLIENT_IP] = TG_RATELIMIT_CLIENT_IP,
    [TG_RL_ROUTE] = TG_RATELIMIT_ROUTE,
};
static const char *const scope_names[] = {"global", "client_ip", "route"};

/* The rate-limit rules of `cfg` into rules[0..), their limiters from the state. */
static int build_rules(const struct tg_config *cfg, struct tg_protect_state *st,
                       struct tg_protect_rule *rules, size_t *n, struct tg_errbuf *eb)
{
    const struct tg_cfg_ratelimit *rl = &cfg->ratelimit;
    *n = 0;
    if (!rl->enabled)
        return 0;
    uint32_t rate = rl->requests_per_minute ? rl->requests_per_minute : rl->requests_per_second;
    if (rate) {
        struct tg_ratelimit_params p;
        tg_ratelimit_params_default(&p);
        p.dry_run = rl->dry_run;
        p.algo = TG_RATELIMIT_GCRA;
        p.limit = rate;
        p.period_us = rl->requests_per_minute ? 60000000 : 1000000;
        /* Default burst: one second's worth, so a minute's budget is not spent at once. */
        uint64_t per_s = rl->requests_per_minute ? (rate + 59) / 60 : rate;
        p.burst = rl->burst ? rl->burst : (uint32_t)(per_s ? per_s : 1);
        if (p.burst > rate)
            p.burst = rate;
        char name[64];
        snprintf(name, sizeof name, "rate_limit/%s", scope_names[rl->per]);
        struct tg_ratelimit *o =
            tg_protect_state_ratelimit(st, name, scope_of[rl->per], rl->max_clients, &p, eb);
        if (!o)
            return TG_ECONFIG;
        rules[(*n)++] = (struct tg_protect_rule){o, scope_of[rl->per], "",
                                                  "Too many requests, please try again later."};
    }
    for (uint32_t i = 0; i < rl->nrules; i++) {
        const struct tg_cfg_rl_rule *r = &rl->rules[i];
        struct tg_ratelimit_params p;
        tg_ratelimit_params_default(&p);
        p.dry_run = rl->dry_run;
        p.algo = TG_RATELIMIT_FIXED_WINDOW;
        p.limit = r->max;
        p.period_us = (int64_t)r->window_seconds * 1000000;
        p.burst = 1;
        char name[300];
        snprintf(name, sizeof name, "rule/%u:%s", i, r->path_prefix);
        enum tg_ratelimit_scope sc = r->key == TG_RL_GLOBAL ? TG_RATELIMIT_GLOBAL
                                                             : TG_RATELIMIT_CLIENT_IP;
        struct tg_ratelimit *o = tg_protect_state_ratelimit(st, name, sc, rl->max_clients, &p, eb);
        if (!o)
            return TG_ECONFIG;
        rules[(*n)++] = (struct tg_protect_rule){o, sc, r->path_prefix, r->message};
    }
    return 0;
}

/* Whether the cache has anything to do: a budget, and rules to serve or fallback. */
static bool cache_on(const struct tg_config *cfg)
{
    return cfg->cache.max_bytes && (cfg->cache.nrules || cfg->fallback.enabled);
}

/* The cache of the state, with the limits of `cfg`, when it is on. When it is off its
 * entries are dropped (those not being written out), so that turning it on again cannot
 * serve answers that writes made while it was off have outdated. */
static int build_cache(const struct tg_config *cfg, struct tg_protect_state *st, int64_t now_us,
                       struct tg_cache **out, struct tg_errbuf *eb)
{
    *out = NULL;
    if (!cache_on(cfg)) {
        struct tg_cache *old = tg_protect_state_cache_get(st);
        if (old)
            tg_cache_trim(old, now_us, 0);
        return 0;
    }
    /* An object limit above the budget means "as large as the budget". */
    struct tg_cache_limits lim = {
        .max_bytes = (size_t)cfg->cache.max_bytes,
        .max_object_bytes = (size_t)(cfg->cache.max_object_bytes < cfg->cache.max_bytes
                                         ? cfg->cache.max_object_bytes
                                         : cfg->cache.max_bytes),
    };
    if (!(*out = tg_protect_state_cache(st, &lim, eb)))
        return TG_ECONFIG;
    return 0;
}

/* The breaker "<kind>/<name>" from the state registry, with `c` applied. */
static int breaker_for(struct tg_protect_state *st, const char *kind, const char *name,
                       const struct tg_cfg_breaker *c, int64_t now_us, struct tg_breaker **out,
                       struct tg_errbuf *eb)
{
    struct tg_breaker_params p;
    breaker_params(c, &p);
    char key[96];
    snprintf(key, sizeof key, "%s/%s", kind, name);
    *out = tg_protect_state_breaker(st, key, &p, now_us, eb);
    return *out ? 0 : TG_ECONFIG;
}

static void adaptive_params(const struct tg_cfg_concurrency *c, struct tg_adaptive_params *p)
{
    tg_adaptive_params_init(p);
    p->max_limit = c->hard_limit;
    p->min_limit = c->min_limit < c->hard_limit ? c->min_limit : c->hard_limit;
    p->tolerance = c->tolerance;
}

/* The adaptive controller beside limiter `cl` when the adaptive limit is on; when it is
 * off, the limiter's adaptive limit is lifted (the controller keeps its state by name
 * for the day it is on again). */
static int adaptive_for(const struct tg_config *cfg, struct tg_protect_state *st,
                        const char *name, struct tg_conclimit *cl, struct tg_errbuf *eb)
{
    if (!cfg->concurrency.adaptive) {
        tg_conclimit_set_limit(cl, 0);
        return 0;
    }
    struct tg_adaptive_params p;
    adaptive_params(&cfg->concurrency, &p);
    if (!tg_protect_state_adaptive(st, name, &p))
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    return 0;
}

int tg__protect_build(const struct tg_config *cfg, struct tg_protect_state *st, int64_t now_us,
                      struct tg_protect_chain **out, struct tg_errbuf *eb)
{
    const char *disabled[TG_CFG_MAX_FEATURES];
    struct tg_protect_rule rules[TG_CFG_MAX_RL_RULES + 1];
    struct tg_clientip_cidr trusted[TG_CFG_MAX_TRUSTED];
    size_t nrules = 0, nd = 0;
    const char **declared = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof *declared);
    struct tg_breaker **ub = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof *ub);
    struct tg_breaker **rb = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof *rb);
    const char **unames = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof *unames);
    int rc = declared && ub && rb && unames ? 0 : tg_errbuf_set(eb, -ENOMEM, "out of memory");
    tg_protect_state_begin(st);
    for (uint32_t i = 0; i < cfg->features.ndisabled; i++)
        disabled[i] = cfg->features.disabled[i];
    for (uint32_t i = 0; rc == 0 && i < cfg->nroutes; i++) {
        if (cfg->routes[i].feature[0])
            declared[nd++] = cfg->routes[i].feature;
    }
    for (uint32_t i = 0; i < cfg->ratelimit.ntrusted; i++) {
        memcpy(trusted[i].net, cfg->ratelimit.trusted[i].addr, 16);
        trusted[i].bits = cfg->ratelimit.trusted[i].bits;
    }
    if (rc == 0)
        rc = build_rules(cfg, st, rules, &nrules, eb);
    /* A breaker object only where one is enabled: a disabled breaker costs nothing on the
     * request path. Its state waits in the registry for the day it is enabled again. */
    for (uint32_t i = 0; rc == 0 && i < cfg->nupstreams; i++) {
        const struct tg_cfg_upstream *u = &cfg->upstreams[i];
        unames[i] = u->name;
        if (u->breaker.enabled && strcmp(u->name, "tailguard-admin") != 0)
            rc = breaker_for(st, "upstream", u->name, &u->breaker, now_us, &ub[i], eb);
    }
    for (uint32_t i = 0; rc == 0 && i < cfg->nroutes; i++) {
        const struct tg_cfg_route *r = &cfg->routes[i];
        if (r->own_breaker && r->breaker.enabled && !exempt(cfg, (int)i))
            rc = breaker_for(st, "route", r->name, &r->breaker, now_us, &rb[i], eb);
    }
    struct tg_conclimit **ul = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof *ul);
    if (!ul && rc == 0)
        rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
    bool limited = cfg->concurrency.hard_limit || cfg->concurrency.soft_limit;
    for (uint32_t i = 0; rc == 0 && limited && i < cfg->nupstreams; i++) {
        if (strcmp(cfg->upstreams[i].name, "tailguard-admin") == 0)
            continue;
        char name[96];
        snprintf(name, sizeof name, "upstream/%s", cfg->upstreams[i].name);
        if (!(ul[i] = tg_protect_state_conclimit(st, name)))
            rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
        else
            rc = adaptive_for(cfg, st, name, ul[i], eb);
    }
    struct tg_retry **ur = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof *ur);
    if (!ur && rc == 0)
        rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < cfg->nupstreams; i++) {
        char name[96];
        snprintf(name, sizeof name, "upstream/%s", cfg->upstreams[i].name);
        if (!(ur[i] = tg_protect_state_retry(st, name)))
            rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    struct tg_retry_params rp;
    tg_retry_params_init(&rp);
    rp.max_attempts = cfg->retries.max_attempts;
    rp.base_delay_us = (int64_t)cfg->retries.base_delay_ms * 1000;
    rp.factor = cfg->retries.factor;
    rp.max_delay_us = (int64_t)cfg->retries.max_delay_ms * 1000;
    rp.jitter = (enum tg_retry_jitter)cfg->retries.jitter;
    rp.nstatuses = 0;
    for (uint32_t i = 0; i < cfg->retries.nstatuses; i++)
        rp.statuses[rp.nstatuses++] = cfg->retries.statuses[i];
    rp.budget_ratio_pct = (uint32_t)(cfg->retries.budget_ratio * 100 + 0.5);
    rp.min_concurrent = cfg->retries.min_concurrent;
    struct tg_conclimit_params lp;
    tg_conclimit_params_init(&lp);
    lp.hard_limit = cfg->concurrency.hard_limit;
    lp.soft_limit = cfg->concurrency.soft_limit;
    lp.queue_timeout_us = (int64_t)cfg->concurrency.queue_timeout_ms * 1000;
    lp.queue_max = cfg->concurrency.queue;
    struct tg_cache *cache = NULL;
    struct tg_protect_cache_rule crules[TG_CFG_MAX_CACHE_RULES];
    for (uint32_t i = 0; i < cfg->cache.nrules; i++)
        crules[i] = (struct tg_protect_cache_rule){cfg->cache.rules[i].path_glob,
                                                    (int64_t)cfg->cache.rules[i].ttl_seconds *
                                                        1000000};
    if (rc == 0)
        rc = build_cache(cfg, st, now_us, &cache, eb);
    if (rc == 0) {
        struct tg_protect_params p = {
            .upstream_limits = ul,
            .limit_params = lp,
            .upstream_retries = ur,
            .retry_params = rp,
            .features_disabled = disabled,
            .nfeatures_disabled = cfg->features.ndisabled,
            .features_declared = declared,
            .nfeatures_declared = nd,
            .rules = rules,
            .nrules = nrules,
            .trusted = trusted,
            .ntrusted = cfg->ratelimit.ntrusted,
            .upstream_breakers = ub,
            .nupstreams = cfg->nupstreams,
            .route_breakers = rb,
            .nroutes = cfg->nroutes,
            .upstream_names = unames,
            .cache = cache,
            .cache_rules = crules,
            .ncache_rules = cfg->cache.nrules,
            .fallback_max_age_us = cfg->fallback.enabled
                                       ? (int64_t)cfg->fallback.cache_ttl * 1000000
                                       : 0,
        };
        if (tg_protect_chain_new(&p, out) != 0)
            rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    free(declared);
    free(ub);
    free(rb);
    free(unames);
    free(ul);
    free(ur);
    return rc;
}

int64_t tg__protect_cut_us(const struct tg_config *cfg, int route, uint32_t upstream)
{
    const struct tg_cfg_breaker *b = route >= 0 && cfg->routes[route].own_breaker
                                         ? &cfg->routes[route].breaker
                                         : &cfg->upstreams[upstream].breaker;
    return b->enabled ? (int64_t)b->timeout_ms * 1000 : 0;
}

static enum tg_cause cause_of(enum tg_protect_cause pc)
{
    switch (pc) {
    case TG_PCAUSE_FEATURE_DISABLED:
        return TG_CAUSE_FEATURE_DISABLED;
    case TG_PCAUSE_RATE_GLOBAL:
        return TG_CAUSE_RATE_LIMITED;
    case TG_PCAUSE_RATE_CLIENT_IP:
        return TG_CAUSE_RATE_LIMITED_IP;
    case TG_PCAUSE_RATE_ROUTE:
        return TG_CAUSE_RATE_LIMITED_ROUTE;
    case TG_PCAUSE_BREAKER_OPEN:
        return TG_CAUSE_BREAKER_OPEN;
    case TG_PCAUSE_CONCURRENCY:
        return TG_CAUSE_CONCURRENCY;
    case TG_PCAUSE_SHED:
        return TG_CAUSE_SHED;
    case TG_PCAUSE_CACHE_HIT:
        return TG_CAUSE_CACHE_HIT;
    case TG_PCAUSE_CACHE_FALLBACK:
        return TG_CAUSE_CACHE_FALLBACK;
    case TG_PCAUSE_ONLY_IF_CACHED:
        return TG_CAUSE_ONLY_IF_CACHED;
    case TG_PCAUSE_QUEUE_TIMEOUT:
        return TG_CAUSE_QUEUE_TIMEOUT;
    case TG_PCAUSE_NONE:
        break;
    }
    return TG_CAUSE_OK;
}

/* The runbook finds rate-limited clients with `logs | grep "rate limit"`: each (client,
 * rule) pair is logged the first time it is refused and then at most once a minute per
 * worker, with the refusals in between counted, so a flood costs a line a minute, not a
 * line a request. Slots are a small direct-mapped table: two pairs that share a slot
 * only log more often. */
static void log_rate_limited(struct cconn *c, const struct tg_protect_verdict *v, int64_t now)
{
    const char *rule = v->rule_prefix ? v->rule_prefix : "";
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof v->client; i++)
        h = (h ^ v->client[i]) * 1099511628211ull;
    for (const char *p = rule; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h |= 1;
    struct tg__rl_log *slot = &c->w->rl_log[(h >> 32) % TG__RL_LOG_SLOTS];
    if (slot->key == h && now - slot->last_us < 60000000) {
        slot->quiet++;
        return;
    }
    uint32_t quiet = slot->key == h ? slot->quiet : 0;
    *slot = (struct tg__rl_log){h, now, 0};
    char ip[TG_CLIENTIP_STRLEN] = "-";
    if (v->cause == TG_PCAUSE_RATE_CLIENT_IP)
        tg_clientip_format(v->client, ip, sizeof ip);
    static const char *const scope[] = {[TG_PCAUSE_RATE_GLOBAL] = "global",
                                        [TG_PCAUSE_RATE_CLIENT_IP] = "client_ip",
                                        [TG_PCAUSE_RATE_ROUTE] = "route"};
    tg_log(TG_LOG_WARN, "proxy",
           "rate limit exceeded client=%s scope=%s rule=\"%s\" path=\"%.*s\" "
           "refused_since_last=%u",
           ip, scope[v->cause], rule[0] ? rule : "*", (int)c->x.path_len, c->x.path, quiet);
}

/* The request as the chain sees it; `b` holds what the facts point at. */
struct facts_buf {
    struct tg_protect_facts f;
    struct tg_clientip_field xff[8];
    struct tg_cache_field cf[TG_HTTP_MAX_HEADERS];
    struct tg_cache_req crq;
};

static void facts_of(struct cconn *c, const struct tg_http_msg *req, struct facts_buf *b)
{
    struct exchange *x = &c->x;
    const struct tg_config *cfg = x->ws->snap->cfg;
    /* X-Forwarded-For lines, for per-client limits behind trusted proxies. */
    size_t nxff = 0;
    if (cfg->ratelimit.ntrusted) {
        for (uint32_t i = 0; i < req->nheaders && nxff < 8; i++) {
            const struct tg_http_header *h = &req->headers[i];
            if (h->name.len == 15 && strncasecmp(h->name.p, "X-Forwarded-For", 15) == 0)
                b->xff[nxff++] = (struct tg_clientip_field){h->value.p, h->value.len};
        }
    }
    /* GET and HEAD as the cache sees them, when a cache is on. */
    bool cacheable = (req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD) && cache_on(cfg);
    if (cacheable)
        tg__cache_req(req, &b->crq, b->cf, TG_HTTP_MAX_HEADERS);
    b->f = (struct tg_protect_facts){
        .now_us = tg_loop_now_us(c->w->loop),
        .route = x->route,
        .upstream = x->upstream,
        .feature = exempt(cfg, x->route) ? NULL : x->route >= 0 ? cfg->routes[x->route].feature : "",
        .path = req->path.p,
        .path_len = req->path.len,
        .peer = c->ip16,
        .xff = b->xff,
        .nxff = nxff,
        .tier = x->route >= 0 ? (enum tg_conclimit_tier)cfg->routes[x->route].tier
                              : TG_CONCLIMIT_STANDARD,
        .cache_req = cacheable ? &b->crq : NULL,
    };
}

/* Acts on a verdict other than ALLOW and QUEUED: the chain's answer. */
static void answer(struct cconn *c, const struct tg_http_msg *req,
                   const struct tg_protect_verdict *v, const struct tg_cache_req *crq)
{
    struct exchange *x = &c->x;
    x->cause = cause_of(v->cause);
    if (v->cause == TG_PCAUSE_RATE_GLOBAL || v->cause == TG_PCAUSE_RATE_CLIENT_IP ||
        v->cause == TG_PCAUSE_RATE_ROUTE)
        log_rate_limited(c, v, tg_loop_now_us(c->w->loop));
    /* The head is answered here; a body the client still sends is not read, so the
     * connection closes after the answer. A cache answer reads the request's fields
     * (conditional GET) before the head leaves the buffer. */
    if (req->body != TG_HTTP_BODY_NONE)
        c->close_after = true;
    if (v->kind == TG_PROTECT_CACHED) {
        tg__cache_serve(c, &v->hit, crq, false, x->cause);
        tg_buf_consume(&c->in, req->head_len);
        return;
    }
    tg_buf_consume(&c->in, req->head_len);
    tg__client_respond(c, v->status, v->headers, "application/json", v->body, v->body_len);
}

enum tg__admit tg__protect_admit(struct cconn *c, const struct tg_http_msg *req)
{
    struct exchange *x = &c->x;
    const struct tg_snapshot *s = x->ws->snap;
    if (exempt(s->cfg, x->route)) {
        x->pticket.breaker = NULL;
        x->pticket.limit = NULL;
        x->pticket.waiting = NULL;
        return TG__ADMIT_GO;
    }
    struct facts_buf b;
    facts_of(c, req, &b);
    b.f.queue = tg__queue_of(c->w, x->upstream);
    b.f.waiter = &x->qwait;
    struct tg_protect_verdict v;
    tg_protect_admit(s->protect, &b.f, &v, &x->pticket);
    if (v.waiters)
        tg__queue_kick(c->w);
    if (v.kind == TG_PROTECT_ALLOW)
        return TG__ADMIT_GO;
    if (v.kind == TG_PROTECT_QUEUED) {
        tg__queue_park(c, req->head_len);
        return TG__ADMIT_PARKED;
    }
    answer(c, req, &v, b.f.cache_req);
    return TG__ADMIT_ANSWERED;
}

bool tg__protect_resume(struct cconn *c, const struct tg_http_msg *req, struct tg_conclimit *cl)
{
    struct exchange *x = &c->x;
    struct facts_buf b;
    facts_of(c, req, &b);
    struct tg_protect_verdict v;
    tg_protect_resume(x->ws->snap->protect, cl, &b.f, &v, &x->pticket);
    if (v.waiters)
        tg__queue_kick(c->w);
    if (v.kind == TG_PROTECT_ALLOW)
        return false;
    answer(c, req, &v, b.f.cache_req);
    return true;
}

void tg__protect_outcome(struct cconn *c, int64_t now_us)
{
    struct exchange *x = &c->x;
    if (!x->pticket.breaker && !x->pticket.limit)
        return;
    /* An answer fallback gave hides the upstream's failure from the status and cause;
     * the breaker must still see it. */
    enum tg_cause why = x->upstream_cause != TG_CAUSE_OK ? x->upstream_cause : x->cause;
    bool no_server = why == TG_CAUSE_NO_SERVER;
    if (!x->dispatch_us && !no_server) {
        if (tg_protect_cancel(&x->pticket))
            tg__queue_kick(c->w);
        return;
    }
    bool failed = no_server || why == TG_CAUSE_UPSTREAM_CONNECT ||
                  why == TG_CAUSE_UPSTREAM_TIMEOUT || why == TG_CAUSE_UPSTREAM_RESET ||
                  why == TG_CAUSE_UPSTREAM_BAD || x->status >= 500 ||
                  x->cause == TG_CAUSE_CACHE_FALLBACK;
    /* From when it went on: a wait for a concurrency slot is not the upstream's time. */
    int64_t from = x->admitted_us ? x->admitted_us : x->start_us;
    if (tg_protect_observe(&x->pticket, now_us, failed, now_us - from))
        tg__queue_kick(c->w);
}

/* ---- Control thread: reading the protections, feeding the breakers' latency rule. */

struct bctx {
    struct tg_gateway *gw;
    tg_gateway_breaker_fn *fn;
    void *ctx;
};

static void one_breaker(const char *name, struct tg_breaker *b, bool active, void *vctx)
{
    struct bctx *c = vctx;
    bool route = strncmp(name, "route/", 6) == 0;
    const char *owner = strchr(name, '/') ? strchr(name, '/') + 1 : name;
    struct tg_gateway_breaker_info info = {
        .name = name,
        .upstream = route ? "" : owner,
        .route = route ? owner : "",
        .active = active,
    };
    tg_breaker_read(b, tg_clock_mono_us(), &info.stats);
    c->fn(&info, c->ctx);
}

void tg_gateway_foreach_breaker(struct tg_gateway *gw, tg_gateway_breaker_fn *fn, void *ctx)
{
    struct bctx c = {gw, fn, ctx};
    tg_protect_state_foreach_breaker(gw->protect, one_breaker, &c);
}

struct rctx {
    tg_gateway_ratelimit_fn *fn;
    void *ctx;
};

static void one_limit(const char *name, struct tg_ratelimit *rl, bool active, void *vctx)
{
    struct rctx *c = vctx;
    struct tg_gateway_ratelimit_info info = {.name = name, .active = active};
    tg_ratelimit_read(rl, &info.stats);
    c->fn(&info, c->ctx);
}

void tg_gateway_foreach_ratelimit(struct tg_gateway *gw, tg_gateway_ratelimit_fn *fn, void *ctx)
{
    struct rctx c = {fn, ctx};
    tg_protect_state_foreach_ratelimit(gw->protect, one_limit, &c);
}

struct tctx {
    tg_gateway_retry_fn *fn;
    void *ctx;
};

static void one_retry(const char *name, struct tg_retry *r, bool active, void *vctx)
{
    struct tctx *c = vctx;
    const char *slash = strchr(name, '/');
    struct tg_gateway_retry_info info = {.upstream = slash ? slash + 1 : name, .active = active};
    tg_retry_read(r, &info.stats);
    c->fn(&info, c->ctx);
}

void tg_gateway_foreach_retry(struct tg_gateway *gw, tg_gateway_retry_fn *fn, void *ctx)
{
    struct tctx c = {fn, ctx};
    tg_protect_state_foreach_retry(gw->protect, one_retry, &c);
}

struct cctx {
    struct tg_gateway *gw;
    const struct tg_snapshot *s;
    tg_gateway_conclimit_fn *fn;
    void *ctx;
};

static void one_conclimit(const char *name, struct tg_conclimit *cl, bool active, void *vctx)
{
    struct cctx *c = vctx;
    const struct tg_config *cfg = c->s->cfg;
    struct tg_gateway_conclimit_info info = {
        .upstream = strchr(name, '/') ? strchr(name, '/') + 1 : name,
        .active = active,
    };
    tg_conclimit_read(cl, tg_protect_limit_params(c->s->protect), &info.stats);
    struct tg_adaptive *a = cfg->concurrency.adaptive
                                ? tg_protect_state_adaptive_get(c->gw->protect, name)
                                : NULL;
    if (a) {
        info.adaptive = true;
        tg_adaptive_read(a, &info.adaptive_stats);
    }
    c->fn(&info, c->ctx);
}

void tg_gateway_foreach_conclimit(struct tg_gateway *gw, tg_gateway_conclimit_fn *fn, void *ctx)
{
    struct cctx c = {gw, atomic_load(&gw->snap), fn, ctx};
    tg_protect_state_foreach_conclimit(gw->protect, one_conclimit, &c);
}

/* The responses of upstream `u` since the previous call: their count and mean latency
 * (sent to complete), from its servers' since-start totals less what the previous call
 * saw. A mean rather than a median: the servers' histograms have coarse buckets, and a
 * tick's summary is all the adaptive limit needs (adaptive.h). */
static void upstream_tick(struct tg_gateway *gw, const struct tg_upstream_rt *u,
                          struct tg_adaptive_sample *smp)
{
    uint64_t n = 0, sum = 0;
    for (uint32_t i = 0; i < u->cfg->nservers; i++) {
        uint32_t key = u->servers[i].key;
        const struct tg_srvstats *st = tg_magg_server_total(gw->agg, key);
        if (!st || key >= TG_GATEWAY_MAX_SERVER_KEYS)
            continue;
        struct tg_gateway_seen *seen = &gw->seen[key];
        bool back = st->latency.count < seen->count; /* forgotten and counted again */
        n += st->latency.count - (back ? 0 : seen->count);
        sum += st->latency.sum_us - (back ? 0 : seen->sum_us);
        seen->count = st->latency.count;
        seen->sum_us = st->latency.sum_us;
    }
    smp->count = n;
    smp->latency_us = n ? (int64_t)(sum / n) : 0;
}

/* Once a second: each upstream's adaptive limit gets the tick's responses, latency and
 * peak concurrency, and its limiter the new limit. */
static void feed_adaptive(struct tg_gateway *gw, const struct tg_snapshot *s, int64_t now_us)
{
    const struct tg_config *cfg = s->cfg;
    if (!gw->seen && !(gw->seen = calloc(TG_GATEWAY_MAX_SERVER_KEYS, sizeof *gw->seen)))
        return;
    struct tg_adaptive_params p;
    adaptive_params(&cfg->concurrency, &p);
    for (uint32_t i = 0; i < cfg->nupstreams; i++) {
        struct tg_conclimit *cl = tg_protect_limit_of(s->protect, i);
        if (!cl)
            continue;
        struct tg_adaptive_sample smp;
        upstream_tick(gw, &s->ups[i], &smp);
        smp.peak_inflight = tg_conclimit_take_peak(cl);
        char name[96];
        snprintf(name, sizeof name, "upstream/%s", cfg->upstreams[i].name);
        struct tg_adaptive *a = cfg->concurrency.adaptive
                                    ? tg_protect_state_adaptive_get(gw->protect, name)
                                    : NULL;
        if (a)
            tg_conclimit_set_limit(cl, tg_adaptive_update(a, &p, now_us, &smp));
    }
}

/* Once a second: the adaptive concurrency limits (above), and each route breaker with a
 * latency rule gets its route's p95 over the last 10 s (the method with the most
 * requests: a route's methods usually share one backend path, and mixing their
 * percentiles is not possible). */
void tg__protect_feed(struct tg_gateway *gw, int64_t now_us)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    const struct tg_config *cfg = s->cfg;
    feed_adaptive(gw, s, now_us);
    for (uint32_t i = 0; i < cfg->nroutes; i++) {
        const struct tg_cfg_route *r = &cfg->routes[i];
        if (!r->own_breaker || !r->breaker.enabled || r->breaker.latency_factor <= 0)
            continue;
        struct tg_breaker *b = tg_protect_breaker_of(s->protect, (int)i, r->upstream);
        if (!b)
            continue;
        struct tg_winstats best = {0};
        for (uint32_t m = 0; m < TG_GATEWAY_METHODS; m++) {
            struct tg_winstats w;
            tg_magg_window(gw->agg, s->route_endpoint[i] * TG_GATEWAY_METHODS + m, 10, &w);
            if (w.count > best.count)
                best = w;
        }
        if (best.count)
            tg_breaker_feed_latency(b, now_us, best.p95_us, best.count);
    }
}

/* Once a second: passive ejection's latency rule over each upstream's servers, which also
 * gives back the places of ejections that ran out. A server it ejects is logged here; an
 * ejection for errors is logged by the worker that saw the last error. */
void tg__protect_sweep_outliers(struct tg_gateway *gw, int64_t now_us)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++) {
        const struct tg_upstream_rt *ur = &s->ups[u];
        uint32_t n = ur->cfg->nservers;
        /* Read before the sweep: an ejection clears the server's average. Ejections of
         * servers past the 64th of an upstream are in the metrics but not logged one by
         * one (an upstream that large is better watched through its metrics anyway). */
        struct tg_outlier_server_stats was[64];
        for (uint32_t i = 0; i < n && i < 64; i++)
            tg_outlier_read_server(ur->outlier, &ur->op, i, now_us, &was[i]);
        if (tg_outlier_sweep(ur->outlier, &ur->op, now_us) == 0)
            continue;
        for (uint32_t i = 0; i < n && i < 64; i++) {
            struct tg_outlier_server_stats st;
            tg_outlier_read_server(ur->outlier, &ur->op, i, now_us, &st);
            if (!st.ejected || was[i].ejected)
                continue;
            tg_log(TG_LOG_WARN, "proxy",
                   "server-ejected upstream=%s server=%s reason=latency ewma_ms=%.1f times=%u "
                   "eject_ms=%lld",
                   ur->cfg->name, ur->servers[i].cfg->addr.text, (double)was[i].ewma_us / 1000,
                   st.times_ejected, (long long)((st.ejected_until_us - now_us) / 1000));
        }
    }
}

int tg_gateway_eject(struct tg_gateway *gw, const char *upstream, const char *server,
                     int64_t len_us, struct tg_errbuf *eb)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++) {
        struct tg_upstream_rt *ur = &s->ups[u];
        if (strcmp(ur->cfg->name, upstream) != 0)
            continue;
        for (uint32_t i = 0; i < ur->cfg->nservers; i++) {
            if (strcmp(ur->servers[i].cfg->addr.text, server) != 0)
                continue;
            int rc = tg_outlier_eject_for(ur->outlier, &ur->op, i, tg_clock_mono_us(), len_us);
            if (rc == -EBUSY)
                return tg_errbuf_set(eb, rc,
                                     "upstream %s has as many servers out as "
                                     "passive.max_ejection_percent allows (never all)",
                                     upstream);
            if (rc == -EALREADY)
                return tg_errbuf_set(eb, rc, "server %s is out already", server);
            tg_log(TG_LOG_WARN, "proxy",
                   "server-ejected upstream=%s server=%s reason=operator eject_ms=%lld", upstream,
                   server, (long long)(len_us / 1000));
            return 0;
        }
        return tg_errbuf_set(eb, TG_ENOTFOUND, "upstream %s has no server %s", upstream, server);
    }
    return tg_errbuf_set(eb, TG_ENOTFOUND, "no upstream %s", upstream);
}

void tg_gateway_foreach_outlier(struct tg_gateway *gw, tg_gateway_outlier_fn *fn, void *ctx)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    int64_t now = tg_clock_mono_us();
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++) {
        struct tg_gateway_outlier_info info = {.upstream = s->ups[u].cfg->name};
        tg_outlier_read(s->ups[u].outlier, now, &info.stats);
        fn(&info, ctx);
    }
}
