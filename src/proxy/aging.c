/* SPDX-License-Identifier: MIT */
/* Endpoint aging: an endpoint named from request paths (not a route, not "other") that
 * has had no request for `endpoints.idle_timeout` is removed, so its metrics memory is
 * freed, its series leave /metrics (Prometheus marks them stale) and its id can serve a
 * new name. Runs in the control thread's metrics tick (gateway.c), once a second.
 *
 * A removal takes three steps:
 *   1. Unlink, at tick T: tg_endpoints_remove for every idle endpoint, then a seq_cst
 *      fence and a snapshot of every worker's `turns`.
 *   2. Grace: wait for a tick that starts with every worker's `turns` changed.
 *   3. Finish, in that tick, after its collect: forget the ids' metric keys, release the
 *      ids (holding back those an in-flight entry still lists), reclaim replaced tables.
 *
 * Why the finish is safe. A worker uses a path template's endpoint id only within the
 * event callback that ends the request: the lookup (tg__forward_record), the record into
 * its shard, and the name read for the access log and the trace are all in it. (A routed
 * request keeps its route's id for the whole exchange, but route names are pinned.) The
 * one lasting reference is the in-flight table entry, see below. A worker publishes
 * `turns` from its stats timer, a callback of its own that runs between the others, with
 * a release store followed by a seq_cst fence (worker.c). Let R be our snapshot read
 * (after our fence, after the unlink), which saw publication Q0, and Q the worker's next
 * publication:
 *  - A callback that ran before Q finished before it (one callback at a time), so our
 *    acquire read that sees Q (or later) happens after all of it: its samples are in the
 *    shard, and the collect that follows gets them before the keys are forgotten; its
 *    name reads are over.
 *  - A callback after Q cannot get the old id: of the two seq_cst fences, if the worker's
 *    (after Q) came first in their single total order, R would have seen Q or later, not
 *    Q0; so ours came first, and the worker's loads after its fence see the unlink.
 * Samples that raced with the unlink (a lookup just before it) land in the keys before
 * they are forgotten: they are counted under the endpoint as it goes away.
 *
 * Workers come and go (resize.c). One started after the unlink was created by this thread
 * after it, so it cannot have the old id and is not waited for. One that has exited has
 * passed its last callback: it stores `exited` last, with release, and it stays in the
 * gateway's tables (its shard collected each tick) until the tick after it was joined,
 * which tg__aging_worker_gone tells us of before freeing it.
 *
 * In-flight entries: requests/active lists a request under the id tg_endpoints_find gave
 * when the request started, and the listing reads the name when asked. Entries that name
 * a removed id were all added before the grace period ended (later lookups cannot return
 * it), so the finish scans the in-flight tables and keeps such ids retiring (name intact)
 * until their requests end. */
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/log.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"

struct tg_aging {
    uint32_t max;     /* endpoint ids are 1..max */
    int64_t *since_s; /* per id: first tick that saw it live, INT64_MIN if none */
    uint32_t *batch;  /* ids unlinked, in their grace period */
    uint32_t nbatch;
    struct tg__quiesce *grace; /* the batch's grace period */
    uint32_t *held; /* ids past grace that an in-flight request still lists */
    uint32_t nheld;
    unsigned char *listed;  /* per id, scratch: listed by an in-flight request */
    uint64_t freed_at_trim; /* shard slots released, as of the last trim */
    uint64_t freed_gone;    /* slots released by the shards of workers freed since */
    unsigned trim_in;       /* ticks until the trim that follows a finish, 0 = none */
};

int tg__aging_new(uint32_t max_endpoints, struct tg_aging **out)
{
    struct tg_aging *ag = calloc(1, sizeof *ag);
    if (!ag)
        return -ENOMEM;
    ag->max = max_endpoints;
    ag->since_s = calloc((size_t)max_endpoints + 1, sizeof *ag->since_s);
    ag->batch = calloc(max_endpoints ? max_endpoints : 1, sizeof *ag->batch);
    ag->held = calloc(max_endpoints ? max_endpoints : 1, sizeof *ag->held);
    ag->grace = calloc(1, sizeof *ag->grace);
    ag->listed = calloc((size_t)max_endpoints + 1, 1);
    if (!ag->since_s || !ag->batch || !ag->held || !ag->grace || !ag->listed) {
        tg__aging_free(ag);
        return -ENOMEM;
    }
    for (uint32_t id = 0; id <= max_endpoints; id++)
        ag->since_s[id] = INT64_MIN;
    *out = ag;
    return 0;
}

void tg__aging_free(struct tg_aging *ag)
{
    if (!ag)
        return;
    free(ag->since_s);
    free(ag->batch);
    free(ag->held);
    free(ag->grace);
    free(ag->listed);
    free(ag);
}

void tg__aging_worker_gone(struct tg_aging *ag, struct tg_worker *w)
{
    tg__quiesce_worker_gone(ag->grace, w);
    ag->freed_gone += tg_mshard_released(w->shard);
}

bool tg__aging_grace_over(struct tg_aging *ag, struct tg_gateway *gw)
{
    (void)gw;
    return ag->nbatch && tg__quiesce_over(ag->grace);
}

/* The last second any method of endpoint `id` had a request, or when aging first saw
 * the endpoint (a name interned in a second whose samples were not collected yet). */
static int64_t last_active(struct tg_aging *ag, struct tg_gateway *gw, uint32_t id, int64_t now_s)
{
    if (ag->since_s[id] == INT64_MIN)
        ag->since_s[id] = now_s;
    int64_t last = ag->since_s[id];
    for (uint32_t m = 0; m < TG_GATEWAY_METHODS; m++) {
        int64_t s = tg_magg_last_active(gw->agg, id * TG_GATEWAY_METHODS + m);
        if (s > last)
            last = s;
    }
    return last;
}

/* Step 1: unlinks every idle endpoint and starts the grace period. */
static void unlink_idle(struct tg_aging *ag, struct tg_gateway *gw, int64_t now_s)
{
    const struct tg_config *cfg = atomic_load(&gw->snap)->cfg;
    int64_t idle_s = cfg->endpoint_idle_timeout_us / 1000000;
    for (uint32_t id = 1; id <= ag->max; id++) {
        if (tg_endpoints_state(gw->endpoints, id) != TG_ENDPOINT_LIVE)
            continue;
        if (now_s - last_active(ag, gw, id, now_s) < idle_s)
            continue;
        if (tg_endpoints_remove(gw->endpoints, id) == 0)
            ag->batch[ag->nbatch++] = id;
    }
    if (ag->nbatch)
        tg__quiesce_start(ag->grace, gw);
}

static void mark_listed(const struct tg_active_entry *e, void *ctx)
{
    struct tg_aging *ag = ctx;
    if (e->endpoint <= ag->max)
        ag->listed[e->endpoint] = 1;
}

/* Releases ids of `ids` (forgotten already) that no in-flight request lists; keeps the
 * others in `held` for a later tick. */
static void release_unlisted(struct tg_aging *ag, struct tg_gateway *gw, const uint32_t *ids,
                             uint32_t n)
{
    memset(ag->listed, 0, (size_t)ag->max + 1);
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++)
        if (tg__gateway_live(gw, i)->inflight)
            tg_active_each(tg__gateway_live(gw, i)->inflight, mark_listed, ag);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (ag->listed[ids[i]])
            ag->held[kept++] = ids[i];
        else
            tg_endpoints_release(gw->endpoints, ids[i]);
    }
    ag->nheld = kept;
}

/* Step 3: the batch's samples are all collected; free what it held. */
static void finish(struct tg_aging *ag, struct tg_gateway *gw)
{
    for (uint32_t i = 0; i < ag->nbatch; i++) {
        uint32_t id = ag->batch[i];
        for (uint32_t m = 0; m < TG_GATEWAY_METHODS; m++) {
            uint32_t key = id * TG_GATEWAY_METHODS + m;
            tg_magg_forget(gw->agg, key);
            for (uint32_t w = 0; w < tg__gateway_nlive(gw); w++)
                tg_mshard_drop(tg__gateway_live(gw, w)->shard, key);
        }
        ag->since_s[id] = INT64_MIN;
        ag->held[ag->nheld++] = id;
    }
    TG_LOG_DEBUG("proxy", "endpoints-aged-out count=%u endpoints=%u", ag->nbatch,
                 tg_endpoints_count(gw->endpoints));
    ag->nbatch = 0;
    release_unlisted(ag, gw, ag->held, ag->nheld);
    tg_endpoints_reclaim(gw->endpoints);
    ag->trim_in = 2; /* the dropped shard slots are unlinked next tick, freed the one after */
}

/* Gives freed memory back to the system once the removed endpoints' storage is gone:
 * their aggregates at the finish, their shard slots two collections later. The storage
 * is thousands of small chunks spread over the main heap and the workers' arenas, which
 * malloc keeps resident unless trimmed. Also after the shards have released many idle
 * slots of live endpoints. At most once a tick; a heap walk of well under a millisecond
 * for the heaps at stake here. */
static void trim(struct tg_aging *ag, struct tg_gateway *gw)
{
    uint64_t freed = ag->freed_gone;
    for (uint32_t w = 0; w < tg__gateway_nlive(gw); w++)
        freed += tg_mshard_released(tg__gateway_live(gw, w)->shard);
    bool after_finish = ag->trim_in && --ag->trim_in == 0;
    if (!after_finish && freed - ag->freed_at_trim < 64)
        return;
    ag->freed_at_trim = freed;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void tg__aging_tick(struct tg_aging *ag, struct tg_gateway *gw, int64_t now_s, bool grace_over)
{
    if (!gw->started)
        return;
    if (grace_over)
        finish(ag, gw);
    else if (ag->nheld && !ag->nbatch)
        release_unlisted(ag, gw, ag->held, ag->nheld);
    if (!ag->nbatch)
        unlink_idle(ag, gw, now_s);
    trim(ag, gw);
}
