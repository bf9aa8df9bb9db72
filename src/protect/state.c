/* SPDX-License-Identifier: MIT */
/* Protection state by name; see state.h. A list per kind: a configuration has a few
 * dozen upstreams and routes with breakers, built a few times a day. Objects are never
 * freed before the state itself: a worker that started a request on an older snapshot
 * may still report its outcome to them. Replaced breaker windows are likewise kept until
 * then (tg_breaker_free releases them): they are only replaced when an operator changes
 * a window's shape, a few hundred bytes each. */
#include "protect/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    char *name;
    uint64_t gen; /* the last build that asked for it */
    void *obj;
    enum tg_ratelimit_scope scope; /* rate limiters */
    size_t capacity;
};

struct tg_protect_state {
    uint64_t seed;
    uint64_t gen;
    struct entry *breakers, *limiters, *conclimits, *retries, *adaptives;
    struct tg_cache *cache;
};

int tg_protect_state_new(uint64_t seed, struct tg_protect_state **out)
{
    struct tg_protect_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->seed = seed;
    st->gen = 1;
    *out = st;
    return 0;
}

enum kind { K_BREAKER = 0, K_RATELIMIT, K_CONCLIMIT, K_RETRY, K_ADAPTIVE };

static void free_list(struct entry *e, enum kind k)
{
    while (e) {
        struct entry *next = e->next;
        if (k == K_BREAKER)
            tg_breaker_free(e->obj);
        else if (k == K_RATELIMIT)
            tg_ratelimit_free(e->obj);
        else if (k == K_CONCLIMIT)
            tg_conclimit_free(e->obj);
        else if (k == K_ADAPTIVE)
            tg_adaptive_free(e->obj);
        else
            tg_retry_free(e->obj);
        free(e->name);
        free(e);
        e = next;
    }
}

void tg_protect_state_free(struct tg_protect_state *st)
{
    if (!st)
        return;
    free_list(st->breakers, K_BREAKER);
    free_list(st->limiters, K_RATELIMIT);
    free_list(st->conclimits, K_CONCLIMIT);
    free_list(st->retries, K_RETRY);
    free_list(st->adaptives, K_ADAPTIVE);
    tg_cache_free(st->cache);
    free(st);
}

void tg_protect_state_begin(struct tg_protect_state *st)
{
    st->gen++;
}

static struct entry *find(struct entry *list, const char *name)
{
    for (; list; list = list->next) {
        if (strcmp(list->name, name) == 0)
            return list;
    }
    return NULL;
}

static struct entry *add(struct entry **list, const char *name, void *obj)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e || !(e->name = strdup(name))) {
        free(e);
        return NULL;
    }
    e->obj = obj;
    e->next = *list;
    *list = e;
    return e;
}

struct tg_breaker *tg_protect_state_breaker(struct tg_protect_state *st, const char *name,
                                            const struct tg_breaker_params *p, int64_t now_us,
                                            struct tg_errbuf *eb)
{
    struct entry *e = find(st->breakers, name);
    if (e) {
        if (tg_breaker_set_params(e->obj, now_us, p, eb) != 0)
            return NULL;
    } else {
        struct tg_breaker *b;
        if (tg_breaker_new(p, eb, &b) != 0)
            return NULL;
        if (!(e = add(&st->breakers, name, b))) {
            tg_breaker_free(b);
            tg_errbuf_set(eb, -ENOMEM, "out of memory");
            return NULL;
        }
    }
    e->gen = st->gen;
    return e->obj;
}

struct tg_ratelimit *tg_protect_state_ratelimit(struct tg_protect_state *st, const char *name,
                                                enum tg_ratelimit_scope scope, size_t capacity,
                                                const struct tg_ratelimit_params *p,
                                                struct tg_errbuf *eb)
{
    struct entry *e = find(st->limiters, name);
    if (e && (e->scope != scope || e->capacity != capacity)) {
        /* Renamed out of the way: workers of older snapshots may still use it. */
        char *old = e->name;
        size_t n = strlen(old) + 2;
        if (!(e->name = malloc(n))) {
            e->name = old;
            tg_errbuf_set(eb, -ENOMEM, "out of memory");
            return NULL;
        }
        memcpy(e->name, "~", 1);
        memcpy(e->name + 1, old, n - 1);
        free(old);
        e = NULL;
    }
    if (e) {
        if (tg_ratelimit_set_params(e->obj, p, eb) != 0)
            return NULL;
    } else {
        struct tg_ratelimit *rl;
        if (tg_ratelimit_new(p, scope, capacity, st->seed, eb,
                             &rl) != 0)
            return NULL;
        if (!(e = add(&st->limiters, name, rl))) {
            tg_ratelimit_free(rl);
            tg_errbuf_set(eb, -ENOMEM, "out of memory");
            return NULL;
        }
        e->scope = scope;
        e->capacity = capacity;
    }
    e->gen = st->gen;
    return e->obj;
}

void tg_protect_state_foreach_breaker(struct tg_protect_state *st, tg_protect_breaker_fn *fn,
                                      void *ctx)
{
    for (struct entry *e = st->breakers; e; e = e->next)
        fn(e->name, e->obj, e->gen == st->gen, ctx);
}

void tg_protect_state_foreach_ratelimit(struct tg_protect_state *st,
                                        tg_protect_ratelimit_fn *fn, void *ctx)
{
    for (struct entry *e = st->limiters; e; e = e->next) {
        if (e->name[0] != '~')
            fn(e->name, e->obj, e->gen == st->gen, ctx);
    }
}

struct tg_conclimit *tg_protect_state_conclimit(struct tg_protect_state *st, const char *name)
{
    struct entry *e = find(st->conclimits, name);
    if (!e) {
        struct tg_conclimit *cl;
        if (tg_conclimit_new(&cl) != 0)
            return NULL;
        if (!(e = add(&st->conclimits, name, cl))) {
            tg_conclimit_free(cl);
            return NULL;
        }
    }
    e->gen = st->gen;
    return e->obj;
}

void tg_protect_state_foreach_conclimit(struct tg_protect_state *st,
                                        tg_protect_conclimit_fn *fn, void *ctx)
{
    for (struct entry *e = st->conclimits; e; e = e->next)
        fn(e->name, e->obj, e->gen == st->gen, ctx);
}

struct tg_adaptive *tg_protect_state_adaptive(struct tg_protect_state *st, const char *name,
                                              const struct tg_adaptive_params *p)
{
    struct entry *e = find(st->adaptives, name);
    if (!e) {
        struct tg_adaptive *a;
        if (tg_adaptive_new(p, &a) != 0)
            return NULL;
        if (!(e = add(&st->adaptives, name, a))) {
            tg_adaptive_free(a);
            return NULL;
        }
    }
    e->gen = st->gen;
    return e->obj;
}

struct tg_adaptive *tg_protect_state_adaptive_get(struct tg_protect_state *st, const char *name)
{
    struct entry *e = find(st->adaptives, name);
    return e ? e->obj : NULL;
}

struct tg_retry *tg_protect_state_retry(struct tg_protect_state *st, const char *name)
{
    struct entry *e = find(st->retries, name);
    if (!e) {
        struct tg_retry *r;
        if (tg_retry_new(&r) != 0)
            return NULL;
        if (!(e = add(&st->retries, name, r))) {
            tg_retry_free(r);
            return NULL;
        }
    }
    e->gen = st->gen;
    return e->obj;
}

void tg_protect_state_foreach_retry(struct tg_protect_state *st, tg_protect_retry_fn *fn,
                                    void *ctx)
{
    for (struct entry *e = st->retries; e; e = e->next)
        fn(e->name, e->obj, e->gen == st->gen, ctx);
}

struct tg_cache *tg_protect_state_cache(struct tg_protect_state *st,
                                        const struct tg_cache_limits *lim, struct tg_errbuf *eb)
{
    int rc = st->cache ? tg_cache_set_limits(st->cache, lim)
                       : tg_cache_new(lim, st->seed ^ UINT64_C(0x9e3779b97f4a7c15), &st->cache);
    if (rc != 0) {
        tg_errbuf_set(eb, rc, rc == -EINVAL ? "cache: max_object_bytes must be at most max_bytes"
                                            : "out of memory");
        return NULL;
    }
    return st->cache;
}

struct tg_cache *tg_protect_state_cache_get(struct tg_protect_state *st)
{
    return st->cache;
}
