/* SPDX-License-Identifier: MIT */
/* Control-thread aggregation of worker shards; see agg.h. Per-key storage (totals and a
 * window) is allocated the first time a key has data; an allocation failure loses that
 * key's data for the second and is counted, never aborts. Each tick also trims every
 * window, so a key that went quiet gives its per-second slots back within the window's
 * length. */
#include "metrics/agg.h"

#include <errno.h>
#include <stdlib.h>

struct key_agg {
    struct tg_reqstats total;
    struct tg_window *win;
    int64_t last_s; /* last tick with data */
};

struct tg_magg {
    uint32_t nkeys, nservers, window_s;
    struct key_agg **keys;
    struct tg_srvstats **servers;
    struct tg_window *all;
    struct tg_reqstats *interval_all; /* this tick's requests over every key */
    struct tg_hist *scratch;
    int64_t last_tick_s;
    uint64_t lost;
    uint32_t apart_lo, apart_hi; /* keys kept out of the all-keys window */
};

int tg_magg_new(uint32_t nkeys, uint32_t nservers, uint32_t window_s, struct tg_magg **out)
{
    struct tg_magg *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->nkeys = nkeys;
    a->nservers = nservers;
    a->window_s = window_s;
    a->keys = calloc(nkeys ? nkeys : 1, sizeof *a->keys);
    a->servers = calloc(nservers ? nservers : 1, sizeof *a->servers);
    a->interval_all = calloc(1, sizeof *a->interval_all);
    a->scratch = malloc(sizeof *a->scratch);
    if (!a->keys || !a->servers || !a->interval_all || !a->scratch ||
        tg_window_new(window_s, &a->all) != 0) {
        tg_magg_free(a);
        return -ENOMEM;
    }
    tg_reqstats_init(a->interval_all);
    tg_hist_init(a->scratch);
    *out = a;
    return 0;
}

void tg_magg_free(struct tg_magg *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; a->keys && i < a->nkeys; i++)
        tg_magg_forget(a, i);
    for (uint32_t i = 0; a->servers && i < a->nservers; i++)
        free(a->servers[i]);
    free(a->keys);
    free(a->servers);
    tg_window_free(a->all);
    tg_reqstats_deinit(a->interval_all);
    free(a->interval_all);
    free(a->scratch);
    free(a);
}

void tg_magg_forget(struct tg_magg *a, uint32_t key)
{
    struct key_agg *k = key < a->nkeys ? a->keys[key] : NULL;
    if (!k)
        return;
    tg_reqstats_deinit(&k->total);
    tg_window_free(k->win);
    free(k);
    a->keys[key] = NULL;
}

static struct key_agg *key_agg(struct tg_magg *a, uint32_t key)
{
    if (key >= a->nkeys)
        return NULL;
    if (!a->keys[key]) {
        struct key_agg *k = malloc(sizeof *k);
        if (!k)
            return NULL;
        tg_reqstats_init(&k->total);
        if (tg_window_new(a->window_s, &k->win) != 0) {
            free(k);
            return NULL;
        }
        a->keys[key] = k;
    }
    return a->keys[key];
}

static void on_key(uint32_t key, const struct tg_reqstats *st, void *ctx)
{
    struct tg_magg *a = ctx;
    struct key_agg *k = key_agg(a, key);
    if (!k) {
        a->lost += st->latency.count;
        return;
    }
    k->last_s = a->last_tick_s;
    if (tg_reqstats_merge(&k->total, st) != 0 || tg_window_add(k->win, a->last_tick_s, st) != 0)
        a->lost += st->latency.count;
    if (key >= a->apart_lo && key < a->apart_hi)
        return;
    if (tg_reqstats_merge(a->interval_all, st) != 0)
        a->lost += st->latency.count;
}

static void on_server(uint32_t server, const struct tg_srvstats *st, void *ctx)
{
    struct tg_magg *a = ctx;
    if (server >= a->nservers)
        return;
    if (!a->servers[server] && !(a->servers[server] = calloc(1, sizeof(struct tg_srvstats))))
        return;
    tg_srvstats_merge(a->servers[server], st);
}

void tg_magg_tick(struct tg_magg *a, struct tg_mshard *const *shards, uint32_t nshards,
                  int64_t now_s)
{
    a->last_tick_s = now_s;
    for (uint32_t i = 0; i < nshards; i++)
        tg_mshard_collect(shards[i], on_key, on_server, a);
    tg_window_add(a->all, now_s, a->interval_all);
    tg_reqstats_reset(a->interval_all);
    for (uint32_t i = 0; i < a->nkeys; i++)
        if (a->keys[i])
            tg_window_expire(a->keys[i]->win, now_s);
    tg_window_expire(a->all, now_s);
}

int64_t tg_magg_last_active(const struct tg_magg *a, uint32_t key)
{
    return key < a->nkeys && a->keys[key] ? a->keys[key]->last_s : INT64_MIN;
}

size_t tg_magg_key_bytes(const struct tg_magg *a, uint32_t key)
{
    const struct key_agg *k = key < a->nkeys ? a->keys[key] : NULL;
    if (!k)
        return 0;
    return sizeof *k + tg_phist_page_bytes(&k->total.latency) + tg_window_bytes(k->win);
}

const struct tg_reqstats *tg_magg_total(const struct tg_magg *a, uint32_t key)
{
    return key < a->nkeys && a->keys[key] ? &a->keys[key]->total : NULL;
}

const struct tg_srvstats *tg_magg_server_total(const struct tg_magg *a, uint32_t server)
{
    return server < a->nservers ? a->servers[server] : NULL;
}

void tg_magg_window(struct tg_magg *a, uint32_t key, uint32_t seconds, struct tg_winstats *out)
{
    const struct tg_window *w = key == TG_MAGG_ALL ? a->all
                                : key < a->nkeys && a->keys[key] ? a->keys[key]->win
                                                                 : NULL;
    if (!w) {
        *out = (struct tg_winstats){.window_s = seconds};
        return;
    }
    tg_window_query(w, a->last_tick_s, seconds, a->scratch, out);
}

int64_t tg_magg_last_tick(const struct tg_magg *a)
{
    return a->last_tick_s;
}

uint32_t tg_magg_nkeys(const struct tg_magg *a)
{
    return a->nkeys;
}

uint32_t tg_magg_nservers(const struct tg_magg *a)
{
    return a->nservers;
}

void tg_magg_set_apart(struct tg_magg *a, uint32_t lo, uint32_t hi)
{
    a->apart_lo = lo;
    a->apart_hi = hi;
}
