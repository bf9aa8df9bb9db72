/* SPDX-License-Identifier: MIT */
/* Requests waiting for a concurrency slot (concurrency.queue; the policy is in
 * protect/conclimit.h). A request over its upstream's limit is parked on the worker that
 * holds its connection: the connection enters C_PARKED, its head stays in c->in and
 * nothing more is parsed, and its waiter (embedded in the exchange) sits in this
 * worker's queue for the limiter. The worker polls its queues
 *   - at the end of a turn in which it gave back a slot while requests waited,
 *   - when woken (a nudge, a new snapshot),
 *   - when the queue timer fires: at the oldest waiter's deadline, and at least every
 *     POLL_US while it holds waiters, for the slots that free up without an event here
 *     (another worker's release whose nudge raced with a park, a limit raised).
 * A granted request goes on exactly as an admitted one: its head is parsed again (the
 * buffer may have moved) and the rest of the chain runs (tg__protect_resume). An expired
 * one gets 503 with cause queue_timeout. A client that leaves is cancelled, never counted
 * as a timeout.
 *
 * Across workers: a worker hands a slot it gave back to its own waiters first; only when
 * it granted fewer than it gave back does it ask the control thread, which alone may
 * reach the other workers' loops (resize.c frees them), to wake the workers holding
 * waiters. The flag gw->queue_nudge coalesces those requests into one wake-up per
 * control-thread turn.
 *
 * Snapshots: the queues are indexed by upstream, and limiters are kept by name across
 * snapshots (protect/state.h), so a new view keeps each waiter in the queue of the same
 * limiter. A waiter whose limiter the new configuration no longer uses (concurrency
 * turned off, the upstream gone) is let go at once, without a slot: nothing limits it
 * any more. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/proxy_int.h"

#define POLL_US 2000 /* the longest a worker holding waiters goes without polling */

static struct cconn *conn_of(struct tg_conclimit_waiter *wt)
{
    return (struct cconn *)((char *)wt - offsetof(struct cconn, x) -
                            offsetof(struct exchange, qwait));
}

struct tg_conclimit_queue *tg__queue_of(struct tg_worker *w, uint32_t upstream)
{
    return upstream < w->nqueues && w->queues[upstream].cl ? &w->queues[upstream].q : NULL;
}

static void parked_add(struct tg_worker *w, int d)
{
    atomic_store_explicit(&w->parked,
                          atomic_load_explicit(&w->parked, memory_order_relaxed) + (unsigned)d,
                          memory_order_relaxed);
}

static void deferred_poll(struct tg_defer *d)
{
    tg__queue_poll(d->data);
}

static void timer_poll(struct tg_timer *t)
{
    tg__queue_poll(t->data);
}

void tg__queue_park(struct cconn *c, uint32_t head_len)
{
    struct tg_worker *w = c->w;
    c->state = C_PARKED;
    c->x.parked_head_len = head_len;
    /* The header timer is done with; the queue's own timeout bounds the wait. */
    tg_timer_stop(w->loop, &c->timer);
    parked_add(w, 1);
    /* A slot may have been given back between the refusal and the park: look again at
     * the end of the turn, and arm the timer for this waiter's deadline. */
    tg_loop_defer(w->loop, &w->queue_defer, deferred_poll, w);
}

static struct wk_queue *queue_holding(struct tg_worker *w, const struct tg_conclimit *cl)
{
    for (uint32_t i = 0; i < w->nqueues; i++) {
        if (w->queues[i].cl == cl)
            return &w->queues[i];
    }
    return NULL;
}

void tg__queue_cancel(struct cconn *c)
{
    struct tg_worker *w = c->w;
    struct wk_queue *wq = queue_holding(w, c->x.pticket.waiting);
    if (!wq) { /* every parked waiter is in a queue of the table (tg__queue_switch) */
        tg_log(TG_LOG_ERROR, "proxy", "parked-request-lost worker=%u", w->id);
        return;
    }
    tg_conclimit_cancel(wq->cl, &wq->q, &c->x.qwait);
    c->x.pticket.waiting = NULL;
    parked_add(w, -1);
}

bool tg__queue_step(struct cconn *c)
{
    if (!c->readable)
        return false;
    int n = tg__client_read(c);
    if (n < 0) {
        tg__client_close(c); /* cancels the wait: the client left */
        return false;
    }
    return n > 0;
}

void tg__queue_kick(struct tg_worker *w)
{
    w->queue_releases++;
    tg_loop_defer(w->loop, &w->queue_defer, deferred_poll, w);
}

/* The waiter's request goes on, holding a slot of `cl` (NULL: no limiter any more). */
static void grant(struct cconn *c, struct tg_conclimit *cl)
{
    struct tg_worker *w = c->w;
    struct exchange *x = &c->x;
    x->pticket.waiting = NULL;
    c->state = C_EXCHANGE;
    const struct tg_config *cfg = x->ws->snap->cfg;
    struct tg_http_limits lim = {cfg->max_head_bytes, cfg->max_headers};
    int r = tg_http1_parse_request(c->in.data + c->in.head, tg_buf_len(&c->in), &lim,
                                   &w->scratch, NULL);
    if (r <= 0) {
        /* The same bytes parsed before it was parked: this cannot happen. */
        tg_log(TG_LOG_ERROR, "proxy", "parked-head-unparsable worker=%u", w->id);
        if (cl && tg_conclimit_release(cl))
            tg__queue_kick(w);
        c->close_after = true;
        tg__client_error(c, 500, "internal error");
    } else if (!tg__protect_resume(c, &w->scratch, cl)) {
        tg__forward_dispatch(c, &w->scratch);
    }
    tg__client_drive(c);
}

static void expire(struct cconn *c, enum tg_conclimit_tier tier)
{
    struct exchange *x = &c->x;
    struct tg_protect_verdict v;
    tg_protect_queue_timeout(tier, &v);
    x->pticket.waiting = NULL;
    c->state = C_EXCHANGE;
    x->cause = TG_CAUSE_QUEUE_TIMEOUT;
    tg_buf_consume(&c->in, x->parked_head_len);
    if (x->req_body != TG_HTTP_BODY_NONE)
        c->close_after = true; /* its body was not read */
    tg__client_respond(c, v.status, v.headers, "application/json", v.body, v.body_len);
    tg__client_drive(c);
}

/* The timer: the earliest deadline of a waiter, and no later than POLL_US from now. */
static void rearm(struct tg_worker *w, const struct tg_conclimit_params *p, int64_t now_us)
{
    if (atomic_load_explicit(&w->parked, memory_order_relaxed) == 0) {
        tg_timer_stop(w->loop, &w->queue_timer);
        return;
    }
    int64_t due = now_us + POLL_US;
    for (uint32_t i = 0; i < w->nqueues; i++) {
        if (w->queues[i].q.n) {
            int64_t d = tg_conclimit_next_deadline(p, &w->queues[i].q);
            due = d < due ? d : due;
        }
    }
    tg_timer_start(w->loop, &w->queue_timer, due, timer_poll, w);
}

/* Asks the control thread to wake the workers that hold waiters. */
static void nudge(struct tg_worker *w)
{
    if (!atomic_exchange_explicit(&w->gw->queue_nudge, true, memory_order_relaxed))
        tg__resize_notify(w->gw);
}

void tg__queue_poll(struct tg_worker *w)
{
    uint32_t released = w->queue_releases;
    w->queue_releases = 0;
    if (!w->cur)
        return; /* stopping */
    const struct tg_conclimit_params *p = tg_protect_limit_params(w->cur->snap->protect);
    int64_t now = tg_loop_now_us(w->loop);
    uint32_t granted = 0;
    for (uint32_t i = 0; atomic_load_explicit(&w->parked, memory_order_relaxed) &&
                         i < w->nqueues; i++) {
        struct wk_queue *wq = &w->queues[i];
        struct tg_conclimit_waiter *wt;
        enum tg_conclimit_poll_result r;
        /* A granted request may answer at once and take its connection's next request,
         * which may park here again: the loop reads the queue afresh each time. */
        while (wq->q.n && (r = tg_conclimit_poll(wq->cl, p, &wq->q, now, &wt)) !=
                              TG_CONCLIMIT_POLL_NONE) {
            parked_add(w, -1);
            if (r == TG_CONCLIMIT_POLL_GRANTED) {
                granted++;
                grant(conn_of(wt), wq->cl);
            } else {
                expire(conn_of(wt), wt->tier);
            }
        }
    }
    if (released > granted)
        nudge(w);
    if (w->cur)
        rearm(w, p, now);
}

int tg__queue_switch(struct tg_worker *w)
{
    const struct tg_snapshot *s = w->cur->snap;
    uint32_t n = s->cfg->nupstreams;
    struct wk_queue *old = w->queues, *fresh = calloc(n ? n : 1, sizeof *fresh);
    uint32_t nold = w->nqueues;
    w->queues = fresh;
    w->nqueues = fresh ? n : 0;
    for (uint32_t i = 0; fresh && i < n; i++)
        fresh[i].cl = tg_protect_limit_of(s->protect, i);
    /* Waiters whose limiter is still in use move with it; the others are let go. */
    for (uint32_t i = 0; i < nold; i++) {
        if (!old[i].q.n)
            continue;
        struct wk_queue *to = queue_holding(w, old[i].cl);
        if (to) {
            to->q = old[i].q;
            continue;
        }
        struct tg_conclimit_waiter *wt;
        for (unsigned t = 0; t < TG_CONCLIMIT_TIERS; t++) {
            while ((wt = old[i].q.head[t]) != NULL) {
                tg_conclimit_cancel(old[i].cl, &old[i].q, wt);
                parked_add(w, -1);
                grant(conn_of(wt), NULL);
            }
        }
    }
    free(old);
    if (!fresh) {
        tg_log(TG_LOG_ERROR, "proxy", "concurrency-queue-disabled worker=%u err=ENOMEM", w->id);
        return -ENOMEM;
    }
    if (atomic_load_explicit(&w->parked, memory_order_relaxed))
        tg_loop_defer(w->loop, &w->queue_defer, deferred_poll, w);
    return 0;
}

void tg__queue_refuse_all(struct tg_worker *w)
{
    for (uint32_t i = 0; i < w->nqueues; i++) {
        struct wk_queue *wq = &w->queues[i];
        struct tg_conclimit_waiter *wt;
        for (unsigned t = 0; t < TG_CONCLIMIT_TIERS; t++) {
            while ((wt = wq->q.head[t]) != NULL) {
                tg_conclimit_cancel(wq->cl, &wq->q, wt);
                parked_add(w, -1);
                struct cconn *c = conn_of(wt);
                c->x.pticket.waiting = NULL;
                c->state = C_EXCHANGE;
                c->x.cause = TG_CAUSE_CONCURRENCY;
                c->close_after = true;
                tg_buf_consume(&c->in, c->x.parked_head_len);
                static const char body[] = "{\"error\":\"shutting down\",\"status\":503}\n";
                tg__client_respond(c, 503, "Retry-After: 1\r\n", "application/json", body,
                                   sizeof body - 1);
                tg__client_drive(c);
            }
        }
    }
    tg_timer_stop(w->loop, &w->queue_timer);
}

void tg__queue_free(struct tg_worker *w)
{
    free(w->queues);
    w->queues = NULL;
    w->nqueues = 0;
}

void tg__queue_nudge_all(struct tg_gateway *gw)
{
    if (!atomic_exchange_explicit(&gw->queue_nudge, false, memory_order_relaxed))
        return;
    for (uint32_t i = 0; i < tg__gateway_nlive(gw); i++) {
        struct tg_worker *w = tg__gateway_live(gw, i);
        if (!w->joined && atomic_load_explicit(&w->parked, memory_order_relaxed))
            tg_loop_wake(w->loop);
    }
}
