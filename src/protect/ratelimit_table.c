/* SPDX-License-Identifier: MIT */
/* The per-key rate-limit table (design in ratelimit.h): open addressing over 16-byte
 * entries, each a key's 64-bit hash (`fp`, 0 when never used) and its state word (a
 * 16-bit owner tag and a 48-bit value). A key lives in one of the 8 entries of the
 * 128-byte block its hash points at, so a lookup touches two cache lines. Entries are
 * never freed, only taken over; a worker decides with compare-and-swap on the state word
 * and takes an entry over with compare-and-swap on its hash. Used by ratelimit.c only.
 *
 * Why a user of an entry cannot act on someone else's state: it loads the state word,
 * then checks that the entry still holds its hash, then exchanges the state word against
 * the value it loaded. A worker that takes the entry over for another key first changes
 * the hash, then stores a fresh state word. So the user either sees the new hash (and
 * looks again) or loaded the state before the fresh store, and then its exchange fails
 * and its retry sees the new hash. The tag in the state word also carries the rule's
 * parameter generation, so a change that voids all state (ratelimit.c) voids every entry
 * at once without touching them. */
#include "protect/ratelimit_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#define WAYS 8     /* entries a key may live in */
#define ATTEMPTS 4 /* lookups before a decision gives up on the table */
#define ALIGN 128  /* WAYS entries: two cache lines */

struct entry {
    _Atomic uint64_t fp;
    _Atomic uint64_t st;
};

struct tg_ratelimit__table {
    size_t mask;
    struct entry *e;
    void *mem;
    _Atomic uint64_t used, evictions, evictions_live;
};

int tg_ratelimit__table_new(size_t capacity, struct tg_ratelimit__table **out)
{
    size_t n = 64;
    while (n < capacity && n < ((size_t)1 << 40))
        n <<= 1;
    struct tg_ratelimit__table *t = calloc(1, sizeof *t);
    /* calloc, not aligned_alloc + memset: a big table comes from fresh zero pages that
     * only take memory once keys land in them. */
    void *mem = calloc(1, n * sizeof(struct entry) + ALIGN);
    if (!t || !mem) {
        free(t);
        free(mem);
        return -ENOMEM;
    }
    t->mem = mem;
    t->e = (struct entry *)(((uintptr_t)mem + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
    t->mask = n - 1;
    *out = t;
    return 0;
}

void tg_ratelimit__table_free(struct tg_ratelimit__table *t)
{
    if (!t)
        return;
    free(t->mem);
    free(t);
}

static uint64_t tag_of(uint64_t fp, unsigned gen)
{
    return ((fp >> 48) ^ (uint64_t)(gen & 15) * 0x1111u) & 0xffff;
}

static struct entry *block(const struct tg_ratelimit__table *t, uint64_t fp)
{
    return &t->e[fp & t->mask & ~(uint64_t)(WAYS - 1)];
}

static struct entry *find(const struct tg_ratelimit__table *t, uint64_t fp)
{
    struct entry *b = block(t, fp);
    for (int i = 0; i < WAYS; i++)
        if (atomic_load_explicit(&b[i].fp, memory_order_acquire) == fp)
            return &b[i];
    return NULL;
}

/* How much the entry holding `f` would lose if taken over: 0 never used, 1 expired (or
 * of an older parameter generation), more for live state. */
static uint64_t rank(const struct entry *e, uint64_t f, const struct tg_ratelimit__p *p,
                     unsigned gen, int64_t now_us)
{
    if (!f)
        return 0;
    uint64_t s = atomic_load_explicit(&((struct entry *)e)->st, memory_order_relaxed);
    if (s >> 48 != tag_of(f, gen))
        return 1;
    return 1 + tg_ratelimit__weight(p, s & TG_RATELIMIT__V48, now_us);
}

/* Takes an entry of the key's block for `fp`: a never-used one, else an expired one, else
 * the live one with the least to lose. NULL if another worker changed it first. */
static struct entry *claim(struct tg_ratelimit__table *t, const struct tg_ratelimit__p *p,
                           unsigned gen, uint64_t fp, int64_t now_us)
{
    struct entry *b = block(t, fp), *victim = NULL;
    uint64_t vf = 0, best = UINT64_MAX;
    for (int i = 0; i < WAYS && best; i++) {
        uint64_t f = atomic_load_explicit(&b[i].fp, memory_order_acquire);
        if (f == fp)
            return &b[i];
        uint64_t r = rank(&b[i], f, p, gen, now_us);
        if (r < best) {
            best = r;
            victim = &b[i];
            vf = f;
        }
    }
    if (!atomic_compare_exchange_strong_explicit(&victim->fp, &vf, fp, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return NULL;
    atomic_store_explicit(&victim->st, tag_of(fp, gen) << 48, memory_order_release);
    if (best == 0) {
        atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&t->evictions, 1, memory_order_relaxed);
        if (best > 1)
            atomic_fetch_add_explicit(&t->evictions_live, 1, memory_order_relaxed);
    }
    return victim;
}

/* Decides on entry `e` for `fp`: 1 accepted, 0 limited, -1 the entry went to another key. */
static int use(struct entry *e, const struct tg_ratelimit__p *p, unsigned gen, uint64_t fp,
               int64_t now_us, struct tg_ratelimit_verdict *v)
{
    uint64_t tag = tag_of(fp, gen) << 48;
    uint64_t s = atomic_load_explicit(&e->st, memory_order_acquire), next;
    for (;;) {
        if (atomic_load_explicit(&e->fp, memory_order_acquire) != fp)
            return -1;
        uint64_t old = (s & ~TG_RATELIMIT__V48) == tag ? s & TG_RATELIMIT__V48 : 0;
        if (!tg_ratelimit__decide(p, old, true, now_us, &next, v)) {
            v->limited = true;
            return 0;
        }
        if (atomic_compare_exchange_weak_explicit(&e->st, &s, tag | next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 1;
    }
}

bool tg_ratelimit__table_take(struct tg_ratelimit__table *t, const struct tg_ratelimit__p *p,
                              unsigned gen, uint64_t fp, int64_t now_us,
                              struct tg_ratelimit_verdict *v)
{
    for (int a = 0; a < ATTEMPTS; a++) {
        struct entry *e = find(t, fp);
        if (!e && !(e = claim(t, p, gen, fp, now_us)))
            continue;
        if (use(e, p, gen, fp, now_us, v) >= 0)
            return true;
    }
    return false;
}

void tg_ratelimit__table_stats(const struct tg_ratelimit__table *t, struct tg_ratelimit_stats *out)
{
    struct tg_ratelimit__table *m = (struct tg_ratelimit__table *)t;
    out->capacity = t->mask + 1;
    out->used = (size_t)atomic_load_explicit(&m->used, memory_order_relaxed);
    out->evictions_total = atomic_load_explicit(&m->evictions, memory_order_relaxed);
    out->evictions_live_total = atomic_load_explicit(&m->evictions_live, memory_order_relaxed);
    out->bytes += sizeof *t + (t->mask + 1) * sizeof(struct entry) + ALIGN;
}

size_t tg_ratelimit__table_live(const struct tg_ratelimit__table *t,
                                const struct tg_ratelimit__p *p, unsigned gen, int64_t now_us)
{
    size_t live = 0;
    for (size_t i = 0; i <= t->mask; i++) {
        uint64_t f = atomic_load_explicit(&t->e[i].fp, memory_order_relaxed);
        live += rank(&t->e[i], f, p, gen, now_us) > 1;
    }
    return live;
}
