/* SPDX-License-Identifier: MIT */
/* Bounded endpoint registry; see endpoints.h. The table has a power-of-two number of
 * slots, at least twice the bound, so probes stay short and a lookup of an unknown name
 * always meets an empty slot. A slot holds an id (0 = empty); names live in a flat
 * array indexed by id and are written before the slot's id is stored (release), so a
 * reader that sees the id (acquire) sees the whole name. */
#include "proxy/endpoints.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tg_endpoints {
    uint32_t max;
    uint32_t mask;
    atomic_uint count;
    atomic_bool full;
    pthread_mutex_t lock; /* serialises inserts only */
    _Atomic uint32_t *slots;
    char (*names)[TG_ENDPOINT_NAME_MAX];
};

int tg_endpoints_new(uint32_t max, struct tg_endpoints **out)
{
    struct tg_endpoints *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    uint32_t nslots = 16;
    while (nslots < 2 * max + 2)
        nslots *= 2;
    e->max = max;
    e->mask = nslots - 1;
    e->slots = calloc(nslots, sizeof *e->slots);
    e->names = calloc((size_t)max + 1, sizeof *e->names);
    if (!e->slots || !e->names) {
        tg_endpoints_free(e);
        return -ENOMEM;
    }
    pthread_mutex_init(&e->lock, NULL);
    strcpy(e->names[TG_ENDPOINT_OTHER], "other");
    *out = e;
    return 0;
}

void tg_endpoints_free(struct tg_endpoints *e)
{
    if (!e)
        return;
    if (e->slots && e->names)
        pthread_mutex_destroy(&e->lock);
    free(e->slots);
    free(e->names);
    free(e);
}

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a: short keys, no need for more */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Returns the slot index holding `name`, or the empty slot where it would go. */
static uint32_t probe(const struct tg_endpoints *e, const char *name, size_t len, uint32_t *id)
{
    uint32_t i = hash(name, len) & e->mask;
    for (;;) {
        uint32_t v = atomic_load_explicit(&e->slots[i], memory_order_acquire);
        if (v == 0 || (strncmp(e->names[v], name, len) == 0 && e->names[v][len] == '\0')) {
            *id = v;
            return i;
        }
        i = (i + 1) & e->mask;
    }
}

uint32_t tg_endpoints_find(const struct tg_endpoints *e, const char *name, size_t len)
{
    if (len >= TG_ENDPOINT_NAME_MAX)
        len = TG_ENDPOINT_NAME_MAX - 1;
    uint32_t id;
    probe(e, name, len, &id);
    return id;
}

uint32_t tg_endpoints_intern(struct tg_endpoints *e, const char *name, size_t len)
{
    if (len >= TG_ENDPOINT_NAME_MAX)
        len = TG_ENDPOINT_NAME_MAX - 1;
    uint32_t id;
    /* "other" is id 0 already: a route or path of that name must not become a second
     * series with the same label value. */
    if (len == 5 && memcmp(name, "other", 5) == 0)
        return TG_ENDPOINT_OTHER;
    probe(e, name, len, &id);
    if (id || atomic_load_explicit(&e->full, memory_order_relaxed))
        return id;
    pthread_mutex_lock(&e->lock);
    uint32_t slot = probe(e, name, len, &id); /* another thread may have added it */
    if (!id) {
        uint32_t n = atomic_load_explicit(&e->count, memory_order_relaxed);
        if (n >= e->max) {
            atomic_store_explicit(&e->full, true, memory_order_relaxed);
        } else {
            id = n + 1;
            memcpy(e->names[id], name, len);
            e->names[id][len] = '\0';
            atomic_store_explicit(&e->count, id, memory_order_release);
            atomic_store_explicit(&e->slots[slot], id, memory_order_release);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return id;
}

const char *tg_endpoints_name(const struct tg_endpoints *e, uint32_t id)
{
    if (id > atomic_load_explicit(&e->count, memory_order_acquire))
        return e->names[TG_ENDPOINT_OTHER];
    return e->names[id];
}

uint32_t tg_endpoints_count(const struct tg_endpoints *e)
{
    return atomic_load_explicit(&e->count, memory_order_acquire);
}
