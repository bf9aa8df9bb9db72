/* SPDX-License-Identifier: MIT */
/* The admin HTTP listener, served by the control thread's loop. It answers small
 * requests (health, and the monitoring and control APIs as later modules add them),
 * one at a time per connection, with keep-alive. Handlers write a complete response into
 * a struct tg_admin_resp (resp.h). */
#ifndef TG_ADMIN_SERVER_H
#define TG_ADMIN_SERVER_H

#include "config/addr.h"
#include "core/err.h"
#include "core/loop.h"
#include "http/http1.h"
#include "admin/resp.h"

struct tg_admin;
struct tg_gateway;

/* Starts listening on `addr` with handlers that read `gw` (borrowed). Control thread. */
int tg_admin_new(struct tg_loop *loop, const struct tg_addr *addr, struct tg_gateway *gw,
                 struct tg_admin **out, struct tg_errbuf *eb);

/* Marks the process as draining: /health answers 503 from now on. */
void tg_admin_set_draining(struct tg_admin *a);

/* Records the outcome of a configuration reload for /metrics: applied or refused, and
 * how many settings of the applied file wait for a restart. */
void tg_admin_reloaded(struct tg_admin *a, bool ok, uint32_t restart_pending);

void tg_admin_free(struct tg_admin *a);

/* Dispatches one request to its handler (exposed for unit tests). */
void tg_admin_handle(struct tg_admin *a, const struct tg_http_msg *req,
                     struct tg_admin_resp *resp);

#endif
