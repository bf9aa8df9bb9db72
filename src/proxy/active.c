/* SPDX-License-Identifier: MIT */
/* In-flight request table; see active.h. Free slots form a stack private to the writer,
 * so claiming and releasing are O(1) and touch no shared counter. A slot's sequence is
 * odd while the writer fills it; `live` says whether it holds a request. */
#include "proxy/active.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/seqlock.h"

#define WORDS TG_SEQ_WORDS(struct tg_active_entry)

struct slot {
    atomic_uint seq;
    atomic_bool live;
    _Atomic uint64_t w[WORDS];
};

struct tg_active {
    uint32_t cap;
    uint32_t nfree;
    uint32_t *free; /* writer-private stack of free slot indexes */
    struct slot *slots;
};

int tg_active_new(uint32_t cap, struct tg_active **out)
{
    struct tg_active *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->cap = cap;
    a->free = calloc(cap ? cap : 1, sizeof *a->free);
    a->slots = calloc(cap ? cap : 1, sizeof *a->slots);
    if (!a->free || !a->slots) {
        tg_active_free(a);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < cap; i++)
        a->free[i] = cap - 1 - i;
    a->nfree = cap;
    *out = a;
    return 0;
}

void tg_active_free(struct tg_active *a)
{
    if (!a)
        return;
    free(a->free);
    free(a->slots);
    free(a);
}

int tg_active_add(struct tg_active *a, const struct tg_active_entry *e)
{
    if (a->nfree == 0)
        return -1;
    uint32_t idx = a->free[--a->nfree];
    struct slot *s = &a->slots[idx];
    tg_seq_store(&s->seq, s->w, WORDS, e, sizeof *e);
    atomic_store_explicit(&s->live, true, memory_order_release);
    return (int)idx;
}

void tg_active_remove(struct tg_active *a, int idx)
{
    if (idx < 0 || (uint32_t)idx >= a->cap)
        return;
    atomic_store_explicit(&a->slots[idx].live, false, memory_order_release);
    a->free[a->nfree++] = (uint32_t)idx;
}

void tg_active_each(const struct tg_active *a, tg_active_fn *fn, void *ctx)
{
    for (uint32_t i = 0; i < a->cap; i++) {
        const struct slot *s = &a->slots[i];
        if (!atomic_load_explicit(&s->live, memory_order_acquire))
            continue;
        struct tg_active_entry e;
        if (!tg_seq_load(&s->seq, s->w, WORDS, &e, sizeof e) ||
            !atomic_load_explicit(&s->live, memory_order_acquire))
            continue;
        fn(&e, ctx);
    }
}
