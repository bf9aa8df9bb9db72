/* SPDX-License-Identifier: MIT */
/* Dispatch of the collectors' paths, and /metrics/<kind>; see collectors.h. A kind's
 * page is written whole (not streamed like /metrics): it holds one exporter's families
 * for a few targets, tens of kilobytes. */
#include "admin/collectors.h"

#include <stdlib.h>
#include <string.h>

#include "admin/async.h"
#include "admin/database.h"
#include "admin/prom.h"
#include "admin/query.h"
#include "admin/redis_api.h"
#include "collect/set.h"
#include "metrics/collect.h"

#define PREFIX "/metrics/"

/* GET|HEAD /metrics/<kind>[?instance=<target>]. */
static bool kind_metrics(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                         const struct tg_http_msg *m)
{
    struct tg_str p = m->path;
    if (p.len <= sizeof PREFIX - 1 || memcmp(p.p, PREFIX, sizeof PREFIX - 1) != 0)
        return false;
    struct tg_admin_resp r = {0};
    int kind = tg_ckind_parse(p.p + sizeof PREFIX - 1, p.len - (sizeof PREFIX - 1));
    char instance[520];
    bool one = tg_admin_query_get(m->query, "instance", instance, sizeof instance) == 0;
    struct tg_mcollectors *cs = NULL;
    if (kind < 0) {
        tg_admin_resp_error(&r, 404, "not found", NULL);
    } else if (m->method != TG_HTTP_GET && m->method != TG_HTTP_HEAD) {
        tg_admin_resp_error(&r, 405, "method not allowed", NULL);
    } else if (!x->set || tg_cset_count(x->set, (enum tg_ckind)kind) == 0) {
        tg_admin_resp_error(&r, 404, "no collector of this kind is configured", NULL);
    } else if (one && !tg_cset_has(x->set, (enum tg_ckind)kind, instance)) {
        tg_admin_resp_error(&r, 404, "no such target", "instance");
    } else if (tg_mcollectors_new(&cs) != 0) {
        tg_admin_resp_error(&r, 500, "out of memory", NULL);
    } else {
        struct tg_cset_kind_scan sc;
        tg_cset_kind_scan_init(&sc, x->set, (enum tg_ckind)kind, one ? instance : NULL);
        if (tg_mcollectors_add(cs, "kind", tg_cset_kind_collect, &sc) != 0)
            tg_admin_resp_error(&r, 500, "out of memory", NULL);
        else
            tg_admin_prom_metrics(cs, &r);
    }
    tg_mcollectors_free(cs);
    tg_admin_async_respond(c, &r);
    return true;
}

bool tg_admin_collectors(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                         const struct tg_http_msg *m, const char *body, size_t blen)
{
    return kind_metrics(x, c, m) || tg_admin_database(x, c, m, body, blen) ||
           tg_admin_redis(x, c, m, body, blen);
}
