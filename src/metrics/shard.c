/* SPDX-License-Identifier: MIT */
/* Worker metrics shards; see shard.h. */
#include "metrics/shard.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct key_slot {
    struct tg_reqstats side[2];
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
};

int tg_mshard_new(uint32_t nkeys, uint32_t nservers, struct tg_mshard **out)
{
    struct tg_mshard *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->nkeys = nkeys;
    s->nservers = nservers;
    s->keys = calloc(nkeys ? nkeys : 1, sizeof *s->keys);
    s->servers = calloc(nservers ? nservers : 1, sizeof *s->servers);
    if (!s->keys || !s->servers) {
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
    for (uint32_t i = 0; s->keys && i < s->nkeys; i++)
        free(atomic_load(&s->keys[i]));
    for (uint32_t i = 0; s->servers && i < s->nservers; i++)
        free(atomic_load(&s->servers[i]));
    free(s->keys);
    free(s->servers);
    free(s);
}

static struct key_slot *key_slot(struct tg_mshard *s, uint32_t key)
{
    struct key_slot *k = atomic_load_explicit(&s->keys[key], memory_order_relaxed);
    if (k)
        return k;
    /* First request of this key on this worker: the one allocation of its life. */
    k = malloc(sizeof *k);
    if (!k)
        return NULL;
    tg_reqstats_init(&k->side[0]);
    tg_reqstats_init(&k->side[1]);
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
    struct key_slot *k = key < s->nkeys ? key_slot(s, key) : NULL;
    struct srv_slot *v = server < s->nservers ? srv_slot(s, server) : NULL;
    if (!k || (server != UINT32_MAX && !v)) {
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
        if (!k)
            return -ENOMEM;
    }
    unsigned side = tg_hist_phaser_enter(&s->phaser);
    tg_reqstats_record(&k->side[side], r);
    if (v) {
        tg_fixed_hist_record(&v->side[side].latency, upstream_us);
        if (server_error)
            v->side[side].errors++;
    }
    tg_hist_phaser_exit(&s->phaser, side);
    return 0;
}

void tg_mshard_collect(struct tg_mshard *s, tg_mshard_key_fn *kfn, tg_mshard_srv_fn *sfn,
                       void *ctx)
{
    unsigned side = tg_hist_phaser_flip(&s->phaser);
    for (uint32_t i = 0; i < s->nkeys; i++) {
        struct key_slot *k = atomic_load_explicit(&s->keys[i], memory_order_acquire);
        if (!k)
            continue;
        struct tg_reqstats *st = &k->side[side];
        if (st->latency.count == 0 && st->other_status == 0)
            continue;
        if (kfn)
            kfn(i, st, ctx);
        tg_reqstats_reset(st);
    }
    for (uint32_t i = 0; i < s->nservers; i++) {
        struct srv_slot *v = atomic_load_explicit(&s->servers[i], memory_order_acquire);
        if (!v || v->side[side].latency.count == 0)
            continue;
        if (sfn)
            sfn(i, &v->side[side], ctx);
        v->side[side] = (struct tg_srvstats){0};
    }
}

uint64_t tg_mshard_dropped(const struct tg_mshard *s)
{
    return atomic_load_explicit(&s->dropped, memory_order_relaxed);
}
