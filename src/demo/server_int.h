/* SPDX-License-Identifier: MIT */
/* Demo API internals shared by demo.c (command and threads), server.c (workers and
 * accept), conn.c (the connection state machine) and endpoints.c (what each endpoint
 * answers). One worker per thread owns a loop, a SO_REUSEPORT listener, its connections
 * and its pools; workers share only struct tg_demo_shared, which is read-only after
 * start-up apart from the fault registry and the stop flag. */
#ifndef TG_DEMO_SERVER_INT_H
#define TG_DEMO_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "demo/faults.h"
#include "demo/latency.h"
#include "demo/route.h"
#include "http/http1.h"

#define TG_DEMO_IN_BLOCK (32 * 1024)    /* read buffer; also the request head limit */
#define TG_DEMO_OUT_BLOCK (16 * 1024)   /* write buffer for ordinary responses */
#define TG_DEMO_OUT_RESERVE 4096        /* room a request needs before it is started */
#define TG_DEMO_BIG_BLOCK (1024 * 1024) /* echo responses, captured bodies, big JSON */
#define TG_DEMO_CAPTURE_MAX (64 * 1024) /* request body bytes kept (echo, /_faults) */
#define TG_DEMO_BODY_MAX (1ull << 30)   /* request body limit, except /echo */

struct tg_demo_worker;

struct tg_demo_shared {
    double latency_scale; /* multiplies simulated endpoint latency; 0 = none */
    struct tg_demo_faults *faults;
    unsigned nworkers;
    struct tg_demo_worker **workers;
    _Atomic bool stopping;
};

enum tg_demo_conn_state {
    TG_DEMO_CS_HEAD = 0, /* reading (or waiting for) the next request head */
    TG_DEMO_CS_BODY,     /* reading the request body */
    TG_DEMO_CS_WAIT,     /* simulated latency timer armed, or hanging */
    TG_DEMO_CS_STREAM,   /* sending a response larger than the write buffer */
    TG_DEMO_CS_LINGER,   /* last response queued: flush, half-close, drain, close */
    TG_DEMO_CS_CLOSED,
};

/* What the current request needs after its head has been consumed (the head's slices
 * die when the read buffer is compacted, so everything is copied here). */
struct tg_demo_req {
    enum tg_demo_route_err route_err;
    struct tg_demo_route route;            /* route.name is invalid; use name[] */
    char name[TG_DEMO_FAULT_ENDPOINT_MAX]; /* analytics report, or DELETE ?endpoint= */
    uint32_t name_len;
    bool has_name;
    enum tg_http_method method;
    int minor;
    bool keepalive, head_only, chunked_resp;
    struct tg_demo_effect effect;
    int64_t head_us; /* loop time when the head was complete */
    /* Body framing and accounting. */
    enum tg_http_body body;
    uint64_t body_left; /* TG_HTTP_BODY_LENGTH */
    struct tg_http_chunked chunked;
    uint64_t body_bytes, body_limit;
    bool body_done;
    /* Capture of the first bytes of the body into conn->big at cap_off. */
    bool capture, cap_overflow;
    uint32_t cap_off, cap_max, cap_len;
    uint32_t echo_len; /* echo: bytes of JSON prefix written into big at its head */
};

struct tg_demo_conn {
    struct tg_io io;
    struct tg_demo_worker *w;
    struct tg_demo_conn *prev, *next; /* worker's connection list */
    enum tg_demo_conn_state state;
    bool readable, writable;
    bool hup;      /* the loop reported the peer's FIN: read to EOF before trusting a short read */
    bool peer_eof; /* read() returned 0 */
    bool shut_wr;  /* we half-closed (lingering close) */
    struct tg_buf in, out, big;
    /* Bytes to send after `out`: a region of `big` or of the /bytes pattern. */
    const char *tail_p;
    uint64_t tail_len;
    /* /bytes streaming: bytes not yet handed to tail, chunk framing state. */
    uint64_t stream_left;
    bool streaming, stream_chunked, stream_in_chunk, stream_done;
    struct tg_timer timer;
    struct tg_defer defer;
    int64_t last_active_us;
    struct tg_demo_req req;
};

struct tg_demo_worker {
    struct tg_demo_shared *sh;
    unsigned idx;
    struct tg_loop *loop;
    int lfd;
    struct tg_io lio;
    struct tg_bufpool inpool, outpool, bigpool;
    struct tg_demo_conn *conns;      /* open connections */
    struct tg_demo_conn *free_conns; /* pool, linked through `next` */
    uint32_t nfree;
    struct tg_timer sweep;
    struct tg_timer accept_pause; /* accepting resumes when it fires */
    int64_t accept_warned_us;
    uint64_t accept_errors;
    struct tg_demo_rng rng;
    uint64_t generated;     /* ids for /api/content/generate */
    struct tg_http_msg msg; /* parse scratch: too big for the stack of every callback */
    pthread_t thread;
};

/* server.c */
/* Creates worker `idx` with its loop and pools. Takes `listen_fd` (closed by
 * tg_demo__worker_free, also when this fails). Returns 0 or a negative error. */
int tg_demo__worker_new(struct tg_demo_worker **out, struct tg_demo_shared *sh, unsigned idx,
                        int listen_fd);
/* Frees a worker whose thread has stopped (or never started). Accepts NULL. */
void tg_demo__worker_free(struct tg_demo_worker *w);
/* Thread body: runs the worker's loop until tg_demo__wake_all sees `stopping`. */
void *tg_demo__worker_main(void *w);
/* Wakes every worker (any thread): they reclaim retired fault sets and check `stopping`. */
void tg_demo__wake_all(struct tg_demo_shared *sh);
/* Returns a closed connection's object to the pool (deferred callback of conn.c). */
void tg_demo__conn_recycle(struct tg_demo_conn *c);

/* conn.c */
void tg_demo__conn_start(struct tg_demo_conn *c, struct tg_demo_worker *w, int fd);
void tg_demo__conn_on_io(struct tg_io *io, unsigned events);
/* Runs the state machine as far as it can go without blocking. */
void tg_demo__conn_drive(struct tg_demo_conn *c);
/* Marks closed, stops I/O and timer, closes the fd, frees buffers, defers recycling. */
void tg_demo__conn_close(struct tg_demo_conn *c, const char *reason);
/* Queues a complete response (head + `body`, unless HEAD). Then the connection goes on
 * with the next request, streams, or lingers and closes. `extra` is NULL or header lines
 * each ending in CRLF. Returns false if the connection was closed (out of memory). */
bool tg_demo__respond(struct tg_demo_conn *c, int status, const char *ctype, const char *extra,
                      const char *body, size_t len);
/* Queues a response whose head and body are already in c->big[head..tail). */
void tg_demo__respond_big(struct tg_demo_conn *c);
/* Queues the head of a /bytes response and starts streaming `n` pattern bytes. */
void tg_demo__respond_bytes(struct tg_demo_conn *c, uint64_t n, bool chunked);
/* Formats a response head into dst; returns its length (< cap) or 0 if it does not fit.
 * `len` is the body length (ignored for 204/304). `chunked` replaces Content-Length. */
size_t tg_demo__format_head(const struct tg_demo_conn *c, char *dst, size_t cap, int status,
                            const char *ctype, const char *extra, uint64_t len, bool chunked);

/* endpoints.c */
/* Builds the static response bodies. Call once before workers start. */
void tg_demo__endpoints_init(void);
/* The request head is complete: route it, decide faults, set up body handling. Returns
 * false if it already answered (e.g. 413) and the connection will close. */
bool tg_demo__ep_begin(struct tg_demo_conn *c, const struct tg_http_msg *m);
/* The body is complete: answer now, after a timer, or never (hang). */
void tg_demo__ep_dispatch(struct tg_demo_conn *c);

#endif
