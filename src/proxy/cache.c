/* SPDX-License-Identifier: MIT */
/* The proxy's side of the response cache (protect/cache.h; ADR 0005): answering from an
 * entry, storing a response while it streams to the client, falling back to a stored
 * answer when the upstream fails, and purging what a write changed. The chain decides
 * at admission whether a request is answered from the cache or may fill it (the ticket's
 * cache fields); this file does the rest for one exchange.
 *
 * A response is never held back to be cached: each body byte is copied into the fill
 * only once it has reached the client, and the entry is committed when the whole
 * response has, so a client that leaves or an upstream that breaks off stores nothing.
 * An entry being served is written from its own memory, held by its reference until the
 * last byte is out (forward.c), so a body larger than a buffer costs no copy.
 *
 * The request's fields are needed again after its head left the client buffer (a
 * response's Vary names them, and fallback looks the request up again); they are read
 * back from the head sent upstream, which keeps the client's request target and its
 * end-to-end fields, and lives until the exchange ends. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "protect/cache_cond.h"
#include "proxy/proxy_int.h"

/* Room the serving head needs beyond the stored head: status line, Content-Length, Age
 * and Warnings (128), Via, X-Request-Id, Connection. A response whose head leaves less
 * room than this in a buffer is not offered, so every entry can be served. */
#define SERVE_HEAD_EXTRA 512

static int64_t now_of(struct cconn *c)
{
    return tg_loop_now_us(c->w->loop);
}

void tg__cache_req(const struct tg_http_msg *m, struct tg_cache_req *rq, struct tg_cache_field *f,
                   uint32_t cap)
{
    uint32_t n = m->nheaders < cap ? m->nheaders : cap;
    for (uint32_t i = 0; i < n; i++) {
        const struct tg_http_header *h = &m->headers[i];
        f[i] = (struct tg_cache_field){h->name.p, h->value.p, h->name.len, h->value.len};
    }
    *rq = (struct tg_cache_req){
        .head = m->method == TG_HTTP_HEAD,
        .path = m->path.p,
        .path_len = m->path.len,
        .query = m->query.p,
        .query_len = m->query.len,
        .fields = f,
        .nfields = n,
    };
}

/* The request as the cache saw it at admission, read back from the upstream head. */
static bool upstream_req(struct cconn *c, struct tg_cache_req *rq, struct tg_cache_field *f)
{
    struct exchange *x = &c->x;
    struct tg_http_msg *m = &c->w->scratch_req;
    if (!x->uhead.data || tg_buf_len(&x->uhead) == 0)
        return false;
    int r = tg_http1_parse_request(x->uhead.data + x->uhead.head, tg_buf_len(&x->uhead), NULL, m,
                                   NULL);
    if (r <= 0)
        return false;
    tg__cache_req(m, rq, f, TG_HTTP_MAX_HEADERS);
    return true;
}

/* The stored head lines a 304 carries (tg_cache_304_keeps), copied to `out`. */
static size_t head_304(const char *head, size_t hlen, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = head, *end = head + hlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *colon = memchr(p, ':', (size_t)(next - p));
        size_t len = (size_t)(next - p);
        if (colon && tg_cache_304_keeps(p, (size_t)(colon - p)) && o + len <= cap) {
            memcpy(out + o, p, len);
            o += len;
        }
        p = next;
    }
    return o;
}

void tg__cache_serve(struct cconn *c, const struct tg_cache_hit *hit, const struct tg_cache_req *rq,
                     bool revalidation_failed, enum tg_cause cause)
{
    struct exchange *x = &c->x;
    struct tg_cache *cache = x->pticket.cache;
    struct tg_cache_entry *e = hit->entry;
    bool consumed = x->req_done || x->req_body == TG_HTTP_BODY_NONE;
    bool keep = consumed && x->client_keepalive && !c->close_after && !c->w->draining;
    bool head_only = x->method == TG_HTTP_HEAD;
    /* The upstream connection (if any) goes: its answer is not the one the client gets. */
    tg__client_exchange_release(c, false);
    tg_buf_release(&c->out, &c->w->bufs);
    if (!tg_buf_reserve(&c->out, &c->w->bufs)) {
        tg_cache_release(cache, e);
        tg__client_close(c);
        return;
    }
    size_t hlen, blen;
    const char *head = tg_cache_entry_head(e, &hlen);
    const char *body = tg_cache_entry_body(e, &blen);
    int status = tg_cache_entry_status(e);
    /* A client that holds this representation already (If-None-Match, If-Modified-Since)
     * gets 304 and the lines that describe the copy, without the body. */
    char head304[2048];
    if (rq && tg_cache_not_modified(rq->fields, rq->nfields, status, head, hlen)) {
        status = 304;
        hlen = head_304(head, hlen, head304, sizeof head304);
        head = head304;
        blen = 0;
    }
    char age[128];
    size_t alen = tg_cache_format_age(age, sizeof age, hit->age_us, hit->stale,
                                      revalidation_failed);
    char clen[48] = "";
    if (status != 204 && status != 304)
        snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", blen);
    const char *conn = !keep ? "Connection: close\r\n"
                       : x->minor == 0 ? "Connection: keep-alive\r\n"
                                       : "";
    int n = snprintf(c->out.data, c->out.cap, "HTTP/1.1 %d %s\r\n%.*s%s%.*sVia: 1.1 tailguard\r\n"
                     "X-Request-Id: %.*s\r\n%s\r\n",
                     status, tg_http_reason(status), (int)hlen, head, clen, (int)alen, age,
                     (int)x->reqid_len, x->reqid, conn);
    if (n < 0 || (size_t)n >= c->out.cap) {
        /* Offers keep heads far below a buffer (SERVE_HEAD_EXTRA): not reached. */
        tg_cache_release(cache, e);
        tg__client_error(c, 500, "cached head too large");
        return;
    }
    c->out.tail = (uint32_t)n;
    x->served = e;
    x->served_body = body;
    x->served_len = head_only || status == 204 || status == 304 ? 0 : blen;
    x->served_off = 0;
    x->status = status;
    x->cause = cause;
    x->resp_head_done = true;
    x->resp_started = true;
    x->resp_done = true;
    x->resp_body = TG_HTTP_BODY_NONE;
    c->state = C_EXCHANGE;
    if (!keep)
        c->close_after = true;
    /* A client that stops reading is cut after the idle timeout without progress
     * (forward.c moves the deadline on each write). */
    int64_t due = now_of(c) + c->w->cur->snap->cfg->idle_timeout_us;
    x->deadline_us = due;
    x->timer_due_us = due;
    tg__client_arm_deadline(c, due);
}

bool tg__cache_fallback(struct cconn *c, enum tg_cause cause)
{
    struct exchange *x = &c->x;
    if (!x->pticket.cache || x->pticket.cache_rule.fallback_max_age_us <= 0 || x->resp_started ||
        (x->method != TG_HTTP_GET && x->method != TG_HTTP_HEAD))
        return false;
    struct tg_cache_field f[TG_HTTP_MAX_HEADERS];
    struct tg_cache_req rq;
    struct tg_cache_hit hit;
    if (!upstream_req(c, &rq, f) || !tg_protect_fallback(&x->pticket, &rq, now_of(c), &hit))
        return false;
    x->upstream_cause = cause;
    tg__cache_serve(c, &hit, &rq, true, TG_CAUSE_CACHE_FALLBACK);
    return true;
}

void tg__cache_offer(struct cconn *c, const struct tg_http_msg *m)
{
    struct exchange *x = &c->x;
    if (!x->pticket.cache_offer || m->status < 200 ||
        m->head_len + SERVE_HEAD_EXTRA > c->w->gw->buf_block)
        return;
    struct tg_cache_field rf[TG_HTTP_MAX_HEADERS], qf[TG_HTTP_MAX_HEADERS];
    struct tg_cache_req rq;
    if (!upstream_req(c, &rq, qf))
        return;
    uint32_t n = m->nheaders < TG_HTTP_MAX_HEADERS ? m->nheaders : TG_HTTP_MAX_HEADERS;
    for (uint32_t i = 0; i < n; i++) {
        const struct tg_http_header *h = &m->headers[i];
        rf[i] = (struct tg_cache_field){h->name.p, h->value.p, h->name.len, h->value.len};
    }
    int64_t now = now_of(c);
    struct tg_cache_resp rs = {
        .status = m->status,
        .fields = rf,
        .nfields = n,
        .content_length = m->body == TG_HTTP_BODY_LENGTH ? (int64_t)m->content_length
                          : m->body == TG_HTTP_BODY_NONE ? 0
                                                         : TG_CACHE_ABSENT,
        .sent_us = x->sent_us ? x->sent_us : now,
        /* The loop's clock moved on from the request's wall-clock start: no syscall. */
        .wall_s = (x->start_wall_us + (now - x->start_us)) / 1000000,
        .purge_gen = x->pticket.purge_gen,
    };
    x->fill_chunk = (struct tg_http_chunked){0};
    tg_cache_offer(x->pticket.cache, &rq, &x->pticket.cache_rule, &rs, now, &x->fill);
}

void tg__cache_fill(struct cconn *c, const char *p, size_t n)
{
    struct exchange *x = &c->x;
    struct tg_cache *cache = x->pticket.cache;
    if (!x->fill.entry)
        return;
    if (x->resp_body != TG_HTTP_BODY_CHUNKED || x->dechunk) {
        if (tg_cache_fill_append(cache, &x->fill, p, n) != 0)
            tg_cache_fill_abort(cache, &x->fill);
        return;
    }
    /* Forwarded with its framing: the copy is decoded, a slice at a time. */
    char payload[4096];
    while (n && x->fill.entry) {
        size_t len = n < sizeof payload ? n : sizeof payload, out = 0;
        bool done = false;
        long r = tg_http1_chunked_decode(&x->fill_chunk, p, len, payload, &out, &done);
        if (r < 0 || (out && tg_cache_fill_append(cache, &x->fill, payload, out) != 0) ||
            (r == 0 && !done)) {
            tg_cache_fill_abort(cache, &x->fill);
            return;
        }
        p += r;
        n -= (size_t)r;
        if (done)
            break;
    }
}

void tg__cache_response_done(struct cconn *c)
{
    struct exchange *x = &c->x;
    struct tg_cache *cache = x->pticket.cache;
    if (x->fill.entry) {
        if (x->cause == TG_CAUSE_OK || x->cause == TG_CAUSE_RETRIED)
            tg_cache_fill_commit(cache, &x->fill, now_of(c));
        else
            tg_cache_fill_abort(cache, &x->fill);
        return;
    }
    if (!cache || x->method == TG_HTTP_GET || x->method == TG_HTTP_HEAD || x->status < 200 ||
        x->status >= 400)
        return;
    struct tg_cache_field f[TG_HTTP_MAX_HEADERS];
    struct tg_cache_req rq;
    if (upstream_req(c, &rq, f))
        tg_cache_purge_key(cache, rq.path, rq.path_len, rq.query, rq.query_len);
}

void tg__cache_exchange_end(struct cconn *c)
{
    struct exchange *x = &c->x;
    if (x->fill.entry)
        tg_cache_fill_abort(x->pticket.cache, &x->fill);
    if (x->served) {
        tg_cache_release(x->pticket.cache, x->served);
        x->served = NULL;
    }
}
