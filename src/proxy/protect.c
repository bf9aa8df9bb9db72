/* SPDX-License-Identifier: MIT */
/* The proxy's side of the protection seam (protect/chain.h): the chain's parameters
 * from the configuration, the request's facts, and the verdict turned into a response.
 * This is the only place the proxy calls the protections. */
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_int.h"

/* The routes admin.mount_on_proxy adds (the control and monitoring API, the
 * application's agent paths) are the operator's way back in: no switch sheds them. */
static bool exempt(const struct tg_config *cfg, int route)
{
    return route >= 0 && (uint32_t)route < cfg->mounted_routes;
}

int tg__protect_build(const struct tg_config *cfg, struct tg_protect_chain **out)
{
    const char *disabled[TG_CFG_MAX_FEATURES];
    const char **declared = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof *declared);
    if (!declared)
        return -1;
    size_t nd = 0;
    for (uint32_t i = 0; i < cfg->features.ndisabled; i++)
        disabled[i] = cfg->features.disabled[i];
    for (uint32_t i = 0; i < cfg->nroutes; i++) {
        if (cfg->routes[i].feature[0])
            declared[nd++] = cfg->routes[i].feature;
    }
    struct tg_protect_params p = {
        .features_disabled = disabled,
        .nfeatures_disabled = cfg->features.ndisabled,
        .features_declared = declared,
        .nfeatures_declared = nd,
    };
    int rc = tg_protect_chain_new(&p, out);
    free(declared);
    return rc;
}

static enum tg_cause cause_of(enum tg_protect_cause pc)
{
    switch (pc) {
    case TG_PCAUSE_FEATURE_DISABLED:
        return TG_CAUSE_FEATURE_DISABLED;
    case TG_PCAUSE_NONE:
        break;
    }
    return TG_CAUSE_OK;
}

bool tg__protect_admit(struct cconn *c, const struct tg_http_msg *req)
{
    struct exchange *x = &c->x;
    const struct tg_snapshot *s = x->ws->snap;
    const struct tg_config *cfg = s->cfg;
    struct tg_protect_facts f = {
        .now_us = tg_loop_now_us(c->w->loop),
        .route = x->route,
        .upstream = x->upstream,
        .feature = exempt(cfg, x->route) ? NULL : x->route >= 0 ? cfg->routes[x->route].feature : "",
        .path = req->path.p,
        .path_len = req->path.len,
    };
    struct tg_protect_verdict v;
    tg_protect_admit(s->protect, &f, &v);
    if (v.kind == TG_PROTECT_ALLOW)
        return false;
    x->cause = cause_of(v.cause);
    /* The head is answered here; a body the client still sends is not read, so the
     * connection closes after the answer. */
    tg_buf_consume(&c->in, req->head_len);
    if (req->body != TG_HTTP_BODY_NONE)
        c->close_after = true;
    tg__client_respond(c, v.status, v.headers, "application/json", v.body, v.body_len);
    return true;
}
