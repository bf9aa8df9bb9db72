/* SPDX-License-Identifier: MIT */
/* Trace ring; see trace.h. The seqlock: the writer makes the slot's sequence odd, writes,
 * then makes it even again (release); a reader copies the slot between two acquire reads
 * of the sequence and keeps the copy only if both are the same even number. The copy
 * itself is done with relaxed atomic loads word by word (memcpy would be a data race in
 * C11 terms; the words are what makes it well-defined). */
#include "metrics/trace.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WORDS ((sizeof(struct tg_reqtrace) + 7) / 8)

struct slot {
    atomic_uint seq;
    _Atomic uint64_t w[WORDS];
};

struct tg_tracering {
    uint32_t mask;
    atomic_ullong next; /* total pushes; slot = next & mask */
    struct slot slots[];
};

int tg_tracering_new(uint32_t cap, struct tg_tracering **out)
{
    uint32_t n = 16;
    while (n < cap)
        n *= 2;
    struct tg_tracering *r = calloc(1, sizeof *r + n * sizeof(struct slot));
    if (!r)
        return -ENOMEM;
    r->mask = n - 1;
    *out = r;
    return 0;
}

void tg_tracering_free(struct tg_tracering *r)
{
    free(r);
}

void tg_tracering_push(struct tg_tracering *r, const struct tg_reqtrace *t)
{
    uint64_t n = atomic_load_explicit(&r->next, memory_order_relaxed);
    struct slot *s = &r->slots[n & r->mask];
    unsigned seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    uint64_t words[WORDS] = {0};
    memcpy(words, t, sizeof *t);
    for (size_t i = 0; i < WORDS; i++)
        atomic_store_explicit(&s->w[i], words[i], memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
    atomic_store_explicit(&r->next, n + 1, memory_order_release);
}

void tg_tracering_each(const struct tg_tracering *r, tg_tracering_fn *fn, void *ctx)
{
    uint64_t next = atomic_load_explicit(&r->next, memory_order_acquire);
    uint64_t count = next < (uint64_t)r->mask + 1 ? next : (uint64_t)r->mask + 1;
    for (uint64_t k = 1; k <= count; k++) {
        const struct slot *s = &r->slots[(next - k) & r->mask];
        unsigned before = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (before & 1 || before == 0)
            continue;
        uint64_t words[WORDS];
        for (size_t i = 0; i < WORDS; i++)
            words[i] = atomic_load_explicit(&s->w[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != before)
            continue; /* overwritten while we copied it */
        struct tg_reqtrace t;
        memcpy(&t, words, sizeof t);
        fn(&t, ctx);
    }
}
