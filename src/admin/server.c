/* SPDX-License-Identifier: MIT */
/* Admin listener connections and request dispatch; see server.h. The admin side is not
 * the hot path: one connection object per client from malloc, a 16 KiB input buffer, a
 * complete response written with one send where it fits. */
#include "admin/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "metrics/registry.h"
#include "admin/health.h"
#include "admin/monitoring.h"
#include "admin/prom.h"
#include "proxy/gateway.h"

#define ADMIN_IN_BYTES 16384
#define ADMIN_IDLE_US 30000000

struct aconn {
    struct tg_admin *a;
    struct aconn *prev, *next;
    struct tg_io io;
    int fd;
    struct tg_timer timer;
    struct tg_defer defer;
    bool closing;
    uint32_t in_len;
    char in[ADMIN_IN_BYTES];
    char *out;
    uint32_t out_len, out_off;
    bool close_after;
};

struct tg_admin {
    struct tg_loop *loop;
    struct tg_gateway *gw;
    int lfd;
    struct tg_io lio;
    bool draining;
    int64_t start_wall_us;
    struct aconn *conns;
    struct tg_registry *reg; /* scrape-time counters and gauges of /metrics */
    struct tg_admin_reload reload;
    struct tg_http_msg msg;
};

void tg_admin_handle(struct tg_admin *a, const struct tg_http_msg *req,
                     struct tg_admin_resp *resp)
{
    struct tg_str p = req->path;
    bool get = req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD;
    struct tg_admin_health_ctx h = {a->gw, a->draining, a->start_wall_us};
#define PATH_IS(s) (p.len == sizeof(s) - 1 && memcmp(p.p, s, p.len) == 0)
    bool health = PATH_IS("/health") || PATH_IS("/api/v1/health") || PATH_IS("/api/health") ||
                  PATH_IS("/health/detailed") || PATH_IS("/health/services");
    if (health && !get) {
        tg_admin_resp_error(resp, 405, "method not allowed", NULL);
        return;
    }
    if (PATH_IS("/health"))
        tg_admin_health(&h, false, resp);
    else if (PATH_IS("/api/v1/health") || PATH_IS("/api/health"))
        tg_admin_health(&h, true, resp);
    else if (PATH_IS("/health/detailed"))
        tg_admin_health_detailed(&h, resp);
    else if (PATH_IS("/health/services"))
        tg_admin_health_services(&h, resp);
    else if (PATH_IS("/metrics") && get)
        tg_admin_prom_metrics(a->gw, a->reg, a->start_wall_us, &a->reload, resp);
    else if (PATH_IS("/metrics"))
        tg_admin_resp_error(resp, 405, "method not allowed", NULL);
    else if (tg_admin_monitoring(a->gw, req, resp))
        return;
    else
        tg_admin_resp_error(resp, 404, "not found", NULL);
#undef PATH_IS
}

static void aconn_free(struct tg_defer *d)
{
    struct aconn *c = d->data;
    free(c->out);
    free(c);
}

static void aconn_close(struct aconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    tg_timer_stop(c->a->loop, &c->timer);
    tg_io_stop(c->a->loop, &c->io);
    close(c->fd);
    tg_loop_defer(c->a->loop, &c->defer, aconn_free, c);
}

static void aconn_timeout(struct tg_timer *t)
{
    aconn_close(t->data);
}

static bool flush(struct aconn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return false;
            aconn_close(c);
            return false;
        }
        c->out_off += (uint32_t)n;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (c->close_after) {
        aconn_close(c);
        return false;
    }
    return true;
}

static void respond(struct aconn *c, const struct tg_http_msg *req, int parse_status)
{
    struct tg_admin_resp r = {0};
    if (parse_status)
        tg_admin_resp_error(&r, parse_status, tg_http_reason(parse_status), NULL);
    else
        tg_admin_handle(c->a, req, &r);
    bool keep = !parse_status && (req->flags & TG_HTTP_F_KEEPALIVE) && !c->a->draining;
    bool head = !parse_status && req->method == TG_HTTP_HEAD;
    size_t body = head ? 0 : r.body_len;
    c->out = malloc(512 + body);
    if (!c->out) {
        tg_admin_resp_free(&r);
        aconn_close(c);
        return;
    }
    int n = snprintf(c->out, 512,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n%s\r\n",
                     r.status, tg_http_reason(r.status),
                     r.content_type ? r.content_type : "text/plain", r.body_len,
                     keep ? "" : "Connection: close\r\n");
    if (body)
        memcpy(c->out + n, r.body, body);
    c->out_len = (uint32_t)(n + body);
    c->out_off = 0;
    c->close_after = !keep;
    tg_admin_resp_free(&r);
}

static void aconn_io(struct tg_io *io, unsigned events)
{
    struct aconn *c = io->data;
    (void)events;
    for (int guard = 0; guard < 64 && !c->closing; guard++) {
        if (c->out && !flush(c))
            return;
        if (c->in_len) {
            struct tg_http_limits lim = {ADMIN_IN_BYTES, 0};
            int r = tg_http1_parse_request(c->in, c->in_len, &lim, &c->a->msg, NULL);
            if (r > 0) {
                /* Admin requests carry small bodies at most; framing must still be
                 * honoured to find the next request. */
                uint64_t body = c->a->msg.body == TG_HTTP_BODY_LENGTH ? c->a->msg.content_length : 0;
                if (c->a->msg.body == TG_HTTP_BODY_CHUNKED ||
                    body > ADMIN_IN_BYTES - (uint32_t)r) {
                    respond(c, &c->a->msg, c->a->msg.body == TG_HTTP_BODY_CHUNKED ? 411 : 413);
                    c->close_after = true; /* the unread body makes the framing unusable */
                    c->in_len = 0;
                    continue;
                }
                if (body > c->in_len - (uint32_t)r)
                    goto read_more; /* the rest of the body is on its way */
                respond(c, &c->a->msg, 0);
                uint32_t used = (uint32_t)r + (uint32_t)body;
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
                continue;
            }
            if (r != TG_AGAIN || c->in_len == ADMIN_IN_BYTES) {
                respond(c, &c->a->msg, r == TG_ETOOBIG || r == TG_AGAIN ? 431 : 400);
                c->in_len = 0;
                continue;
            }
        }
    read_more:;
        ssize_t n = recv(c->fd, c->in + c->in_len, ADMIN_IN_BYTES - c->in_len, 0);
        if (n > 0) {
            c->in_len += (uint32_t)n;
            tg_timer_start(c->a->loop, &c->timer, tg_loop_now_us(c->a->loop) + ADMIN_IDLE_US,
                           aconn_timeout, c);
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return;
        aconn_close(c);
        return;
    }
}

static void on_accept(struct tg_io *io, unsigned events)
{
    struct tg_admin *a = io->data;
    (void)events;
    for (int i = 0; i < 16; i++) {
        int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1)
            return;
        struct aconn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->a = a;
        c->fd = fd;
        if (tg_io_start(a->loop, &c->io, fd, aconn_io, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = a->conns;
        if (a->conns)
            a->conns->prev = c;
        a->conns = c;
        tg_timer_start(a->loop, &c->timer, tg_loop_now_us(a->loop) + ADMIN_IDLE_US, aconn_timeout,
                       c);
    }
}

int tg_admin_new(struct tg_loop *loop, const struct tg_addr *addr, struct tg_gateway *gw,
                 struct tg_admin **out, struct tg_errbuf *eb)
{
    struct tg_admin *a = calloc(1, sizeof *a);
    if (!a)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    a->loop = loop;
    a->gw = gw;
    a->start_wall_us = tg_clock_wall_us();
    a->reload = (struct tg_admin_reload){.ok = true, .success_wall_us = a->start_wall_us};
    if (tg_registry_new(&a->reg) != 0) {
        free(a);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    a->lfd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (a->lfd == -1 || setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        bind(a->lfd, (const struct sockaddr *)&addr->ss, addr->len) == -1 ||
        listen(a->lfd, 128) == -1 || tg_io_start_listener(loop, &a->lio, a->lfd, on_accept, a)) {
        int err = errno;
        if (a->lfd != -1)
            close(a->lfd);
        tg_registry_free(a->reg);
        free(a);
        return tg_errbuf_set(eb, -err, "cannot listen on admin address %s: %s", addr->text,
                             strerror(err));
    }
    tg_log(TG_LOG_INFO, "admin", "listening addr=%s", addr->text);
    *out = a;
    return 0;
}

void tg_admin_set_draining(struct tg_admin *a)
{
    a->draining = true;
}

void tg_admin_reloaded(struct tg_admin *a, bool ok, uint32_t restart_pending)
{
    a->reload.ok = ok;
    if (ok) {
        a->reload.success_wall_us = tg_clock_wall_us();
        a->reload.restart_pending = restart_pending;
    }
}

void tg_admin_free(struct tg_admin *a)
{
    if (!a)
        return;
    while (a->conns)
        aconn_close(a->conns);
    tg_loop_flush_deferred(a->loop);
    tg_io_stop(a->loop, &a->lio);
    close(a->lfd);
    tg_registry_free(a->reg);
    free(a);
}
