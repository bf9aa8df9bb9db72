/* SPDX-License-Identifier: MIT */
/* The response cache's control operations: purge by key, prefix or pattern, the warming
 * check, and the trim behind the GC call. They come from the control API, not the
 * request path: all but purge by key and the warming check walk every entry (40 ns
 * each to look, about 200 ns to match a pattern or to free: 4 to 25 ms for 100,000
 * entries), a bounded batch of buckets per stripe lock hold, so a worker never waits for
 * a whole walk. Memory is freed after the stripe is unlocked. */
#include "protect/cache.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "protect/cache_int.h"

#define MAX_PATTERN 1024

/* Buckets walked per lock hold: a few hundred entries, at most about 100 µs, so a worker
 * that needs the stripe waits that long at worst, however large the cache. */
#define WALK_BUCKETS 256

typedef bool match_fn(const struct tg_cache_entry *e, const void *arg, int64_t now_us);

/* Unlinks the entries of bucket `k` that `m` accepts (stripe locked). After each unlink
 * the bucket is scanned again from its start: chains are a key or two long. */
static size_t remove_in_bucket(struct tg_cache *c, struct tg_cache_stripe *s, uint32_t k,
                               match_fn *m, const void *arg, int64_t now_us,
                               struct tg_cache_entry **dead)
{
    size_t n = 0;
again:
    for (struct tg_cache_entry *head = s->buckets[k]; head; head = head->chain)
        for (struct tg_cache_entry *v = head; v; v = v->vnext)
            if (m(v, arg, now_us)) {
                tg_cache__unlink(c, s, v);
                v->next = *dead;
                *dead = v;
                n++;
                goto again;
            }
    return n;
}

/* Unlinks every entry `m` accepts, WALK_BUCKETS at a time, and counts them as expired or
 * purged. A purge marks each stripe before walking it, so fills under way are refused.
 * The table may grow between two holds; walking on from the same index is still
 * complete, since a key at index j moves to j or j + the old size, never below. */
static size_t remove_where(struct tg_cache *c, match_fn *m, const void *arg, int64_t now_us,
                           bool expiry)
{
    size_t total = 0;
    for (int i = 0; i < TG_CACHE_STRIPES; i++) {
        struct tg_cache_stripe *s = &c->stripes[i];
        bool done = false;
        for (uint32_t from = 0; !done; from += WALK_BUCKETS) {
            struct tg_cache_entry *dead = NULL;
            size_t n = 0;
            pthread_mutex_lock(&s->lock);
            if (from == 0 && !expiry)
                tg_cache__purged(s);
            uint32_t end = s->mask + 1 - from > WALK_BUCKETS ? from + WALK_BUCKETS : s->mask + 1;
            for (uint32_t k = from; k < end; k++)
                n += remove_in_bucket(c, s, k, m, arg, now_us, &dead);
            tg_cache__count(expiry ? &s->expired : &s->purged, n);
            done = end == s->mask + 1;
            pthread_mutex_unlock(&s->lock);
            tg_cache__put_list(c, dead);
            total += n;
        }
    }
    return total;
}

size_t tg_cache_purge_key(struct tg_cache *c, const char *path, size_t path_len, const char *query,
                          size_t query_len)
{
    uint64_t h = tg_cache__hash(c, path, path_len, query, query_len);
    struct tg_cache_stripe *s = tg_cache__stripe(c, h);
    struct tg_cache_entry *dead = NULL, *e;
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    while ((e = tg_cache__find_key(s, h, path, path_len, query, query_len))) {
        tg_cache__unlink(c, s, e);
        e->next = dead;
        dead = e;
        n++;
    }
    tg_cache__count(&s->purged, n);
    tg_cache__purged(s);
    pthread_mutex_unlock(&s->lock);
    tg_cache__put_list(c, dead);
    return n;
}

struct prefix {
    const char *p;
    size_t len;
};

static bool has_prefix(const struct tg_cache_entry *e, const void *arg, int64_t now_us)
{
    const struct prefix *px = arg;
    (void)now_us;
    return e->key_len >= px->len && memcmp(tg_cache__key(e), px->p, px->len) == 0;
}

size_t tg_cache_purge_prefix(struct tg_cache *c, const char *prefix, size_t len)
{
    struct prefix px = {prefix, len};
    return remove_where(c, has_prefix, &px, 0, false);
}

static bool glob_matches(const struct tg_cache_entry *e, const void *arg, int64_t now_us)
{
    (void)now_us;
    return fnmatch(arg, tg_cache__key(e), 0) == 0;
}

long tg_cache_purge_pattern(struct tg_cache *c, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n == 0 || n > MAX_PATTERN)
        return -EINVAL;
    char glob[MAX_PATTERN + 3];
    if (pattern[0] == '/')
        memcpy(glob, pattern, n + 1);
    else {
        /* "products:category:x" becomes "*" then "/products/category/x": it matches
         * from any segment boundary of the key, the root included. */
        glob[0] = '*';
        glob[1] = '/';
        for (size_t i = 0; i <= n; i++)
            glob[2 + i] = pattern[i] == ':' ? '/' : pattern[i];
    }
    return (long)remove_where(c, glob_matches, glob, 0, false);
}

bool tg_cache_warm_needed(struct tg_cache *c, const struct tg_cache_req *rq,
                          const struct tg_cache_rule *rule, int64_t now_us, int64_t min_fresh_us)
{
    uint64_t h = tg_cache__hash(c, rq->path, rq->path_len, rq->query, rq->query_len);
    struct tg_cache_stripe *s = tg_cache__stripe(c, h);
    pthread_mutex_lock(&s->lock);
    struct tg_cache_entry *head =
        tg_cache__find_key(s, h, rq->path, rq->path_len, rq->query, rq->query_len);
    struct tg_cache_entry *e = head ? tg_cache__match(head, rq) : NULL;
    struct tg_cache_freshness f = {0};
    if (e)
        tg_cache__freshness(e, rule, now_us, &f);
    pthread_mutex_unlock(&s->lock);
    return !e || f.lifetime_us - f.age_us <= min_fresh_us;
}

static bool past_retention(const struct tg_cache_entry *e, const void *arg, int64_t now_us)
{
    (void)arg;
    return now_us >= e->retain_until_us;
}

struct tg_cache_trim_result tg_cache_trim(struct tg_cache *c, int64_t now_us, size_t target_bytes)
{
    struct tg_cache_trim_result r = {0};
    r.bytes_before = atomic_load_explicit(&c->bytes, memory_order_relaxed);
    r.expired = remove_where(c, past_retention, NULL, now_us, true);
    while (atomic_load_explicit(&c->bytes, memory_order_relaxed) > target_bytes &&
           tg_cache__evict_one(c))
        r.evicted++;
    r.bytes_after = atomic_load_explicit(&c->bytes, memory_order_relaxed);
    return r;
}
