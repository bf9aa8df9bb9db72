/* SPDX-License-Identifier: MIT */
/* Connection state machine of the demo API. One request at a time per connection, which
 * is what keeps pipelined responses in order: the next head is parsed only after the
 * current response has been fully queued (streamed responses: fully sent), so later
 * requests simply wait in the read buffer. Reads are edge-triggered (loop.h): `readable`
 * remembers an edge not yet read to exhaustion, so a connection that stops reading while
 * a response is delayed picks up where it left off. Writes go out with one sendmsg of
 * the write buffer plus an optional tail (a region of the big block, or the shared /bytes
 * pattern), stopping at EAGAIN; the WRITE edge resumes them, which is the backpressure.
 * The last response of a connection is followed by a lingering close (half-close, drain,
 * close) so unread request bytes do not turn our FIN into a RST that destroys the
 * response before the client reads it. Buffers are pooled per worker and held only while
 * bytes are in flight. */
#include "demo/server_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"

#define LINGER_US 2000000           /* how long a lingering close drains the socket */
#define LINGER_DRAIN_MAX (1u << 20) /* bytes drained per event, so one peer cannot spin us */
#define PATTERN_BYTES (256 * 1024)  /* /bytes payload source, shared read-only */

/* Filled once; every /bytes response is a window onto it, so streaming N bytes costs no
 * copy and no memory per connection. */
static char pattern[PATTERN_BYTES];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static const struct tg_http_limits limits = {
    .max_head_bytes = TG_DEMO_IN_BLOCK,
    .max_headers = TG_HTTP_MAX_HEADERS,
};

enum rd { RD_OK = 0, RD_AGAIN, RD_EOF, RD_FULL, RD_ERR };

static void fill_pattern(void)
{
    static const char line[] = "tailguard demo-api /bytes payload 0123456789abcdefghijklmnopq\n";
    for (size_t i = 0; i < PATTERN_BYTES; i++)
        pattern[i] = line[i % (sizeof line - 1)];
}

static void recycle_cb(struct tg_defer *d)
{
    tg_demo__conn_recycle(d->data);
}

void tg_demo__conn_close(struct tg_demo_conn *c, const char *reason)
{
    if (c->state == TG_DEMO_CS_CLOSED)
        return;
    struct tg_demo_worker *w = c->w;
    TG_LOG_DEBUG("demo", "connection closed reason=\"%s\" fd=%d", reason, c->io.fd);
    c->state = TG_DEMO_CS_CLOSED;
    tg_timer_stop(w->loop, &c->timer);
    tg_io_stop(w->loop, &c->io);
    close(c->io.fd);
    c->io.fd = -1;
    tg_buf_release(&c->in, &w->inpool);
    tg_buf_release(&c->out, &w->outpool);
    tg_buf_release(&c->big, &w->bigpool);
    c->tail_len = 0;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    /* Callers up the stack may still hold `c`; it goes back to the pool after this turn. */
    tg_loop_defer(w->loop, &c->defer, recycle_cb, c);
}

/* Sends the write buffer, then the tail, until both are empty (1), the socket is full
 * (0, resume on the WRITE edge), or it failed and the connection was closed (-1). */
static int flush(struct tg_demo_conn *c)
{
    for (;;) {
        uint32_t olen = tg_buf_len(&c->out);
        if (!olen && !c->tail_len)
            break;
        if (!c->writable)
            return 0;
        struct iovec iov[2];
        int n = 0;
        if (olen)
            iov[n++] = (struct iovec){c->out.data + c->out.head, olen};
        if (c->tail_len)
            iov[n++] = (struct iovec){(void *)c->tail_p,
                                      c->tail_len > (1u << 30) ? (1u << 30) : c->tail_len};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t wr = sendmsg(c->io.fd, &mh, MSG_NOSIGNAL);
        if (wr == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                c->writable = false;
                return 0;
            }
            tg_demo__conn_close(c, "write error");
            return -1;
        }
        uint32_t a = (size_t)wr < olen ? (uint32_t)wr : olen;
        tg_buf_consume(&c->out, a);
        c->tail_p += (size_t)wr - a;
        c->tail_len -= (size_t)wr - a;
    }
    tg_buf_release(&c->out, &c->w->outpool);
    return 1;
}

static enum rd read_more(struct tg_demo_conn *c)
{
    struct tg_buf *b = &c->in;
    if (!tg_buf_reserve(b, &c->w->inpool)) {
        tg_demo__conn_close(c, "out of memory");
        return RD_ERR;
    }
    if (b->head > 0 && tg_buf_space(b) < TG_DEMO_IN_BLOCK / 4)
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
        tg_demo__conn_close(c, "read error");
        return RD_ERR;
    }
}

/* Appends a few bytes of framing (chunk lines, "100 Continue") to the write buffer;
 * false if they did not fit or the connection was closed. */
static bool out_append(struct tg_demo_conn *c, const char *s, size_t n)
{
    if (!tg_buf_reserve(&c->out, &c->w->outpool)) {
        tg_demo__conn_close(c, "out of memory");
        return false;
    }
    return tg_buf_append(&c->out, s, (uint32_t)n) == n;
}

static void enter_linger(struct tg_demo_conn *c)
{
    c->state = TG_DEMO_CS_LINGER;
}

static void finish_request(struct tg_demo_conn *c)
{
    tg_buf_release(&c->big, &c->w->bigpool);
    if (c->req.keepalive)
        c->state = TG_DEMO_CS_HEAD;
    else
        enter_linger(c);
}

static void after_response(struct tg_demo_conn *c)
{
    if (c->tail_len || c->streaming)
        c->state = TG_DEMO_CS_STREAM;
    else
        finish_request(c);
}

static char *put(char *d, const char *s)
{
    size_t n = strlen(s);
    memcpy(d, s, n);
    return d + n;
}

static char *put_u64(char *d, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *d++ = tmp[--n];
    return d;
}

size_t tg_demo__format_head(const struct tg_demo_conn *c, char *dst, size_t cap, int status,
                            const char *ctype, const char *extra, uint64_t len, bool chunked)
{
    const char *reason = tg_http_reason(status);
    size_t need = 160 + strlen(reason) + (ctype ? strlen(ctype) : 0) + (extra ? strlen(extra) : 0);
    if (need > cap)
        return 0;
    char *d = put(dst, "HTTP/1.1 ");
    d = put_u64(d, (uint64_t)status);
    *d++ = ' ';
    d = put(d, reason);
    d = put(d, "\r\nServer: tailguard-demo\r\n");
    if (ctype) {
        d = put(d, "Content-Type: ");
        d = put(d, ctype);
        d = put(d, "\r\n");
    }
    if (chunked) {
        d = put(d, "Transfer-Encoding: chunked\r\n");
    } else if (status != 204 && status != 304) {
        d = put(d, "Content-Length: ");
        d = put_u64(d, len);
        d = put(d, "\r\n");
    }
    if (!c->req.keepalive)
        d = put(d, "Connection: close\r\n");
    else if (c->req.minor == 0)
        d = put(d, "Connection: keep-alive\r\n");
    if (extra)
        d = put(d, extra);
    d = put(d, "\r\n");
    return (size_t)(d - dst);
}

bool tg_demo__respond(struct tg_demo_conn *c, int status, const char *ctype, const char *extra,
                      const char *body, size_t len)
{
    struct tg_demo_worker *w = c->w;
    size_t blen = (c->req.head_only || status == 204 || status == 304) ? 0 : len;
    if (!tg_buf_reserve(&c->out, &w->outpool)) {
        tg_demo__conn_close(c, "out of memory");
        return false;
    }
    char *dst = c->out.data + c->out.tail;
    size_t room = tg_buf_space(&c->out);
    size_t hl = tg_demo__format_head(c, dst, room, status, ctype, extra, len, false);
    if (hl && hl + blen <= room) {
        memcpy(dst + hl, body, blen);
        c->out.tail += (uint32_t)(hl + blen);
    } else {
        /* Larger than the write buffer: the big block goes out after it, in order. */
        if (!tg_buf_reserve(&c->big, &w->bigpool)) {
            tg_demo__conn_close(c, "out of memory");
            return false;
        }
        hl = tg_demo__format_head(c, c->big.data, c->big.cap, status, ctype, extra, len, false);
        if (!hl || hl + blen > c->big.cap) {
            tg_log(TG_LOG_WARN, "demo", "response too large bytes=%zu", blen);
            tg_demo__conn_close(c, "response too large");
            return false;
        }
        memcpy(c->big.data + hl, body, blen);
        c->big.head = 0;
        c->big.tail = (uint32_t)(hl + blen);
        c->tail_p = c->big.data;
        c->tail_len = c->big.tail;
    }
    after_response(c);
    return true;
}

void tg_demo__respond_big(struct tg_demo_conn *c)
{
    c->tail_p = c->big.data + c->big.head;
    c->tail_len = tg_buf_len(&c->big);
    after_response(c);
}

void tg_demo__respond_bytes(struct tg_demo_conn *c, uint64_t n, bool chunked)
{
    pthread_once(&pattern_once, fill_pattern);
    /* HTTP/1.0 has no chunked coding; Content-Length works for every version. */
    if (c->req.minor == 0)
        chunked = false;
    char head[256];
    size_t hl = tg_demo__format_head(c, head, sizeof head, 200, "application/octet-stream", NULL, n,
                                     chunked);
    if (!out_append(c, head, hl))
        return;
    c->streaming = !c->req.head_only;
    c->stream_left = n;
    c->stream_chunked = chunked;
    c->stream_in_chunk = false;
    c->stream_done = false;
    after_response(c);
}

/* The previous piece of a /bytes response is sent: queue the next one (chunk framing in
 * the write buffer, data as the tail). */
static void refill(struct tg_demo_conn *c)
{
    uint64_t k = c->stream_left < PATTERN_BYTES ? c->stream_left : PATTERN_BYTES;
    if (!c->stream_chunked) {
        c->tail_p = pattern;
        c->tail_len = k;
        c->stream_left -= k;
        c->stream_done = c->stream_left == 0;
        return;
    }
    char frame[32];
    int n = 0;
    if (c->stream_in_chunk)
        n += snprintf(frame + n, sizeof frame - (size_t)n, "\r\n");
    if (k == 0) {
        n += snprintf(frame + n, sizeof frame - (size_t)n, "0\r\n\r\n");
        c->stream_done = true;
    } else {
        n += snprintf(frame + n, sizeof frame - (size_t)n, "%" PRIx64 "\r\n", k);
        c->tail_p = pattern;
        c->tail_len = k;
        c->stream_left -= k;
        c->stream_in_chunk = true;
    }
    out_append(c, frame, (size_t)n);
}

/* Answers a request the server cannot continue after (bad framing, too large): the
 * connection closes once the response is out. */
static bool reject(struct tg_demo_conn *c, int status, const char *msg)
{
    char body[128];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    c->req.keepalive = false;
    c->req.head_only = false;
    if (c->state == TG_DEMO_CS_HEAD)
        c->req.minor = 1;
    tg_demo__respond(c, status, "application/json", NULL, body, (size_t)n);
    return true;
}

static bool start_request(struct tg_demo_conn *c, uint32_t head_len)
{
    const struct tg_http_msg *m = &c->w->msg;
    struct tg_demo_req *r = &c->req;
    memset(r, 0, sizeof *r);
    r->head_us = tg_loop_now_us(c->w->loop);
    r->method = m->method;
    r->minor = m->minor;
    r->keepalive = (m->flags & TG_HTTP_F_KEEPALIVE) != 0;
    r->head_only = m->method == TG_HTTP_HEAD;
    r->body = m->body;
    r->body_left = m->content_length;
    r->body_limit = TG_DEMO_BODY_MAX;
    bool expect100 = (m->flags & TG_HTTP_F_EXPECT_100) && m->minor == 1;
    bool ok = tg_demo__ep_begin(c, m);
    /* The head's slices die here; ep_begin copied what it needs. */
    tg_buf_consume(&c->in, head_len);
    if (!ok)
        return true;
    if (r->body == TG_HTTP_BODY_LENGTH && r->body_left > r->body_limit)
        return reject(c, 413, "request body too large");
    if (r->body == TG_HTTP_BODY_NONE || (r->body == TG_HTTP_BODY_LENGTH && r->body_left == 0)) {
        r->body_done = true;
        tg_demo__ep_dispatch(c);
        return true;
    }
    if (expect100 && !out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
        return false;
    c->state = TG_DEMO_CS_BODY;
    return true;
}

static bool step_head(struct tg_demo_conn *c)
{
    /* Pipelining backpressure: start a request only if its response will fit. */
    if (c->out.data && tg_buf_space(&c->out) < TG_DEMO_OUT_RESERVE && flush(c) <= 0)
        return false;
    uint32_t len = tg_buf_len(&c->in);
    if (len) {
        size_t off = 0;
        int r = tg_http1_parse_request(c->in.data + c->in.head, len, &limits, &c->w->msg, &off);
        if (r > 0)
            return start_request(c, (uint32_t)r);
        if (r == TG_ETOOBIG)
            return reject(c, 431, "request head too large");
        if (r != TG_AGAIN)
            return reject(c, 400, "malformed request");
    }
    if (c->peer_eof) {
        /* Whatever is left is an incomplete head that can never complete. */
        c->req.keepalive = false;
        enter_linger(c);
        return true;
    }
    switch (c->readable ? read_more(c) : RD_AGAIN) {
    case RD_OK:
    case RD_EOF:
        return true;
    case RD_FULL:
        return reject(c, 431, "request head too large");
    case RD_AGAIN:
        tg_buf_release_if_empty(&c->in, &c->w->inpool);
        return false;
    case RD_ERR:
    default:
        return false;
    }
}

/* Accounts `n` decoded body bytes; false if the request was rejected. */
static bool sink(struct tg_demo_conn *c, const char *p, size_t n)
{
    struct tg_demo_req *r = &c->req;
    r->body_bytes += n;
    if (r->body_bytes > r->body_limit) {
        reject(c, 413, "request body too large");
        return false;
    }
    if (r->capture && n) {
        size_t room = r->cap_max - r->cap_len;
        size_t k = n < room ? n : room;
        memcpy(c->big.data + r->cap_off + r->cap_len, p, k);
        r->cap_len += (uint32_t)k;
        r->cap_overflow |= k < n;
    }
    return true;
}

/* Consumes the body bytes in the read buffer; false if the request was rejected. */
static bool body_consume(struct tg_demo_conn *c)
{
    struct tg_demo_req *r = &c->req;
    char *p = c->in.data + c->in.head;
    uint32_t avail = tg_buf_len(&c->in);
    if (r->body == TG_HTTP_BODY_LENGTH) {
        uint32_t n = r->body_left < avail ? (uint32_t)r->body_left : avail;
        r->body_left -= n;
        r->body_done = r->body_left == 0;
        bool ok = sink(c, p, n);
        if (ok)
            tg_buf_consume(&c->in, n);
        return ok;
    }
    size_t out_len = 0;
    bool done = false;
    long n = tg_http1_chunked_decode(&r->chunked, p, avail, p, &out_len, &done);
    if (n < 0) {
        reject(c, 400, "malformed chunked body");
        return false;
    }
    if (!sink(c, p, out_len))
        return false;
    tg_buf_consume(&c->in, (uint32_t)n);
    r->body_done = done;
    return true;
}

static bool step_body(struct tg_demo_conn *c)
{
    for (;;) {
        if (tg_buf_len(&c->in) && !body_consume(c))
            return true;
        if (c->req.body_done) {
            tg_demo__ep_dispatch(c);
            return true;
        }
        switch (c->readable ? read_more(c) : RD_AGAIN) {
        case RD_OK:
            continue;
        case RD_AGAIN:
            return false;
        case RD_EOF:
            tg_demo__conn_close(c, "end of stream inside a request body");
            return false;
        case RD_FULL:
            /* Only a chunk line longer than the buffer gets here; the parser caps them. */
            return reject(c, 400, "malformed chunked body");
        case RD_ERR:
        default:
            return false;
        }
    }
}

static bool step_stream(struct tg_demo_conn *c)
{
    if (flush(c) <= 0)
        return false;
    if (c->streaming && !c->stream_done) {
        refill(c);
        return c->state != TG_DEMO_CS_CLOSED;
    }
    c->streaming = false;
    finish_request(c);
    return true;
}

static void linger_timeout(struct tg_timer *t)
{
    tg_demo__conn_close(t->data, "linger timeout");
}

static bool step_linger(struct tg_demo_conn *c)
{
    if (flush(c) <= 0)
        return false;
    if (c->peer_eof) {
        tg_demo__conn_close(c, "done");
        return false;
    }
    if (!c->shut_wr) {
        shutdown(c->io.fd, SHUT_WR);
        c->shut_wr = true;
        tg_timer_start(c->w->loop, &c->timer, tg_loop_now_us(c->w->loop) + LINGER_US,
                       linger_timeout, c);
    }
    for (uint32_t drained = 0; c->readable && drained < LINGER_DRAIN_MAX;) {
        c->in.head = c->in.tail = 0;
        enum rd rd = read_more(c);
        if (rd == RD_EOF) {
            tg_demo__conn_close(c, "done");
            return false;
        }
        if (rd != RD_OK)
            break;
        drained += c->in.tail;
    }
    if (c->state != TG_DEMO_CS_CLOSED)
        tg_buf_release(&c->in, &c->w->inpool);
    return false;
}

void tg_demo__conn_drive(struct tg_demo_conn *c)
{
    /* Activity for the idle sweep: I/O events and the end of simulated latency. */
    c->last_active_us = tg_loop_now_us(c->w->loop);
    bool more = true;
    while (more) {
        switch (c->state) {
        case TG_DEMO_CS_HEAD:
            more = step_head(c);
            break;
        case TG_DEMO_CS_BODY:
            more = step_body(c);
            break;
        case TG_DEMO_CS_STREAM:
            more = step_stream(c);
            break;
        case TG_DEMO_CS_LINGER:
            more = step_linger(c);
            break;
        case TG_DEMO_CS_WAIT:
        case TG_DEMO_CS_CLOSED:
        default:
            more = false;
            break;
        }
    }
    /* Pipelined responses and "100 Continue" leave bytes queued; send them now. */
    if (c->state != TG_DEMO_CS_CLOSED && tg_buf_len(&c->out))
        flush(c);
}

void tg_demo__conn_on_io(struct tg_io *io, unsigned events)
{
    struct tg_demo_conn *c = io->data;
    if (events & TG_IO_ERR) {
        tg_demo__conn_close(c, "socket error");
        return;
    }
    if (events & TG_IO_READ)
        c->readable = true;
    if (events & TG_IO_WRITE)
        c->writable = true;
    if (events & TG_IO_HUP) {
        c->hup = true;
        /* A hung request is held until the client gives up: that is now. */
        if (c->state == TG_DEMO_CS_WAIT && c->req.effect.hang) {
            tg_demo__conn_close(c, "client closed a hung request");
            return;
        }
    }
    tg_demo__conn_drive(c);
}

void tg_demo__conn_start(struct tg_demo_conn *c, struct tg_demo_worker *w, int fd)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->state = TG_DEMO_CS_HEAD;
    c->req.keepalive = true;
    c->req.minor = 1;
    c->last_active_us = tg_loop_now_us(w->loop);
    c->io.fd = fd;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
}
