/* SPDX-License-Identifier: MIT */
/* Inside the response cache: the entry record, the stripes, and the functions the store's
 * files (cache.c: index, lookups, eviction; cache_fill.c: receiving a response;
 * cache_purge.c: purge, warm, trim) share. Not for use outside src/protect/cache*.c.
 *
 * Locking: an entry's index links (`chain`, `vnext`, `prev`, `next`, `used_us`)
 * belong to its stripe's lock. Everything else in it is written before it is linked and
 * never after, so a holder of a reference reads it without a lock. `refs` counts the
 * index (1 while linked) and every hit not yet released; the last release frees it. */
#ifndef TG_PROTECT_CACHE_INT_H
#define TG_PROTECT_CACHE_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "protect/cache.h"

/* A power of two. With 64 stripes, 16 workers hitting random keys find a stripe busy on
 * about 1 lookup in 4 even if each held its lock all the time; they hold it for a tiny
 * share of a request, so waits are rare. */
#define TG_CACHE_STRIPES 64
#define TG_CACHE_STRIPE_SHIFT 58 /* 64 - log2(TG_CACHE_STRIPES): stripes from the top bits */

#define TG_CACHE_US_PER_S INT64_C(1000000)
/* Largest time kept (2^31 s), so that sums of times cannot overflow. */
#define TG_CACHE_MAX_US (TG_CACHE_DELTA_MAX * TG_CACHE_US_PER_S)

/* Stored Vary value of a field the request did not have. */
#define TG_CACHE_VARY_ABSENT UINT32_MAX

struct tg_cache_entry {
    /* Index links, under the stripe lock. */
    struct tg_cache_entry *chain;       /* next key in the bucket (heads of variant lists) */
    struct tg_cache_entry *vnext;       /* next older variant of the same key */
    struct tg_cache_entry *prev, *next; /* the stripe's LRU list, most recent first */
    int64_t used_us;                    /* last use: the LRU order */
    _Atomic uint32_t refs;

    /* Written once, before linking. */
    uint64_t hash;
    int64_t stored_us;         /* monotonic time the head arrived */
    int64_t initial_age_us;    /* age at stored_us */
    int64_t lifetime_us;       /* explicit lifetime, or TG_CACHE_ABSENT (the route's TTL) */
    int64_t stale_if_error_us; /* TG_CACHE_ABSENT if none */
    int64_t retain_until_us;   /* monotonic time after which nothing can use it */
    int64_t expect_len;        /* Content-Length, or TG_CACHE_ABSENT */
    uint64_t purge_gen;        /* the stripe's purge generation when the request began */
    size_t cost;               /* bytes counted against the budget: the allocation */
    size_t body_len, body_cap;
    uint32_t key_len;  /* key: path, then '?' and query if any; NUL-terminated */
    uint32_t vary_len; /* Vary names: lower case, each NUL-terminated, after the key */
    uint32_t vals_len; /* per name: a 4-byte length (or TG_CACHE_VARY_ABSENT), bytes */
    uint32_t head_len; /* stored header lines, then the body */
    uint16_t nvary;
    int16_t status;
    bool no_stale;       /* tg_cache_resp_no_stale */
    bool default_ttl_ok; /* tg_cache_status_default_ttl */
    alignas(8) char data[];
};

struct tg_cache_stripe {
    alignas(64) pthread_mutex_t lock;
    struct tg_cache_entry **buckets;
    uint32_t mask;  /* buckets - 1 */
    uint32_t nkeys; /* variant lists in the table */
    struct tg_cache_entry *lru_head, *lru_tail;
    /* Bumped (under the lock) by every purge that may cover a key of the stripe; starts
     * at 1, so 0 can mean "unknown". */
    _Atomic uint64_t purge_gen;
    /* Counters: changed under the lock, read without it. */
    _Atomic uint64_t entries, hits, misses, stale, fallback, stores, evictions, expired, purged;
};

struct tg_cache {
    struct tg_cache_stripe stripes[TG_CACHE_STRIPES];
    /* Last use of each stripe's LRU tail (INT64_MAX when empty), apart from the stripes so
     * an eviction reads eight cache lines to find the globally oldest entry. */
    alignas(64) _Atomic int64_t tail_used_us[TG_CACHE_STRIPES];
    alignas(64) _Atomic size_t bytes; /* counted against the budget: entries + reservations */
    _Atomic size_t allocated, peak;   /* bytes actually allocated, and their high mark */
    _Atomic size_t max_bytes, max_object;
    _Atomic uint64_t declined[TG_CACHE_DECLINE__COUNT];
    uint64_t seed;
};

static inline const char *tg_cache__key(const struct tg_cache_entry *e)
{
    return e->data;
}

static inline const char *tg_cache__vary(const struct tg_cache_entry *e)
{
    return e->data + e->key_len + 1;
}

static inline const char *tg_cache__vals(const struct tg_cache_entry *e)
{
    return tg_cache__vary(e) + e->vary_len;
}

static inline char *tg_cache__head(struct tg_cache_entry *e)
{
    return e->data + e->key_len + 1 + e->vary_len + e->vals_len;
}

static inline char *tg_cache__body(struct tg_cache_entry *e)
{
    return tg_cache__head(e) + e->head_len;
}

static inline char tg_cache__lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* ASCII case-insensitive equality of a[0..an) and b[0..bn) (field names). Names of one
 * length often share a prefix (Accept-Encoding, Accept-Language), so the last byte is
 * compared first. */
static inline bool tg_cache__ieq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn || (an && tg_cache__lower(a[an - 1]) != tg_cache__lower(b[an - 1])))
        return false;
    for (size_t i = 0; i < an; i++)
        if (a[i] != b[i] && tg_cache__lower(a[i]) != tg_cache__lower(b[i]))
            return false;
    return true;
}

/* Hash of a key given as path and query (no '?'). */
uint64_t tg_cache__hash(const struct tg_cache *c, const char *path, size_t plen, const char *query,
                        size_t qlen);

/* True if `e`'s key is path and query. */
bool tg_cache__key_eq(const struct tg_cache_entry *e, const char *path, size_t plen,
                      const char *query, size_t qlen);

static inline struct tg_cache_stripe *tg_cache__stripe(struct tg_cache *c, uint64_t hash)
{
    return &c->stripes[hash >> TG_CACHE_STRIPE_SHIFT];
}

/* Head of the variant list of a key in stripe `s` (locked), or NULL. */
struct tg_cache_entry *tg_cache__find_key(struct tg_cache_stripe *s, uint64_t hash,
                                          const char *path, size_t plen, const char *query,
                                          size_t qlen);

/* The newest variant of `head`'s list that the request matches, or NULL. */
struct tg_cache_entry *tg_cache__match(struct tg_cache_entry *head, const struct tg_cache_req *rq);

/* The entry's age and lifetime at `now_us` under `rule`. */
void tg_cache__freshness(const struct tg_cache_entry *e, const struct tg_cache_rule *rule,
                         int64_t now_us, struct tg_cache_freshness *f);

/* Takes `e` out of the index and the LRU of `s` (locked); the index's reference is now
 * the caller's to drop with tg_cache__put after unlocking. */
void tg_cache__unlink(struct tg_cache *c, struct tg_cache_stripe *s, struct tg_cache_entry *e);

/* Links a committed entry (refs == 1) into its stripe (locked), replacing the variants it
 * supersedes, which are chained through `next` into *dead for tg_cache__put. */
void tg_cache__link(struct tg_cache *c, struct tg_cache_stripe *s, struct tg_cache_entry *e,
                    struct tg_cache_entry **dead);

/* Drops a reference; the last one frees the entry and its bytes. */
void tg_cache__put(struct tg_cache *c, struct tg_cache_entry *e);

/* Marks a purge of stripe `s` (locked): fills begun before it will not be committed. */
static inline void tg_cache__purged(struct tg_cache_stripe *s)
{
    atomic_fetch_add_explicit(&s->purge_gen, 1, memory_order_relaxed);
}

/* Drops every entry of a list chained through `next` (from unlink/link). */
void tg_cache__put_list(struct tg_cache *c, struct tg_cache_entry *list);

/* Counts `n` more bytes against the budget, evicting least recently used entries while
 * the budget is passed. 0, or -ENOMEM when nothing evictable is left (nothing counted). */
int tg_cache__reserve(struct tg_cache *c, size_t n);

/* Gives back `n` reserved bytes. */
void tg_cache__unreserve(struct tg_cache *c, size_t n);

/* Records `n` bytes allocated (+) or freed (-) for the high mark. */
void tg_cache__allocated(struct tg_cache *c, ptrdiff_t n);

/* Evicts the globally least recently used entry. False if none is linked. */
bool tg_cache__evict_one(struct tg_cache *c);

/* Relaxed counter increment (the stripe lock orders the writers). */
static inline void tg_cache__count(_Atomic uint64_t *ctr, uint64_t n)
{
    atomic_fetch_add_explicit(ctr, n, memory_order_relaxed);
}

#endif
