/* SPDX-License-Identifier: MIT */
/* Demo API internals shared by demo.c (command and threads), server.c (workers),
 * conn.c (the handler the HTTP server engine calls, and /bytes streaming) and
 * endpoints.c (what each endpoint answers). One worker per thread owns a loop, a
 * SO_REUSEPORT listener served by the engine (http/server.h), and its pools; workers
 * share only struct tg_demo_shared, which is read-only after start-up apart from the
 * fault registry, the agent pool's counters and settings (atomics), and the stop flag. */
#ifndef TG_DEMO_SERVER_INT_H
#define TG_DEMO_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "demo/agents.h"
#include "demo/faults.h"
#include "demo/latency.h"
#include "demo/route.h"
#include "http/http1.h"
#include "http/server.h"

#define TG_DEMO_HEAD_MAX (32 * 1024)    /* request head limit */
#define TG_DEMO_BIG_BLOCK (1024 * 1024) /* echo responses */
#define TG_DEMO_CAPTURE_MAX (64 * 1024) /* request body bytes kept (echo, /_faults) */
#define TG_DEMO_BODY_MAX (1ull << 30)   /* request body limit, except /echo */

struct tg_demo_worker;

struct tg_demo_shared {
    double latency_scale; /* multiplies simulated endpoint latency; 0 = none */
    struct tg_demo_faults *faults;
    struct tg_demo_agents agents;
    unsigned nworkers;
    struct tg_demo_worker **workers;
    _Atomic bool stopping;
};

/* What the current request needs once its head is gone (an answer may come from a timer,
 * long after the head's slices died), copied out in tg_demo__ep_begin. */
struct tg_demo_req {
    enum tg_demo_route_err route_err;
    struct tg_demo_route route; /* route.name is invalid; use name[] */
    uint32_t name_len;
    bool has_name;
    enum tg_http_method method;
    bool chunked_resp;
    bool agent_busy; /* a /api/v1/agents coordination is counted in progress */
    struct tg_demo_effect effect;
    int64_t head_us;   /* loop time when the head was complete */
    uint32_t echo_len; /* echo: bytes of JSON written into `big` before the body */
    /* Last, so a new request clears only the fields above (name_len says what is set). */
    char name[TG_DEMO_FAULT_ENDPOINT_MAX]; /* analytics report, or DELETE ?endpoint= */
};

/* The handler's data of one connection (the engine zeroes it when a client connects). */
struct tg_demo_conn {
    struct tg_hconn *hc;
    struct tg_demo_worker *w;
    struct tg_timer timer; /* simulated latency */
    struct tg_buf big;     /* /echo's answer, built in place */
    uint64_t stream_left;  /* /bytes: pattern bytes not yet queued */
    struct tg_demo_req req;
};

struct tg_demo_worker {
    struct tg_demo_shared *sh;
    unsigned idx;
    struct tg_loop *loop;
    int lfd;
    struct tg_hsrv *srv;
    struct tg_bufpool bigpool;
    struct tg_demo_rng rng;
    uint64_t generated; /* ids for /api/content/generate */
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

/* conn.c */
/* The engine's callbacks for the demo API. */
extern const struct tg_hsrv_handler tg_demo__handler;
/* Answers with a /bytes stream of `n` pattern bytes. */
void tg_demo__respond_bytes(struct tg_demo_conn *d, uint64_t n, bool chunked);

/* endpoints.c */
/* Builds the static response bodies. Call once before workers start. */
void tg_demo__endpoints_init(void);
/* The request head is complete: route it, decide faults, set up body handling. */
void tg_demo__ep_begin(struct tg_demo_conn *d, const struct tg_http_msg *m);
/* The body is complete (`m` is the head again): answer now, after a timer, or never
 * (hang). */
void tg_demo__ep_dispatch(struct tg_demo_conn *d, const struct tg_http_msg *m);
/* Answers `status` with {"error": msg, "field": field or null}. */
void tg_demo__answer_error(struct tg_demo_conn *c, int status, const char *msg, const char *field);
/* The request it was serving is over (answered, or its client left): a /api/v1/agents
 * coordination in progress ends. */
void tg_demo__ep_end(struct tg_demo_conn *d);

/* agents_ep.c */
/* For the agent pool's control and monitoring paths: sets up body handling and returns
 * true; false for any other endpoint. */
bool tg_demo__agents_begin(struct tg_demo_conn *d, const struct tg_http_msg *m);
/* Answers an agent pool path and returns true; false for any other endpoint. */
bool tg_demo__agents_handle(struct tg_demo_conn *d);

#endif
