/* SPDX-License-Identifier: MIT */
/* Protection state that outlives configuration snapshots: circuit breakers, rate
 * limiters, concurrency limiters and their adaptive controllers, retry budgets and the
 * response cache, each by name ("upstream/api", "route/search", "rate_limit/client_ip",
 * "rule/0"). A snapshot's chain (chain.h) borrows them; the next snapshot finds the same
 * objects by name, applies its parameters to them and carries their state on, the way
 * server health is carried across reloads. Objects a new configuration no longer names
 * stay (they come back with their state if the name returns) but are reported inactive.
 * Control thread, except what the chain's decisions do to the objects themselves. */
#ifndef TG_PROTECT_STATE_H
#define TG_PROTECT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "protect/adaptive.h"
#include "protect/breaker.h"
#include "protect/cache.h"
#include "protect/conclimit.h"
#include "protect/ratelimit.h"
#include "protect/retry.h"

struct tg_protect_state;

/* `seed` keys the rate limiters' hashes (draw it at random). 0 or -ENOMEM. */
int tg_protect_state_new(uint64_t seed, struct tg_protect_state **out);
/* Frees every object; no worker may still use them. Accepts NULL. */
void tg_protect_state_free(struct tg_protect_state *st);

/* Starts building a snapshot: what is not asked for again until the next begin is
 * inactive. */
void tg_protect_state_begin(struct tg_protect_state *st);

/* The breaker `name`, created on first use, with `p` applied. NULL with `eb` filled. */
struct tg_breaker *tg_protect_state_breaker(struct tg_protect_state *st, const char *name,
                                            const struct tg_breaker_params *p, int64_t now_us,
                                            struct tg_errbuf *eb);

/* The rate limiter `name` of `scope` (a limiter whose scope or table size changed is a
 * new one: its keys meant something else), with `p` applied. NULL with `eb` filled. */
struct tg_ratelimit *tg_protect_state_ratelimit(struct tg_protect_state *st, const char *name,
                                                enum tg_ratelimit_scope scope, size_t capacity,
                                                const struct tg_ratelimit_params *p,
                                                struct tg_errbuf *eb);

/* The concurrency limiter `name`, created on first use (its parameters come with each
 * decision). NULL when out of memory. */
struct tg_conclimit *tg_protect_state_conclimit(struct tg_protect_state *st, const char *name);

/* The adaptive limit controller `name` (kept beside the limiter of the same name),
 * created on first use at `p`'s initial limit; its parameters come with each update.
 * NULL when out of memory. */
struct tg_adaptive *tg_protect_state_adaptive(struct tg_protect_state *st, const char *name,
                                              const struct tg_adaptive_params *p);
/* The controller `name` if one was ever created, else NULL (control thread). */
struct tg_adaptive *tg_protect_state_adaptive_get(struct tg_protect_state *st, const char *name);

/* The retry budget `name`, created on first use. NULL when out of memory. */
struct tg_retry *tg_protect_state_retry(struct tg_protect_state *st, const char *name);

/* The response cache, one per state: created on the first call with `lim`, given `lim` on
 * later ones (a smaller budget evicts at once). Its entries outlive snapshots, reloads and
 * control-API changes. NULL with `eb` filled. */
struct tg_cache *tg_protect_state_cache(struct tg_protect_state *st,
                                        const struct tg_cache_limits *lim, struct tg_errbuf *eb);
/* The cache if one was ever created, else NULL (for the control API and metrics). */
struct tg_cache *tg_protect_state_cache_get(struct tg_protect_state *st);

typedef void tg_protect_breaker_fn(const char *name, struct tg_breaker *b, bool active,
                                   void *ctx);
typedef void tg_protect_ratelimit_fn(const char *name, struct tg_ratelimit *rl, bool active,
                                     void *ctx);
void tg_protect_state_foreach_breaker(struct tg_protect_state *st, tg_protect_breaker_fn *fn,
                                      void *ctx);
void tg_protect_state_foreach_ratelimit(struct tg_protect_state *st,
                                        tg_protect_ratelimit_fn *fn, void *ctx);
typedef void tg_protect_conclimit_fn(const char *name, struct tg_conclimit *cl, bool active,
                                     void *ctx);
void tg_protect_state_foreach_conclimit(struct tg_protect_state *st,
                                        tg_protect_conclimit_fn *fn, void *ctx);
typedef void tg_protect_retry_fn(const char *name, struct tg_retry *r, bool active, void *ctx);
void tg_protect_state_foreach_retry(struct tg_protect_state *st, tg_protect_retry_fn *fn,
                                    void *ctx);

#endif
