/* SPDX-License-Identifier: MIT */
/* Load-generator threads: lifecycle, the closed and open models, stage ramps, timeouts and
 * control from the coordinator (see worker_int.h). conn.c does the socket work and calls
 * back into tg_bench__worker_on_* when a connection frees up or closes. */
#include "bench/worker_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

static void check_done(struct tg_bench_worker *w, int64_t now);
static void pump(struct tg_bench_worker *w, int64_t now);

static bool more(const struct tg_bench_worker *w)
{
    return w->sending && w->share > 0;
}

static void start_request(struct tg_bench_worker *w, struct tg_bench_conn *c, int64_t intended,
                          int64_t now)
{
    const struct tg_bench_reqset *rs = w->plan->reqs;
    uint32_t idx = rs->cycle[w->cycle_pos];
    if (++w->cycle_pos == rs->cycle_len)
        w->cycle_pos = 0;
    w->share--;
    tg_bench__conn_start(c, &rs->r[idx], intended, now);
}

/* A request that never got onto a connection: no socket (e.g. the fd limit), or a backlog
 * older than the timeout. */
static void fail_unstarted(struct tg_bench_worker *w, enum tg_bench_err kind)
{
    w->share--;
    unsigned s = tg_hist_phaser_enter(&w->ph);
    w->side[s]->requests++;
    w->side[s]->errors[kind]++;
    tg_hist_phaser_exit(&w->ph, s);
}

static struct tg_bench_conn *pop(struct tg_bench_conn **list)
{
    struct tg_bench_conn *c = *list;
    if (c)
        *list = c->next;
    return c;
}

static void close_idle(struct tg_bench_worker *w)
{
    struct tg_bench_conn *c;
    while ((c = pop(&w->idle_list)))
        tg_bench__conn_close(c);
}

/* ---- closed model --------------------------------------------------------------------- */

/* This thread's share of the profile's connection count at `now`. */
static uint32_t closed_target(const struct tg_bench_worker *w, int64_t now)
{
    const struct tg_bench_plan *p = w->plan;
    double v = tg_bench__profile_at(&p->load, now - p->start_us);
    uint64_t total = (uint64_t)(v + 0.5);
    uint64_t mine = total / p->nthreads + (w->id < total % p->nthreads);
    return mine > w->max_conns ? w->max_conns : (uint32_t)mine;
}

/* Opens connections (each with a request) up to the target, or marks busy ones to retire
 * after their response when above it. */
static void closed_adjust(struct tg_bench_worker *w, int64_t now)
{
    uint32_t live = w->nopen - w->nretire;
    while (more(w) && live < w->target) {
        struct tg_bench_conn *c = pop(&w->free_list);
        if (!c)
            break; /* slots still being reaped: the next tick goes on */
        if (tg_bench__conn_open(w, c) < 0) {
            c->next = w->free_list;
            w->free_list = c;
            fail_unstarted(w, TG_BENCH_E_CONNECT);
            break; /* back off until the next tick */
        }
        live++;
        start_request(w, c, now, now);
        live = w->nopen - w->nretire; /* a failed send closed it again */
    }
    for (uint32_t i = 0; i < w->nslots && live > w->target; i++) {
        struct tg_bench_conn *c = &w->slots[i];
        if (c->req && !c->retire) {
            c->retire = true;
            w->nretire++;
            live--;
        }
    }
}

/* ---- open model ----------------------------------------------------------------------- */

/* Computes the intended time of this thread's next request (request id + j*T). */
static void next_due(struct tg_bench_worker *w)
{
    const struct tg_bench_plan *p = w->plan;
    double k = (double)w->id + (double)w->j * p->nthreads;
    w->next_due_us = INT64_MAX;
    if (p->max_requests && k >= (double)p->max_requests)
        return;
    int64_t t = tg_bench__profile_time_of(&p->load, k, &w->cursor);
    if (t != INT64_MAX && t < p->send_us)
        w->next_due_us = p->start_us + t;
}

/* Requests whose intended time is more than the timeout ago were given up on by the user
 * they stand for: they count as timeouts without being sent. This bounds the backlog of a
 * starved thread, and so the time a run needs to drain after its schedule ends. */
static void expire_backlog(struct tg_bench_worker *w, int64_t now)
{
    while (w->sending && w->next_due_us < now - w->plan->timeout_us) {
        w->j++;
        next_due(w);
        fail_unstarted(w, TG_BENCH_E_TIMEOUT);
    }
}

/* Starts the due request on `c` and moves the schedule on. */
static void start_due(struct tg_bench_worker *w, struct tg_bench_conn *c, int64_t now)
{
    int64_t due = w->next_due_us;
    w->j++;
    next_due(w);
    start_request(w, c, due, now);
}

static void on_pace(struct tg_timer *t)
{
    struct tg_bench_worker *w = t->data;
    pump(w, tg_clock_mono_us());
}

/* New connections are paced by a token bucket that refills at this thread's current
 * request rate and holds OPEN_BURST_US of it. Without it, a hiccup of the generator or the
 * server (50 ms at 20,000 rps is 1,000 requests due at once) opens a connection per waiting
 * request, and the storm of handshakes slows both sides further: measured, a third of the
 * runs at 20,000 rps against nginx spiralled to 1,000 connections and a p99 over 100 ms.
 * Paced, a slow server still gets all the connections it needs (one per arriving request at
 * most), and a backlog waits for connections that free up, counted as late. */
#define OPEN_BURST_US 5000
#define OPEN_MIN_RATE 10.0

static bool may_open(struct tg_bench_worker *w, int64_t now)
{
    const struct tg_bench_plan *p = w->plan;
    double rate = tg_bench__profile_at(&p->load, now - p->start_us) / p->nthreads;
    if (rate < OPEN_MIN_RATE)
        rate = OPEN_MIN_RATE;
    double burst = 8 + rate * OPEN_BURST_US / 1e6;
    w->open_tokens += rate * (double)(now - w->open_tokens_us) / 1e6;
    w->open_tokens_us = now;
    if (w->open_tokens > burst)
        w->open_tokens = burst;
    if (w->open_tokens < 1)
        return false;
    w->open_tokens -= 1;
    return true;
}

/* Starts every request due by now + TG_BENCH_EARLY_US, on idle connections or new ones;
 * marks the thread starved when it cannot get a connection, then re-arms the pacer. */
static void pump(struct tg_bench_worker *w, int64_t now)
{
    w->starved = false;
    expire_backlog(w, now);
    while (w->sending && w->next_due_us <= now + TG_BENCH_EARLY_US) {
        struct tg_bench_conn *c = pop(&w->idle_list);
        if (!c) {
            if (w->nopen >= w->max_conns || !w->free_list || !may_open(w, now)) {
                w->starved = true;
                break;
            }
            c = pop(&w->free_list);
            if (tg_bench__conn_open(w, c) < 0) {
                c->next = w->free_list;
                w->free_list = c;
                w->j++;
                next_due(w);
                fail_unstarted(w, TG_BENCH_E_CONNECT);
                continue;
            }
        }
        start_due(w, c, now);
    }
    if (w->sending && w->next_due_us == INT64_MAX) {
        w->sending = false; /* the schedule is over */
        close_idle(w);
    }
    if (w->sending && !w->starved)
        tg_timer_start(w->loop, &w->pace, w->next_due_us - TG_BENCH_EARLY_US, on_pace, w);
    else
        tg_timer_stop(w->loop, &w->pace);
    check_done(w, now);
}

/* ---- callbacks from conn.c ------------------------------------------------------------ */

void tg_bench__worker_on_reusable(struct tg_bench_worker *w, struct tg_bench_conn *c,
                                  int64_t now_us)
{
    if (w->plan->model == TG_BENCH_CLOSED) {
        if (more(w)) {
            start_request(w, c, now_us, now_us);
        } else {
            tg_bench__conn_close(c);
            check_done(w, now_us);
        }
        return;
    }
    if (!w->sending) {
        tg_bench__conn_close(c);
        check_done(w, now_us);
        return;
    }
    expire_backlog(w, now_us);
    if (w->next_due_us <= now_us + TG_BENCH_EARLY_US) {
        start_due(w, c, now_us); /* the backlog first: this request is late */
        return;
    }
    if (w->next_due_us == INT64_MAX) { /* the schedule ended while it was busy */
        w->sending = false;
        tg_bench__conn_close(c);
        close_idle(w);
        check_done(w, now_us);
        return;
    }
    c->next = w->idle_list;
    w->idle_list = c;
    if (w->starved)
        pump(w, now_us); /* the backlog is gone: the pacer takes over again */
}

void tg_bench__worker_on_closed(struct tg_bench_worker *w, int64_t now_us, bool connect_failed)
{
    if (w->plan->model == TG_BENCH_CLOSED) {
        if (!connect_failed && more(w))
            closed_adjust(w, now_us);
    } else if (w->starved && w->sending) {
        /* A slot for a new connection is free again; a refused connect just costs the
         * request it carried, so the open model needs no back-off. */
        pump(w, now_us);
        return;
    }
    check_done(w, now_us);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void finish_now(struct tg_bench_worker *w, int64_t now)
{
    w->finished = true;
    w->sending = false;
    w->finish_us = now;
    close_idle(w);
    tg_timer_stop(w->loop, &w->start_timer);
    tg_timer_stop(w->loop, &w->pace);
    tg_timer_stop(w->loop, &w->tick);
    tg_timer_stop(w->loop, &w->end);
    tg_loop_stop(w->loop);
}

static void check_done(struct tg_bench_worker *w, int64_t now)
{
    if (w->started && !w->finished && !more(w) && w->nbusy == 0)
        finish_now(w, now);
}

static void on_tick(struct tg_timer *t)
{
    struct tg_bench_worker *w = t->data;
    int64_t now = tg_clock_mono_us();
    int64_t timeout = w->plan->timeout_us;
    for (uint32_t i = 0; i < w->nslots && !w->finished; i++) {
        struct tg_bench_conn *c = &w->slots[i];
        if (c->req && now - c->start_us >= timeout)
            tg_bench__conn_fail(c, TG_BENCH_E_TIMEOUT, now);
    }
    if (w->finished)
        return;
    if (w->plan->model == TG_BENCH_CLOSED && more(w)) {
        w->target = closed_target(w, now);
        closed_adjust(w, now);
    } else if (w->starved && w->sending) {
        pump(w, now);
    }
    check_done(w, now);
    if (!w->finished)
        tg_timer_start(w->loop, &w->tick, now + TG_BENCH_TICK_US, on_tick, w);
}

/* End of the sending time. The open model's schedule ends by itself (no request is
 * intended after it) but its backlog is still sent, so late requests keep their latency. */
static void on_end(struct tg_timer *t)
{
    struct tg_bench_worker *w = t->data;
    if (w->plan->model == TG_BENCH_OPEN)
        return;
    w->sending = false;
    tg_timer_stop(w->loop, &w->pace);
    close_idle(w);
    check_done(w, tg_clock_mono_us());
}

static void on_start(struct tg_timer *t)
{
    struct tg_bench_worker *w = t->data;
    const struct tg_bench_plan *p = w->plan;
    int64_t now = tg_clock_mono_us();
    w->started = true;
    w->sending = atomic_load(&w->ctl) == TG_BENCH_CTL_RUN;
    tg_timer_start(w->loop, &w->end, p->start_us + p->send_us, on_end, w);
    tg_timer_start(w->loop, &w->tick, now + TG_BENCH_TICK_US, on_tick, w);
    if (p->model == TG_BENCH_CLOSED) {
        w->target = closed_target(w, now);
        closed_adjust(w, now);
        check_done(w, now);
    } else {
        tg_bench__cursor_init(&p->load, &w->cursor);
        w->open_tokens = 8;
        w->open_tokens_us = now;
        next_due(w);
        pump(w, now);
    }
}

static void on_wake(struct tg_loop *loop, void *data)
{
    struct tg_bench_worker *w = data;
    int ctl = atomic_load(&w->ctl);
    int64_t now = tg_clock_mono_us();
    (void)loop;
    if (ctl == TG_BENCH_CTL_RUN || w->finished)
        return;
    w->started = true;
    w->sending = false;
    tg_timer_stop(w->loop, &w->pace);
    close_idle(w);
    if (ctl == TG_BENCH_CTL_ABORT)
        for (uint32_t i = 0; i < w->nslots; i++)
            tg_bench__conn_close(&w->slots[i]);
    check_done(w, now);
}

void tg_bench__worker_control(struct tg_bench_worker *w, enum tg_bench_ctl ctl)
{
    atomic_store(&w->ctl, (int)ctl);
    tg_loop_wake(w->loop);
}

void *tg_bench__worker_main(void *arg)
{
    struct tg_bench_worker *w = arg;
    tg_loop_update_time(w->loop);
    tg_timer_start(w->loop, &w->start_timer, w->plan->start_us, on_start, w);
    tg_loop_run(w->loop);
    for (uint32_t i = 0; i < w->nslots; i++)
        tg_bench__conn_close(&w->slots[i]);
    tg_loop_flush_deferred(w->loop);
    if (!w->finish_us)
        w->finish_us = tg_clock_mono_us();
    atomic_store(&w->done, true);
    return NULL;
}

int tg_bench__worker_new(struct tg_bench_worker **out, const struct tg_bench_plan *plan,
                         uint32_t id)
{
    struct tg_bench_worker *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    *out = w;
    w->plan = plan;
    w->id = id;
    uint32_t t = plan->nthreads;
    w->max_conns = plan->max_conns / t + (id < plan->max_conns % t);
    /* Twice the connections, so a replacement never waits for the end-of-turn reaping. */
    w->nslots = w->max_conns * 2 + 8;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    w->side[0] = malloc(sizeof *w->side[0]);
    w->side[1] = malloc(sizeof *w->side[1]);
    if (!w->slots || !w->side[0] || !w->side[1])
        return -ENOMEM;
    tg_bench__stats_init(w->side[0]);
    tg_bench__stats_init(w->side[1]);
    for (uint32_t i = w->nslots; i-- > 0;) {
        w->slots[i].w = w;
        w->slots[i].next = w->free_list;
        w->free_list = &w->slots[i];
    }
    tg_bufpool_init(&w->pool, TG_BENCH_BLOCK_BYTES, 16);
    if (plan->max_requests) {
        w->share = plan->max_requests / t + (id < plan->max_requests % t);
    } else {
        w->share = UINT64_MAX;
    }
    const struct tg_bench_reqset *rs = plan->reqs;
    w->cycle_pos = (uint32_t)((uint64_t)id * rs->cycle_len / t);
    int rc = tg_loop_new(&w->loop, on_wake, w);
    if (rc < 0)
        w->loop = NULL;
    return rc;
}

void tg_bench__worker_free(struct tg_bench_worker *w)
{
    if (!w)
        return;
    tg_bufpool_deinit(&w->pool);
    tg_loop_free(w->loop);
    free(w->slots);
    free(w->side[0]);
    free(w->side[1]);
    free(w);
}
