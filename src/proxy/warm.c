/* SPDX-License-Identifier: MIT */
/* Cache warming (POST /api/v1/system/cache/warm): each path is fetched with a GET through
 * the gateway's own listener, on the control thread's loop, so the answer takes the path
 * every request takes (routing, protections, the upstream pick) and the proxy stores it
 * as it would any other. The reply is read and thrown away; the fetch ends at the
 * upstream's answer, its close, or WARM_TIMEOUT_US. The GET says `Cache-Control:
 * no-cache`, so an entry about to expire is fetched again rather than answered from the
 * cache (the lookup counts as a miss). Fetches are few (an operator's list), made with
 * the control plane's HTTP client (http/client.h), and asynchronous: the control API
 * answers at once. A warm GET counts as a request of
 * the loopback address, like any other client's, in metrics and rate limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/client.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"

#define WARM_TIMEOUT_US 60000000 /* longer than any route timeout a warm path should have */
#define WARM_BODY_MAX (64u << 20) /* the answer is thrown away; the proxy stored it */

/* The listener's address as a client reaches it: a wildcard becomes the loopback. */
static void own_address(const struct tg_addr *l, struct tg_hclient_target *t)
{
    memcpy(&t->addr, &l->ss, sizeof t->addr);
    t->addr_len = l->len;
    if (t->addr.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&t->addr;
        if (a->sin_addr.s_addr == htonl(INADDR_ANY))
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (t->addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&t->addr;
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
            a->sin6_addr = in6addr_loopback;
    }
}

static void warm_done(void *ctx, const struct tg_hclient_resp *r)
{
    (void)ctx;
    if (r->error != TG_HCLIENT_OK && r->error != TG_HCLIENT_TOO_BIG)
        tg_log(TG_LOG_WARN, "proxy", "cache-warm-failed error=%s detail=\"%s\"",
               tg_hclient_error_name(r->error), r->detail);
}

static int warm_start(struct tg_gateway *gw, const char *path)
{
    struct tg_hclient_target t;
    own_address(&gw->listen, &t);
    int n = snprintf(t.host, sizeof t.host, "%s", gw->listen.text);
    int m = snprintf(t.path, sizeof t.path, "%s", path);
    if (n < 0 || (size_t)n >= sizeof t.host || m < 0 || (size_t)m >= sizeof t.path)
        return -ENAMETOOLONG;
    struct tg_hclient_req rq = {
        .method = "GET",
        .headers = "Cache-Control: no-cache\r\n",
        .timeout_us = WARM_TIMEOUT_US,
        .max_body = WARM_BODY_MAX,
    };
    return tg_hclient_call(gw->warm_client, &t, &rq, warm_done, NULL, NULL);
}

int tg_gateway_cache_warm(struct tg_gateway *gw, const char *path, int64_t min_fresh_us)
{
    struct tg_snapshot *s = atomic_load(&gw->snap);
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    struct tg_cache_rule rule = tg_protect_cache_rule(s->protect, path, plen);
    struct tg_cache *cache = tg_protect_cache(s->protect);
    if (!cache || (!rule.serve && !rule.fallback_max_age_us))
        return TG_GATEWAY_WARM_NOT_CACHED;
    struct tg_cache_req rq = {
        .path = path,
        .path_len = (uint32_t)plen,
        .query = q ? q + 1 : "",
        .query_len = q ? (uint32_t)strlen(q + 1) : 0,
    };
    if (!tg_cache_warm_needed(cache, &rq, &rule, tg_clock_mono_us(), min_fresh_us))
        return TG_GATEWAY_WARM_FRESH;
    if (!gw->warm_loop)
        return -EAGAIN;
    if (!gw->warm_client && tg_hclient_new(gw->warm_loop, &gw->warm_client) != 0)
        return -ENOMEM;
    struct tg_hclient_stats st;
    tg_hclient_stats(gw->warm_client, &st);
    if (st.in_flight >= TG_GATEWAY_WARM_MAX)
        return -EBUSY;
    int rc = warm_start(gw, path);
    if (rc != 0)
        tg_log(TG_LOG_WARN, "proxy", "cache-warm-failed path=\"%s\" err=%d", path, rc);
    return rc == 0 ? TG_GATEWAY_WARM_STARTED : rc;
}

void tg__warm_stop_all(struct tg_gateway *gw)
{
    tg_hclient_free(gw->warm_client);
    gw->warm_client = NULL;
}
