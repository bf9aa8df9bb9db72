/* SPDX-License-Identifier: MIT */
/* One load-generator connection: non-blocking connect, send of a pre-built request,
 * incremental read and parse of the response (head with http/http1, body by length,
 * chunked framing or EOF), per-request timeout, and the recording of each finished request
 * into its worker's stats. Connections live in a fixed slot array owned by their worker
 * (no allocation per connection or per request); a closed slot is reused only after the
 * loop turn ends, so a stale event fetched in the same turn can never reach a new
 * connection in the same slot.
 *
 * Per request: one send(2), usually one recv(2) (a short read ends the turn's reading, as
 * the loop's edge-triggered contract allows), one clock read when the response completes
 * (its value also stamps the next request), one phaser enter/exit around the counters. */
#ifndef TG_BENCH_CONN_INT_H
#define TG_BENCH_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/request_int.h"
#include "bench/stats_int.h"
#include "core/buf.h"
#include "core/loop.h"
#include "http/http1.h"

struct tg_bench_worker;

enum tg_bench_cs {
    TG_BENCH_CS_FREE = 0,   /* slot unused */
    TG_BENCH_CS_CONNECTING, /* connect in progress (a request may be waiting for it) */
    TG_BENCH_CS_SENDING,    /* request partly sent, waiting for send space */
    TG_BENCH_CS_WAITING,    /* request sent, reading the response */
    TG_BENCH_CS_IDLE,       /* connected, no request (open model's pool) */
    TG_BENCH_CS_ZOMBIE,     /* closed this turn; back to FREE at the end of the turn */
};

struct tg_bench_conn {
    struct tg_io io;
    struct tg_bench_worker *w;
    struct tg_bench_conn *next; /* free, idle or zombie list */
    enum tg_bench_cs state;
    bool retire;      /* closed model: close after this response (stage ramp-down) */
    bool peer_closed; /* the peer's FIN was seen: do not reuse */
    bool late;        /* this request started TG_BENCH_LATE_US after its intended time */
    const struct tg_bench_req *req; /* in flight, NULL if none */
    uint32_t sent;
    int64_t intended_us; /* open model: when it should have started; closed: = start_us */
    int64_t start_us;    /* when it actually started (connect start for a new connection) */
    uint64_t rx_bytes;
    struct tg_buf in; /* unparsed response bytes (a partial head), from the worker's pool */
    /* Response state. */
    bool head_done;
    bool keepalive;
    int status;
    enum tg_http_body body;
    uint64_t body_left;
    struct tg_http_chunked chunked;
};

/* Opens a connection in the FREE slot `c` (socket, connect, loop registration). Returns 0
 * or -errno (the slot stays FREE; the caller counts the connect error). */
int tg_bench__conn_open(struct tg_bench_worker *w, struct tg_bench_conn *c);

/* Starts `r` on `c` (CONNECTING or IDLE): stamps it, then sends at once if connected. A
 * send failure finishes the request as an error (through the worker) before returning. */
void tg_bench__conn_start(struct tg_bench_conn *c, const struct tg_bench_req *r,
                          int64_t intended_us, int64_t now_us);

/* Fails the request in flight with `kind` (recorded), then closes. */
void tg_bench__conn_fail(struct tg_bench_conn *c, enum tg_bench_err kind, int64_t now_us);

/* Closes without recording anything (idle connections, aborts). */
void tg_bench__conn_close(struct tg_bench_conn *c);

#endif
