/* SPDX-License-Identifier: MIT */
/* The control plane's asynchronous HTTP/1.1 client (see client.h): one connection per
 * call, the request written whole, the response read into one growing buffer (head,
 * then the body, chunked framing removed in place), a deadline for everything. */
#include "http/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define HEAD_MAX (64u * 1024) /* response head bytes at most */
#define READ_STEP 16384u

struct tg_hclient {
    struct tg_loop *loop;
    struct tg_hclient_call *calls; /* in flight, doubly linked */
    struct tg_hclient_stats st;
};

struct tg_hclient_call {
    struct tg_hclient_call *prev, *next;
    struct tg_hclient *cl;
    struct tg_io io;
    struct tg_timer timer; /* the deadline; or, with `pending`, the report of an error
                            * found while starting, due at once (fires next turn) */
    int fd;
    bool connected;
    enum tg_http_method method;
    char *out; /* the request */
    size_t out_len, out_off;
    char *in; /* the response: head, then the decoded body */
    size_t in_len, in_cap;
    size_t head_len;  /* 0 until the head is parsed */
    size_t raw_off;   /* chunked: first byte not decoded yet */
    size_t body_len;  /* decoded body bytes, at in + head_len */
    struct tg_http_chunked chunk;
    struct tg_http_msg *head;
    size_t max_body;
    int64_t start_us, first_byte_us;
    enum tg_hclient_error pending; /* the error to report from the deferred callback */
    const char *pending_detail;
    tg_hclient_done_fn *done;
    void *ctx;
};

static const char *const error_names[TG_HCLIENT_ERRORS] = {"ok", "connect", "timeout", "io",
                                                           "bad_response", "too_big"};

const char *tg_hclient_error_name(enum tg_hclient_error e)
{
    return (unsigned)e < TG_HCLIENT_ERRORS ? error_names[e] : "unknown";
}

int tg_hclient_target_parse(const char *url, struct tg_hclient_target *t, struct tg_errbuf *eb)
{
    memset(t, 0, sizeof *t);
    if (strncmp(url, "https://", 8) == 0)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: https is not supported (no TLS)", url);
    if (strncmp(url, "http://", 7) != 0)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: not an http:// URL", url);
    const char *auth = url + 7, *slash = strchr(auth, '/');
    size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
    if (alen == 0 || alen >= sizeof t->host)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: missing or overlong host", url);
    const char *path = slash ? slash : "/";
    if (strlen(path) >= sizeof t->path || strpbrk(path, " \t\r\n#"))
        return tg_errbuf_set(eb, TG_EPARSE, "%s: bad or overlong path", url);
    memcpy(t->host, auth, alen);
    snprintf(t->path, sizeof t->path, "%s", path);
    char host[256];
    unsigned long port = 80;
    const char *colon;
    if (t->host[0] == '[') {
        const char *close = strchr(t->host, ']');
        if (!close || (close[1] && close[1] != ':'))
            return tg_errbuf_set(eb, TG_EPARSE, "%s: bad IPv6 address", url);
        snprintf(host, sizeof host, "%.*s", (int)(close - t->host - 1), t->host + 1);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strrchr(t->host, ':');
        snprintf(host, sizeof host, "%.*s", (int)(colon ? (size_t)(colon - t->host) : alen),
                 t->host);
    }
    if (colon) {
        char *end;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (*end || colon[1] == '\0' || errno || port == 0 || port > 65535)
            return tg_errbuf_set(eb, TG_EPARSE, "%s: bad port", url);
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        t->addr_len = sizeof *in4;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        t->addr_len = sizeof *in6;
    } else {
        return tg_errbuf_set(eb, TG_EPARSE,
                             "%s: the host must be an IP address or localhost (names are "
                             "not resolved)",
                             url);
    }
    return 0;
}

int tg_hclient_new(struct tg_loop *loop, struct tg_hclient **out)
{
    struct tg_hclient *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->loop = loop;
    *out = c;
    return 0;
}

/* Stops the call's I/O and timer and takes it off the client's list. */
static void call_unlink(struct tg_hclient_call *k)
{
    struct tg_hclient *cl = k->cl;
    tg_timer_stop(cl->loop, &k->timer);
    if (k->fd != -1) {
        tg_io_stop(cl->loop, &k->io);
        close(k->fd);
        k->fd = -1;
    }
    if (k->prev)
        k->prev->next = k->next;
    else
        cl->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    cl->st.in_flight--;
}

static void call_release(struct tg_hclient_call *k)
{
    free(k->out);
    free(k->in);
    free(k->head);
    free(k);
}

static void call_free(struct tg_hclient_call *k)
{
    call_unlink(k);
    call_release(k);
}

void tg_hclient_free(struct tg_hclient *c)
{
    if (!c)
        return;
    while (c->calls)
        call_free(c->calls);
    free(c);
}

/* Ends the call with its one callback (unless cancelled), then frees it. */
static void finish(struct tg_hclient_call *k, enum tg_hclient_error e, const char *detail)
{
    struct tg_hclient *cl = k->cl;
    int64_t now = tg_loop_now_us(cl->loop);
    struct tg_hclient_resp r = {
        .error = e,
        .detail = e == TG_HCLIENT_OK ? "" : detail,
        .status = e == TG_HCLIENT_OK ? k->head->status : 0,
        .head = e == TG_HCLIENT_OK ? k->head : NULL,
        .body = e == TG_HCLIENT_OK && k->in ? k->in + k->head_len : "",
        .body_len = e == TG_HCLIENT_OK ? k->body_len : 0,
        .duration_us = now - k->start_us,
        .first_byte_us = k->first_byte_us ? k->first_byte_us - k->start_us : -1,
    };
    cl->st.ended[e]++;
    /* Unlinked before the callback, which may start or cancel other calls or free the
     * client; the response's memory goes after it. */
    call_unlink(k);
    if (k->done)
        k->done(k->ctx, &r);
    call_release(k);
}

/* The body is complete: true when it is (the call is finished, `k` gone). */
static bool body_check(struct tg_hclient_call *k, bool eof)
{
    const struct tg_http_msg *h = k->head;
    switch (h->body) {
    case TG_HTTP_BODY_NONE:
        k->body_len = 0;
        finish(k, TG_HCLIENT_OK, "");
        return true;
    case TG_HTTP_BODY_LENGTH:
        if (h->content_length > k->max_body) {
            finish(k, TG_HCLIENT_TOO_BIG, "response body over the limit");
            return true;
        }
        k->body_len = k->in_len - k->head_len;
        if (k->body_len >= h->content_length) {
            k->body_len = (size_t)h->content_length;
            finish(k, TG_HCLIENT_OK, "");
            return true;
        }
        break;
    case TG_HTTP_BODY_CHUNKED: {
        bool done = false;
        size_t dec = 0;
        long used = tg_http1_chunked_decode(&k->chunk, k->in + k->raw_off, k->in_len - k->raw_off,
                                            k->in + k->head_len + k->body_len, &dec, &done);
        if (used < 0) {
            finish(k, TG_HCLIENT_BAD, "malformed chunked body");
            return true;
        }
        k->raw_off += (size_t)used;
        k->body_len += dec;
        /* Decoded bytes moved down: what is left undecoded follows them. */
        size_t rest = k->in_len - k->raw_off, at = k->head_len + k->body_len;
        memmove(k->in + at, k->in + k->raw_off, rest);
        k->raw_off = at;
        k->in_len = at + rest;
        if (k->body_len > k->max_body) {
            finish(k, TG_HCLIENT_TOO_BIG, "response body over the limit");
            return true;
        }
        if (done) {
            finish(k, TG_HCLIENT_OK, "");
            return true;
        }
        break;
    }
    case TG_HTTP_BODY_EOF:
        k->body_len = k->in_len - k->head_len;
        if (k->body_len > k->max_body) {
            finish(k, TG_HCLIENT_TOO_BIG, "response body over the limit");
            return true;
        }
        if (eof) {
            finish(k, TG_HCLIENT_OK, "");
            return true;
        }
        break;
    }
    if (eof) {
        finish(k, TG_HCLIENT_IO, "connection closed before the whole response");
        return true;
    }
    return false;
}

/* Reads what there is; true when the call finished. */
static bool read_some(struct tg_hclient_call *k)
{
    for (;;) {
        if (k->in_cap - k->in_len < READ_STEP) {
            size_t cap = k->in_cap ? k->in_cap * 2 : 2 * READ_STEP;
            char *p = realloc(k->in, cap);
            if (!p) {
                finish(k, TG_HCLIENT_IO, "out of memory");
                return true;
            }
            k->in = p;
            k->in_cap = cap;
        }
        ssize_t n = recv(k->fd, k->in + k->in_len, k->in_cap - k->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        if (n < 0) {
            finish(k, TG_HCLIENT_IO, strerror(errno));
            return true;
        }
        if (n > 0 && !k->first_byte_us)
            k->first_byte_us = tg_loop_now_us(k->cl->loop);
        k->in_len += (size_t)n;
        if (!k->head_len) {
            int r = tg_http1_parse_response(k->in, k->in_len, NULL, k->method, k->head, NULL);
            if (r == TG_AGAIN && n > 0 && k->in_len <= HEAD_MAX)
                continue;
            if (r <= 0) {
                finish(k, n == 0 && r == TG_AGAIN ? TG_HCLIENT_IO : TG_HCLIENT_BAD,
                       n == 0 && r == TG_AGAIN ? "connection closed before the response head"
                                               : "malformed response head");
                return true;
            }
            if (k->head->status < 200) {
                /* An interim response (100 Continue): the real one follows. */
                memmove(k->in, k->in + r, k->in_len - (size_t)r);
                k->in_len -= (size_t)r;
                continue;
            }
            k->head_len = (size_t)r;
            k->raw_off = k->head_len;
        }
        if (body_check(k, n == 0))
            return true;
        if (n == 0)
            return true; /* not reached: body_check finishes on EOF */
    }
}

static bool write_some(struct tg_hclient_call *k)
{
    while (k->out_off < k->out_len) {
        ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        if (n < 0) {
            finish(k, TG_HCLIENT_IO, strerror(errno));
            return true;
        }
        k->out_off += (size_t)n;
    }
    return false;
}

static void on_io(struct tg_io *io, unsigned events)
{
    struct tg_hclient_call *k = io->data;
    if (!k->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
            err = errno;
        if (err) {
            finish(k, TG_HCLIENT_CONNECT, strerror(err));
            return;
        }
        if (!(events & (TG_IO_WRITE | TG_IO_READ | TG_IO_HUP)))
            return;
        k->connected = true;
    }
    if (write_some(k))
        return;
    if (events & (TG_IO_READ | TG_IO_HUP | TG_IO_ERR))
        read_some(k);
}

static void on_timeout(struct tg_timer *t)
{
    struct tg_hclient_call *k = t->data;
    if (k->pending != TG_HCLIENT_OK)
        finish(k, k->pending, k->pending_detail);
    else
        finish(k, TG_HCLIENT_TIMEOUT,
               k->connected ? "no whole response in time" : "connect timed out");
}

static enum tg_http_method method_of(const char *m)
{
    static const struct {
        const char *name;
        enum tg_http_method m;
    } map[] = {{"GET", TG_HTTP_GET},   {"HEAD", TG_HTTP_HEAD},     {"POST", TG_HTTP_POST},
               {"PUT", TG_HTTP_PUT},   {"DELETE", TG_HTTP_DELETE}, {"PATCH", TG_HTTP_PATCH},
               {"OPTIONS", TG_HTTP_OPTIONS}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(m, map[i].name) == 0)
            return map[i].m;
    return TG_HTTP_OTHER;
}

/* The request bytes: request line, Host, the caller's lines, framing, body. */
static int build_request(struct tg_hclient_call *k, const struct tg_hclient_target *t,
                         const struct tg_hclient_req *rq)
{
    size_t hl = rq->headers ? strlen(rq->headers) : 0;
    size_t cap = strlen(rq->method) + strlen(t->path) + strlen(t->host) + hl + rq->body_len + 160;
    if (!(k->out = malloc(cap)))
        return -ENOMEM;
    int n = snprintf(k->out, cap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tailguard\r\n%.*s"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     rq->method, t->path, t->host, (int)hl, rq->headers ? rq->headers : "",
                     rq->body_len);
    if (n < 0 || (size_t)n + rq->body_len > cap)
        return -ENOMEM;
    if (rq->body_len)
        memcpy(k->out + n, rq->body, rq->body_len);
    k->out_len = (size_t)n + rq->body_len;
    return 0;
}

int tg_hclient_call(struct tg_hclient *c, const struct tg_hclient_target *t,
                    const struct tg_hclient_req *rq, tg_hclient_done_fn *done, void *ctx,
                    struct tg_hclient_call **call)
{
    struct tg_hclient_call *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    k->cl = c;
    k->fd = -1;
    k->done = done;
    k->ctx = ctx;
    k->max_body = rq->max_body;
    k->method = method_of(rq->method);
    k->start_us = tg_loop_now_us(c->loop);
    int rc = (k->head = malloc(sizeof *k->head)) ? build_request(k, t, rq) : -ENOMEM;
    if (rc == 0) {
        k->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (k->fd == -1)
            rc = -errno;
    }
    if (rc != 0) {
        if (k->fd != -1)
            close(k->fd);
        free(k->out);
        free(k->head);
        free(k);
        return rc;
    }
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    c->st.calls++;
    c->st.in_flight++;
    if (call)
        *call = k;
    tg_timer_start(c->loop, &k->timer, k->start_us + rq->timeout_us, on_timeout, k);
    int r = connect(k->fd, (const struct sockaddr *)&t->addr, t->addr_len);
    if ((r == 0 || errno == EINPROGRESS) &&
        (rc = tg_io_start(c->loop, &k->io, k->fd, on_io, k)) == 0)
        return 0;
    /* Reported at the end of the turn, so the caller never sees its callback run
     * before this function has returned. */
    int e = r == 0 || errno == EINPROGRESS ? -rc : errno;
    tg_io_stop(c->loop, &k->io);
    close(k->fd);
    k->fd = -1;
    k->pending = TG_HCLIENT_CONNECT;
    k->pending_detail = strerror(e);
    tg_timer_start(c->loop, &k->timer, k->start_us, on_timeout, k);
    return 0;
}

void tg_hclient_cancel(struct tg_hclient_call *k)
{
    call_free(k);
}

void tg_hclient_stats(const struct tg_hclient *c, struct tg_hclient_stats *out)
{
    *out = c->st;
}
