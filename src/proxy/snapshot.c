/* SPDX-License-Identifier: MIT */
/* Configuration snapshots: the config plus what is compiled from it (route table) and
 * the shared per-server state (health, passive ejection, in-flight). Immutable except for those
 * relaxed atomics. Freed when the last reference goes (gateway + workers still on it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_int.h"

static void snapshot_free(struct tg_snapshot *s)
{
    if (!s)
        return;
    if (s->ups) {
        for (uint32_t i = 0; i < s->cfg->nupstreams; i++) {
            free(s->ups[i].servers);
            tg_outlier_free(s->ups[i].outlier);
        }
        free(s->ups);
    }
    tg_route_table_free(s->routes);
    tg_protect_chain_free(s->protect);
    free(s->route_endpoint);
    tg_config_free(s->cfg);
    free(s);
}

/* The upstream of `prev` named `name`, NULL if none. */
static const struct tg_upstream_rt *prev_upstream(const struct tg_snapshot *prev, const char *name)
{
    for (uint32_t u = 0; prev && u < prev->cfg->nupstreams; u++)
        if (strcmp(prev->ups[u].cfg->name, name) == 0)
            return &prev->ups[u];
    return NULL;
}

/* Carries health and passive ejection over from `pu` (the same upstream in the previous
 * snapshot) for the server with the same address, so a reload does not send traffic to a
 * server the checker knows is down, or forget an ejection or a slow start in progress. A
 * server that is new to a running upstream starts slowly, as one back from an ejection. */
static void inherit_health(struct tg_upstream_rt *ur, uint32_t i, const struct tg_upstream_rt *pu,
                           int64_t now_us)
{
    struct tg_server_rt *rt = &ur->servers[i];
    if (!pu)
        return;
    for (uint32_t k = 0; k < pu->cfg->nservers; k++) {
        const struct tg_server_rt *p = &pu->servers[k];
        if (strcmp(p->cfg->addr.text, rt->cfg->addr.text) != 0)
            continue;
        atomic_store(&rt->healthy, atomic_load(&p->healthy));
        tg_outlier_carry(ur->outlier, i, pu->outlier, k);
        rt->hc_ok_run = p->hc_ok_run;
        rt->hc_fail_run = p->hc_fail_run;
        rt->hc_last_wall_us = p->hc_last_wall_us;
        rt->hc_last_latency_us = p->hc_last_latency_us;
        rt->hc_last_error = p->hc_last_error;
        return;
    }
    tg_outlier_returned(ur->outlier, i, now_us);
}

static void outlier_params(const struct tg_cfg_passive *c, struct tg_outlier_params *p)
{
    tg_outlier_params_init(p);
    p->consecutive_errors = c->failures;
    p->count_5xx = c->count_5xx;
    p->base_eject_us = c->eject_us;
    p->max_eject_us = c->max_eject_us;
    p->max_ejection_pct = c->max_ejection_percent;
    p->latency_factor = c->latency_factor;
    p->latency_min_excess_us = c->latency_min_excess_us;
    p->latency_min_samples = c->latency_min_samples;
    p->slow_start_us = c->slow_start_us;
    p->slow_start_min_pct = c->slow_start_min_percent;
}

int tg__snapshot_new(struct tg_config *cfg, uint64_t gen, const struct tg_snapshot *prev,
                     struct tg_endpoints *endpoints, struct tg_endpoints *servers,
                     atomic_int *inflight_by_key,
                     struct tg_protect_state *pstate, int64_t now_us, struct tg_snapshot **out,
                     struct tg_errbuf *eb)
{
    struct tg_snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        tg_config_free(cfg);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    int rc;
    s->cfg = cfg;
    s->gen = gen;
    atomic_init(&s->refs, 1);
    if (tg_route_table_new(cfg, &s->routes) != 0)
        goto fail;
    s->route_endpoint = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof *s->route_endpoint);
    if (!s->route_endpoint)
        goto fail;
    /* Pinned: a routed exchange holds its route's id from start to end, across any
     * number of aging ticks, so route names must never be removed. */
    for (uint32_t i = 0; i < cfg->nroutes; i++)
        s->route_endpoint[i] = tg_endpoints_intern_pinned(endpoints, cfg->routes[i].name,
                                                          strlen(cfg->routes[i].name));
    if ((rc = tg__protect_build(cfg, pstate, now_us, &s->protect, eb)) != 0)
        goto fail_eb;
    s->ups = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof *s->ups);
    if (!s->ups)
        goto fail;
    for (uint32_t u = 0; u < cfg->nupstreams; u++) {
        const struct tg_cfg_upstream *uc = &cfg->upstreams[u];
        struct tg_upstream_rt *ur = &s->ups[u];
        ur->cfg = uc;
        ur->first_server = s->nservers_total;
        ur->servers = calloc(uc->nservers ? uc->nservers : 1, sizeof *ur->servers);
        if (!ur->servers || tg_outlier_new(uc->nservers, &ur->outlier) != 0)
            goto fail;
        outlier_params(&uc->passive, &ur->op);
        const struct tg_upstream_rt *pu = prev_upstream(prev, uc->name);
        if (pu)
            tg_outlier_carry_totals(ur->outlier, pu->outlier);
        for (uint32_t i = 0; i < uc->nservers; i++) {
            struct tg_server_rt *rt = &ur->servers[i];
            rt->cfg = &uc->servers[i];
            char name[TG_ENDPOINT_NAME_MAX];
            int n = snprintf(name, sizeof name, "%s/%s", uc->name, rt->cfg->addr.text);
            rt->key = tg_endpoints_intern(servers, name, (size_t)n);
            rt->inflight = &inflight_by_key[rt->key];
            rt->outlier = ur->outlier;
            rt->op = &ur->op;
            rt->idx = i;
            atomic_init(&rt->healthy, 1);
            inherit_health(ur, i, pu, now_us);
        }
        s->nservers_total += uc->nservers;
    }
    *out = s;
    return 0;
fail:
    rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
fail_eb:
    snapshot_free(s);
    return rc;
}

void tg__snapshot_ref(struct tg_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void tg__snapshot_unref(struct tg_snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}
