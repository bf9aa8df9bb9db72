/* SPDX-License-Identifier: MIT */
/* Cache warming (POST /api/v1/system/cache/warm): each path is fetched with a GET through
 * the gateway's own listener, on the control thread's loop, so the answer takes the path
 * every request takes (routing, protections, the upstream pick) and the proxy stores it
 * as it would any other. The reply is read and thrown away; the fetch ends at the
 * upstream's answer, its close, or WARM_TIMEOUT_US. The GET says `Cache-Control:
 * no-cache`, so an entry about to expire is fetched again rather than answered from the
 * cache (the lookup counts as a miss). Fetches are few (an operator's list)
 * and asynchronous: the control API answers at once. A warm GET counts as a request of
 * the loopback address, like any other client's, in metrics and rate limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "proxy/proxy_int.h"

#define WARM_TIMEOUT_US 60000000 /* longer than any route timeout a warm path should have */

struct warm {
    struct warm *prev, *next;
    struct tg_gateway *gw;
    struct tg_io io;
    struct tg_timer timer;
    int fd;
    uint32_t sent, req_len;
    char req[1400];
};

static void warm_end(struct warm *f)
{
    struct tg_gateway *gw = f->gw;
    tg_timer_stop(gw->warm_loop, &f->timer);
    if (f->fd != -1) {
        tg_io_stop(gw->warm_loop, &f->io);
        close(f->fd);
    }
    if (f->prev)
        f->prev->next = f->next;
    else
        gw->warms = f->next;
    if (f->next)
        f->next->prev = f->prev;
    gw->nwarms--;
    free(f);
}

static void warm_io(struct tg_io *io, unsigned events)
{
    struct warm *f = io->data;
    if (events & TG_IO_ERR) {
        warm_end(f);
        return;
    }
    if ((events & TG_IO_WRITE) && f->sent < f->req_len) {
        ssize_t n = send(f->fd, f->req + f->sent, f->req_len - f->sent, MSG_NOSIGNAL);
        if (n == -1 && errno != EAGAIN && errno != EINTR) {
            warm_end(f);
            return;
        }
        if (n > 0)
            f->sent += (uint32_t)n;
    }
    if (!(events & (TG_IO_READ | TG_IO_HUP)))
        return;
    char sink[4096];
    for (;;) {
        ssize_t n = recv(f->fd, sink, sizeof sink, 0);
        if (n > 0)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return;
        warm_end(f); /* the gateway closed after its answer ("Connection: close") */
        return;
    }
}

static void warm_timeout(struct tg_timer *t)
{
    warm_end(t->data);
}

/* The listener's address as a client reaches it: a wildcard becomes the loopback. */
static void own_address(const struct tg_addr *l, struct sockaddr_storage *ss)
{
    memcpy(ss, &l->ss, sizeof *ss);
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        if (a->sin_addr.s_addr == htonl(INADDR_ANY))
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
            a->sin6_addr = in6addr_loopback;
    }
}

static int warm_start(struct tg_gateway *gw, const char *path)
{
    struct warm *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    int n = snprintf(f->req, sizeof f->req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tailguard-warm\r\n"
                     "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
                     path, gw->listen.text);
    if (n < 0 || (size_t)n >= sizeof f->req) {
        free(f);
        return -ENAMETOOLONG;
    }
    f->req_len = (uint32_t)n;
    f->gw = gw;
    struct sockaddr_storage ss;
    own_address(&gw->listen, &ss);
    f->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd == -1) {
        int e = -errno;
        free(f);
        return e;
    }
    if ((connect(f->fd, (const struct sockaddr *)&ss, gw->listen.len) == -1 &&
         errno != EINPROGRESS) ||
        tg_io_start(gw->warm_loop, &f->io, f->fd, warm_io, f) != 0) {
        int e = errno ? -errno : -EIO;
        close(f->fd);
        free(f);
        return e;
    }
    f->next = gw->warms;
    if (gw->warms)
        gw->warms->prev = f;
    gw->warms = f;
    gw->nwarms++;
    tg_timer_start(gw->warm_loop, &f->timer, tg_loop_now_us(gw->warm_loop) + WARM_TIMEOUT_US,
                   warm_timeout, f);
    return 0;
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
    if (gw->nwarms >= TG_GATEWAY_WARM_MAX)
        return -EBUSY;
    int rc = warm_start(gw, path);
    if (rc != 0)
        tg_log(TG_LOG_WARN, "proxy", "cache-warm-failed path=\"%s\" err=%d", path, rc);
    return rc == 0 ? TG_GATEWAY_WARM_STARTED : rc;
}

void tg__warm_stop_all(struct tg_gateway *gw)
{
    while (gw->warms)
        warm_end(gw->warms);
}
