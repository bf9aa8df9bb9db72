/* SPDX-License-Identifier: MIT */
/* The runbooks' Redis diagnostics as JSON, from the Redis collector's connection
 * (collect/redis.h): GET /api/v1/monitoring/redis/slowlog?limit=10 (SLOWLOG GET: the
 * newest `limit` entries, 1 to 1000, else 400) and GET /api/v1/monitoring/redis/info (a
 * summary of INFO: clients, memory used and max, hit rate, ops/s, keys), each with
 * ?instance= to pick a target (the first one by default; an unknown name is a 404). A
 * server that is down, refuses or hangs answers 503 with the reason, within the
 * target's timeout. docs/api.md has the fields. */
#ifndef TG_ADMIN_REDIS_API_H
#define TG_ADMIN_REDIS_API_H

#include "admin/collectors.h"

/* True when the path is one of the above (answered now or later on `c`). */
bool tg_admin_redis(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                    const struct tg_http_msg *m, const char *body, size_t blen);

#endif
