/* SPDX-License-Identifier: MIT */
/* The runbooks' PostgreSQL diagnostics as JSON, from the PostgreSQL collector's
 * connection (collect/postgres.h): GET /api/v1/monitoring/database/slow-queries,
 * /database/connections, /database/locks, /database/index-candidates, and the hook
 * POST /api/v1/system/db/terminate-long-queries. */
#ifndef TG_ADMIN_DATABASE_H
#define TG_ADMIN_DATABASE_H

#include "admin/collectors.h"

/* True when the path is one of the above (answered now or later on `c`). */
bool tg_admin_database(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                       const struct tg_http_msg *m, const char *body, size_t blen);

#endif
