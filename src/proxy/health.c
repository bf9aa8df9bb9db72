/* SPDX-License-Identifier: MIT */
/* Active health checks, run on the control thread's loop: every `interval` each server
 * of an upstream with `health_check` gets `GET <path>` on a fresh connection; a 2xx or
 * 3xx status within `timeout` is a success. `rise` successes in a row mark a server up,
 * `fall` failures mark it down (HAProxy's rise/fall). Workers read the verdict through
 * the server's `healthy` atomic. Probes are calls of the control plane's HTTP client
 * (http/client.h); a reply whose body is larger than HC_BODY_MAX fails. On reload the
 * probe set is rebuilt for the new snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/client.h"
#include "proxy/proxy_int.h"

#define HC_BODY_MAX (1u << 20) /* a health page is small; more is a misconfigured path */

struct probe {
    struct tg_health *h;
    struct tg_server_rt *rt;
    const struct tg_cfg_upstream *ucfg;
    struct tg_timer timer;            /* the next probe */
    struct tg_hclient_call *call;     /* the probe under way, NULL between probes */
    struct tg_hclient_target target;
};

struct tg_health {
    struct tg_gateway *gw;
    struct tg_loop *loop;
    struct tg_hclient *client;
    struct tg_snapshot *snap;
    struct probe *probes;
    uint32_t nprobes;
};

static void probe_timer(struct tg_timer *t);

/* A server the active checks call healthy is not kept out by passive ejection: the
 * ejection guessed from failed requests that the server was gone, and a passing check is
 * better evidence that it is back (Envoy's successful_active_health_check_uneject_host).
 * Without this a restarted server waits out the whole eject_time. Either way, a server
 * that comes back (from down, or from an ejection) starts with a slow start. */
static void readmit(struct probe *p, bool came_up)
{
    int64_t now = tg_loop_now_us(p->h->loop);
    bool ejected = !tg_outlier_usable(p->rt->outlier, p->rt->idx, now);
    if (!ejected && !came_up)
        return;
    tg_outlier_returned(p->rt->outlier, p->rt->idx, now);
    if (ejected)
        tg_log(TG_LOG_INFO, "proxy",
               "server-readmitted upstream=%s server=%s reason=\"health check\"", p->ucfg->name,
               p->rt->cfg->addr.text);
}

static void probe_end(struct probe *p, bool ok, const char *why, int64_t took_us)
{
    struct tg_loop *loop = p->h->loop;
    p->call = NULL;
    p->rt->hc_last_wall_us = tg_clock_wall_us();
    p->rt->hc_last_latency_us = took_us;
    p->rt->hc_last_error = ok ? NULL : why;
    const struct tg_cfg_health *hc = &p->ucfg->health;
    int was = atomic_load(&p->rt->healthy);
    if (ok) {
        p->rt->hc_fail_run = 0;
        bool came_up = false;
        if (++p->rt->hc_ok_run >= hc->rise && !was) {
            came_up = true;
            atomic_store(&p->rt->healthy, 1);
            tg_log(TG_LOG_INFO, "proxy", "server-up upstream=%s server=%s", p->ucfg->name,
                   p->rt->cfg->addr.text);
        }
        if (p->rt->hc_ok_run >= hc->rise)
            readmit(p, came_up);
    } else {
        p->rt->hc_ok_run = 0;
        if (++p->rt->hc_fail_run >= hc->fall && was) {
            atomic_store(&p->rt->healthy, 0);
            tg_log(TG_LOG_WARN, "proxy", "server-down upstream=%s server=%s reason=\"%s\"",
                   p->ucfg->name, p->rt->cfg->addr.text, why);
        }
    }
    tg_timer_start(loop, &p->timer, tg_loop_now_us(loop) + hc->interval_us, probe_timer, p);
}

/* The probe's verdict: a 2xx or 3xx answer within the timeout. The reasons are static
 * strings (the admin API shows the last one). */
static void probe_done(void *ctx, const struct tg_hclient_resp *r)
{
    static const char *const why[TG_HCLIENT_ERRORS] = {
        [TG_HCLIENT_OK] = "bad status",
        [TG_HCLIENT_CONNECT] = "connect failed",
        [TG_HCLIENT_TIMEOUT] = "timeout",
        [TG_HCLIENT_IO] = "closed before the whole reply",
        [TG_HCLIENT_BAD] = "bad reply",
        [TG_HCLIENT_TOO_BIG] = "reply too large",
    };
    bool ok = r->error == TG_HCLIENT_OK && r->status >= 200 && r->status < 400;
    probe_end(ctx, ok, why[r->error], r->duration_us);
}

static void probe_start(struct probe *p)
{
    struct tg_hclient_req rq = {
        .method = "GET",
        .timeout_us = p->ucfg->health.timeout_us,
        .max_body = HC_BODY_MAX,
    };
    if (tg_hclient_call(p->h->client, &p->target, &rq, probe_done, p, &p->call) != 0) {
        probe_end(p, false, "out of resources", 0);
        return;
    }
}

static void probe_timer(struct tg_timer *t)
{
    probe_start(t->data);
}

static void probes_clear(struct tg_health *h)
{
    for (uint32_t i = 0; i < h->nprobes; i++) {
        struct probe *p = &h->probes[i];
        tg_timer_stop(h->loop, &p->timer);
        if (p->call)
            tg_hclient_cancel(p->call);
    }
    free(h->probes);
    h->probes = NULL;
    h->nprobes = 0;
    tg__snapshot_unref(h->snap);
    h->snap = NULL;
}

static void probes_build(struct tg_health *h)
{
    struct tg_snapshot *s = atomic_load(&h->gw->snap);
    tg__snapshot_ref(s);
    h->snap = s;
    h->probes = calloc(s->nservers_total ? s->nservers_total : 1, sizeof *h->probes);
    if (!h->probes) {
        tg_log(TG_LOG_ERROR, "proxy", "health-checks-disabled err=ENOMEM");
        return;
    }
    int64_t now = tg_loop_now_us(h->loop);
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++) {
        const struct tg_cfg_upstream *uc = &s->cfg->upstreams[u];
        if (!uc->health.enabled)
            continue;
        for (uint32_t i = 0; i < uc->nservers; i++) {
            struct probe *p = &h->probes[h->nprobes++];
            p->h = h;
            p->rt = &s->ups[u].servers[i];
            p->ucfg = uc;
            const struct tg_addr *a = &uc->servers[i].addr;
            memcpy(&p->target.addr, &a->ss, sizeof p->target.addr);
            p->target.addr_len = a->len;
            snprintf(p->target.host, sizeof p->target.host, "%s", a->text);
            snprintf(p->target.path, sizeof p->target.path, "%s", uc->health.path);
            /* Spread the first probes over the interval so they do not all fire at once. */
            int64_t jitter = uc->health.interval_us * i / (uc->nservers + 1) / 4;
            tg_timer_start(h->loop, &p->timer, now + jitter, probe_timer, p);
        }
    }
}

int tg__health_new(struct tg_gateway *gw, struct tg_loop *loop, struct tg_health **out)
{
    struct tg_health *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->gw = gw;
    h->loop = loop;
    if (tg_hclient_new(loop, &h->client) != 0) {
        free(h);
        return -ENOMEM;
    }
    probes_build(h);
    *out = h;
    return 0;
}

void tg__health_snapshot_changed(struct tg_health *h)
{
    if (!h)
        return;
    probes_clear(h);
    probes_build(h);
}

void tg__health_free(struct tg_health *h)
{
    if (!h)
        return;
    probes_clear(h);
    tg_hclient_free(h->client);
    free(h);
}
