/* SPDX-License-Identifier: MIT */
/* The response cache's index: 64 stripes, each a mutex, a chained hash table of keys
 * whose entries are lists of variants, and an LRU list; lookups, the budget and
 * eviction. See cache.h for the contract and cache_int.h for the locking rules.
 *
 * Why striped mutexes rather than a lock-free table: a hit must take a reference, move
 * the entry in an LRU list and compare Vary values, which together need mutual exclusion
 * with eviction. One uncontended mutex is about 20 ns of the 60 (miss) to 180 ns (hit) a
 * lookup costs (bench/cache_lookup.c), and 64 of them make contention rare at any worker
 * count this gateway runs. The mutexes are adaptive (they spin briefly before sleeping)
 * because a holder never blocks or allocates while it holds one, except when a stripe's
 * table grows: it doubles, so that happens about log2(keys / 64) times in its life.
 *
 * Eviction is global LRU: each stripe publishes its tail's last use, the evicting thread
 * takes the oldest of the 64, locks that stripe and unlinks its tail. Only inserts evict;
 * lookups never do. The budget counts memory until it is freed, so an entry still being
 * written to a client after eviction keeps its bytes counted, and a cache full of such
 * entries declines new ones rather than pass its bound. */
#include "protect/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protect/cache_int.h"

#define INITIAL_BUCKETS 16

/* ---- keys -------------------------------------------------------------------------- */

static uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= UINT64_C(0x9e3779b97f4a7c15);
    h ^= h >> 29;
    return h;
}

/* Word at a time: a path of 40 bytes is 5 multiplies, a third of a byte-wise hash. The
 * tail is read in 4-, 2- and 1-byte loads rather than a variable-length copy. */
static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h ^ w);
    }
    uint64_t w = (uint64_t)n << 56;
    if (n & 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        w |= (uint64_t)v << 16;
        p += 4;
    }
    if (n & 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        w ^= v;
        p += 2;
    }
    if (n & 1)
        w ^= (uint64_t)(unsigned char)*p << 48;
    return mix(h ^ w);
}

uint64_t tg_cache__hash(const struct tg_cache *c, const char *path, size_t plen, const char *query,
                        size_t qlen)
{
    uint64_t h = hash_bytes(c->seed, path, plen);
    if (qlen)
        h = hash_bytes(h ^ UINT64_C(0x3f), query, qlen);
    return mix(h ^ c->seed);
}

bool tg_cache__key_eq(const struct tg_cache_entry *e, const char *path, size_t plen,
                      const char *query, size_t qlen)
{
    const char *k = tg_cache__key(e);
    if (e->key_len != plen + (qlen ? qlen + 1 : 0) || memcmp(k, path, plen) != 0)
        return false;
    return qlen == 0 || (k[plen] == '?' && memcmp(k + plen + 1, query, qlen) == 0);
}

static struct tg_cache_entry **bucket(struct tg_cache_stripe *s, uint64_t hash)
{
    return &s->buckets[(uint32_t)hash & s->mask];
}

struct tg_cache_entry *tg_cache__find_key(struct tg_cache_stripe *s, uint64_t hash,
                                          const char *path, size_t plen, const char *query,
                                          size_t qlen)
{
    for (struct tg_cache_entry *e = *bucket(s, hash); e; e = e->chain)
        if (e->hash == hash && tg_cache__key_eq(e, path, plen, query, qlen))
            return e;
    return NULL;
}

/* Whether the request's value of field `name` (its lines joined by ", ", as stored by
 * cache_fill.c) equals the stored one, compared piece by piece without building it. */
static bool vary_value_eq(const struct tg_cache_req *rq, const char *name, size_t nlen,
                          const char *stored, uint32_t slen)
{
    size_t pos = 0;
    bool any = false;
    for (uint32_t i = 0; i < rq->nfields; i++) {
        const struct tg_cache_field *f = &rq->fields[i];
        if (!tg_cache__ieq(f->name, f->name_len, name, nlen))
            continue;
        if (slen == TG_CACHE_VARY_ABSENT)
            return false;
        if (any) {
            if (slen - pos < 2 || memcmp(stored + pos, ", ", 2) != 0)
                return false;
            pos += 2;
        }
        if (slen - pos < f->value_len || memcmp(stored + pos, f->value, f->value_len) != 0)
            return false;
        pos += f->value_len;
        any = true;
    }
    return any ? pos == slen : slen == TG_CACHE_VARY_ABSENT;
}

static bool variant_matches(const struct tg_cache_entry *e, const struct tg_cache_req *rq)
{
    const char *name = tg_cache__vary(e), *val = tg_cache__vals(e);
    for (uint16_t i = 0; i < e->nvary; i++) {
        size_t nlen = strlen(name);
        uint32_t vlen;
        memcpy(&vlen, val, 4);
        val += 4;
        if (!vary_value_eq(rq, name, nlen, val, vlen))
            return false;
        val += vlen == TG_CACHE_VARY_ABSENT ? 0 : vlen;
        name += nlen + 1;
    }
    return true;
}

struct tg_cache_entry *tg_cache__match(struct tg_cache_entry *head, const struct tg_cache_req *rq)
{
    for (struct tg_cache_entry *e = head; e; e = e->vnext)
        if (variant_matches(e, rq))
            return e;
    return NULL;
}

void tg_cache__freshness(const struct tg_cache_entry *e, const struct tg_cache_rule *rule,
                         int64_t now_us, struct tg_cache_freshness *f)
{
    f->age_us = e->initial_age_us + (now_us > e->stored_us ? now_us - e->stored_us : 0);
    if (e->lifetime_us != TG_CACHE_ABSENT)
        f->lifetime_us = e->lifetime_us;
    else
        f->lifetime_us = !e->default_ttl_ok || rule->default_ttl_us <= 0 ? 0
                         : rule->default_ttl_us < TG_CACHE_MAX_US        ? rule->default_ttl_us
                                                                         : TG_CACHE_MAX_US;
    f->stale_if_error_us = e->stale_if_error_us;
    f->no_stale = e->no_stale;
}

/* ---- LRU ----------------------------------------------------------------------------- */

/* Publishes the stripe's tail for eviction; written only when it changed, so hits in
 * the middle of the list do not bounce the shared line between cores. */
static void publish_tail(struct tg_cache *c, struct tg_cache_stripe *s)
{
    _Atomic int64_t *slot = &c->tail_used_us[s - c->stripes];
    int64_t v = s->lru_tail ? s->lru_tail->used_us : INT64_MAX;
    if (atomic_load_explicit(slot, memory_order_relaxed) != v)
        atomic_store_explicit(slot, v, memory_order_relaxed);
}

static void lru_remove(struct tg_cache_stripe *s, struct tg_cache_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push(struct tg_cache_stripe *s, struct tg_cache_entry *e)
{
    e->prev = NULL;
    e->next = s->lru_head;
    if (s->lru_head)
        s->lru_head->prev = e;
    else
        s->lru_tail = e;
    s->lru_head = e;
}

static void touch(struct tg_cache *c, struct tg_cache_stripe *s, struct tg_cache_entry *e,
                  int64_t now_us)
{
    e->used_us = now_us > e->used_us ? now_us : e->used_us;
    if (s->lru_head != e) {
        lru_remove(s, e);
        lru_push(s, e);
    }
    publish_tail(c, s);
}

/* ---- index ----------------------------------------------------------------------------- */

static bool same_key(const struct tg_cache_entry *a, const struct tg_cache_entry *b)
{
    return a->hash == b->hash && a->key_len == b->key_len &&
           memcmp(tg_cache__key(a), tg_cache__key(b), a->key_len) == 0;
}

void tg_cache__unlink(struct tg_cache *c, struct tg_cache_stripe *s, struct tg_cache_entry *e)
{
    struct tg_cache_entry **link = bucket(s, e->hash);
    while (*link && !same_key(*link, e))
        link = &(*link)->chain;
    struct tg_cache_entry *head = *link;
    if (head == e) {
        if (e->vnext) {
            e->vnext->chain = e->chain;
            *link = e->vnext;
        } else {
            *link = e->chain;
            s->nkeys--;
        }
    } else if (head) {
        struct tg_cache_entry *v = head;
        while (v->vnext && v->vnext != e)
            v = v->vnext;
        if (v->vnext == e)
            v->vnext = e->vnext;
    }
    e->chain = e->vnext = NULL;
    lru_remove(s, e);
    publish_tail(c, s);
    atomic_fetch_sub_explicit(&s->entries, 1, memory_order_relaxed);
}

/* Doubles the stripe's table when it holds more keys than buckets. On OOM the table
 * stays as it is: chains get longer, nothing fails. */
static void maybe_grow(struct tg_cache_stripe *s)
{
    if (s->nkeys <= s->mask + 1 || s->mask >= (UINT32_MAX >> 2))
        return;
    uint32_t n = (s->mask + 1) * 2;
    struct tg_cache_entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (uint32_t i = 0; i <= s->mask; i++)
        for (struct tg_cache_entry *e = s->buckets[i], *next; e; e = next) {
            next = e->chain;
            e->chain = b[(uint32_t)e->hash & (n - 1)];
            b[(uint32_t)e->hash & (n - 1)] = e;
        }
    free(s->buckets);
    s->buckets = b;
    s->mask = n - 1;
}

static bool same_vary_names(const struct tg_cache_entry *a, const struct tg_cache_entry *b)
{
    return a->vary_len == b->vary_len &&
           memcmp(tg_cache__vary(a), tg_cache__vary(b), a->vary_len) == 0;
}

static bool same_variant(const struct tg_cache_entry *a, const struct tg_cache_entry *b)
{
    return same_vary_names(a, b) && a->vals_len == b->vals_len &&
           memcmp(tg_cache__vals(a), tg_cache__vals(b), a->vals_len) == 0;
}

/* Takes `v` out of a variant list being rebuilt by link (its `vnext` is handled there). */
static void drop_variant(struct tg_cache_stripe *s, struct tg_cache_entry *v,
                         struct tg_cache_entry **dead)
{
    lru_remove(s, v);
    v->chain = v->vnext = NULL;
    v->next = *dead;
    *dead = v;
    atomic_fetch_sub_explicit(&s->entries, 1, memory_order_relaxed);
}

void tg_cache__link(struct tg_cache *c, struct tg_cache_stripe *s, struct tg_cache_entry *e,
                    struct tg_cache_entry **dead)
{
    struct tg_cache_entry **link = bucket(s, e->hash);
    while (*link && !same_key(*link, e))
        link = &(*link)->chain;
    struct tg_cache_entry *old = *link, *keep = NULL, **tail = &keep;
    unsigned kept = 0;
    if (old)
        *link = old->chain;
    else
        s->nkeys++;
    /* Survivors: same Vary names (an origin that changed its Vary obsoletes the rest),
     * another variant, and room under TG_CACHE_MAX_VARIANTS (the oldest go). */
    for (struct tg_cache_entry *v = old, *next; v; v = next) {
        next = v->vnext;
        if (!same_vary_names(v, e) || same_variant(v, e) || kept + 1 >= TG_CACHE_MAX_VARIANTS) {
            drop_variant(s, v, dead);
            continue;
        }
        v->vnext = NULL;
        v->chain = NULL;
        *tail = v;
        tail = &v->vnext;
        kept++;
    }
    e->vnext = keep;
    e->chain = *link;
    *link = e;
    lru_push(s, e);
    publish_tail(c, s);
    atomic_fetch_add_explicit(&s->entries, 1, memory_order_relaxed);
    maybe_grow(s);
}

/* ---- references and the budget ------------------------------------------------------- */

void tg_cache__allocated(struct tg_cache *c, ptrdiff_t n)
{
    size_t now =
        atomic_fetch_add_explicit(&c->allocated, (size_t)n, memory_order_relaxed) + (size_t)n;
    if (n <= 0)
        return;
    size_t peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak_explicit(
                             &c->peak, &peak, now, memory_order_relaxed, memory_order_relaxed))
        ;
}

void tg_cache__put(struct tg_cache *c, struct tg_cache_entry *e)
{
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
        return;
    size_t cost = e->cost;
    free(e);
    tg_cache__allocated(c, -(ptrdiff_t)cost);
    tg_cache__unreserve(c, cost);
}

void tg_cache__put_list(struct tg_cache *c, struct tg_cache_entry *list)
{
    while (list) {
        struct tg_cache_entry *next = list->next;
        list->next = NULL;
        tg_cache__put(c, list);
        list = next;
    }
}

void tg_cache__unreserve(struct tg_cache *c, size_t n)
{
    atomic_fetch_sub_explicit(&c->bytes, n, memory_order_relaxed);
}

bool tg_cache__evict_one(struct tg_cache *c)
{
    /* A stripe found empty on locking (another thread evicted there first) sends us
     * back to the scan; a few rounds are enough, since only inserts evict. */
    for (int round = 0; round < 8; round++) {
        int best = -1;
        int64_t best_t = INT64_MAX;
        for (int i = 0; i < TG_CACHE_STRIPES; i++) {
            int64_t t = atomic_load_explicit(&c->tail_used_us[i], memory_order_relaxed);
            if (t < best_t) {
                best_t = t;
                best = i;
            }
        }
        if (best < 0)
            return false;
        struct tg_cache_stripe *s = &c->stripes[best];
        pthread_mutex_lock(&s->lock);
        struct tg_cache_entry *v = s->lru_tail;
        if (v) {
            tg_cache__unlink(c, s, v);
            tg_cache__count(&s->evictions, 1);
        }
        pthread_mutex_unlock(&s->lock);
        if (v) {
            tg_cache__put(c, v);
            return true;
        }
    }
    return false;
}

int tg_cache__reserve(struct tg_cache *c, size_t n)
{
    size_t max = atomic_load_explicit(&c->max_bytes, memory_order_relaxed);
    if (n > max)
        return -ENOMEM;
    size_t now = atomic_fetch_add_explicit(&c->bytes, n, memory_order_relaxed) + n;
    while (now > max) {
        if (!tg_cache__evict_one(c)) {
            tg_cache__unreserve(c, n);
            return -ENOMEM;
        }
        now = atomic_load_explicit(&c->bytes, memory_order_relaxed);
    }
    return 0;
}

/* ---- life cycle ------------------------------------------------------------------------ */

static bool limits_ok(const struct tg_cache_limits *lim)
{
    return lim->max_bytes > 0 && lim->max_object_bytes > sizeof(struct tg_cache_entry) &&
           lim->max_object_bytes <= lim->max_bytes;
}

int tg_cache_new(const struct tg_cache_limits *lim, uint64_t seed, struct tg_cache **out)
{
    *out = NULL;
    if (!limits_ok(lim))
        return -EINVAL;
    size_t size = (sizeof(struct tg_cache) + 63) / 64 * 64;
    struct tg_cache *c = aligned_alloc(64, size);
    if (!c)
        return -ENOMEM;
    memset(c, 0, size);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    int i = 0;
    for (; i < TG_CACHE_STRIPES; i++) {
        struct tg_cache_stripe *s = &c->stripes[i];
        s->buckets = calloc(INITIAL_BUCKETS, sizeof *s->buckets);
        if (!s->buckets || pthread_mutex_init(&s->lock, &attr) != 0)
            break;
        s->mask = INITIAL_BUCKETS - 1;
        atomic_init(&s->purge_gen, 1);
        atomic_init(&c->tail_used_us[i], INT64_MAX);
    }
    pthread_mutexattr_destroy(&attr);
    if (i < TG_CACHE_STRIPES) {
        for (int k = 0; k <= i && k < TG_CACHE_STRIPES; k++) {
            free(c->stripes[k].buckets);
            if (k < i)
                pthread_mutex_destroy(&c->stripes[k].lock);
        }
        free(c);
        return -ENOMEM;
    }
    c->seed = seed;
    atomic_init(&c->max_bytes, lim->max_bytes);
    atomic_init(&c->max_object, lim->max_object_bytes);
    *out = c;
    return 0;
}

void tg_cache_free(struct tg_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < TG_CACHE_STRIPES; i++) {
        struct tg_cache_stripe *s = &c->stripes[i];
        for (struct tg_cache_entry *e = s->lru_head, *next; e; e = next) {
            next = e->next;
            free(e);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(c);
}

int tg_cache_set_limits(struct tg_cache *c, const struct tg_cache_limits *lim)
{
    if (!limits_ok(lim))
        return -EINVAL;
    atomic_store_explicit(&c->max_object, lim->max_object_bytes, memory_order_relaxed);
    atomic_store_explicit(&c->max_bytes, lim->max_bytes, memory_order_relaxed);
    while (atomic_load_explicit(&c->bytes, memory_order_relaxed) > lim->max_bytes &&
           tg_cache__evict_one(c))
        ;
    return 0;
}

/* ---- lookups --------------------------------------------------------------------------- */

static struct tg_cache_stripe *stripe_of(struct tg_cache *c, const struct tg_cache_req *rq,
                                         uint64_t *hash)
{
    *hash = tg_cache__hash(c, rq->path, rq->path_len, rq->query, rq->query_len);
    return tg_cache__stripe(c, *hash);
}

/* Finds the request's entry in its stripe, which is left locked. */
static struct tg_cache_entry *find_locked(struct tg_cache *c, const struct tg_cache_req *rq,
                                          struct tg_cache_stripe **sp)
{
    uint64_t h;
    struct tg_cache_stripe *s = stripe_of(c, rq, &h);
    pthread_mutex_lock(&s->lock);
    *sp = s;
    struct tg_cache_entry *head =
        tg_cache__find_key(s, h, rq->path, rq->path_len, rq->query, rq->query_len);
    return head ? tg_cache__match(head, rq) : NULL;
}

/* Takes a reference for a hit and marks the use (stripe locked). */
static void give(struct tg_cache *c, struct tg_cache_stripe *s, struct tg_cache_entry *e,
                 const struct tg_cache_freshness *f, int64_t now_us, struct tg_cache_hit *hit)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    touch(c, s, e, now_us);
    hit->entry = e;
    hit->age_us = f->age_us;
    hit->stale = f->age_us >= f->lifetime_us;
    if (hit->stale)
        tg_cache__count(&s->stale, 1);
}

enum tg_cache_verdict tg_cache_lookup(struct tg_cache *c, const struct tg_cache_req *rq,
                                      const struct tg_cache_rule *rule, int64_t now_us,
                                      struct tg_cache_hit *hit)
{
    *hit = (struct tg_cache_hit){0};
    struct tg_cache_req_facts rf;
    tg_cache_req_facts(rq->fields, rq->nfields, &rf);
    enum tg_cache_verdict miss =
        rq->head || (rf.cc.flags & TG_CACHE_CC_NO_STORE) ? TG_CACHE_PASS : TG_CACHE_MISS;
    struct tg_cache_stripe *s;
    if (!rule->serve) {
        uint64_t h;
        s = stripe_of(c, rq, &h);
        hit->purge_gen = atomic_load_explicit(&s->purge_gen, memory_order_relaxed);
        return miss;
    }
    struct tg_cache_entry *e = find_locked(c, rq, &s);
    hit->purge_gen = atomic_load_explicit(&s->purge_gen, memory_order_relaxed);
    struct tg_cache_freshness f;
    enum tg_cache_use use = TG_CACHE_USE_NO;
    if (e) {
        tg_cache__freshness(e, rule, now_us, &f);
        use = tg_cache_usable(&f, &rf.cc);
    }
    if (use != TG_CACHE_USE_NO) {
        give(c, s, e, &f, now_us, hit);
        tg_cache__count(&s->hits, 1);
    } else
        tg_cache__count(&s->misses, 1);
    pthread_mutex_unlock(&s->lock);
    if (use != TG_CACHE_USE_NO)
        return TG_CACHE_HIT;
    return rf.cc.flags & TG_CACHE_CC_ONLY_IF_CACHED ? TG_CACHE_UNSATISFIABLE : miss;
}

bool tg_cache_lookup_stale(struct tg_cache *c, const struct tg_cache_req *rq,
                           const struct tg_cache_rule *rule, int64_t now_us,
                           struct tg_cache_hit *hit)
{
    *hit = (struct tg_cache_hit){0};
    struct tg_cache_req_facts rf;
    tg_cache_req_facts(rq->fields, rq->nfields, &rf);
    struct tg_cache_stripe *s;
    struct tg_cache_entry *e = find_locked(c, rq, &s);
    struct tg_cache_freshness f;
    bool ok = false;
    if (e) {
        tg_cache__freshness(e, rule, now_us, &f);
        ok = tg_cache_fallback_usable(&f, &rf.cc, rule->fallback_max_age_us);
    }
    if (ok) {
        give(c, s, e, &f, now_us, hit);
        tg_cache__count(&s->fallback, 1);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

void tg_cache_release(struct tg_cache *c, struct tg_cache_entry *e)
{
    if (e)
        tg_cache__put(c, e);
}

int tg_cache_entry_status(const struct tg_cache_entry *e)
{
    return e->status;
}

const char *tg_cache_entry_head(const struct tg_cache_entry *e, size_t *len)
{
    *len = e->head_len;
    return tg_cache__head((struct tg_cache_entry *)e);
}

const char *tg_cache_entry_body(const struct tg_cache_entry *e, size_t *len)
{
    *len = e->body_len;
    return tg_cache__body((struct tg_cache_entry *)e);
}

/* ---- counters -------------------------------------------------------------------------- */

static uint64_t ld(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void tg_cache_stats(const struct tg_cache *c, struct tg_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < TG_CACHE_STRIPES; i++) {
        const struct tg_cache_stripe *s = &c->stripes[i];
        out->hits += ld(&s->hits);
        out->misses += ld(&s->misses);
        out->stale_served += ld(&s->stale);
        out->fallback_served += ld(&s->fallback);
        out->stores += ld(&s->stores);
        out->evictions += ld(&s->evictions);
        out->expired += ld(&s->expired);
        out->purged += ld(&s->purged);
        out->entries += ld(&s->entries);
    }
    for (int d = 0; d < TG_CACHE_DECLINE__COUNT; d++)
        out->declined[d] = ld(&c->declined[d]);
    out->bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
    out->bytes_peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
    out->max_bytes = atomic_load_explicit(&c->max_bytes, memory_order_relaxed);
    out->max_object_bytes = atomic_load_explicit(&c->max_object, memory_order_relaxed);
}
