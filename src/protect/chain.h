/* SPDX-License-Identifier: MIT */
/* The protections in the order every request meets them (ARCHITECTURE.md): feature
 * switch, rate limit, concurrency limit, cache lookup, circuit breaker. The proxy calls
 * them at one seam, between route match and upstream pick: tg_protect_admit says allow,
 * reject (with status, headers and body), serve from cache or queue (the request waits
 * on its worker's queue and comes back through tg_protect_resume), and the outcome of
 * every admitted request comes back once through tg_protect_observe. A chain is built
 * with each configuration snapshot and is immutable; the state that must outlive a
 * snapshot (breaker states, rate-limit buckets, the response cache) lives in a struct tg_protect_state keyed
 * by upstream and route names, which the next chain takes over. Decisions take the time
 * and the request's facts as arguments: no clock, no socket, no configuration parsing. */
#ifndef TG_PROTECT_CHAIN_H
#define TG_PROTECT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protect/breaker.h"
#include "protect/cache.h"
#include "protect/clientip.h"
#include "protect/conclimit.h"
#include "protect/ratelimit.h"
#include "protect/retry.h"

/* What the chain knows of a request. */
struct tg_protect_facts {
    int64_t now_us;
    int route;            /* index into the chain's routes, -1 when no route matched */
    uint32_t upstream;    /* index into the chain's upstreams */
    const char *feature;  /* the route's feature ("" none); NULL: exempt from switches
                           * (the gateway's own mounted routes) */
    const char *path;     /* without the query */
    size_t path_len;
    const uint8_t *peer;  /* the peer's address, 16 bytes (clientip.h) */
    const struct tg_clientip_field *xff; /* X-Forwarded-For lines, in order */
    size_t nxff;
    enum tg_conclimit_tier tier; /* the route's (standard without a route) */
    const struct tg_cache_req *cache_req; /* GET or HEAD as the cache sees it; NULL for
                                           * other methods */
    /* Where a request over its upstream's limit may wait: the calling worker's queue for
     * that upstream's limiter, and the request's waiter. NULL: refused at once instead. */
    struct tg_conclimit_queue *queue;
    struct tg_conclimit_waiter *waiter;
};

enum tg_protect_kind {
    TG_PROTECT_ALLOW = 0,
    TG_PROTECT_REJECT, /* answer status/headers/body without touching the upstream */
    TG_PROTECT_CACHED, /* answer with the cache entry in `hit` (a reference to give back) */
    TG_PROTECT_QUEUED, /* parked in the facts' queue: the caller polls it (conclimit.h), then
                        * calls tg_protect_resume or answers tg_protect_queue_timeout */
};

/* Why a request was refused (the proxy maps these onto its cause labels). */
enum tg_protect_cause {
    TG_PCAUSE_NONE = 0,
    TG_PCAUSE_FEATURE_DISABLED,
    TG_PCAUSE_RATE_GLOBAL,    /* a rate limit over all clients */
    TG_PCAUSE_RATE_CLIENT_IP, /* a per-client rate limit */
    TG_PCAUSE_RATE_ROUTE,     /* a per-route rate limit */
    TG_PCAUSE_BREAKER_OPEN,
    TG_PCAUSE_CONCURRENCY, /* the upstream's hard limit, or the tier's share of it */
    TG_PCAUSE_SHED,        /* over the soft limit: a sheddable request */
    TG_PCAUSE_CACHE_HIT,   /* CACHED: a fresh entry (or stale within the request's max-stale) */
    TG_PCAUSE_CACHE_FALLBACK, /* CACHED: the breaker is open and fallback found an entry */
    TG_PCAUSE_ONLY_IF_CACHED, /* REJECT 504: only-if-cached and nothing usable */
    TG_PCAUSE_QUEUE_TIMEOUT,  /* REJECT 503: waited the queue timeout without a slot */
};

/* What the outcome report needs back from admit; kept by the caller per request. */
struct tg_protect_ticket {
    struct tg_breaker *breaker; /* NULL: no breaker to report to */
    uint32_t breaker_ticket;
    struct tg_conclimit *limit; /* NULL: no in-flight slot to give back */
    struct tg_conclimit *waiting; /* QUEUED: the limiter whose queue holds the waiter */
    /* The response cache's side, left alone by observe and cancel. `cache` is set for
     * every request the chain saw while a cache exists (a write purges what it changed);
     * `cache_offer` for a GET that missed and whose response may be stored, with the
     * lookup's `purge_gen`; `cache_rule.fallback_max_age_us` > 0 when fallback may answer
     * it (tg_protect_fallback). */
    struct tg_cache *cache;
    struct tg_cache_rule cache_rule;
    uint64_t purge_gen;
    bool cache_offer;
};

struct tg_protect_verdict {
    enum tg_protect_kind kind;
    enum tg_protect_cause cause;
    int status;
    char headers[384]; /* "Retry-After: 30\r\n"-style lines, "" for none */
    char body[512];    /* JSON */
    size_t body_len;
    struct tg_cache_hit hit; /* CACHED: the entry, its age, whether stale */
    /* A rate-limit refusal: the rule's path prefix ("" for all paths; owned by the
     * chain) and the client it was counted for (client-IP rules), for the log. */
    const char *rule_prefix;
    uint8_t client[16];
    /* A slot this decision took and gave back again (a cache hit, an open breaker) while
     * requests wait for one: the caller polls its queues. */
    bool waiters;
};

/* Per-snapshot parameters of the chain, from the configuration (the proxy fills them). */
/* A rate limit and where it applies: paths starting with `prefix` ("" for all). */
struct tg_protect_rule {
    struct tg_ratelimit *rl; /* borrowed (state.h) */
    enum tg_ratelimit_scope scope;
    const char *prefix;
    const char *message; /* the 429's error text */
};

/* A cache rule: GETs of paths matching `path_glob` (fnmatch(3) without flags: '*' also
 * matches '/') are answered from the cache, with `ttl_us` as the lifetime of responses
 * that state none. The first matching rule applies. */
struct tg_protect_cache_rule {
    const char *path_glob;
    int64_t ttl_us;
};

/* Per-snapshot parameters of the chain, from the configuration (the proxy fills them;
 * the chain copies the arrays, the objects they point at are borrowed). */
struct tg_protect_params {
    const char *const *features_disabled;
    size_t nfeatures_disabled;
    const char *const *features_declared; /* every route's feature, "" skipped */
    size_t nfeatures_declared;
    const struct tg_protect_rule *rules;
    size_t nrules;
    const struct tg_clientip_cidr *trusted; /* proxies whose X-Forwarded-For is believed */
    size_t ntrusted;
    struct tg_breaker *const *upstream_breakers; /* one per upstream, NULL: none */
    size_t nupstreams;
    struct tg_breaker *const *route_breakers; /* one per route, NULL: the upstream's */
    size_t nroutes;
    const char *const *upstream_names; /* for messages */
    struct tg_conclimit *const *upstream_limits; /* one per upstream, NULL: none */
    struct tg_conclimit_params limit_params;     /* the same numbers for each */
    struct tg_retry *const *upstream_retries;    /* one per upstream (the budget) */
    struct tg_retry_params retry_params;
    struct tg_cache *cache; /* borrowed (state.h); NULL: no caching and no fallback */
    const struct tg_protect_cache_rule *cache_rules;
    size_t ncache_rules;
    int64_t fallback_max_age_us; /* fallback on: entries up to this age answer a failure */
};

struct tg_protect_chain;

/* Builds a chain; 0 or -ENOMEM. */
int tg_protect_chain_new(const struct tg_protect_params *p, struct tg_protect_chain **out);
void tg_protect_chain_free(struct tg_protect_chain *ch); /* accepts NULL */

/* The admission decision for one request. Any thread. `t` is filled for the outcome
 * report: pass it to exactly one of tg_protect_observe and tg_protect_cancel. A CACHED
 * verdict holds a reference to an entry (release it with tg_cache_release once written);
 * its ticket has nothing left to report (cancel is harmless). The cache lookup sits
 * between the concurrency limit and the breaker; an open breaker answers from the cache
 * (stale entries too, TG_PCAUSE_CACHE_FALLBACK) when fallback is on and one may serve. */
void tg_protect_admit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                      struct tg_protect_verdict *v, struct tg_protect_ticket *t);

/* A QUEUED request got its slot of `cl` (tg_conclimit_poll granted it): the rest of the
 * chain after the concurrency limit (cache lookup, breaker), as tg_protect_admit would
 * have run it. The ticket now holds the slot. `f` as given to admit, at the time now. */
void tg_protect_resume(const struct tg_protect_chain *ch, struct tg_conclimit *cl,
                       const struct tg_protect_facts *f, struct tg_protect_verdict *v,
                       struct tg_protect_ticket *t);

/* The answer to a QUEUED request of `tier` whose wait ran out (tg_conclimit_poll said
 * EXPIRED): 503, cause TG_PCAUSE_QUEUE_TIMEOUT, with Retry-After. */
void tg_protect_queue_timeout(enum tg_conclimit_tier tier, struct tg_protect_verdict *v);

/* The concurrency limiter of `upstream` (NULL: none) and the parameters of every one,
 * for the worker that polls its queues. */
struct tg_conclimit *tg_protect_limit_of(const struct tg_protect_chain *ch, uint32_t upstream);
const struct tg_conclimit_params *tg_protect_limit_params(const struct tg_protect_chain *ch);

/* The outcome of an admitted request that reached (or tried to reach) the upstream:
 * `failed` as the proxy sees it (no answer, or a 5xx), its latency. Any thread. True
 * when it gave back a slot that requests wait for: the caller polls its queues and
 * nudges the other workers' (conclimit.h). */
bool tg_protect_observe(struct tg_protect_ticket *t, int64_t now_us, bool failed,
                        int64_t latency_us);

/* The upstream failed the admitted GET or HEAD `rq` (as given to admit in its facts):
 * true with a reference in `hit` if fallback may answer with a cached entry. Any thread;
 * the ticket may already have been observed. */
bool tg_protect_fallback(const struct tg_protect_ticket *t, const struct tg_cache_req *rq,
                         int64_t now_us, struct tg_cache_hit *hit);

/* The cache settings a GET of `path` (without the query) gets: `serve` when a cache rule
 * matches, `fallback_max_age_us` when fallback is on; all zero without a cache. */
struct tg_cache_rule tg_protect_cache_rule(const struct tg_protect_chain *ch, const char *path,
                                           size_t len);
/* The chain's cache, NULL when caching and fallback are off. */
struct tg_cache *tg_protect_cache(const struct tg_protect_chain *ch);

/* An admitted request that never reached the upstream. Any thread. True as for observe. */
bool tg_protect_cancel(struct tg_protect_ticket *t);

/* A try of a request to `upstream` ended in a failure the proxy could retry: whether to
 * try again (max_attempts, the retry budget), with the retry's budget place taken on
 * TG_RETRY_AGAIN (see tg_protect_retry_of). */
void tg_protect_retry(const struct tg_protect_chain *ch, uint32_t upstream,
                      const struct tg_retry_try *t, int64_t now_us, uint64_t rnd,
                      struct tg_retry_decision *d);
/* The retry budget of `upstream` (NULL: none): a granted retry gives its place back with
 * tg_retry_cancel on it when the retry ends another way than through tg_protect_retry.
 * It lives in the state registry, so it may be kept beyond this chain. */
struct tg_retry *tg_protect_retry_of(const struct tg_protect_chain *ch, uint32_t upstream);

/* True when a request of `route` (-1: none) to `upstream` meets an enabled breaker; the
 * proxy then cuts the call at the breaker's timeout. */
struct tg_breaker *tg_protect_breaker_of(const struct tg_protect_chain *ch, int route,
                                         uint32_t upstream);

#endif
