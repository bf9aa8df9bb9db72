/* SPDX-License-Identifier: MIT */
/* The protections in the order every request meets them (ARCHITECTURE.md): feature
 * switch, rate limit, concurrency limit, cache lookup, circuit breaker. The proxy calls
 * them at one seam, between route match and upstream pick: tg_protect_admit says allow,
 * reject (with status, headers and body), serve from cache or queue, and the outcome of
 * every admitted request comes back once through tg_protect_observe. A chain is built
 * with each configuration snapshot and is immutable; the state that must outlive a
 * snapshot (breaker states, rate-limit buckets) lives in a struct tg_protect_state keyed
 * by upstream and route names, which the next chain takes over. Decisions take the time
 * and the request's facts as arguments: no clock, no socket, no configuration parsing. */
#ifndef TG_PROTECT_CHAIN_H
#define TG_PROTECT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protect/breaker.h"
#include "protect/clientip.h"
#include "protect/ratelimit.h"

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
};

enum tg_protect_kind {
    TG_PROTECT_ALLOW = 0,
    TG_PROTECT_REJECT, /* answer status/headers/body without touching the upstream */
};

/* Why a request was refused (the proxy maps these onto its cause labels). */
enum tg_protect_cause {
    TG_PCAUSE_NONE = 0,
    TG_PCAUSE_FEATURE_DISABLED,
    TG_PCAUSE_RATE_GLOBAL,    /* a rate limit over all clients */
    TG_PCAUSE_RATE_CLIENT_IP, /* a per-client rate limit */
    TG_PCAUSE_RATE_ROUTE,     /* a per-route rate limit */
    TG_PCAUSE_BREAKER_OPEN,
};

/* What the outcome report needs back from admit; kept by the caller per request. */
struct tg_protect_ticket {
    struct tg_breaker *breaker; /* NULL: no breaker to report to */
    uint32_t breaker_ticket;
};

struct tg_protect_verdict {
    enum tg_protect_kind kind;
    enum tg_protect_cause cause;
    int status;
    char headers[384]; /* "Retry-After: 30\r\n"-style lines, "" for none */
    char body[512];    /* JSON */
    size_t body_len;
};

/* Per-snapshot parameters of the chain, from the configuration (the proxy fills them). */
/* A rate limit and where it applies: paths starting with `prefix` ("" for all). */
struct tg_protect_rule {
    struct tg_ratelimit *rl; /* borrowed (state.h) */
    enum tg_ratelimit_scope scope;
    const char *prefix;
    const char *message; /* the 429's error text */
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
};

struct tg_protect_chain;

/* Builds a chain; 0 or -ENOMEM. */
int tg_protect_chain_new(const struct tg_protect_params *p, struct tg_protect_chain **out);
void tg_protect_chain_free(struct tg_protect_chain *ch); /* accepts NULL */

/* The admission decision for one request. Any thread. `t` is filled for the outcome
 * report: pass it to exactly one of tg_protect_observe and tg_protect_cancel. */
void tg_protect_admit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                      struct tg_protect_verdict *v, struct tg_protect_ticket *t);

/* The outcome of an admitted request that reached (or tried to reach) the upstream:
 * `failed` as the proxy sees it (no answer, or a 5xx), its latency. Any thread. */
void tg_protect_observe(struct tg_protect_ticket *t, int64_t now_us, bool failed,
                        int64_t latency_us);

/* An admitted request that never reached the upstream. Any thread. */
void tg_protect_cancel(struct tg_protect_ticket *t);

/* True when a request of `route` (-1: none) to `upstream` meets an enabled breaker; the
 * proxy then cuts the call at the breaker's timeout. */
struct tg_breaker *tg_protect_breaker_of(const struct tg_protect_chain *ch, int route,
                                         uint32_t upstream);

#endif
