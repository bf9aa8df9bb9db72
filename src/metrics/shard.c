/* SPDX-License-Identifier: MIT */
/* Worker metrics shards; see shard.h.
 *
 * Releasing a key slot while its writer runs. Only the writer turns keys[k] from NULL
 * into a slot (first use), only the reader turns it back into NULL (idle), and the writer
 * loads keys[k] inside its phaser critical section (between tg_hist_phaser_enter and
 * _exit), never before. The reader retires a slot in two steps:
 *   1. In collection N, after its flip F1 handed it side S, it finds the slot idle, stores
 *      NULL into keys[k] and keeps the slot on its `retired` list.
 *   2. In collection N+1, after flip F2 handed it side S', it reports the retired slot's
 *      side S' (a request may have landed there after step 1's decision) and frees it.
 * No writer can touch the slot after step 2: every writer critical section starts with an
 * atomic read-modify-write E on `enter`, and all RMWs on `enter`, flips included, are
 * totally ordered.
 *  - E after F2: F2 (release) synchronises with E (acquire; the writer's own increments
 *    continue F2's release sequence), so the NULL stored in step 1, before F2, happens
 *    before the writer's load of keys[k]. It sees NULL or a newer slot of its own.
 *  - E before F2: the writer used side S' (entered after F1) or side S (before F1). F2
 *    waited for it to leave side S', F1 for side S, and their acquire of `done` makes its
 *    writes visible. Side S was read in collection N and gets no writer between F1 and
 *    F2, so after step 2 every write through the old pointer has been reported.
 * The unit test (tests/unit/metrics/test_shard.c) runs a writer against a reader that
 * retires slots as fast as it can, under ASan, and checks no request is lost or
 * counted twice. */
#include "metrics/shard.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct key_slot {
    struct tg_reqstats side[2];
    uint32_t idle;         /* reader only: collections in a row with no request */
    struct key_slot *next; /* reader only: on the retired list */
};

struct srv_slot {
    struct tg_srvstats side[2];
};

struct tg_mshard {
    struct tg_hist_phaser phaser;
    uint32_t nkeys, nservers;
    _Atomic(struct key_slot *) *keys;
    _Atomic(struct srv_slot *) *servers;
    atomic_ullong dropped;
    struct key_slot *retired; /* reader only: unlinked in the last collection */
    uint32_t *retired_keys;   /* reader only: their keys, same order */
    uint32_t nslots;          /* reader only: slots reachable or retired */
    uint64_t released;        /* reader only: slots freed */
};

static void slot_free(struct key_slot *k)
{
    tg_reqstats_deinit(&k->side[0]);
    tg_reqstats_deinit(&k->side[1]);
    free(k);
}

int tg_mshard_new(uint32_t nkeys, uint32_t nservers, struct tg_mshard **out)
{
    struct tg_mshard *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->nkeys = nkeys;
    s->nservers = nservers;
    s->keys = calloc(nkeys ? nkeys : 1, sizeof *s->keys);
    s->servers = calloc(nservers ? nservers : 1, sizeof *s->servers);
    s->retired_keys = calloc(nkeys ? nkeys : 1, sizeof *s->retired_keys);
    if (!s->keys || !s->servers || !s->retired_keys) {
        tg_mshard_free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

void tg_mshard_free(struct tg_mshard *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; s->keys && i < s->nkeys; i++) {
        struct key_slot *k = atomic_load(&s->keys[i]);
        if (k)
            slot_free(k);
    }
    while (s->retired) {
        struct key_slot *k = s->retired;
        s->retired = k->next;
        slot_free(k);
    }
    for (uint32_t i = 0; s->servers && i < s->nservers; i++)
        free(atomic_load(&s->servers[i]));
    free(s->keys);
    free(s->servers);
    free(s->retired_keys);
    free(s);
}

/* Writer, inside the critical section: the first request of `key` since its slot was
 * released (or ever) allocates a slot and publishes it whole (release). */
static struct key_slot *slot_new(struct tg_mshard *s, uint32_t key)
{
    struct key_slot *k = malloc(sizeof *k);
    if (!k)
        return NULL;
    tg_reqstats_init(&k->side[0]);
    tg_reqstats_init(&k->side[1]);
    k->idle = 0;
    k->next = NULL;
    atomic_store_explicit(&s->keys[key], k, memory_order_release);
    return k;
}

static struct srv_slot *srv_slot(struct tg_mshard *s, uint32_t server)
{
    struct srv_slot *v = atomic_load_explicit(&s->servers[server], memory_order_relaxed);
    if (v)
        return v;
    v = calloc(1, sizeof *v);
    if (v)
        atomic_store_explicit(&s->servers[server], v, memory_order_release);
    return v;
}

int tg_mshard_record(struct tg_mshard *s, uint32_t key, const struct tg_reqsample *r,
                     uint32_t server, int64_t upstream_us, bool server_error)
{
    if (key >= s->nkeys) {
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
        return -ENOMEM;
    }
    int rc = 0;
    unsigned side = tg_hist_phaser_enter(&s->phaser);
    /* Loaded inside the critical section: see the top of this file. */
    struct key_slot *k = atomic_load_explicit(&s->keys[key], memory_order_relaxed);
    if (!k)
        k = slot_new(s, key);
    if (!k || tg_reqstats_record(&k->side[side], r) != 0)
        rc = -ENOMEM;
    struct srv_slot *v = server < s->nservers ? srv_slot(s, server) : NULL;
    if (v) {
        tg_fixed_hist_record(&v->side[side].latency, upstream_us);
        if (server_error)
            v->side[side].errors++;
    }
    tg_hist_phaser_exit(&s->phaser, side);
    if (rc || (server != UINT32_MAX && !v))
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
    return rc;
}

/* Step 2 of a release (top of this file): the side the writer may have used after the
 * slot was unlinked, then the slot itself. */
static void drain_retired(struct tg_mshard *s, unsigned side, tg_mshard_key_fn *kfn, void *ctx)
{
    for (uint32_t i = 0; s->retired; i++) {
        struct key_slot *k = s->retired;
        s->retired = k->next;
        if (kfn && !tg_reqstats_empty(&k->side[side]))
            kfn(s->retired_keys[i], &k->side[side], ctx);
        slot_free(k);
        s->released++;
    }
}

void tg_mshard_collect(struct tg_mshard *s, tg_mshard_key_fn *kfn, tg_mshard_srv_fn *sfn,
                       void *ctx)
{
    unsigned side = tg_hist_phaser_flip(&s->phaser);
    drain_retired(s, side, kfn, ctx);
    struct key_slot **tail = &s->retired;
    uint32_t nretired = 0, nslots = 0;
    for (uint32_t i = 0; i < s->nkeys; i++) {
        struct key_slot *k = atomic_load_explicit(&s->keys[i], memory_order_acquire);
        if (!k)
            continue;
        struct tg_reqstats *st = &k->side[side];
        if (tg_reqstats_empty(st)) {
            nslots++;
            if (++k->idle < TG_MSHARD_IDLE_COLLECTS)
                continue;
            /* Step 1 of a release: unlink now, free after the next flip. */
            atomic_store_explicit(&s->keys[i], NULL, memory_order_relaxed);
            *tail = k;
            tail = &k->next;
            s->retired_keys[nretired++] = i;
            continue;
        }
        nslots++;
        k->idle = 0;
        if (kfn)
            kfn(i, st, ctx);
        tg_reqstats_reset(st);
    }
    *tail = NULL;
    s->nslots = nslots;
    for (uint32_t i = 0; i < s->nservers; i++) {
        struct srv_slot *v = atomic_load_explicit(&s->servers[i], memory_order_acquire);
        if (!v || v->side[side].latency.count == 0)
            continue;
        if (sfn)
            sfn(i, &v->side[side], ctx);
        v->side[side] = (struct tg_srvstats){0};
    }
}

void tg_mshard_drop(struct tg_mshard *s, uint32_t key)
{
    struct key_slot *k =
        key < s->nkeys ? atomic_load_explicit(&s->keys[key], memory_order_acquire) : NULL;
    if (k && k->idle < TG_MSHARD_IDLE_COLLECTS - 1)
        k->idle = TG_MSHARD_IDLE_COLLECTS - 1;
}

uint64_t tg_mshard_dropped(const struct tg_mshard *s)
{
    return atomic_load_explicit(&s->dropped, memory_order_relaxed);
}

uint32_t tg_mshard_slots(const struct tg_mshard *s)
{
    return s->nslots;
}

uint64_t tg_mshard_released(const struct tg_mshard *s)
{
    return s->released;
}
