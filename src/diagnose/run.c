/* SPDX-License-Identifier: MIT */
/* One diagnosis (run.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/gather.h"
#include "diagnose/run.h"
#include "diagnose/events.h"

struct events_ctx {
    struct tg_diag_event *ev;
    size_t n;
};

/* Newest first from the store: the first TG_DIAG_MAX_EVENTS are the ones kept. */
static int on_event(void *ctx, const struct tg_event *row)
{
    struct events_ctx *a = ctx;
    if (a->n == TG_DIAG_MAX_EVENTS)
        return 1;
    struct tg_diag_event *e = &a->ev[a->n++];
    memset(e, 0, sizeof *e);
    bool audit = row->source && strcmp(row->source, "audit") == 0;
    e->id = audit ? row->audit_id : row->id;
    e->ts_ms = row->ts_us / 1000;
    e->audit = audit;
    snprintf(e->type, sizeof e->type, "%s", row->type ? row->type : "");
    snprintf(e->service, sizeof e->service, "%s", row->service ? row->service : "");
    snprintf(e->version, sizeof e->version, "%s", row->version ? row->version : "");
    if (audit)
        snprintf(e->text, sizeof e->text, "%s%s%s by %s", row->action ? row->action : "",
                 row->target && row->target[0] ? " " : "", row->target ? row->target : "",
                 row->actor ? row->actor : "?");
    else
        snprintf(e->text, sizeof e->text, "%s", row->text ? row->text : "");
    return 0;
}

int tg_diag_run(const struct tg_diag_env *env, const struct tg_cfg_diagnosis *dcfg, int64_t now_ms,
                json_t **out, struct tg_diag_result *res, struct tg_errbuf *eb)
{
    const struct tg_config *cfg = env->cfg;
    struct tg_diag_window w;
    tg_diag_window_from(dcfg, now_ms, cfg->tsdb.scrape_interval_us / 1000, &w);
    struct tg_diag_gathered g;
    int rc = tg_diag_gather(env->q, &w, env->deadline_us, &g, eb);
    if (rc)
        return rc;
    struct tg_diag_input *in = &g.in;
    struct tg_diag_event events[TG_DIAG_MAX_EVENTS];
    int64_t from = now_ms - w.window_ms - w.lookback_ms - dcfg->change_window_us / 1000;
    struct events_ctx a = {events, 0};
    if (env->store) {
        struct tg_errbuf ignore = {0};
        /* A store that cannot be read costs the change correlations, not the answer. */
        tg_events_list(env->store, from * 1000, now_ms * 1000, on_event, &a, &ignore);
    }
    in->events = events;
    in->nevents = a.n;
    for (size_t i = 0; i < in->neps; i++) {
        for (uint32_t r = 0; r < cfg->nroutes && !in->eps[i].route; r++)
            in->eps[i].route = strcmp(cfg->routes[r].name, in->eps[i].endpoint) == 0;
    }
    /* Feature switches named by routes, each once, for a shedding suggestion. */
    for (uint32_t r = 0; r < cfg->nroutes && in->nfeatures < 8; r++) {
        const char *f = cfg->routes[r].feature;
        bool seen = !f[0];
        for (size_t k = 0; k < in->nfeatures && !seen; k++)
            seen = strcmp(in->features[k], f) == 0;
        if (!seen)
            in->features[in->nfeatures++] = f;
    }
    struct tg_diag_result *r = malloc(sizeof *r);
    if (!r) {
        tg_diag_gathered_free(&g);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    tg_diag_decide(dcfg, in, r);
    *out = tg_diag_json(dcfg, in, r);
    if (res)
        *res = *r;
    free(r);
    tg_diag_gathered_free(&g);
    return *out ? 0 : tg_errbuf_set(eb, -ENOMEM, "out of memory");
}
