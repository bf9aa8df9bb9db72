/* SPDX-License-Identifier: MIT */
/* See redis_api.h. (Not yet built: no path is taken.) */
#include "admin/redis_api.h"

bool tg_admin_redis(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                 const struct tg_http_msg *m, const char *body, size_t blen)
{
    (void)x;
    (void)c;
    (void)m;
    (void)body;
    (void)blen;
    return false;
}
