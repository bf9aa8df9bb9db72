/* SPDX-License-Identifier: MIT */
/* The demo API's answers to the runbooks' app-specific agent calls: the pool's state,
 * the coordination settings, and the cleanup of stuck coordinations (the model is in
 * agents.c). Like /_faults these are control and monitoring traffic: injected faults
 * never apply to them, so an operator can read and fix the pool while the agents
 * endpoint itself is made slow, failing or hung. They answer at once, with no simulated
 * latency. */
#include "demo/server_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/log.h"

#define JSON "application/json"

static bool is_agents_ep(enum tg_demo_ep ep)
{
    return ep == TG_DEMO_EP_AGENT_POOL || ep == TG_DEMO_EP_AGENT_CONFIG ||
           ep == TG_DEMO_EP_AGENT_CLEANUP;
}

bool tg_demo__agents_begin(struct tg_demo_conn *d, const struct tg_http_msg *m)
{
    if (!is_agents_ep(d->req.route.ep))
        return false;
    /* Only the settings body is read; a cleanup's body, if any, is counted and ignored.
     * Either way anything over the capture size is a 413, as for /_faults. */
    tg_hconn_set_body_limit(d->hc, TG_DEMO_CAPTURE_MAX);
    if (m->method == TG_HTTP_PUT)
        tg_hconn_capture_body(d->hc, TG_DEMO_CAPTURE_MAX);
    return true;
}

static void answer_pool(struct tg_demo_conn *c)
{
    struct tg_demo_agents_pool p;
    tg_demo_agents_pool(&c->w->sh->agents, &p);
    char body[512];
    int n = tg_demo_agents_pool_json(body, sizeof body, &p);
    tg_hconn_respond(c->hc, 200, JSON, NULL, body, (size_t)n);
}

static void answer_config(struct tg_demo_conn *c)
{
    struct tg_demo_agents_patch p;
    struct tg_demo_fault_err err;
    size_t len = 0;
    const char *body = tg_hconn_body(c->hc, &len);
    if (tg_demo_agents_parse(body ? body : "", len, &p, &err)) {
        tg_demo__answer_error(c, 400, err.msg, err.field);
        return;
    }
    struct tg_demo_agents_config now;
    tg_demo_agents_set(&c->w->sh->agents, &p, &now);
    tg_log(TG_LOG_INFO, "demo",
           "agents config max_coalition_size=%" PRIu32 " coordination_timeout_ms=%" PRIu32
           " parallel_execution=%d",
           now.max_coalition_size, now.coordination_timeout_ms, now.parallel_execution);
    char cfg[128], out[192];
    tg_demo_agents_config_json(cfg, sizeof cfg, &now);
    int n = snprintf(out, sizeof out, "{\"status\":\"ok\",\"config\":%s}", cfg);
    tg_hconn_respond(c->hc, 200, JSON, NULL, out, (size_t)n);
}

static void answer_cleanup(struct tg_demo_conn *c)
{
    uint64_t remaining;
    uint64_t n = tg_demo_agents_cleanup(&c->w->sh->agents, &remaining);
    if (n)
        tg_log(TG_LOG_INFO, "demo", "agents cleanup cleaned=%" PRIu64 " remaining=%" PRIu64, n,
               remaining);
    char out[128];
    int len = snprintf(out, sizeof out,
                       "{\"status\":\"ok\",\"cleaned\":%" PRIu64 ",\"remaining\":%" PRIu64 "}", n,
                       remaining);
    tg_hconn_respond(c->hc, 200, JSON, NULL, out, (size_t)len);
}

bool tg_demo__agents_handle(struct tg_demo_conn *c)
{
    switch (c->req.route.ep) {
    case TG_DEMO_EP_AGENT_POOL:
        answer_pool(c);
        return true;
    case TG_DEMO_EP_AGENT_CONFIG:
        answer_config(c);
        return true;
    case TG_DEMO_EP_AGENT_CLEANUP:
        answer_cleanup(c);
        return true;
    default:
        return false;
    }
}
