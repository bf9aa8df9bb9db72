/* SPDX-License-Identifier: MIT */
/* Bounded endpoint registry; see endpoints.h. The table has a power-of-two number of
 * slots, at least twice the bound. A slot holds an id, 0 (empty) or a tombstone (a
 * removed name); names live in a flat array indexed by id and are written before the
 * slot's id is stored (release), so a reader that sees the id (acquire) sees the whole
 * name. A lookup walks from the name's hash to an empty slot, stepping over tombstones;
 * an insert takes the first tombstone on that walk, else the empty slot.
 *
 * Why lookups always end: at most `max` names (fewer than half the slots) are in the
 * table, and a removal that would make tombstones more than a quarter of the slots builds
 * a fresh table instead (only tombstone-free), so at least a quarter of the slots are
 * always empty. A reader that loaded the old table pointer keeps walking the old table,
 * which no one changes any more; it is freed by tg_endpoints_reclaim after the caller's
 * grace period, like the ids removed with it. */
#include "proxy/endpoints.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY 0u
#define TOMB UINT32_MAX

struct table {
    uint32_t mask;
    uint32_t tombs;     /* under the lock */
    struct table *next; /* on the replaced list */
    _Atomic uint32_t slots[];
};

struct tg_endpoints {
    uint32_t max;
    uint32_t nslots;
    atomic_uint used;     /* ids not free: live, pinned and retiring */
    atomic_bool full;     /* no id left: lets lookups of new names skip the mutex */
    pthread_mutex_t lock; /* serialises changes: add, remove, release, reclaim */
    _Atomic(struct table *) table;
    struct table *replaced; /* under the lock: freed by tg_endpoints_reclaim */
    char (*names)[TG_ENDPOINT_NAME_MAX];
    _Atomic(uint8_t) *state; /* enum tg_endpoint_state per id, written under the lock */
    _Atomic(uint32_t) *gen;  /* per id, bumped at release */
    uint32_t *free_ids;      /* under the lock: released ids, reused first */
    uint32_t nfree, hi;      /* under the lock: ids 1..hi have been handed out */
    _Atomic(uint64_t) *seen; /* probation: (hash tag << 32) | second of first sighting */
};

static struct table *table_new(uint32_t nslots)
{
    struct table *t = calloc(1, sizeof *t + nslots * sizeof t->slots[0]);
    if (t)
        t->mask = nslots - 1;
    return t;
}

int tg_endpoints_new(uint32_t max, struct tg_endpoints **out)
{
    struct tg_endpoints *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    pthread_mutex_init(&e->lock, NULL);
    uint32_t nslots = 16;
    while (nslots < 2 * max + 2)
        nslots *= 2;
    e->max = max;
    e->nslots = nslots;
    struct table *t = table_new(nslots);
    atomic_init(&e->table, t);
    e->names = calloc((size_t)max + 1, sizeof *e->names);
    e->state = calloc((size_t)max + 1, sizeof *e->state);
    e->gen = calloc((size_t)max + 1, sizeof *e->gen);
    e->free_ids = calloc((size_t)max + 1, sizeof *e->free_ids);
    e->seen = calloc(TG_ENDPOINT_PROBATION_SLOTS, sizeof *e->seen);
    if (!t || !e->names || !e->state || !e->gen || !e->free_ids || !e->seen) {
        tg_endpoints_free(e);
        return -ENOMEM;
    }
    strcpy(e->names[TG_ENDPOINT_OTHER], "other");
    atomic_init(&e->state[TG_ENDPOINT_OTHER], TG_ENDPOINT_PINNED);
    *out = e;
    return 0;
}

void tg_endpoints_free(struct tg_endpoints *e)
{
    if (!e)
        return;
    pthread_mutex_destroy(&e->lock);
    free(atomic_load(&e->table));
    while (e->replaced) {
        struct table *t = e->replaced;
        e->replaced = t->next;
        free(t);
    }
    free(e->names);
    free(e->state);
    free(e->gen);
    free(e->free_ids);
    free(e->seen);
    free(e);
}

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a: short keys, no need for more */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

static bool name_is(const struct tg_endpoints *e, uint32_t id, const char *name, size_t len)
{
    return strncmp(e->names[id], name, len) == 0 && e->names[id][len] == '\0';
}

/* Walks `t` for `name`: sets *id (0 when absent) and returns the slot holding it, or
 * where it would go (the first tombstone passed, else the empty slot that ended the
 * walk). */
static uint32_t probe(const struct tg_endpoints *e, const struct table *t, const char *name,
                      size_t len, uint64_t h, uint32_t *id)
{
    uint32_t i = (uint32_t)h & t->mask, tomb = TOMB;
    for (;;) {
        uint32_t v = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (v == EMPTY) {
            *id = 0;
            return tomb != TOMB ? tomb : i;
        }
        if (v == TOMB) {
            if (tomb == TOMB)
                tomb = i;
        } else if (name_is(e, v, name, len)) {
            *id = v;
            return i;
        }
        i = (i + 1) & t->mask;
    }
}

static uint32_t lookup(const struct tg_endpoints *e, const char *name, size_t len, uint64_t h)
{
    uint32_t id;
    probe(e, atomic_load_explicit(&e->table, memory_order_acquire), name, len, h, &id);
    return id;
}

static size_t cut(size_t len)
{
    return len >= TG_ENDPOINT_NAME_MAX ? TG_ENDPOINT_NAME_MAX - 1 : len;
}

static bool is_other(const char *name, size_t len)
{
    return len == 5 && memcmp(name, "other", 5) == 0;
}

/* Under the lock: a free id, released ones first, or 0 when all `max` are taken. */
static uint32_t take_id(struct tg_endpoints *e)
{
    if (e->nfree)
        return e->free_ids[--e->nfree];
    return e->hi < e->max ? ++e->hi : 0;
}

/* Adds `name` (or finds it, another thread may have added it) under the lock; `pin`
 * makes it, new or not, never removable. */
static uint32_t add(struct tg_endpoints *e, const char *name, size_t len, uint64_t h, bool pin)
{
    pthread_mutex_lock(&e->lock);
    struct table *t = atomic_load_explicit(&e->table, memory_order_relaxed);
    uint32_t id, slot = probe(e, t, name, len, h, &id);
    if (!id && (id = take_id(e)) == 0) {
        atomic_store_explicit(&e->full, true, memory_order_relaxed);
    } else if (atomic_load_explicit(&e->state[id], memory_order_relaxed) == TG_ENDPOINT_FREE) {
        memcpy(e->names[id], name, len);
        e->names[id][len] = '\0';
        atomic_store_explicit(&e->state[id], pin ? TG_ENDPOINT_PINNED : TG_ENDPOINT_LIVE,
                              memory_order_relaxed);
        if (atomic_load_explicit(&t->slots[slot], memory_order_relaxed) == TOMB)
            t->tombs--;
        atomic_store_explicit(&t->slots[slot], id, memory_order_release);
        atomic_fetch_add_explicit(&e->used, 1, memory_order_relaxed);
    } else if (pin) {
        atomic_store_explicit(&e->state[id], TG_ENDPOINT_PINNED, memory_order_relaxed);
    }
    pthread_mutex_unlock(&e->lock);
    return id;
}

uint32_t tg_endpoints_intern(struct tg_endpoints *e, const char *name, size_t len)
{
    len = cut(len);
    /* "other" is id 0 already: a route or path of that name must not become a second
     * series with the same label value. */
    if (is_other(name, len))
        return TG_ENDPOINT_OTHER;
    uint64_t h = hash(name, len);
    uint32_t id = lookup(e, name, len, h);
    if (id || atomic_load_explicit(&e->full, memory_order_relaxed))
        return id;
    return add(e, name, len, h, false);
}

uint32_t tg_endpoints_intern_pinned(struct tg_endpoints *e, const char *name, size_t len)
{
    len = cut(len);
    if (is_other(name, len))
        return TG_ENDPOINT_OTHER;
    return add(e, name, len, hash(name, len), true);
}

uint32_t tg_endpoints_admit(struct tg_endpoints *e, const char *name, size_t len, int64_t now_s,
                            int64_t window_s)
{
    len = cut(len);
    if (is_other(name, len))
        return TG_ENDPOINT_OTHER;
    uint64_t h = hash(name, len);
    uint32_t id = lookup(e, name, len, h);
    if (id || atomic_load_explicit(&e->full, memory_order_relaxed))
        return id;
    /* The slot comes from the hash's high bits and the tag from its low ones, so names
     * sharing a slot rarely share a tag. Racing workers may overwrite each other's
     * sighting: the name then just needs one more. */
    _Atomic(uint64_t) *seen = &e->seen[(h >> 32) & (TG_ENDPOINT_PROBATION_SLOTS - 1)];
    uint64_t tag = (uint32_t)h | 1u, v = atomic_load_explicit(seen, memory_order_relaxed);
    uint32_t age_s = (uint32_t)now_s - (uint32_t)v;
    if (v >> 32 == tag && age_s <= (uint64_t)window_s)
        return add(e, name, len, h, false);
    atomic_store_explicit(seen, tag << 32 | (uint32_t)now_s, memory_order_relaxed);
    return TG_ENDPOINT_OTHER;
}

uint32_t tg_endpoints_find(const struct tg_endpoints *e, const char *name, size_t len)
{
    len = cut(len);
    return lookup(e, name, len, hash(name, len));
}

const char *tg_endpoints_name(const struct tg_endpoints *e, uint32_t id)
{
    return e->names[id <= e->max ? id : TG_ENDPOINT_OTHER];
}

uint32_t tg_endpoints_gen(const struct tg_endpoints *e, uint32_t id)
{
    return id <= e->max ? atomic_load_explicit(&e->gen[id], memory_order_relaxed) : 0;
}

uint32_t tg_endpoints_count(const struct tg_endpoints *e)
{
    return atomic_load_explicit(&e->used, memory_order_relaxed);
}

enum tg_endpoint_state tg_endpoints_state(const struct tg_endpoints *e, uint32_t id)
{
    if (id > e->max)
        return TG_ENDPOINT_FREE;
    return (enum tg_endpoint_state)atomic_load_explicit(&e->state[id], memory_order_relaxed);
}

/* Under the lock: a fresh table with every name lookups find except `skip`'s, published
 * in place of the current one (which goes on the replaced list). */
static int rebuild(struct tg_endpoints *e, uint32_t skip)
{
    struct table *t = table_new(e->nslots);
    if (!t)
        return -ENOMEM;
    for (uint32_t id = 1; id <= e->hi; id++) {
        enum tg_endpoint_state st = atomic_load_explicit(&e->state[id], memory_order_relaxed);
        if (id == skip || (st != TG_ENDPOINT_LIVE && st != TG_ENDPOINT_PINNED))
            continue;
        uint32_t i = (uint32_t)hash(e->names[id], strlen(e->names[id])) & t->mask;
        while (atomic_load_explicit(&t->slots[i], memory_order_relaxed) != EMPTY)
            i = (i + 1) & t->mask;
        atomic_store_explicit(&t->slots[i], id, memory_order_relaxed);
    }
    struct table *old = atomic_load_explicit(&e->table, memory_order_relaxed);
    old->next = e->replaced;
    e->replaced = old;
    atomic_store_explicit(&e->table, t, memory_order_release);
    return 0;
}

int tg_endpoints_remove(struct tg_endpoints *e, uint32_t id)
{
    int rc = 0;
    pthread_mutex_lock(&e->lock);
    if (tg_endpoints_state(e, id) != TG_ENDPOINT_LIVE || id == TG_ENDPOINT_OTHER) {
        rc = -EINVAL;
        goto out;
    }
    struct table *t = atomic_load_explicit(&e->table, memory_order_relaxed);
    if (t->tombs + 1 > e->nslots / 4) {
        rc = rebuild(e, id);
        if (rc)
            goto out;
    } else {
        size_t len = strlen(e->names[id]);
        uint32_t found, slot = probe(e, t, e->names[id], len, hash(e->names[id], len), &found);
        atomic_store_explicit(&t->slots[slot], TOMB, memory_order_release);
        t->tombs++;
    }
    atomic_store_explicit(&e->state[id], TG_ENDPOINT_RETIRING, memory_order_relaxed);
out:
    pthread_mutex_unlock(&e->lock);
    return rc;
}

void tg_endpoints_release(struct tg_endpoints *e, uint32_t id)
{
    pthread_mutex_lock(&e->lock);
    if (tg_endpoints_state(e, id) == TG_ENDPOINT_RETIRING && id != TG_ENDPOINT_OTHER) {
        atomic_store_explicit(&e->state[id], TG_ENDPOINT_FREE, memory_order_relaxed);
        atomic_fetch_add_explicit(&e->gen[id], 1, memory_order_relaxed);
        e->free_ids[e->nfree++] = id;
        atomic_fetch_sub_explicit(&e->used, 1, memory_order_relaxed);
        atomic_store_explicit(&e->full, false, memory_order_relaxed);
    }
    pthread_mutex_unlock(&e->lock);
}

void tg_endpoints_reclaim(struct tg_endpoints *e)
{
    pthread_mutex_lock(&e->lock);
    while (e->replaced) {
        struct table *t = e->replaced;
        e->replaced = t->next;
        free(t);
    }
    pthread_mutex_unlock(&e->lock);
}
