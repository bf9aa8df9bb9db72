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

/* What the chain knows of a request. */
struct tg_protect_facts {
    int64_t now_us;
    int route;            /* index into the chain's routes, -1 when no route matched */
    uint32_t upstream;    /* index into the chain's upstreams */
    const char *feature;  /* the route's feature ("" none); NULL: exempt from switches
                           * (the gateway's own mounted routes) */
    const char *path;     /* without the query */
    size_t path_len;
};

enum tg_protect_kind {
    TG_PROTECT_ALLOW = 0,
    TG_PROTECT_REJECT, /* answer status/headers/body without touching the upstream */
};

/* Why a request was refused (the proxy maps these onto its cause labels). */
enum tg_protect_cause {
    TG_PCAUSE_NONE = 0,
    TG_PCAUSE_FEATURE_DISABLED,
};

struct tg_protect_verdict {
    enum tg_protect_kind kind;
    enum tg_protect_cause cause;
    int status;
    char headers[256]; /* "Retry-After: 30\r\n"-style lines, "" for none */
    char body[512];    /* JSON */
    size_t body_len;
};

/* Per-snapshot parameters of the chain, from the configuration (the proxy fills them). */
struct tg_protect_params {
    const char *const *features_disabled;
    size_t nfeatures_disabled;
    const char *const *features_declared; /* every route's feature, "" skipped */
    size_t nfeatures_declared;
};

struct tg_protect_chain;

/* Builds a chain; 0 or -ENOMEM. */
int tg_protect_chain_new(const struct tg_protect_params *p, struct tg_protect_chain **out);
void tg_protect_chain_free(struct tg_protect_chain *ch); /* accepts NULL */

/* The admission decision for one request. Any thread. */
void tg_protect_admit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                      struct tg_protect_verdict *v);

#endif
