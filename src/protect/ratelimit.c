/* SPDX-License-Identifier: MIT */
/* Rate-limit rules (ratelimit.h): parameters, the GCRA and fixed-window decisions on one
 * state word, the global cell, the keyed hash that picks a key's table entry, and the
 * response headers. The per-key table is ratelimit_table.c. */
#include "protect/ratelimit.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "protect/ratelimit_int.h"

#define SEC_US 1000000LL
#define DAY_US (24 * 3600 * SEC_US)

struct tg_ratelimit {
    enum tg_ratelimit_scope scope;
    /* What workers read, one relaxed load each: a decision that sees half of a change
     * mixes the old and new numbers for one request, which is harmless. */
    _Atomic bool enabled, dry_run;
    _Atomic unsigned algo, gen;
    _Atomic uint64_t limit, t_ns, tau_ns;
    _Atomic int64_t period_us;
    _Atomic uint64_t cell; /* GLOBAL's state */
    _Atomic uint64_t hits, contended;
    struct tg_ratelimit__table *table;
    uint64_t seed;
    struct tg_ratelimit_params p; /* control thread's copy */
};

void tg_ratelimit_params_default(struct tg_ratelimit_params *p)
{
    *p = (struct tg_ratelimit_params){
        .enabled = true,
        .algo = TG_RATELIMIT_GCRA,
        .limit = 1000,
        .period_us = 60 * SEC_US,
        .burst = 17,
    };
}

int tg_ratelimit_check_params(const struct tg_ratelimit_params *p, enum tg_ratelimit_scope scope,
                              struct tg_errbuf *eb)
{
    bool keyed = scope != TG_RATELIMIT_GLOBAL;
    const char *f = NULL;
    if (scope != TG_RATELIMIT_GLOBAL && scope != TG_RATELIMIT_CLIENT_IP &&
        scope != TG_RATELIMIT_ROUTE)
        f = "scope: must be global, client_ip or route";
    else if (p->algo != TG_RATELIMIT_GCRA && p->algo != TG_RATELIMIT_FIXED_WINDOW)
        f = "algorithm: must be gcra or fixed_window";
    else if (p->period_us < SEC_US || p->period_us > DAY_US)
        f = "period: must be 1 s .. 24 h";
    else if (p->limit < 1 || p->limit > 1000000000)
        f = "limit: must be 1 .. 1e9 requests per period";
    else if (p->algo == TG_RATELIMIT_GCRA && (p->burst < 1 || p->burst > p->limit))
        f = "burst: must be 1 .. limit";
    else if (p->algo == TG_RATELIMIT_GCRA && keyed && (uint64_t)p->period_us / p->limit < 1)
        f = "limit: at most one request per microsecond per key";
    else if (p->algo == TG_RATELIMIT_FIXED_WINDOW &&
             p->limit > (keyed ? TG_RATELIMIT_KEY_WINDOW_MAX : TG_RATELIMIT_GLOBAL_WINDOW_MAX))
        f = keyed ? "limit: at most 65535 per window per key"
                  : "limit: at most 16777215 per window";
    if (!f)
        return 0;
    return tg_errbuf_set(eb, TG_ECONFIG, "rate limit: %s", f);
}

/* ---- decisions ---------------------------------------------------------------------- */

static bool gcra(const struct tg_ratelimit__p *p, uint64_t tat_ns, uint64_t now_ns,
                 uint64_t *next_ns, struct tg_ratelimit_verdict *v)
{
    uint64_t base = tat_ns > now_ns ? tat_ns : now_ns;
    if (base - now_ns > p->tau_ns) {
        v->retry_after_us = (int64_t)((base - now_ns - p->tau_ns + 999) / 1000);
        v->remaining = 0;
        v->reset_us = (int64_t)((base - now_ns + 999) / 1000);
        return false;
    }
    *next_ns = base + p->t_ns;
    uint64_t ahead = *next_ns - now_ns; /* how far TAT runs ahead of now */
    /* Requests accepted at once from here: the k-th more is accepted while
     * ahead + (k - 1) T <= tau. */
    uint64_t more = ahead <= p->tau_ns ? (p->tau_ns - ahead) / p->t_ns + 1 : 0;
    v->remaining = more < p->limit ? more : p->limit;
    v->reset_us = (int64_t)((ahead + 999) / 1000);
    return true;
}

/* Fixed window: `id` and `count` as stored, `cur` the window of `now_us`, all modulo
 * 2^`bits`. A stored window a little ahead of `cur` (another worker's clock is ahead, or
 * this request's clock was read before a long preemption, and the next window is already
 * open) is the current one for this request too: restarting the older window would let
 * its quota through twice. Anything else that is not `cur` is an old window (or, for a
 * moment during a change of algorithm or window length, a word in another format) and
 * starts over, so a stray word can never hold a key in a far-away window. */
#define TG_RATELIMIT__LAG_WINDOWS 16
static bool fixed(const struct tg_ratelimit__p *p, uint64_t id, uint64_t count, uint64_t cur,
                  unsigned bits, int64_t now_us, uint64_t *next_id, uint64_t *next_count,
                  struct tg_ratelimit_verdict *v)
{
    uint64_t ahead = (id - cur) & ((1ull << bits) - 1);
    if (ahead > TG_RATELIMIT__LAG_WINDOWS) {
        count = 0;
        ahead = 0;
        id = cur;
    }
    int64_t end = ((now_us > 0 ? now_us : 0) / p->period_us + 1 + (int64_t)ahead) * p->period_us;
    v->reset_us = end - now_us;
    if (count >= p->limit) {
        v->retry_after_us = end - now_us;
        v->remaining = 0;
        return false;
    }
    *next_id = id;
    *next_count = count + 1;
    v->remaining = p->limit - *next_count;
    return true;
}

bool tg_ratelimit__decide(const struct tg_ratelimit__p *p, uint64_t old, bool packed48,
                          int64_t now_us, uint64_t *next, struct tg_ratelimit_verdict *v)
{
    uint64_t now = (uint64_t)(now_us > 0 ? now_us : 0);
    v->limit = p->limit;
    v->window_us = p->period_us;
    v->retry_after_us = 0;
    if (p->algo == TG_RATELIMIT_GCRA) {
        uint64_t tat_ns = packed48 ? old * 1000 : old, n;
        if (!gcra(p, tat_ns, now * 1000, &n, v))
            return false;
        /* The table keeps µs, rounded up so that rounding never admits more. */
        *next = packed48
                    ? ((n + 999) / 1000 < TG_RATELIMIT__V48 ? (n + 999) / 1000 : TG_RATELIMIT__V48)
                    : n;
        return true;
    }
    unsigned idbits = packed48 ? 32 : 40, cbits = packed48 ? 16 : 24;
    uint64_t cur = (now / (uint64_t)p->period_us) & ((1ull << idbits) - 1), id, cnt;
    /* 0 is "no state" (a stored count is at least 1), whatever window number it has. */
    uint64_t sid = old ? old >> cbits : cur;
    if (!fixed(p, sid, old & ((1ull << cbits) - 1), cur, idbits, now_us, &id, &cnt, v))
        return false;
    *next = id << cbits | cnt;
    return true;
}

uint64_t tg_ratelimit__weight(const struct tg_ratelimit__p *p, uint64_t v48, int64_t now_us)
{
    uint64_t now = (uint64_t)(now_us > 0 ? now_us : 0);
    if (p->algo == TG_RATELIMIT_GCRA)
        return v48 > now ? v48 - now : 0;
    uint64_t cur = (now / (uint64_t)p->period_us) & 0xffffffffu;
    uint64_t ahead = ((v48 >> 16) - cur) & 0xffffffffu;
    return ahead <= TG_RATELIMIT__LAG_WINDOWS ? (v48 & 0xffff) + 1 : 0; /* current or ahead */
}

static void load_params(const struct tg_ratelimit *rl, struct tg_ratelimit__p *p)
{
    struct tg_ratelimit *m = (struct tg_ratelimit *)rl;
    p->algo = (enum tg_ratelimit_algo)atomic_load_explicit(&m->algo, memory_order_relaxed);
    p->limit = atomic_load_explicit(&m->limit, memory_order_relaxed);
    p->t_ns = atomic_load_explicit(&m->t_ns, memory_order_relaxed);
    p->tau_ns = atomic_load_explicit(&m->tau_ns, memory_order_relaxed);
    p->period_us = atomic_load_explicit(&m->period_us, memory_order_relaxed);
}

static void take_global(struct tg_ratelimit *rl, const struct tg_ratelimit__p *p, int64_t now_us,
                        struct tg_ratelimit_verdict *v)
{
    uint64_t old = atomic_load_explicit(&rl->cell, memory_order_relaxed), next;
    do {
        if (!tg_ratelimit__decide(p, old, false, now_us, &next, v)) {
            v->limited = true;
            return;
        }
    } while (!atomic_compare_exchange_weak_explicit(&rl->cell, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

/* A keyed mix of the key's words (a multiply-xorshift finalizer after each), so the table
 * position and the 64-bit identity of a key cannot be predicted without the seed. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dull;
    x ^= x >> 33;
    return x;
}

static uint64_t key_hash(const struct tg_ratelimit *rl, const struct tg_ratelimit_key *key)
{
    uint64_t h = mix(rl->seed ^ 0x9e3779b97f4a7c15ull);
    if (rl->scope == TG_RATELIMIT_CLIENT_IP) {
        uint64_t a = 0, b = 0;
        for (int i = 0; i < 8; i++) {
            a = a << 8 | key->ip[i];
            b = b << 8 | key->ip[8 + i];
        }
        h = mix(h ^ a);
        h = mix(h ^ b);
    } else {
        h = mix(h ^ key->route);
    }
    return h ? h : 1;
}

bool tg_ratelimit_take(struct tg_ratelimit *rl, int64_t now_us, const struct tg_ratelimit_key *key,
                       struct tg_ratelimit_verdict *v)
{
    *v = (struct tg_ratelimit_verdict){.allow = true};
    if (!atomic_load_explicit(&rl->enabled, memory_order_relaxed))
        return true;
    struct tg_ratelimit__p p;
    load_params(rl, &p);
    if (rl->scope == TG_RATELIMIT_GLOBAL || !key) {
        take_global(rl, &p, now_us, v);
    } else {
        unsigned gen = atomic_load_explicit(&rl->gen, memory_order_relaxed);
        if (!tg_ratelimit__table_take(rl->table, &p, gen, key_hash(rl, key), now_us, v)) {
            uint64_t ignored;
            *v = (struct tg_ratelimit_verdict){.allow = true};
            tg_ratelimit__decide(&p, 0, true, now_us, &ignored, v);
            atomic_fetch_add_explicit(&rl->contended, 1, memory_order_relaxed);
        }
    }
    if (v->limited) {
        atomic_fetch_add_explicit(&rl->hits, 1, memory_order_relaxed);
        v->dry_run = atomic_load_explicit(&rl->dry_run, memory_order_relaxed);
        v->allow = v->dry_run;
    }
    return v->allow;
}

/* ---- headers ------------------------------------------------------------------------ */

static long long ceil_s(int64_t us)
{
    return us <= 0 ? 0 : (long long)((us + SEC_US - 1) / SEC_US);
}

int tg_ratelimit_format_headers(const struct tg_ratelimit_verdict *v, char *buf, size_t cap)
{
    if (!v->limit || v->dry_run)
        return 0;
    unsigned long long lim = (unsigned long long)v->limit;
    int n = snprintf(buf, cap,
                     "RateLimit-Policy: %llu;w=%lld\r\nRateLimit-Limit: %llu\r\n"
                     "RateLimit-Remaining: %llu\r\nRateLimit-Reset: %lld\r\n",
                     lim, ceil_s(v->window_us), lim, (unsigned long long)v->remaining,
                     ceil_s(v->reset_us));
    if (n >= 0 && (size_t)n < cap && !v->allow) {
        long long ra = ceil_s(v->retry_after_us);
        n += snprintf(buf + n, cap - (size_t)n, "Retry-After: %lld\r\n", ra > 0 ? ra : 1);
    }
    return n >= 0 && (size_t)n < cap ? n : TG_ELIMIT;
}

/* ---- lifecycle, parameters, reading ------------------------------------------------- */

/* Stores the numbers workers read; bumps the generation (every key starts afresh) when
 * the meaning of the stored state changes. */
static void publish(struct tg_ratelimit *rl, const struct tg_ratelimit_params *p, bool fresh)
{
    uint64_t t_ns = (uint64_t)p->period_us * 1000 / p->limit;
    if (fresh) {
        atomic_store_explicit(&rl->cell, 0, memory_order_relaxed);
        atomic_store_explicit(&rl->gen, (atomic_load(&rl->gen) + 1) & 15, memory_order_relaxed);
    }
    atomic_store_explicit(&rl->algo, p->algo, memory_order_relaxed);
    atomic_store_explicit(&rl->limit, p->limit, memory_order_relaxed);
    atomic_store_explicit(&rl->t_ns, t_ns ? t_ns : 1, memory_order_relaxed);
    atomic_store_explicit(&rl->tau_ns, (uint64_t)(p->burst ? p->burst - 1 : 0) * t_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&rl->period_us, p->period_us, memory_order_relaxed);
    atomic_store_explicit(&rl->dry_run, p->dry_run, memory_order_relaxed);
    atomic_store_explicit(&rl->enabled, p->enabled, memory_order_relaxed);
    rl->p = *p;
}

int tg_ratelimit_new(const struct tg_ratelimit_params *p, enum tg_ratelimit_scope scope,
                     size_t capacity, uint64_t seed, struct tg_errbuf *eb,
                     struct tg_ratelimit **out)
{
    *out = NULL;
    int rc = tg_ratelimit_check_params(p, scope, eb);
    if (rc)
        return rc;
    struct tg_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return -ENOMEM;
    rl->scope = scope;
    rl->seed = seed;
    if (scope != TG_RATELIMIT_GLOBAL && tg_ratelimit__table_new(capacity, &rl->table)) {
        free(rl);
        return -ENOMEM;
    }
    publish(rl, p, false);
    *out = rl;
    return 0;
}

void tg_ratelimit_free(struct tg_ratelimit *rl)
{
    if (!rl)
        return;
    tg_ratelimit__table_free(rl->table);
    free(rl);
}

int tg_ratelimit_set_params(struct tg_ratelimit *rl, const struct tg_ratelimit_params *p,
                            struct tg_errbuf *eb)
{
    int rc = tg_ratelimit_check_params(p, rl->scope, eb);
    if (rc)
        return rc;
    bool fresh = p->algo != rl->p.algo ||
                 (p->algo == TG_RATELIMIT_FIXED_WINDOW && p->period_us != rl->p.period_us);
    publish(rl, p, fresh);
    return 0;
}

void tg_ratelimit_read(const struct tg_ratelimit *rl, struct tg_ratelimit_stats *out)
{
    struct tg_ratelimit *m = (struct tg_ratelimit *)rl;
    *out = (struct tg_ratelimit_stats){
        .hits_total = atomic_load_explicit(&m->hits, memory_order_relaxed),
        .contended_total = atomic_load_explicit(&m->contended, memory_order_relaxed),
        .bytes = sizeof *rl,
    };
    if (rl->table)
        tg_ratelimit__table_stats(rl->table, out);
}

size_t tg_ratelimit_count_live(const struct tg_ratelimit *rl, int64_t now_us)
{
    if (!rl->table)
        return 0;
    struct tg_ratelimit__p p;
    load_params(rl, &p);
    unsigned gen = atomic_load_explicit(&((struct tg_ratelimit *)rl)->gen, memory_order_relaxed);
    return tg_ratelimit__table_live(rl->table, &p, gen, now_us);
}
