/* SPDX-License-Identifier: MIT */
/* Dispatch of the collectors' paths; see collectors.h. */
#include "admin/collectors.h"

#include <string.h>

#include "admin/database.h"
#include "admin/redis_api.h"

bool tg_admin_collectors(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                         const struct tg_http_msg *m, const char *body, size_t blen)
{
    return tg_admin_database(x, c, m, body, blen) || tg_admin_redis(x, c, m, body, blen);
}
