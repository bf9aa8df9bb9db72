/* SPDX-License-Identifier: MIT */
/* A load-generator thread: its own event loop, its share of the connections and of the
 * schedule, and its stats behind a phaser the coordinator flips. Shared-nothing: the only
 * cross-thread data are the immutable plan, the control word (set by the coordinator, read
 * in the wake-up callback) and the phaser.
 *
 * Closed model: keeps its share of the target connection count busy; each finished
 * request immediately starts the next on the same connection. Stage ramps are applied by
 * a 10 ms tick (opening connections, or retiring them after their current request).
 * Open model: request k of the global schedule is intended at time_of(k); thread i takes
 * k = i, i+T, ... A pacing timer starts each due request on an idle connection, opening
 * one (up to its share of the cap) when none is idle; when none can be had, requests
 * wait and start as soon as a connection frees, late, with their latency still counted
 * from the intended time (coordinated-omission correction). The loop's timers have
 * millisecond resolution, so the pacer wakes up to TG_BENCH_EARLY_US before a request is
 * due and sends what falls due within that window; a request sent early is timed from
 * its actual send, so timer granularity never inflates the corrected latency. */
#ifndef TG_BENCH_WORKER_INT_H
#define TG_BENCH_WORKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bench/args_int.h"
#include "bench/conn_int.h"
#include "bench/request_int.h"
#include "bench/stages_int.h"
#include "bench/stats_int.h"
#include "core/buf.h"
#include "core/loop.h"
#include "metrics/hist.h"

#define TG_BENCH_EARLY_US 1000     /* pacer's send-ahead window (one loop timer tick) */
#define TG_BENCH_TICK_US 10000     /* stage ramps and timeout checks */
#define TG_BENCH_BLOCK_BYTES 65536 /* read buffer: also the largest response head */

/* One run's immutable description, shared by every worker. */
struct tg_bench_plan {
    enum tg_bench_model model;
    bool keepalive;
    struct tg_bench_profile load; /* rate (open) or connections (closed) over time */
    int64_t send_us;              /* start no request after this (from start_us) */
    uint64_t max_requests;        /* 0: unlimited */
    uint32_t max_conns;           /* open: cap over all threads; closed: peak */
    int64_t timeout_us;
    const struct tg_bench_reqset *reqs;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint32_t nthreads;
    int64_t start_us; /* the schedule's origin on the monotonic clock */
};

enum tg_bench_ctl {
    TG_BENCH_CTL_RUN = 0,
    TG_BENCH_CTL_DRAIN, /* start nothing new; finish what is in flight */
    TG_BENCH_CTL_ABORT, /* drop everything now (not counted) */
};

struct tg_bench_worker {
    const struct tg_bench_plan *plan;
    uint32_t id;
    struct tg_loop *loop;
    pthread_t thread;

    struct tg_bench_conn *slots;
    uint32_t nslots;
    struct tg_bench_conn *free_list, *idle_list, *zombies;
    struct tg_defer reap;
    uint32_t nopen;     /* connections holding an fd */
    uint32_t nbusy;     /* connections with a request in flight */
    uint32_t nretire;   /* busy connections marked to close after their response */
    uint32_t max_conns; /* this thread's share of the connection cap */
    uint32_t target;    /* closed model: connections wanted now */
    struct tg_bufpool pool;
    struct tg_http_msg msg;
    struct tg_timer start_timer, pace, tick, end;

    bool started, sending, starved, finished;
    double open_tokens; /* open model: connections it may open now (see pump in worker.c) */
    int64_t open_tokens_us;
    uint64_t share; /* requests this thread may still start */
    uint64_t j;     /* open model: next local schedule index */
    int64_t next_due_us;
    struct tg_bench_cursor cursor;
    uint32_t cycle_pos;

    struct tg_hist_phaser ph;
    struct tg_bench_stats *side[2];
    _Atomic int ctl;
    _Atomic bool done;
    int64_t finish_us; /* when its last request finished; valid once `done` */
};

/* Creates worker `id` of the plan (loop, slots, stats). Returns 0 or -errno; a partly
 * built worker is released by tg_bench__worker_free. */
int tg_bench__worker_new(struct tg_bench_worker **out, const struct tg_bench_plan *plan,
                         uint32_t id);

/* Frees a worker whose thread has ended (or never started). Accepts NULL. */
void tg_bench__worker_free(struct tg_bench_worker *w);

/* Thread entry point: runs the loop until the worker's share is done or it is stopped. */
void *tg_bench__worker_main(void *arg);

/* Coordinator: asks the worker to drain or abort (any thread). */
void tg_bench__worker_control(struct tg_bench_worker *w, enum tg_bench_ctl ctl);

/* Called by conn.c. A request finished with a reusable connection (closed model: start
 * the next; open model: take the next due request or go idle). */
void tg_bench__worker_on_reusable(struct tg_bench_worker *w, struct tg_bench_conn *c,
                                  int64_t now_us);

/* Called by conn.c after a connection closed; `connect_failed` delays the replacement to
 * the next tick (a refused port must not be hammered in a tight loop). */
void tg_bench__worker_on_closed(struct tg_bench_worker *w, int64_t now_us, bool connect_failed);

#endif
