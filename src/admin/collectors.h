/* SPDX-License-Identifier: MIT */
/* The collectors' part of the admin API: /metrics/<kind> (the exporters' families each
 * kind of collector gathers, as node_exporter, postgres_exporter, redis_exporter,
 * cAdvisor and blackbox_exporter print them), the runbooks' database and Redis
 * diagnostics as JSON (database.h, redis_api.h) and the database hook under
 * /api/v1/system/db/. Some answers need a round trip to the server, so handlers get the
 * connection and may answer later (async.h). */
#ifndef TG_ADMIN_COLLECTORS_H
#define TG_ADMIN_COLLECTORS_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http1.h"

struct tg_cset;
struct tg_gateway;
struct tg_hconn;
struct tg_runtime;

/* What the collectors' handlers read. */
struct tg_admin_coll_ctx {
    struct tg_cset *set;   /* NULL: no collectors (then the paths answer 404/503) */
    struct tg_gateway *gw; /* its configuration (the token) */
    struct tg_runtime *rt; /* the audit log; NULL in tests without one */
    const char *peer;      /* the client's address */
};

/* Takes the request when its path is one of the collectors' (answering now, or later on
 * `c`) and returns true; else false. */
bool tg_admin_collectors(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                         const struct tg_http_msg *m, const char *body, size_t blen);

#endif
