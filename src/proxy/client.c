/* SPDX-License-Identifier: MIT */
/* Client connections: accept, read and parse request heads, local responses (errors),
 * the keep-alive cycle and lingering close. While a request is proxied the work is in
 * forward.c; this file decides what happens between requests, including the hand-over
 * of an idle connection when a resize retires its worker (resize.c). Timers: before the
 * first byte of a request the idle timeout runs (silent close); from the first byte until
 * the head is complete the header timeout runs (408, the slowloris defence). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy_int.h"

#define DRIVE_STEPS 256 /* steps a connection may take in one go */

static void client_io(struct tg_io *io, unsigned events);
static void client_timeout(struct tg_timer *t);

static const struct tg_config *cfg_of(struct cconn *c)
{
    return c->w->cur->snap->cfg;
}

static void free_conn(struct tg_defer *d)
{
    struct cconn *c = d->data;
    tg_buf_release(&c->in, &c->w->bufs);
    tg_buf_release(&c->out, &c->w->bufs);
    tg_buf_release(&c->x.uhead, &c->w->bufs);
    free(c);
}

static void arm(struct cconn *c, int64_t after_us)
{
    tg_timer_start(c->w->loop, &c->timer, tg_loop_now_us(c->w->loop) + after_us, client_timeout,
                   c);
}

void tg__client_accept(struct tg_worker *w, int fd, const struct sockaddr_storage *ss,
                       uint32_t requests)
{
    struct cconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        tg__worker_conn_gone(w);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->x.route = -1;
    c->requests = requests;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        inet_ntop(AF_INET6, a6, c->ip, sizeof c->ip);
        memcpy(c->ip16, a6, 16);
    } else {
        const struct in_addr *a4 = &((const struct sockaddr_in *)ss)->sin_addr;
        inet_ntop(AF_INET, a4, c->ip, sizeof c->ip);
        tg_clientip_from_v4(a4, c->ip16);
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    if (tg_io_start(w->loop, &c->io, fd, client_io, c) != 0) {
        tg__client_close(c);
        return;
    }
    /* A connection handed over between requests is an idle keep-alive one. */
    arm(c, requests ? cfg_of(c)->idle_timeout_us : cfg_of(c)->header_timeout_us);
}

static void unlink_conn(struct cconn *c)
{
    struct tg_worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

void tg__client_exchange_release(struct cconn *c, bool upstream_reusable)
{
    tg__cache_exchange_end(c);
    if (c->u) {
        struct uconn *u = c->u;
        c->u = NULL;
        u->client = NULL;
        tg__upstream_release(u, upstream_reusable);
    }
    if (c->x.srv) {
        atomic_fetch_sub_explicit(c->x.srv->rt->inflight, 1, memory_order_relaxed);
        c->x.srv->local_inflight--;
        c->x.srv = NULL;
    }
    /* No retry waits and no try runs any more: their times must not fire. */
    c->x.retry_at_us = 0;
    c->x.try_due_us = 0;
    if (c->x.ws) {
        tg__worker_view_put(c->w, c->x.ws);
        c->x.ws = NULL;
    }
    tg_buf_release(&c->x.uhead, &c->w->bufs);
}

void tg__client_close(struct cconn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct tg_worker *w = c->w;
    if (c->state == C_PARKED)
        tg__queue_cancel(c); /* a client that leaves is not a queue timeout */
    if ((c->state == C_EXCHANGE || c->state == C_PARKED) && !c->x.recorded && c->x.start_us) {
        /* The client went away (or the exchange was cut): count it, as nginx's 499. */
        if (!c->x.status || !c->x.resp_done)
            c->x.status = c->x.resp_head_done ? c->x.status : 499;
        if (c->x.cause == TG_CAUSE_OK)
            c->x.cause = TG_CAUSE_CLIENT_ABORT;
        tg__forward_record(c);
    }
    tg__client_exchange_release(c, false);
    tg_timer_stop(w->loop, &c->timer);
    tg_io_stop(w->loop, &c->io);
    close(c->fd);
    unlink_conn(c);
    tg_loop_defer(w->loop, &c->defer, free_conn, c);
    tg__worker_conn_gone(w);
}

/* Moving an idle connection, rather than closing it, is what keeps a resize from failing
 * requests: a client may send its next request at the very moment a close goes out, and
 * that request would be lost. The descriptor leaves this loop at once; bytes that arrive
 * meanwhile wait in the socket, and the new worker's poller reports them when it adds it. */
void tg__client_handoff(struct cconn *c)
{
    struct tg_worker *w = c->w;
    struct tg_handoff *h = malloc(sizeof *h);
    if (!h) {
        tg__client_close(c);
        return;
    }
    *h = (struct tg_handoff){.fd = c->fd, .requests = c->requests};
    c->closing = true;
    tg_timer_stop(w->loop, &c->timer);
    tg_io_stop(w->loop, &c->io);
    unlink_conn(c);
    tg_loop_defer(w->loop, &c->defer, free_conn, c);
    tg__resize_handoff(w->gw, h);
    tg__worker_conn_moved(w);
}

/* Half-closes our side and discards input for a moment, so a client that is still
 * sending does not get a RST that destroys the response it has not read yet (nginx's
 * lingering close). */
static void linger_close(struct cconn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->state = C_FLUSH_CLOSE;
    c->close_after = true;
    tg_buf_release(&c->out, &c->w->bufs);
    arm(c, 2000000);
}

void tg__client_exchange_done(struct cconn *c)
{
    struct exchange *x = &c->x;
    tg__forward_record(c);
    bool reusable = x->resp_done && x->req_done && x->upstream_keepalive && !x->dechunk;
    bool consumed = x->req_done || x->req_body == TG_HTTP_BODY_NONE;
    bool keep = x->client_keepalive && !c->close_after && consumed && !c->w->draining;
    tg__client_exchange_release(c, reusable);
    memset(x, 0, sizeof *x);
    x->route = -1;
    c->requests++;
    if (!keep) {
        linger_close(c);
        return;
    }
    c->state = C_READ_HEAD;
    c->head_start_us = tg_loop_now_us(c->w->loop); /* a pipelined head may be waiting */
    tg_buf_release_if_empty(&c->out, &c->w->bufs);
    tg_buf_release_if_empty(&c->in, &c->w->bufs);
    arm(c, tg_buf_len(&c->in) ? cfg_of(c)->header_timeout_us : cfg_of(c)->idle_timeout_us);
}

void tg__client_error(struct cconn *c, int status, const char *msg)
{
    char body[256];
    int blen = snprintf(body, sizeof body, "{\"error\":\"%s\",\"status\":%d}\n", msg, status);
    tg__client_respond(c, status, NULL, "application/json", body,
                       blen < 0 ? 0 : (size_t)blen < sizeof body ? (size_t)blen : sizeof body - 1);
}

void tg__client_respond(struct cconn *c, int status, const char *headers, const char *ctype,
                        const char *body, size_t blen)
{
    struct exchange *x = &c->x;
    if (x->resp_started) {
        /* Part of the upstream's response is already out: the only honest signal left
         * is to cut the connection. */
        tg__client_close(c);
        return;
    }
    /* The connection can carry on only if the client's request was read to its end. */
    bool consumed = x->req_done || x->req_body == TG_HTTP_BODY_NONE;
    bool keep = c->state == C_EXCHANGE && consumed && x->client_keepalive && !c->close_after;
    tg__client_exchange_release(c, false);
    if (!keep)
        c->close_after = true;
    tg_buf_release(&c->out, &c->w->bufs);
    if (!tg_buf_reserve(&c->out, &c->w->bufs)) {
        tg__client_close(c);
        return;
    }
    int n = snprintf(c->out.data, c->out.cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "%s%s%s%.*s%s\r\n",
                     status, tg_http_reason(status), ctype, blen, headers ? headers : "",
                     keep ? "" : "Connection: close\r\n", x->reqid_len ? "X-Request-Id: " : "",
                     (int)x->reqid_len, x->reqid, x->reqid_len ? "\r\n" : "");
    if (n < 0 || (size_t)n + blen > c->out.cap) {
        /* Callers keep their pages far below a buffer; refuse rather than cut one. */
        n = snprintf(c->out.data, c->out.cap,
                     "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
        blen = 0;
        status = 500;
        keep = false;
        c->close_after = true;
    }
    memcpy(c->out.data + n, body, blen);
    c->out.tail = (uint32_t)((size_t)n + blen);
    x->status = status;
    x->resp_started = true;
    x->resp_done = true;
    if (keep) {
        /* The page goes out through the exchange path (forward.c writes c->out with no
         * upstream), whose end records the request and resumes keep-alive. */
        c->state = C_EXCHANGE;
        x->resp_head_done = true;
        x->resp_body = TG_HTTP_BODY_NONE;
    } else {
        c->state = C_FLUSH_CLOSE;
        tg__forward_record(c);
    }
}

/* Writes c->out; returns true if something was written. Errors close the connection. */
static bool flush_out(struct cconn *c)
{
    if (!c->writable || tg_buf_len(&c->out) == 0)
        return false;
    ssize_t n = send(c->fd, c->out.data + c->out.head, tg_buf_len(&c->out), MSG_NOSIGNAL);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            c->writable = false;
        else if (errno != EINTR)
            tg__client_close(c);
        return false;
    }
    tg_buf_consume(&c->out, (uint32_t)n);
    return true;
}

/* Reads into c->in. Returns >0 bytes, 0 when nothing more can be read now, -1 on EOF or
 * error (c->hup set). */
int tg__client_read(struct cconn *c)
{
    if (!c->readable)
        return 0;
    if (!tg_buf_reserve(&c->in, &c->w->bufs)) {
        tg__client_error(c, 503, "out of memory");
        return 0;
    }
    if (tg_buf_space(&c->in) == 0)
        tg_buf_compact(&c->in);
    uint32_t space = tg_buf_space(&c->in);
    if (space == 0)
        return 0;
    ssize_t n = recv(c->fd, c->in.data + c->in.tail, space, 0);
    if (n > 0) {
        c->in.tail += (uint32_t)n;
        /* A short read means the socket is drained (edge-triggered), unless a FIN came
         * with the data: its edge is spent, so keep reading until recv returns 0. */
        if ((uint32_t)n < space && !c->rdhup)
            c->readable = false;
        return (int)n;
    }
    if (n == 0) {
        c->readable = false;
        c->hup = true;
        return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->readable = false;
        return 0;
    }
    if (errno == EINTR)
        return 0;
    c->readable = false;
    c->hup = true;
    return -1;
}

/* Refuses a request the gateway will not route: answers `status`, closes the connection
 * (what follows a head we could not read whole cannot be framed), and counts it under
 * the "(rejected)" endpoint with `cause`, so an operator under attack sees it in
 * /metrics. `m` holds what the parser did read (method, path), if anything. */
static void reject(struct cconn *c, const struct tg_http_msg *m, int status, enum tg_cause cause,
                   const char *msg)
{
    int64_t now = tg_loop_now_us(c->w->loop);
    tg__exchange_begin(c, m, c->head_start_us && c->head_start_us <= now ? c->head_start_us : now);
    c->x.endpoint = c->w->gw->rejected_endpoint;
    c->x.cause = cause;
    c->close_after = true;
    tg__client_error(c, status, msg);
}

/* The status and cause for a head the parser refused with `rc`. */
static void reject_parse(struct cconn *c, int rc)
{
    const struct tg_http_msg *m = &c->w->scratch;
    switch (rc) {
    case TG_ETOOBIG:
        reject(c, m, 431, TG_CAUSE_HEAD_TOO_LARGE, "request header fields too large");
        break;
    case TG_EURI:
        reject(c, m, 414, TG_CAUSE_URI_TOO_LONG, "request target too long");
        break;
    case TG_EVERSION:
        reject(c, m, 505, TG_CAUSE_VERSION, "HTTP version not supported");
        break;
    case TG_ECODING:
        reject(c, m, 501, TG_CAUSE_NOT_IMPLEMENTED, "transfer coding not implemented");
        break;
    default:
        reject(c, m, 400, TG_CAUSE_BAD_REQUEST, "malformed request");
        break;
    }
}

static bool step_read_head(struct cconn *c)
{
    const struct tg_config *cfg = cfg_of(c);
    if (tg_buf_len(&c->in)) {
        struct tg_http_limits lim = {cfg->max_head_bytes, cfg->max_headers};
        size_t off = 0;
        int r = tg_http1_parse_request(c->in.data + c->in.head, tg_buf_len(&c->in), &lim,
                                       &c->w->scratch, &off);
        if (r > 0) {
            const struct tg_http_msg *m = &c->w->scratch;
            /* RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400. A reverse proxy
             * has no business tunnelling CONNECT. Both: the framing is known, but
             * refusing is simplest and safe, so close. */
            if (m->minor == 1 && !(m->flags & TG_HTTP_F_HAS_HOST)) {
                reject(c, m, 400, TG_CAUSE_MISSING_HOST, "missing Host header");
                return true;
            }
            if (m->method == TG_HTTP_CONNECT) {
                reject(c, m, 405, TG_CAUSE_METHOD, "CONNECT is not supported");
                return true;
            }
            c->state = C_EXCHANGE;
            tg__forward_start(c, m);
            return true;
        }
        if (r != TG_AGAIN) {
            reject_parse(c, r);
            return true;
        }
        if (tg_buf_len(&c->in) >= cfg->max_head_bytes) {
            reject_parse(c, TG_ETOOBIG);
            return true;
        }
    }
    bool was_empty = tg_buf_len(&c->in) == 0;
    int n = tg__client_read(c);
    if (n > 0) {
        if (was_empty) {
            c->head_start_us = tg_loop_now_us(c->w->loop);
            if (c->requests > 0)
                arm(c, cfg->header_timeout_us); /* first byte of a keep-alive request */
        }
        return true;
    }
    if (n < 0) {
        tg__client_close(c);
        return false;
    }
    if (tg_buf_len(&c->in) == 0) {
        tg_buf_release(&c->in, &c->w->bufs); /* idle: hold no buffer memory */
        if (c->w->retiring && !c->w->draining)
            tg__client_handoff(c);
    }
    return false;
}

static bool step_flush_close(struct cconn *c)
{
    if (tg_buf_len(&c->out)) {
        if (flush_out(c) && tg_buf_len(&c->out) == 0)
            linger_close(c);
        return !c->closing && tg_buf_len(&c->out) == 0;
    }
    if (!c->close_after) {
        linger_close(c);
        return true;
    }
    /* Lingering: discard input until EOF or the timer. */
    char sink[4096];
    while (c->readable) {
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0)
            continue;
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = false;
            break;
        }
        tg__client_close(c);
        return false;
    }
    return false;
}

static void drive_resume(struct tg_defer *d)
{
    tg__client_drive(d->data);
}

void tg__client_drive(struct cconn *c)
{
    /* Each step either makes progress or stops. A connection with more to do than its
     * share of a turn (a fast upload moves 16 KiB a step) stops there, so the other
     * connections get their turn, and resumes at the end of the turn: readiness is
     * edge-triggered, and a socket not read or written to its end raises no new edge,
     * so waiting for one would stall it for good. */
    int i = 0;
    for (; i < DRIVE_STEPS && !c->closing; i++) {
        bool progress = false;
        switch (c->state) {
        case C_READ_HEAD:
            progress = step_read_head(c);
            break;
        case C_EXCHANGE:
            progress = tg__forward_step(c);
            break;
        case C_TUNNEL:
            progress = tg__tunnel_step(c);
            break;
        case C_FLUSH_CLOSE:
            progress = step_flush_close(c);
            break;
        case C_PARKED:
            progress = tg__queue_step(c);
            break;
        }
        if (!progress)
            break;
    }
    if (i == DRIVE_STEPS && !c->closing)
        tg_loop_defer(c->w->loop, &c->resume, drive_resume, c);
}

static void client_io(struct tg_io *io, unsigned events)
{
    struct cconn *c = io->data;
    if (events & TG_IO_READ)
        c->readable = true;
    if (events & TG_IO_WRITE)
        c->writable = true;
    if (events & TG_IO_HUP)
        c->rdhup = true;
    tg__client_drive(c);
}

static void client_timeout(struct tg_timer *t)
{
    struct cconn *c = t->data;
    switch (c->state) {
    case C_READ_HEAD:
        if (tg_buf_len(&c->in) == 0) {
            tg__client_close(c); /* idle keep-alive connection: close silently */
            return;
        }
        /* Parse what did arrive, for the method and path the count is labelled with. */
        tg_http1_parse_request(c->in.data + c->in.head, tg_buf_len(&c->in), NULL,
                               &c->w->scratch, NULL);
        reject(c, &c->w->scratch, 408, TG_CAUSE_HEADER_TIMEOUT, "request header timeout");
        break;
    case C_EXCHANGE: {
        enum tg__fwd_timer fired = tg__forward_timer(c);
        if (fired == TG__FWD_NOT_YET)
            return;
        if (fired == TG__FWD_ACTED)
            break;
        if (!c->x.resp_head_done && !c->x.req_done && c->x.wait_client) {
            /* The client stopped sending (or crawls below its minimum rate) in the middle
             * of its body: the slow-body form of slowloris. */
            c->x.cause = TG_CAUSE_BODY_TIMEOUT;
            c->close_after = true;
            tg__client_error(c, 408, "request body timeout");
        } else if (!c->x.resp_head_done) {
            if (!tg__cache_fallback(c, TG_CAUSE_UPSTREAM_TIMEOUT)) {
                c->x.cause = TG_CAUSE_UPSTREAM_TIMEOUT;
                tg__client_error(c, 504, "upstream timeout");
            }
        } else {
            tg__client_close(c); /* response body stalled */
            return;
        }
        break;
    }
    case C_TUNNEL:
        if (!tg__client_deadline_passed(c))
            return;
        tg__client_close(c);
        return;
    case C_FLUSH_CLOSE:
        tg__client_close(c);
        return;
    case C_PARKED:
        return; /* its timer is stopped: the queue's deadline bounds the wait */
    }
    tg__client_drive(c);
}

/* Re-arms the connection timer for the exchange deadline (forward.c). */
void tg__client_arm_deadline(struct cconn *c, int64_t due_us)
{
    tg_timer_start(c->w->loop, &c->timer, due_us, client_timeout, c);
}

/* Writes iov to the client (used by forward.c for head + body in one syscall). */
long tg__client_writev(struct cconn *c, const struct iovec *iov, int n)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    ssize_t r = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        c->writable = false;
    return r;
}
