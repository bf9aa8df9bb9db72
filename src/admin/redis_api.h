/* SPDX-License-Identifier: MIT */
/* The runbooks' Redis diagnostics as JSON, from the Redis collector's connection
 * (collect/redis.h): GET /api/v1/monitoring/redis/slowlog?limit=10 (SLOWLOG GET). */
#ifndef TG_ADMIN_REDIS_API_H
#define TG_ADMIN_REDIS_API_H

#include "admin/collectors.h"

/* True when the path is one of the above (answered now or later on `c`). */
bool tg_admin_redis(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                    const struct tg_http_msg *m, const char *body, size_t blen);

#endif
