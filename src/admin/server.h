/* SPDX-License-Identifier: MIT */
/* The admin HTTP listener, served by the control thread's loop on the HTTP server engine
 * (http/server.h) with its own small limits: 256 connections, 16 KiB heads, 8 KiB
 * request-targets, 1 MiB bodies, a 10 s header timeout, 30 s idle keep-alive. It answers
 * health, the monitoring API and /metrics (and the control API as later modules add
 * it). Handlers write a complete response into a struct tg_admin_resp (resp.h), except
 * GET /metrics, which is streamed in chunks as the client reads it (prom.h). */
#ifndef TG_ADMIN_SERVER_H
#define TG_ADMIN_SERVER_H

#include "config/addr.h"
#include "core/err.h"
#include "core/loop.h"
#include "http/http1.h"
#include "http/server.h"
#include "admin/resp.h"

struct tg_admin;
struct tg_control;
struct tg_gateway;
struct tg_runtime;
struct tg_scrape;

/* Starts listening on `addr` with handlers that read `gw` and, when not NULL, `ctl` (the
 * control thread, for its tasks' figures in /metrics) and `rt` (the runtime layer the
 * control API changes; without it /api/v1/system/ answers 404), all borrowed. Control
 * thread. */
int tg_admin_new(struct tg_loop *loop, const struct tg_addr *addr, struct tg_gateway *gw,
                 const struct tg_control *ctl, struct tg_runtime *rt, struct tg_admin **out,
                 struct tg_errbuf *eb);

/* Marks the process as draining: /health answers 503 and every response closes its
 * connection from now on. */
void tg_admin_set_draining(struct tg_admin *a);

/* The admin listener's connection and refusal counters. Control thread. */
void tg_admin_server_stats(const struct tg_admin *a, struct tg_hsrv_stats *out);

/* Records the outcome of a configuration reload for /metrics: applied or refused, and
 * how many settings of the applied file wait for a restart. */
void tg_admin_reloaded(struct tg_admin *a, bool ok, uint32_t restart_pending);

/* Serves the Prometheus HTTP API (promapi.h) and /federate over `s`'s store, borrowed until
 * tg_admin_free; until then the API answers 503. */
void tg_admin_set_scrape(struct tg_admin *a, struct tg_scrape *s);

void tg_admin_free(struct tg_admin *a);

/* GET /api/v1/system/playbooks answers from `r` (borrowed) from now on; NULL stops it. */
struct tg_respond;
void tg_admin_set_respond(struct tg_admin *a, struct tg_respond *r);

/* What the server was made with (for admin/call.c, the gateway's own calls). */
struct tg_gateway *tg_admin_gateway(struct tg_admin *a);
struct tg_runtime *tg_admin_runtime(struct tg_admin *a); /* NULL: no control API */

/* Dispatches one request to its handler (exposed for unit tests). `body` is the request
 * body (`body_len` bytes, NULL if none), valid during the call; `peer` the client's
 * address. */
void tg_admin_handle(struct tg_admin *a, const struct tg_http_msg *req, const char *body,
                     size_t body_len, const char *peer, struct tg_admin_resp *resp);

/* Serves the rule engine's API (admin/promapi_rules.h) from now on; NULL stops it.
 * `ruler` must outlive the admin server or be unset first. */
struct tg_ruler;
void tg_admin_set_ruler(struct tg_admin *a, struct tg_ruler *ruler);

/* The autoscaler behind /api/v1/system/autoscale and /scale; it must outlive the admin
 * server or be unset first. */
struct tg_scaler;
void tg_admin_set_scaler(struct tg_admin *a, struct tg_scaler *scaler);

/* The collector targets (collect/set.h) the collectors' paths read; NULL = none. */
struct tg_cset;
void tg_admin_set_collectors(struct tg_admin *a, struct tg_cset *set);

/* The incident manager the incidents API reads and edits; NULL = none (503). It must
 * outlive the admin server or be unset first. */
struct tg_incidents;
void tg_admin_set_incidents(struct tg_admin *a, struct tg_incidents *m);

#endif
