/* SPDX-License-Identifier: MIT */
/* The write side of an engine connection (server.h): response heads, the three ways to
 * send a body, and the engine's own error answers. Bytes go out with one sendmsg of the
 * write buffer plus an optional tail (an owned copy of a large response, a body the
 * handler lends, or a piece of a stream), stopping at EAGAIN; the WRITE edge resumes
 * them, which is the backpressure. A response the size of the write buffer's free room
 * is copied into it, so pipelined small answers leave in one send. Larger copies are
 * one malloc per response: they are rare (admin JSON, demo fault lists), and a handler
 * that cares lends its body instead (tg_hconn_respond_ref). */
#include "http/server_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/log.h"

#define SEND_MAX (1u << 30) /* bytes of the tail offered to one sendmsg */

/* ---- sending ---------------------------------------------------------------------- */

void tg_hsrv__tail_drop(struct tg_hconn *c)
{
    free(c->tail_owned);
    c->tail_owned = NULL;
    c->tail_p = NULL;
    c->tail_len = 0;
    if (c->release) {
        void (*release)(void *) = c->release;
        c->release = NULL;
        release(c->release_arg);
    }
}

int tg_hsrv__flush(struct tg_hconn *c)
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
            iov[n++] =
                (struct iovec){(void *)c->tail_p, c->tail_len > SEND_MAX ? SEND_MAX : c->tail_len};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t wr = sendmsg(c->io.fd, &mh, MSG_NOSIGNAL);
        if (wr == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                c->writable = false;
                if (!c->stall_since_us)
                    c->stall_since_us = tg_loop_now_us(c->srv->loop);
                return 0;
            }
            tg_hconn_close(c, "write error");
            return -1;
        }
        c->stall_since_us = 0;
        uint32_t a = (size_t)wr < olen ? (uint32_t)wr : olen;
        tg_buf_consume(&c->out, a);
        c->tail_p += (size_t)wr - a;
        c->tail_len -= (size_t)wr - a;
    }
    tg_buf_release(&c->out, &c->srv->outpool);
    return 1;
}

bool tg_hsrv__out_append(struct tg_hconn *c, const char *s, size_t n)
{
    if (!tg_buf_reserve(&c->out, &c->srv->outpool)) {
        tg_hconn_close(c, "out of memory");
        return false;
    }
    if (tg_buf_append(&c->out, s, (uint32_t)n) != n) {
        tg_hconn_close(c, "write buffer full");
        return false;
    }
    return true;
}

bool tg_hsrv__step_send(struct tg_hconn *c)
{
    if (tg_hsrv__flush(c) <= 0)
        return false;
    tg_hsrv__tail_drop(c);
    if (c->streaming && !c->stream_ended) {
        c->srv->cfg.handler->on_write(c);
        if (c->state != TG_HSRV__SEND)
            return false;
        /* Nothing queued: the handler produces the rest later (tg_hconn_stream_*). */
        return c->tail_len || tg_buf_len(&c->out) || c->stream_ended;
    }
    tg_hsrv__request_done(c);
    return true;
}

/* ---- heads ------------------------------------------------------------------------ */

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

static char *put_n(char *d, const char *s, size_t n)
{
    memcpy(d, s, n);
    return d + n;
}

#define PUT_LIT(d, lit) put_n((d), (lit), sizeof(lit) - 1)

/* A response head measured once: every string with its length, and a bound on the bytes
 * it takes (the fixed parts are under 128 bytes). This is on the path of every request,
 * so nothing is measured twice. */
struct head {
    int status;
    const char *reason, *ctype, *extra;
    size_t rlen, clen, elen, bound;
};

/* Fills `h`; false if the head could not fit the room a request is guaranteed. */
static bool head_measure(const struct tg_hconn *c, struct head *h, int status, const char *ctype,
                         const char *extra)
{
    h->status = status;
    h->reason = tg_http_reason(status);
    h->ctype = ctype;
    h->extra = extra;
    h->rlen = strlen(h->reason);
    h->clen = ctype ? strlen(ctype) : 0;
    h->elen = extra ? strlen(extra) : 0;
    h->bound = 128 + h->rlen + h->clen + h->elen + c->srv->resp_headers_len;
    return h->bound <= TG_HSRV__OUT_RESERVE - 64;
}

static bool no_body_status(int status)
{
    return status == 204 || status == 304 || status < 200;
}

/* Writes the head at `d` (room: h->bound) and returns its end. Decides here whether the
 * connection closes after this response. */
static char *format_head(struct tg_hconn *c, char *d, const struct head *h, uint64_t len,
                         bool chunked)
{
    struct tg_hsrv *s = c->srv;
    c->close_after = c->close_after || !c->keepalive || s->draining;
    d = PUT_LIT(d, "HTTP/1.1 ");
    d = put_u64(d, (uint64_t)h->status);
    *d++ = ' ';
    d = put_n(d, h->reason, h->rlen);
    d = PUT_LIT(d, "\r\n");
    d = put_n(d, s->cfg.resp_headers, s->resp_headers_len);
    if (h->ctype) {
        d = PUT_LIT(d, "Content-Type: ");
        d = put_n(d, h->ctype, h->clen);
        d = PUT_LIT(d, "\r\n");
    }
    if (chunked) {
        d = PUT_LIT(d, "Transfer-Encoding: chunked\r\n");
    } else if (!no_body_status(h->status)) {
        d = PUT_LIT(d, "Content-Length: ");
        d = put_u64(d, len);
        d = PUT_LIT(d, "\r\n");
    }
    if (c->close_after)
        d = PUT_LIT(d, "Connection: close\r\n");
    else if (c->minor == 0)
        d = PUT_LIT(d, "Connection: keep-alive\r\n");
    if (h->elen) /* memcpy from NULL is undefined even for 0 bytes */
        d = put_n(d, h->extra, h->elen);
    return PUT_LIT(d, "\r\n");
}

/* Common entry of the tg_hconn_respond* calls: the connection must be waiting for the
 * answer to its current request. Reserves the write buffer; false if it cannot answer. */
static bool begin(struct tg_hconn *c)
{
    if (c->state != TG_HSRV__WAIT) {
        tg_log(TG_LOG_ERROR, c->srv->cfg.log_module, "response without a request state=%d",
               (int)c->state);
        return false;
    }
    if (!tg_buf_reserve(&c->out, &c->srv->outpool)) {
        tg_hconn_close(c, "out of memory");
        return false;
    }
    return true;
}

/* The answer is queued: wait for its tail or stream (SEND), or go on. */
static bool queued(struct tg_hconn *c)
{
    if (c->tail_len || c->streaming)
        c->state = TG_HSRV__SEND;
    else
        tg_hsrv__request_done(c);
    if (!c->driving)
        tg_hsrv__drive(c);
    return true;
}

static bool head_too_large(struct tg_hconn *c)
{
    tg_log(TG_LOG_ERROR, c->srv->cfg.log_module, "response head too large");
    tg_hconn_close(c, "response head too large");
    return false;
}

/* ---- the three kinds of response ---------------------------------------------------- */

bool tg_hconn_respond(struct tg_hconn *c, int status, const char *ctype, const char *extra,
                      const char *body, size_t len)
{
    if (!begin(c))
        return false;
    struct head h;
    if (!head_measure(c, &h, status, ctype, extra))
        return head_too_large(c);
    size_t blen = (c->head_only || no_body_status(status)) ? 0 : len;
    if (h.bound + blen <= tg_buf_space(&c->out)) {
        char *d = format_head(c, c->out.data + c->out.tail, &h, len, false);
        if (blen)
            memcpy(d, body, blen);
        c->out.tail = (uint32_t)(d + blen - c->out.data);
        return queued(c);
    }
    char *buf = malloc(h.bound + blen);
    if (!buf) {
        tg_hconn_close(c, "out of memory");
        return false;
    }
    char *d = format_head(c, buf, &h, len, false);
    if (blen)
        memcpy(d, body, blen);
    c->tail_owned = buf;
    c->tail_p = buf;
    c->tail_len = (size_t)(d + blen - buf);
    return queued(c);
}

bool tg_hconn_respond_ref(struct tg_hconn *c, int status, const char *ctype, const char *extra,
                          const char *body, size_t len, void (*release)(void *), void *arg)
{
    if (!begin(c)) {
        if (release)
            release(arg);
        return false;
    }
    struct head h;
    if (!head_measure(c, &h, status, ctype, extra) || h.bound > tg_buf_space(&c->out)) {
        if (release)
            release(arg);
        return head_too_large(c);
    }
    char *d = format_head(c, c->out.data + c->out.tail, &h, len, false);
    c->out.tail = (uint32_t)(d - c->out.data);
    c->release = release;
    c->release_arg = arg;
    if (c->head_only || no_body_status(status) || !len) {
        tg_hsrv__tail_drop(c);
        return queued(c);
    }
    c->tail_p = body;
    c->tail_len = len;
    return queued(c);
}

bool tg_hconn_respond_stream(struct tg_hconn *c, int status, const char *ctype, const char *extra,
                             uint64_t len, bool chunked)
{
    if (!begin(c))
        return false;
    struct head h;
    if (!head_measure(c, &h, status, ctype, extra) || h.bound > tg_buf_space(&c->out))
        return head_too_large(c);
    /* HTTP/1.0 has no chunked coding; Content-Length works for every version. */
    chunked = chunked && c->minor == 1;
    char *d = format_head(c, c->out.data + c->out.tail, &h, len, chunked);
    c->out.tail = (uint32_t)(d - c->out.data);
    c->streaming = !c->head_only && !no_body_status(status);
    c->stream_chunked = chunked;
    c->stream_in_chunk = false;
    c->stream_ended = !c->streaming;
    return queued(c);
}

void tg_hconn_stream_ref(struct tg_hconn *c, const char *p, size_t n)
{
    if (c->state != TG_HSRV__SEND || !c->streaming || c->stream_ended || !n)
        return;
    if (c->stream_chunked) {
        char frame[32];
        int k = snprintf(frame, sizeof frame, "%s%zx\r\n", c->stream_in_chunk ? "\r\n" : "", n);
        if (!tg_hsrv__out_append(c, frame, (size_t)k))
            return;
        c->stream_in_chunk = true;
    }
    c->tail_p = p;
    c->tail_len = n;
    if (!c->driving)
        tg_hsrv__drive(c);
}

void tg_hconn_stream_end(struct tg_hconn *c)
{
    if (c->state != TG_HSRV__SEND || !c->streaming || c->stream_ended)
        return;
    c->stream_ended = true;
    if (c->stream_chunked &&
        !tg_hsrv__out_append(c, c->stream_in_chunk ? "\r\n0\r\n\r\n" : "0\r\n\r\n",
                             c->stream_in_chunk ? 7 : 5))
        return;
    if (!c->driving)
        tg_hsrv__drive(c);
}

/* ---- the engine's own answers ------------------------------------------------------- */

size_t tg_hsrv__error_body(struct tg_hsrv *s, int status, const char *msg, char *dst, size_t cap,
                           const char **ctype)
{
    if (s->cfg.handler->error_body)
        return s->cfg.handler->error_body(s, status, msg, dst, cap, ctype);
    *ctype = "application/json";
    int n = snprintf(dst, cap, "{\"error\":\"%s\"}", msg);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void count(struct tg_hsrv_stats *st, int status)
{
    switch (status) {
    case 400:
        st->status_400++;
        break;
    case 405:
        st->status_405++;
        break;
    case 408:
        st->status_408++;
        break;
    case 413:
        st->status_413++;
        break;
    case 414:
        st->status_414++;
        break;
    case 431:
        st->status_431++;
        break;
    case 501:
        st->status_501++;
        break;
    case 505:
        st->status_505++;
        break;
    default:
        break;
    }
}

void tg_hsrv__error(struct tg_hconn *c, int status, const char *msg)
{
    struct tg_hsrv *s = c->srv;
    char body[256];
    const char *ctype = NULL;
    size_t n = tg_hsrv__error_body(s, status, msg, body, sizeof body, &ctype);
    count(&s->st, status);
    TG_LOG_DEBUG(s->cfg.log_module, "request refused status=%d reason=\"%s\" fd=%d", status, msg,
                 c->io.fd);
    /* The framing of what follows is unknown or unwanted: answer, then close. */
    c->close_after = true;
    c->state = TG_HSRV__WAIT;
    tg_hconn_respond(c, status, ctype, status == 503 ? "Retry-After: 1\r\n" : NULL, body, n);
}
