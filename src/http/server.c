/* SPDX-License-Identifier: MIT */
/* The server half of the HTTP/1 engine (server.h): the listener, the connection cap, the
 * accept pause, connection objects and the counters. Connection objects carry the
 * handler's data behind them and are kept on a bounded free list, so a busy server
 * allocates nothing per connection once warm. A closed connection leaves the open list
 * at once (so the cap counts only live ones) and reaches the free list at the end of the
 * loop turn, when no callback up the stack can still hold it. */
#include "http/server.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "http/server_int.h"

#define ACCEPT_BATCH 64        /* accepts per listener event, for fairness */
#define CONN_POOL_MAX 1024     /* connection objects kept for reuse */
#define ACCEPT_PAUSE_US 100000 /* listener rest after EMFILE and friends */
#define ACCEPT_WARN_US 10000000
#define EVICT_MIN_IDLE_US 1000000 /* idle time before the cap may take a connection back */
#define INPOOL_FREE_MAX 256
#define OUTPOOL_FREE_MAX 256

static void limits_defaults(struct tg_hsrv_limits *l)
{
    if (!l->max_conns)
        l->max_conns = 1024;
    if (!l->max_head_bytes)
        l->max_head_bytes = 16 * 1024;
    if (!l->max_headers || l->max_headers > TG_HTTP_MAX_HEADERS)
        l->max_headers = TG_HTTP_MAX_HEADERS;
    if (!l->max_target_bytes)
        l->max_target_bytes = 8 * 1024;
    if (!l->max_body_bytes)
        l->max_body_bytes = 1024 * 1024;
    if (!l->header_timeout_us)
        l->header_timeout_us = 10000000;
    if (!l->idle_timeout_us)
        l->idle_timeout_us = 60000000;
    if (!l->body_timeout_us)
        l->body_timeout_us = 10000000;
    if (!l->body_min_bytes_per_s)
        l->body_min_bytes_per_s = 1024;
    if (!l->write_timeout_us)
        l->write_timeout_us = 30000000;
}

static size_t conn_size(const struct tg_hsrv *s)
{
    return TG_HSRV__DATA_OFF + s->cfg.conn_data_bytes;
}

static void recycle(struct tg_defer *d)
{
    struct tg_hconn *c = d->data;
    struct tg_hsrv *s = c->srv;
    if (s->nfree >= CONN_POOL_MAX) {
        free(c);
        return;
    }
    c->next = s->free_conns;
    s->free_conns = c;
    s->nfree++;
}

void tg_hsrv__conn_gone(struct tg_hconn *c)
{
    struct tg_hsrv *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    s->st.conns--;
    if (c->rejected)
        s->nrejecting--;
    tg_loop_defer(s->loop, &c->defer, recycle, c);
}

/* Starts serving `fd`; a `rejected` one only gets its 503 and a lingering close. */
static int conn_start(struct tg_hsrv *s, int fd, bool rejected)
{
    struct tg_hconn *c = s->free_conns;
    if (c) {
        s->free_conns = c->next;
        s->nfree--;
    } else if (!(c = malloc(conn_size(s)))) {
        close(fd);
        return -ENOMEM;
    }
    memset(c, 0, conn_size(s));
    c->srv = s;
    c->io.fd = fd;
    tg_hsrv__conn_init(c);
    int rc = tg_io_start(s->loop, &c->io, fd, tg_hsrv__on_io, c);
    if (rc < 0) {
        close(fd);
        c->next = s->free_conns;
        s->free_conns = c;
        s->nfree++;
        return rc;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.conns++;
    if (rejected) {
        c->rejected = true;
        s->nrejecting++;
        s->st.rejected_cap++;
        tg_hsrv__error(c, 503, "too many connections");
    } else {
        s->st.accepted++;
        /* Nearing the cap, read now rather than on the first READ edge, so the connections
         * of this accept batch are known to be idle or slow when the next one needs a
         * place (else they all look fresh, and it would be refused). Below that, this
         * would cost a read that finds nothing on most new connections. */
        if (s->st.conns * 2 >= s->cfg.limits.max_conns) {
            c->readable = true;
            tg_hsrv__drive(c);
        }
    }
    return 0;
}

/* At the cap, a new client takes the place of a connection that holds a slot without
 * using it. First one idle for a while: a client accepted a moment ago has most likely
 * not had the time to send its request yet, and taking it back would refuse a client to
 * serve another. Else the one whose request head has been arriving the longest: heads
 * come in one packet from clients that mean it, so a head still incomplete is the
 * slowloris that fills the slots; under that pressure it loses its place before its
 * header timeout. Connections with a request in progress or an answer in flight keep
 * theirs. O(connections), and only at the cap. */
static bool evict(struct tg_hsrv *s)
{
    int64_t now = tg_loop_now_us(s->loop);
    struct tg_hconn *idle = NULL, *slow = NULL;
    for (struct tg_hconn *c = s->conns; c; c = c->next) {
        if (c->state != TG_HSRV__HEAD || c->driving || tg_buf_len(&c->out) || c->tail_len)
            continue;
        if (tg_buf_len(&c->in) == 0) {
            if (now - c->idle_since_us >= EVICT_MIN_IDLE_US &&
                (!idle || c->idle_since_us < idle->idle_since_us))
                idle = c;
        } else if (!slow || c->head_start_us < slow->head_start_us) {
            slow = c;
        }
    }
    if (idle) {
        s->st.evicted_idle++;
        tg_hconn_close(idle, "idle, evicted at the connection cap");
        return true;
    }
    if (slow) {
        s->st.evicted_slow++;
        tg_hconn_close(slow, "slow head, evicted at the connection cap");
        return true;
    }
    return false;
}

/* Past the refusals that linger, a 503 without a connection object, then close: a best effort,
 * since request bytes that arrive after the close turn it into a RST that can destroy
 * the answer before the client reads it (the bytes already there are read first). */
static void reject_now(struct tg_hsrv *s, int fd)
{
    char buf[1024], body[256];
    const char *ctype = NULL;
    size_t bl = tg_hsrv__error_body(s, 503, "too many connections", body, sizeof body, &ctype);
    const char *extra = s->cfg.resp_headers;
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 503 Service Unavailable\r\n%sContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%.*s",
                     extra, ctype, bl, (int)bl, body);
    s->st.rejected_cap++;
    if (n > 0 && (size_t)n < sizeof buf) {
        ssize_t r = recv(fd, buf + n, sizeof buf - (size_t)n, MSG_DONTWAIT);
        (void)r;
        r = send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)r;
    }
    close(fd);
}

static void on_accept(struct tg_io *io, unsigned events);

static void resume_accept(struct tg_timer *t)
{
    struct tg_hsrv *s = t->data;
    if (tg_io_start_listener(s->loop, &s->lio, s->lfd, on_accept, s) < 0)
        tg_timer_start(s->loop, &s->accept_pause, tg_loop_now_us(s->loop) + ACCEPT_PAUSE_US,
                       resume_accept, s);
}

/* Out of descriptors or memory: the listener stays readable, so keeping it registered
 * would spin the loop. Stop accepting for a moment instead (the backlog holds clients). */
static void pause_accept(struct tg_hsrv *s, int err)
{
    int64_t now = tg_loop_now_us(s->loop);
    s->st.accept_errors++;
    if (now - s->accept_warned_us > ACCEPT_WARN_US || !s->accept_warned_us) {
        s->accept_warned_us = now;
        tg_log(TG_LOG_WARN, s->cfg.log_module, "accept paused err=\"%s\" errors_total=%" PRIu64,
               tg_strerror(-err), s->st.accept_errors);
    }
    tg_io_stop(s->loop, &s->lio);
    tg_timer_start(s->loop, &s->accept_pause, now + ACCEPT_PAUSE_US, resume_accept, s);
}

static void on_accept(struct tg_io *io, unsigned events)
{
    (void)events;
    struct tg_hsrv *s = io->data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                pause_accept(s, errno);
            return;
        }
        /* Refused connections get a connection object too, for the lingering close that
         * makes sure the 503 is read; at most a quarter of the cap of them at once. */
        bool rejected = false;
        if (s->st.conns - s->nrejecting >= s->cfg.limits.max_conns && !evict(s)) {
            if (s->nrejecting >= s->cfg.limits.max_conns / 4 + 16) {
                reject_now(s, fd);
                continue;
            }
            rejected = true;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (conn_start(s, fd, rejected) == -ENOMEM) {
            pause_accept(s, ENOMEM);
            return;
        }
    }
}

int tg_hsrv_new(struct tg_hsrv **out, struct tg_loop *loop, int listen_fd,
                const struct tg_hsrv_config *cfg)
{
    struct tg_hsrv *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->cfg = *cfg;
    limits_defaults(&s->cfg.limits);
    if (!s->cfg.log_module)
        s->cfg.log_module = "http";
    if (!s->cfg.resp_headers)
        s->cfg.resp_headers = "";
    s->resp_headers_len = strlen(s->cfg.resp_headers);
    s->plim = (struct tg_http_limits){s->cfg.limits.max_head_bytes, s->cfg.limits.max_headers};
    s->lfd = listen_fd;
    tg_bufpool_init(&s->inpool, s->cfg.limits.max_head_bytes + TG_HSRV__BODY_ROOM, INPOOL_FREE_MAX);
    tg_bufpool_init(&s->outpool, TG_HSRV__OUT_BLOCK, OUTPOOL_FREE_MAX);
    if (listen_fd != -1) {
        int rc = tg_io_start_listener(loop, &s->lio, listen_fd, on_accept, s);
        if (rc < 0) {
            tg_hsrv_free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

void tg_hsrv_stop(struct tg_hsrv *s)
{
    tg_timer_stop(s->loop, &s->accept_pause);
    tg_io_stop(s->loop, &s->lio);
    while (s->conns)
        tg_hconn_close(s->conns, "server stopped");
}

void tg_hsrv_free(struct tg_hsrv *s)
{
    if (!s)
        return;
    tg_hsrv_stop(s);
    /* Closed connections return to the free list in deferred work: run it now. */
    tg_loop_flush_deferred(s->loop);
    while (s->free_conns) {
        struct tg_hconn *c = s->free_conns;
        s->free_conns = c->next;
        free(c);
    }
    tg_bufpool_deinit(&s->inpool);
    tg_bufpool_deinit(&s->outpool);
    free(s);
}

int tg_hsrv_adopt(struct tg_hsrv *s, int fd)
{
    return conn_start(s, fd, false);
}

void tg_hsrv_set_draining(struct tg_hsrv *s)
{
    s->draining = true;
}

void tg_hsrv_stats(const struct tg_hsrv *s, struct tg_hsrv_stats *out)
{
    *out = s->st;
}

void *tg_hsrv_data(const struct tg_hsrv *s)
{
    return s->cfg.data;
}

struct tg_loop *tg_hsrv_loop(const struct tg_hsrv *s)
{
    return s->loop;
}

struct tg_hsrv *tg_hconn_server(const struct tg_hconn *c)
{
    return c->srv;
}

void *tg_hconn_data(struct tg_hconn *c)
{
    return (char *)c + TG_HSRV__DATA_OFF;
}
