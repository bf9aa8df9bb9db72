/* SPDX-License-Identifier: MIT */
/* Upstream connections: non-blocking connect with a deadline, the per-worker idle pool of
 * keep-alive connections per server (LIFO, so the warmest connection is reused and the
 * coldest ones age out), and reading. A pooled connection that becomes readable is
 * closed: a server only speaks unasked to say goodbye. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy_int.h"

static void upstream_io(struct tg_io *io, unsigned events);

static void free_uconn(struct tg_defer *d)
{
    struct uconn *u = d->data;
    tg_buf_release(&u->in, &u->w->bufs);
    free(u);
}

static void unlink_idle(struct uconn *u)
{
    struct wk_server *s = u->srv;
    for (struct uconn **pp = &s->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == u) {
            *pp = u->next_idle;
            s->nidle--;
            break;
        }
    }
    u->next_idle = NULL;
}

void tg__upstream_close(struct uconn *u)
{
    if (u->closing)
        return;
    u->closing = true;
    if (u->state == U_IDLE)
        unlink_idle(u);
    tg_timer_stop(u->w->loop, &u->timer);
    tg_io_stop(u->w->loop, &u->io);
    if (u->fd != -1)
        close(u->fd);
    u->fd = -1;
    tg_loop_defer(u->w->loop, &u->defer, free_uconn, u);
}

static void fail(struct uconn *u, enum tg_cause cause)
{
    struct cconn *c = u->client;
    if (!c) {
        tg__upstream_close(u);
        return;
    }
    tg__forward_upstream_failed(c, cause);
    tg__client_drive(c);
}

static void upstream_timeout(struct tg_timer *t)
{
    struct uconn *u = t->data;
    if (u->state == U_CONNECTING)
        fail(u, TG_CAUSE_UPSTREAM_CONNECT);
    else
        tg__upstream_close(u); /* pool idle timeout */
}

static void upstream_io(struct tg_io *io, unsigned events)
{
    struct uconn *u = io->data;
    if (events & TG_IO_READ)
        u->readable = true;
    if (events & TG_IO_WRITE)
        u->writable = true;
    if (events & TG_IO_HUP)
        u->hup = true;
    if (u->state == U_CONNECTING) {
        if (!(events & (TG_IO_WRITE | TG_IO_ERR | TG_IO_HUP)))
            return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
            err = errno;
        if (err) {
            fail(u, TG_CAUSE_UPSTREAM_CONNECT);
            return;
        }
        u->state = U_ACTIVE;
        tg_timer_stop(u->w->loop, &u->timer);
        if (u->client)
            u->client->x.connected_us = tg_loop_now_us(u->w->loop);
    }
    if (u->state == U_IDLE) {
        if (events & (TG_IO_READ | TG_IO_HUP | TG_IO_ERR))
            tg__upstream_close(u);
        return;
    }
    if (u->client)
        tg__client_drive(u->client);
}

static int connect_new(struct cconn *c, struct wk_server *srv, struct uconn **out)
{
    const struct tg_addr *a = &srv->rt->cfg->addr;
    struct uconn *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    u->w = c->w;
    u->srv = srv;
    u->ws = c->x.ws;
    u->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd == -1) {
        int err = -errno;
        free(u);
        return err;
    }
    int one = 1;
    setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(u->fd, (const struct sockaddr *)&a->ss, a->len) == -1 && errno != EINPROGRESS) {
        int err = -errno;
        close(u->fd);
        free(u);
        return err;
    }
    int rc = tg_io_start(c->w->loop, &u->io, u->fd, upstream_io, u);
    if (rc) {
        close(u->fd);
        free(u);
        return rc;
    }
    u->state = U_CONNECTING;
    const struct tg_cfg_upstream *ucfg = &c->x.ws->snap->cfg->upstreams[c->x.upstream];
    tg_timer_start(c->w->loop, &u->timer, tg_loop_now_us(c->w->loop) + ucfg->connect_timeout_us,
                   upstream_timeout, u);
    *out = u;
    return 0;
}

int tg__upstream_acquire(struct cconn *c, struct wk_server *srv, bool fresh)
{
    struct uconn *u;
    while (!fresh && (u = srv->idle)) {
        srv->idle = u->next_idle;
        srv->nidle--;
        u->next_idle = NULL;
        tg_timer_stop(c->w->loop, &u->timer);
        if (u->hup) {
            u->state = U_ACTIVE;
            tg__upstream_close(u);
            continue;
        }
        u->state = U_ACTIVE;
        u->reused = true;
        u->client = c;
        c->u = u;
        return 0;
    }
    int rc = connect_new(c, srv, &u);
    if (rc)
        return rc;
    u->client = c;
    c->u = u;
    return 0;
}

void tg__upstream_release(struct uconn *u, bool reusable)
{
    struct tg_worker *w = u->w;
    struct wk_server *s = u->srv;
    u->client = NULL;
    if (!reusable || u->hup || tg_buf_len(&u->in) || w->draining || u->ws != w->cur ||
        s->nidle >= s->ucfg->keepalive) {
        tg__upstream_close(u);
        return;
    }
    tg_buf_release(&u->in, &w->bufs);
    u->state = U_IDLE;
    u->next_idle = s->idle;
    s->idle = u;
    s->nidle++;
    tg_timer_start(w->loop, &u->timer, tg_loop_now_us(w->loop) + s->ucfg->keepalive_timeout_us,
                   upstream_timeout, u);
}

void tg__worker_pool_drop(struct tg_worker *w, struct wk_snap *ws)
{
    (void)w;
    for (uint32_t i = 0; i < ws->snap->nservers_total; i++)
        while (ws->servers[i].idle)
            tg__upstream_close(ws->servers[i].idle);
}

int tg__upstream_read(struct uconn *u)
{
    if (!u->readable)
        return 0;
    if (!tg_buf_reserve(&u->in, &u->w->bufs))
        return 0;
    if (tg_buf_space(&u->in) == 0)
        tg_buf_compact(&u->in);
    uint32_t space = tg_buf_space(&u->in);
    if (space == 0)
        return 0;
    ssize_t n = recv(u->fd, u->in.data + u->in.tail, space, 0);
    if (n > 0) {
        u->in.tail += (uint32_t)n;
        if ((uint32_t)n < space && !u->hup) /* see tg__client_read */
            u->readable = false;
        return (int)n;
    }
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (errno != EINTR)
            u->readable = false;
        return 0;
    }
    u->readable = false;
    u->hup = true;
    return -1;
}
