/* SPDX-License-Identifier: MIT */
/* Trace ring; see trace.h. Each slot is a seqlocked record (core/seqlock.h). */
#include "metrics/trace.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/seqlock.h"

#define WORDS TG_SEQ_WORDS(struct tg_reqtrace)

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
    tg_seq_store(&s->seq, s->w, WORDS, t, sizeof *t);
    atomic_store_explicit(&r->next, n + 1, memory_order_release);
}

void tg_tracering_each(const struct tg_tracering *r, tg_tracering_fn *fn, void *ctx)
{
    uint64_t next = atomic_load_explicit(&r->next, memory_order_acquire);
    uint64_t count = next < (uint64_t)r->mask + 1 ? next : (uint64_t)r->mask + 1;
    for (uint64_t k = 1; k <= count; k++) {
        const struct slot *s = &r->slots[(next - k) & r->mask];
        struct tg_reqtrace t;
        if (tg_seq_load(&s->seq, s->w, WORDS, &t, sizeof t))
            fn(&t, ctx);
    }
}
