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

#define WORDS ((sizeof(struct tg_active_entry) + 7) / 8)

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
    unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    uint64_t words[WORDS] = {0};
    memcpy(words, e, sizeof *e);
    for (size_t i = 0; i < WORDS; i++)
        atomic_store_explicit(&s->w[i], words[i], memory_order_relaxed);
    atomic_store_explicit(&s->live, true, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
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
        unsigned before = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (before & 1)
            continue;
        uint64_t words[WORDS];
        for (size_t k = 0; k < WORDS; k++)
            words[k] = atomic_load_explicit(&s->w[k], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != before ||
            !atomic_load_explicit(&s->live, memory_order_relaxed))
            continue;
        struct tg_active_entry e;
        memcpy(&e, words, sizeof e);
        fn(&e, ctx);
    }
}
