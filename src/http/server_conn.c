/* SPDX-License-Identifier: MIT */
/* The read side of an engine connection (server.h): reading and checking heads, reading
 * bodies, the deadlines, and the lingering close. One request at a time: its head stays
 * at the start of the read buffer while its body is read (body bytes are consumed from
 * behind it), so on_request can be handed the same parsed head again without the handler
 * copying anything. Reads are edge-triggered (loop.h): `readable` remembers an edge not
 * yet read to exhaustion, so a connection that stops reading (while an answer is pending,
 * or to make pipelined requests wait) picks up where it left off.
 *
 * Deadlines use one timer per connection, armed lazily: the timer may fire early, find
 * that the deadline has moved on, and re-arm. A keep-alive request that arrives in one
 * read therefore costs no timer operation at all, and a drive that ran out of budget
 * (pipelined requests, a fast upload) continues from a zero timer, after other
 * connections had their turn. */
#include "http/server_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define LINGER_US 2000000           /* how long a lingering close drains the socket */
#define LINGER_DRAIN_MAX (1u << 20) /* bytes drained per event, so one peer cannot spin us */
#define DRIVE_BUDGET 64             /* requests plus reads per drive before yielding */
#define CAPTURE_FIRST 4096          /* first capture allocation for a chunked body */
/* A request line without its LF this much longer than the target limit is a 414 now,
 * not a 431 later: the method and the version take at most this many bytes more. */
#define LINE_SLACK 64

enum rd { RD_OK = 0, RD_AGAIN, RD_EOF, RD_FULL, RD_ERR };

static int64_t now_of(const struct tg_hconn *c)
{
    return tg_loop_now_us(c->srv->loop);
}

void tg_hconn_close(struct tg_hconn *c, const char *reason)
{
    if (c->state == TG_HSRV__CLOSED)
        return;
    struct tg_hsrv *s = c->srv;
    TG_LOG_DEBUG(s->cfg.log_module, "connection closed reason=\"%s\" fd=%d", reason, c->io.fd);
    c->state = TG_HSRV__CLOSED;
    tg_timer_stop(s->loop, &c->timer);
    tg_io_stop(s->loop, &c->io);
    close(c->io.fd);
    c->io.fd = -1;
    tg_buf_release(&c->in, &s->inpool);
    tg_buf_release(&c->out, &s->outpool);
    tg_hsrv__tail_drop(c);
    free(c->cap);
    c->cap = NULL;
    if (s->cfg.handler->on_close)
        s->cfg.handler->on_close(c);
    tg_hsrv__conn_gone(c);
}

/* ---- deadlines -------------------------------------------------------------------- */

/* The moment something must happen to `c`, or 0 for none. */
static int64_t deadline(const struct tg_hconn *c)
{
    const struct tg_hsrv_limits *l = &c->srv->cfg.limits;
    if (c->resume)
        return now_of(c);
    switch (c->state) {
    case TG_HSRV__LINGER:
        if (c->linger_until_us)
            return c->linger_until_us;
        return c->stall_since_us ? c->stall_since_us + l->write_timeout_us : 0;
    case TG_HSRV__CLOSED:
        return 0;
    default:
        break;
    }
    if (c->stall_since_us)
        return c->stall_since_us + l->write_timeout_us;
    switch (c->state) {
    case TG_HSRV__HEAD:
        if (tg_buf_len(&c->in) == 0)
            return c->idle_since_us + l->idle_timeout_us;
        return c->head_start_us + l->header_timeout_us;
    case TG_HSRV__BODY:
        return c->body_start_us + l->body_timeout_us +
               (int64_t)(c->body_bytes * 1000000 / l->body_min_bytes_per_s);
    default:
        return 0;
    }
}

static void on_timer(struct tg_timer *t);

static void arm_timer(struct tg_hconn *c)
{
    int64_t d = deadline(c);
    /* Lazy: an armed timer that is due earlier fires, finds the deadline moved, re-arms. */
    if (d && (!tg_timer_armed(&c->timer) || c->timer.due_us > d))
        tg_timer_start(c->srv->loop, &c->timer, d, on_timer, c);
}

static void on_timer(struct tg_timer *t)
{
    struct tg_hconn *c = t->data;
    struct tg_hsrv *s = c->srv;
    if (c->resume) {
        c->resume = false;
        tg_hsrv__drive(c);
        return;
    }
    int64_t d = deadline(c);
    if (!d)
        return;
    if (d > now_of(c)) {
        tg_timer_start(s->loop, &c->timer, d, on_timer, c);
        return;
    }
    if (c->state == TG_HSRV__LINGER) {
        tg_hconn_close(c, "linger timeout");
    } else if (c->stall_since_us) {
        s->st.timeouts_write++;
        tg_hconn_close(c, "write timeout");
    } else if (c->state == TG_HSRV__HEAD && tg_buf_len(&c->in) == 0) {
        s->st.timeouts_idle++;
        tg_hconn_close(c, "idle timeout");
    } else if (c->state == TG_HSRV__HEAD) {
        c->minor = 1; /* the previous request's facts do not apply to this one */
        c->head_only = false;
        tg_hsrv__error(c, 408, "request header timeout");
        tg_hsrv__drive(c);
    } else {
        tg_hsrv__error(c, 408, "request body timeout");
        tg_hsrv__drive(c);
    }
}

/* ---- reading ---------------------------------------------------------------------- */

static enum rd read_more(struct tg_hconn *c)
{
    struct tg_buf *b = &c->in;
    if (!tg_buf_reserve(b, &c->srv->inpool)) {
        tg_hconn_close(c, "out of memory");
        return RD_ERR;
    }
    if (b->head > 0 && tg_buf_space(b) < b->cap / 4)
        tg_buf_compact(b);
    uint32_t room = tg_buf_space(b);
    if (room == 0)
        return RD_FULL;
    for (;;) {
        ssize_t n = read(c->io.fd, b->data + b->tail, room);
        if (n > 0) {
            b->tail += (uint32_t)n;
            /* A short read drained the socket (loop.h); after a FIN we read on to EOF. */
            if ((uint32_t)n < room && !c->hup)
                c->readable = false;
            return RD_OK;
        }
        if (n == 0) {
            c->readable = false;
            c->peer_eof = true;
            return RD_EOF;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            c->readable = false;
            return RD_AGAIN;
        }
        tg_hconn_close(c, "read error");
        return RD_ERR;
    }
}

/* ---- requests --------------------------------------------------------------------- */

void tg_hsrv__request_done(struct tg_hconn *c)
{
    if (c->cap_max) {
        free(c->cap);
        c->cap = NULL;
        c->cap_len = c->cap_size = c->cap_max = 0;
    }
    c->streaming = false;
    if (c->close_after) {
        c->state = TG_HSRV__LINGER;
        return;
    }
    c->state = TG_HSRV__HEAD;
    c->idle_since_us = c->head_start_us = now_of(c);
}

/* Hands the complete request to the handler; the head is consumed first (its bytes stay
 * in place until the next read, so `m` remains valid during the call). */
static bool complete_request(struct tg_hconn *c, const struct tg_http_msg *m)
{
    tg_buf_consume(&c->in, c->head_len);
    c->head_len = 0;
    c->state = TG_HSRV__WAIT;
    c->srv->cfg.handler->on_request(c, m);
    if (c->state == TG_HSRV__WAIT && c->cancel_on_hup && c->hup)
        tg_hconn_close(c, "client closed a pending request");
    return c->state != TG_HSRV__WAIT && c->state != TG_HSRV__CLOSED;
}

/* The engine's own checks of a valid head, in the order a client can best act on. */
static bool head_refused(struct tg_hconn *c, const struct tg_http_msg *m)
{
    const struct tg_hsrv_limits *l = &c->srv->cfg.limits;
    if (m->target.len > l->max_target_bytes)
        tg_hsrv__error(c, 414, "request target too long");
    else if (m->minor == 1 && !(m->flags & TG_HTTP_F_HAS_HOST))
        tg_hsrv__error(c, 400, "missing host header");
    else if (m->method == TG_HTTP_CONNECT)
        tg_hsrv__error(c, 405, "connect is not supported");
    else
        return false;
    return true;
}

static bool start_request(struct tg_hconn *c, uint32_t head_len)
{
    struct tg_hsrv *s = c->srv;
    const struct tg_http_msg *m = &s->msg;
    c->head_len = head_len;
    c->minor = m->minor;
    c->head_only = m->method == TG_HTTP_HEAD;
    c->keepalive = (m->flags & TG_HTTP_F_KEEPALIVE) != 0;
    if (head_refused(c, m))
        return true;
    s->st.requests++;
    c->cancel_on_hup = false;
    c->body = m->body;
    c->body_left = m->content_length;
    c->body_bytes = 0;
    c->body_limit = s->cfg.limits.max_body_bytes;
    c->chunked = (struct tg_http_chunked){0};
    s->cfg.handler->on_head(c, m);
    if (c->state == TG_HSRV__CLOSED)
        return false;
    if (c->body == TG_HTTP_BODY_LENGTH && c->body_left > c->body_limit) {
        tg_hsrv__error(c, 413, "request body too large");
        return true;
    }
    if (c->body == TG_HTTP_BODY_NONE || (c->body == TG_HTTP_BODY_LENGTH && c->body_left == 0))
        return complete_request(c, m);
    /* 100 Continue only to a client still waiting for it (no body byte sent yet). */
    if ((m->flags & TG_HTTP_F_EXPECT_100) && tg_buf_len(&c->in) == head_len &&
        !tg_hsrv__out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
        return false;
    if (c->cap_max && c->body == TG_HTTP_BODY_LENGTH) {
        c->cap_size = c->body_left < c->cap_max ? (size_t)c->body_left : c->cap_max;
        if (!(c->cap = malloc(c->cap_size))) {
            tg_hconn_close(c, "out of memory");
            return false;
        }
    }
    c->state = TG_HSRV__BODY;
    c->body_start_us = now_of(c);
    return true;
}

/* A head the parser refused (its error names the answer), or a request line that is
 * growing past the target limit (TG_EURI). */
static bool head_error(struct tg_hconn *c, int rc)
{
    c->minor = 1;
    c->head_only = false;
    switch (rc) {
    case TG_ETOOBIG:
        tg_hsrv__error(c, 431, "request header fields too large");
        break;
    case TG_EURI:
        tg_hsrv__error(c, 414, "request target too long");
        break;
    case TG_ECODING:
        tg_hsrv__error(c, 501, "transfer coding not implemented");
        break;
    case TG_EVERSION:
        tg_hsrv__error(c, 505, "http version not supported");
        break;
    default:
        tg_hsrv__error(c, 400, "malformed request");
        break;
    }
    return true;
}

static bool step_head(struct tg_hconn *c, int *budget)
{
    struct tg_hsrv *s = c->srv;
    /* Pipelining backpressure: start a request only if its answer will fit. */
    if (c->out.data && tg_buf_space(&c->out) < TG_HSRV__OUT_RESERVE && tg_hsrv__flush(c) <= 0)
        return false;
    uint32_t len = tg_buf_len(&c->in);
    if (len) {
        if (*budget <= 0) {
            c->resume = true;
            return false;
        }
        const char *p = c->in.data + c->in.head;
        int r = tg_http1_parse_request(p, len, &s->plim, &s->msg, NULL);
        if (r > 0) {
            (*budget)--;
            return start_request(c, (uint32_t)r);
        }
        if (r != TG_AGAIN)
            return head_error(c, r);
        if (len > s->cfg.limits.max_target_bytes + LINE_SLACK && !memchr(p, '\n', len))
            return head_error(c, TG_EURI);
    }
    if (c->peer_eof) {
        /* Whatever is left is an incomplete head that can never complete. */
        c->close_after = true;
        c->state = TG_HSRV__LINGER;
        return true;
    }
    if (*budget <= 0 && c->readable) {
        c->resume = true;
        return false;
    }
    (*budget)--;
    switch (c->readable ? read_more(c) : RD_AGAIN) {
    case RD_OK:
        if (len == 0)
            c->head_start_us = now_of(c);
        return true;
    case RD_EOF:
        return true;
    case RD_FULL:
        return head_error(c, TG_ETOOBIG);
    case RD_AGAIN:
        tg_buf_release_if_empty(&c->in, &s->inpool);
        return false;
    case RD_ERR:
    default:
        return false;
    }
}

/* ---- bodies ----------------------------------------------------------------------- */

static bool capture(struct tg_hconn *c, const char *p, size_t n)
{
    size_t room = c->cap_max - c->cap_len;
    if (n > room)
        n = room;
    if (!n)
        return true;
    if (c->cap_len + n > c->cap_size) {
        size_t size = c->cap_size ? c->cap_size : CAPTURE_FIRST;
        while (size < c->cap_len + n)
            size *= 2;
        if (size > c->cap_max)
            size = c->cap_max;
        char *q = realloc(c->cap, size);
        if (!q) {
            tg_hconn_close(c, "out of memory");
            return false;
        }
        c->cap = q;
        c->cap_size = size;
    }
    memcpy(c->cap + c->cap_len, p, n);
    c->cap_len += n;
    return true;
}

/* Accounts `n` decoded body bytes; false if the request was refused or closed. */
static bool sink(struct tg_hconn *c, const char *p, size_t n)
{
    c->body_bytes += n;
    if (c->body_bytes > c->body_limit) {
        tg_hsrv__error(c, 413, "request body too large");
        return false;
    }
    if (c->cap_max && !capture(c, p, n))
        return false;
    if (n && c->srv->cfg.handler->on_body) {
        c->srv->cfg.handler->on_body(c, p, n);
        return c->state == TG_HSRV__BODY;
    }
    return true;
}

/* Removes `n` bytes from the front of the body bytes, which sit behind the kept head. */
static void drop_body_bytes(struct tg_hconn *c, uint32_t n)
{
    char *p = c->in.data + c->in.head + c->head_len;
    uint32_t rest = tg_buf_len(&c->in) - c->head_len - n;
    if (rest)
        memmove(p, p + n, rest);
    c->in.tail -= n;
}

/* Consumes the body bytes in the read buffer; false if the request was refused. */
static bool body_consume(struct tg_hconn *c)
{
    char *p = c->in.data + c->in.head + c->head_len;
    uint32_t avail = tg_buf_len(&c->in) - c->head_len;
    if (c->body == TG_HTTP_BODY_LENGTH) {
        uint32_t n = c->body_left < avail ? (uint32_t)c->body_left : avail;
        c->body_left -= n;
        if (!sink(c, p, n))
            return false;
        drop_body_bytes(c, n);
        return true;
    }
    size_t out_len = 0;
    bool done = false;
    long n = tg_http1_chunked_decode(&c->chunked, p, avail, p, &out_len, &done);
    if (n < 0) {
        tg_hsrv__error(c, 400, "malformed chunked body");
        return false;
    }
    if (!sink(c, p, out_len))
        return false;
    drop_body_bytes(c, (uint32_t)n);
    if (done)
        c->body = TG_HTTP_BODY_NONE;
    return true;
}

static bool body_done(const struct tg_hconn *c)
{
    return c->body == TG_HTTP_BODY_NONE || (c->body == TG_HTTP_BODY_LENGTH && c->body_left == 0);
}

static bool step_body(struct tg_hconn *c, int *budget)
{
    struct tg_hsrv *s = c->srv;
    for (;;) {
        if (tg_buf_len(&c->in) > c->head_len && !body_consume(c))
            return c->state != TG_HSRV__CLOSED;
        if (body_done(c)) {
            /* The kept head parses as before; `s->msg` may hold another connection's. */
            int r = tg_http1_parse_request(c->in.data + c->in.head, c->head_len, &s->plim, &s->msg,
                                           NULL);
            if (r != (int)c->head_len) {
                tg_hconn_close(c, "kept head changed");
                return false;
            }
            return complete_request(c, &s->msg);
        }
        if (*budget <= 0) {
            c->resume = c->readable;
            return false;
        }
        (*budget)--;
        switch (c->readable ? read_more(c) : RD_AGAIN) {
        case RD_OK:
            continue;
        case RD_AGAIN:
            return false;
        case RD_EOF:
            tg_hconn_close(c, "end of stream inside a request body");
            return false;
        case RD_FULL:
            /* Only a chunk line longer than the buffer gets here; the decoder caps them. */
            tg_hsrv__error(c, 400, "malformed chunked body");
            return true;
        case RD_ERR:
        default:
            return false;
        }
    }
}

/* ---- lingering close -------------------------------------------------------------- */

static bool step_linger(struct tg_hconn *c)
{
    if (tg_hsrv__flush(c) <= 0)
        return false;
    if (c->peer_eof) {
        tg_hconn_close(c, "done");
        return false;
    }
    if (!c->shut_wr) {
        shutdown(c->io.fd, SHUT_WR);
        c->shut_wr = true;
        c->linger_until_us = now_of(c) + LINGER_US;
    }
    for (uint32_t drained = 0; c->readable && drained < LINGER_DRAIN_MAX;) {
        c->in.head = c->in.tail = 0;
        enum rd rd = read_more(c);
        if (rd == RD_EOF) {
            tg_hconn_close(c, "done");
            return false;
        }
        if (rd != RD_OK)
            break;
        drained += c->in.tail;
    }
    if (c->state != TG_HSRV__CLOSED) {
        tg_buf_release(&c->in, &c->srv->inpool);
        c->resume = c->readable; /* drained the most per turn; go on in the next */
    }
    return false;
}

/* ---- driving ---------------------------------------------------------------------- */

void tg_hsrv__drive(struct tg_hconn *c)
{
    if (c->driving || c->state == TG_HSRV__CLOSED)
        return;
    c->driving = true;
    int budget = DRIVE_BUDGET;
    bool more = true;
    while (more) {
        switch (c->state) {
        case TG_HSRV__HEAD:
            more = step_head(c, &budget);
            break;
        case TG_HSRV__BODY:
            more = step_body(c, &budget);
            break;
        case TG_HSRV__SEND:
            more = tg_hsrv__step_send(c);
            break;
        case TG_HSRV__LINGER:
            more = step_linger(c);
            break;
        case TG_HSRV__WAIT:
        case TG_HSRV__CLOSED:
        default:
            more = false;
            break;
        }
    }
    /* Pipelined answers and "100 Continue" leave bytes queued; send them now. */
    if (c->state != TG_HSRV__CLOSED && tg_buf_len(&c->out))
        tg_hsrv__flush(c);
    c->driving = false;
    if (c->state != TG_HSRV__CLOSED)
        arm_timer(c);
}

void tg_hsrv__on_io(struct tg_io *io, unsigned events)
{
    struct tg_hconn *c = io->data;
    if (events & TG_IO_ERR) {
        tg_hconn_close(c, "socket error");
        return;
    }
    if (events & TG_IO_READ)
        c->readable = true;
    if (events & TG_IO_WRITE)
        c->writable = true;
    if (events & TG_IO_HUP) {
        c->hup = true;
        if (c->state == TG_HSRV__WAIT && c->cancel_on_hup) {
            tg_hconn_close(c, "client closed a pending request");
            return;
        }
    }
    tg_hsrv__drive(c);
}

void tg_hsrv__conn_init(struct tg_hconn *c)
{
    c->state = TG_HSRV__HEAD;
    c->keepalive = true;
    c->minor = 1;
    /* Optimistic: the first send finds out, and saves waiting for the first WRITE edge. */
    c->writable = true;
    c->idle_since_us = now_of(c);
    arm_timer(c);
}

/* ---- handler calls about the request ------------------------------------------------ */

void tg_hconn_set_body_limit(struct tg_hconn *c, uint64_t limit)
{
    c->body_limit = limit;
}

void tg_hconn_capture_body(struct tg_hconn *c, size_t max_bytes)
{
    c->cap_max = max_bytes;
}

const char *tg_hconn_body(const struct tg_hconn *c, size_t *len)
{
    *len = c->cap_len;
    return c->cap;
}

size_t tg_hconn_peer(const struct tg_hconn *c, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    if (cap == 0)
        return 0;
    if (getpeername(c->io.fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
        else if (ss.ss_family == AF_UNIX)
            snprintf(host, sizeof host, "unix");
    }
    int n = snprintf(buf, cap, "%s", host);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

uint64_t tg_hconn_body_bytes(const struct tg_hconn *c)
{
    return c->body_bytes;
}

void tg_hconn_cancel_on_hup(struct tg_hconn *c)
{
    /* A FIN that came already, while the request was read, is acted on when on_request
     * returns (complete_request). */
    c->cancel_on_hup = true;
}
