/* SPDX-License-Identifier: MIT */
/* The protections in /metrics: each circuit breaker's state (the runbook greps
 * circuit_breaker_state), its transitions and refusals, and each rate limit's decisions
 * and table. Breakers and limits the running configuration no longer enables keep their
 * state but leave the exposition, so their series go stale. */
#include <stdio.h>

#include "admin/prom.h"
#include "admin/text.h"
#include "proxy/gateway.h"

static void family(struct tg_text *t, const char *name, const char *type, const char *help)
{
    tg_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels(struct tg_text *t, const struct tg_gateway_breaker_info *b)
{
    tg_text_put(t, "{upstream=\"", 11);
    tg_text_label_value(t, b->upstream);
    tg_text_put(t, "\",route=\"", 9);
    tg_text_label_value(t, b->route);
    tg_text_put(t, "\"", 1);
}

enum pass { P_STATE = 0, P_TRANSITIONS, P_REJECTED };

struct bctx {
    struct tg_text *t;
    enum pass pass;
};

static void on_breaker(const struct tg_gateway_breaker_info *b, void *vctx)
{
    struct bctx *c = vctx;
    static const char *const to[] = {"closed", "open", "half_open"};
    if (!b->active)
        return;
    switch (c->pass) {
    case P_STATE:
        tg_text_put(c->t, "circuit_breaker_state", 21);
        labels(c->t, b);
        tg_text_printf(c->t, "} %d\n", (int)b->stats.state);
        break;
    case P_TRANSITIONS:
        for (int i = 0; i < 3; i++) {
            tg_text_put(c->t, "circuit_breaker_transitions_total", 33);
            labels(c->t, b);
            tg_text_printf(c->t, ",to=\"%s\"} %llu\n", to[i],
                           (unsigned long long)b->stats.transitions_total[i]);
        }
        break;
    case P_REJECTED:
        tg_text_put(c->t, "circuit_breaker_rejected_total", 30);
        labels(c->t, b);
        tg_text_printf(c->t, "} %llu\n", (unsigned long long)b->stats.rejected_total);
        break;
    }
}

struct rctx {
    struct tg_text *t;
    int pass;
};

static void on_limit(const struct tg_gateway_ratelimit_info *r, void *vctx)
{
    struct rctx *c = vctx;
    if (!r->active)
        return;
    tg_text_printf(c->t, "%s{rule=\"",
                   c->pass == 0 ? "tailguard_rate_limit_decisions_limited_total"
                                : "tailguard_rate_limit_evictions_live_total");
    tg_text_label_value(c->t, r->name);
    tg_text_printf(c->t, "\"} %llu\n",
                   (unsigned long long)(c->pass == 0 ? r->stats.hits_total
                                                     : r->stats.evictions_live_total));
}

void tg_admin_prom_protect(struct tg_text *t, struct tg_gateway *gw)
{
    struct bctx c = {t, P_STATE};
    family(t, "circuit_breaker_state", "gauge",
           "Circuit breaker state: 0 closed, 1 open, 2 half-open.");
    tg_gateway_foreach_breaker(gw, on_breaker, &c);
    family(t, "circuit_breaker_transitions_total", "counter",
           "Circuit breaker state changes, by the state entered.");
    c.pass = P_TRANSITIONS;
    tg_gateway_foreach_breaker(gw, on_breaker, &c);
    family(t, "circuit_breaker_rejected_total", "counter",
           "Requests a circuit breaker refused (open, or half-open with its probes busy).");
    c.pass = P_REJECTED;
    tg_gateway_foreach_breaker(gw, on_breaker, &c);
    struct rctx r = {t, 0};
    family(t, "tailguard_rate_limit_decisions_limited_total", "counter",
           "Requests each rate limit found over its limit, dry-run decisions included.");
    tg_gateway_foreach_ratelimit(gw, on_limit, &r);
    r.pass = 1;
    family(t, "tailguard_rate_limit_evictions_live_total", "counter",
           "Per-client entries a rate limit's full table gave up while they still mattered.");
    tg_gateway_foreach_ratelimit(gw, on_limit, &r);
}
