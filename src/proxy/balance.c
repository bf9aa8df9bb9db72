/* SPDX-License-Identifier: MIT */
/* Load balancing and passive health. A server is usable when the active checks say it is
 * up and passive ejection (protect/outlier.h: errors in a row, latency far above its
 * peers) has not taken it out. If ejection alone would leave no usable server, ejection
 * is ignored (Envoy's panic mode): sending traffic to a server that recently failed beats
 * failing every request outright. A server back from an ejection (or back up after its
 * health checks failed) has its weight ramped up over `passive.slow_start`. Algorithms:
 * - round_robin: smooth weighted round robin (nginx's), per worker, no shared state;
 * - least_conn: fewest in-flight requests per unit of weight, counted across workers;
 * - p2c_ewma: two random usable servers, the one with the lower latency EWMA times
 *   (in-flight + 1) wins (Finagle/Linkerd's choice: cheap, adapts to slow servers
 *   without herding onto the single fastest one). EWMA and in-flight are this worker's. */
#include <math.h>
#include <stdatomic.h>

#include "core/log.h"
#include "proxy/proxy_int.h"

#define EWMA_ALPHA 0.3
#define FAIL_PENALTY_US 1000000.0 /* counts a failure as a 1 s response for p2c_ewma */
#define MAX_SERVERS_SCAN 1024

static bool usable(const struct wk_server *s, int64_t now_us, bool ignore_ejection)
{
    if (!atomic_load_explicit(&s->rt->healthy, memory_order_relaxed))
        return false;
    return ignore_ejection || tg_outlier_usable(s->rt->outlier, s->rt->idx, now_us);
}

/* The configured weight in thousandths, times the slow-start multiplier. */
static uint32_t weight_of(const struct wk_server *s, int64_t now_us)
{
    uint32_t w = s->rt->cfg->weight ? s->rt->cfg->weight : 1;
    uint32_t m = tg_outlier_weight(s->rt->outlier, s->rt->op, s->rt->idx, now_us);
    return w * (m ? m : 1);
}

static struct wk_server *pick_rr(struct wk_server *base, uint32_t n, int64_t now,
                                 const struct wk_server *avoid, bool panic)
{
    struct wk_server *best = NULL;
    int32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct wk_server *s = &base[i];
        if (s == avoid || !usable(s, now, panic))
            continue;
        int32_t w = (int32_t)weight_of(s, now);
        s->rr_current += w;
        total += w;
        if (!best || s->rr_current > best->rr_current)
            best = s;
    }
    if (best)
        best->rr_current -= total;
    return best;
}

static struct wk_server *pick_least(struct wk_server *base, uint32_t n, int64_t now,
                                    const struct wk_server *avoid, bool panic, uint64_t rnd)
{
    struct wk_server *best = NULL;
    double best_score = 0;
    /* Start at a random offset so ties do not all land on the first server. */
    for (uint32_t k = 0; k < n; k++) {
        struct wk_server *s = &base[(k + rnd) % n];
        if (s == avoid || !usable(s, now, panic))
            continue;
        int inflight = atomic_load_explicit(s->rt->inflight, memory_order_relaxed);
        double score = (inflight + 1.0) / weight_of(s, now);
        if (!best || score < best_score) {
            best = s;
            best_score = score;
        }
    }
    return best;
}

static double p2c_score(const struct wk_server *s, int64_t now_us)
{
    return (s->ewma_us + 1.0) * (s->local_inflight + 1.0) / weight_of(s, now_us);
}

static struct wk_server *pick_p2c(struct tg_worker *w, struct wk_server *base, uint32_t n,
                                  int64_t now, const struct wk_server *avoid, bool panic)
{
    struct wk_server *cand[MAX_SERVERS_SCAN];
    uint32_t m = 0;
    for (uint32_t i = 0; i < n && m < MAX_SERVERS_SCAN; i++)
        if (&base[i] != avoid && usable(&base[i], now, panic))
            cand[m++] = &base[i];
    if (m == 0)
        return NULL;
    if (m == 1)
        return cand[0];
    uint64_t r = tg__worker_rand(w);
    uint32_t a = (uint32_t)(r % m), b = (uint32_t)((r >> 32) % (m - 1));
    if (b >= a)
        b++;
    return p2c_score(cand[a], now) <= p2c_score(cand[b], now) ? cand[a] : cand[b];
}

struct wk_server *tg__balance_pick(struct tg_worker *w, struct wk_snap *ws, uint32_t upstream,
                                   int64_t now_us, const struct wk_server *avoid)
{
    const struct tg_upstream_rt *ur = &ws->snap->ups[upstream];
    struct wk_server *base = ws->servers + ur->first_server;
    uint32_t n = ur->cfg->nservers;
    for (int panic = 0; panic < 2; panic++) {
        struct wk_server *s = NULL;
        switch (ur->cfg->lb) {
        case TG_LB_ROUND_ROBIN:
            s = pick_rr(base, n, now_us, avoid, panic);
            break;
        case TG_LB_LEAST_CONN:
            s = pick_least(base, n, now_us, avoid, panic, tg__worker_rand(w));
            break;
        case TG_LB_P2C_EWMA:
            s = pick_p2c(w, base, n, now_us, avoid, panic);
            break;
        }
        if (s)
            return s;
    }
    return NULL;
}

/* True if a pick would find a server (panic mode included), without moving any state. */
bool tg__balance_any(struct wk_snap *ws, uint32_t upstream, int64_t now_us,
                     const struct wk_server *avoid)
{
    const struct tg_upstream_rt *ur = &ws->snap->ups[upstream];
    struct wk_server *base = ws->servers + ur->first_server;
    for (uint32_t i = 0; i < ur->cfg->nservers; i++)
        if (&base[i] != avoid && usable(&base[i], now_us, true))
            return true;
    return false;
}

void tg__balance_result(struct wk_server *s, const struct tg_outlier_result *r, int64_t now_us)
{
    bool ok = r->kind == TG_OUTLIER_RESPONSE;
    double sample = ok ? (double)r->latency_us : FAIL_PENALTY_US;
    s->ewma_us = s->ewma_us == 0 ? sample : s->ewma_us + EWMA_ALPHA * (sample - s->ewma_us);
    const struct tg_server_rt *rt = s->rt;
    if (!tg_outlier_observe(rt->outlier, rt->op, rt->idx, now_us, r))
        return;
    struct tg_outlier_server_stats st;
    tg_outlier_read_server(rt->outlier, rt->op, rt->idx, now_us, &st);
    tg_log(TG_LOG_WARN, "proxy",
           "server-ejected upstream=%s server=%s reason=consecutive_errors errors=%u "
           "times=%u eject_ms=%lld",
           s->ucfg->name, rt->cfg->addr.text, rt->op->consecutive_errors, st.times_ejected,
           (long long)((st.ejected_until_us - now_us) / 1000));
}
