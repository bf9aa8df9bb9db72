/* SPDX-License-Identifier: MIT */
/* Head rewriting between client and upstream (RFC 9110 §7.6): hop-by-hop headers are
 * dropped (Connection, Keep-Alive, Proxy-Connection, TE, Upgrade unless tunnelling, and
 * every header the Connection header names), X-Forwarded-For is appended to,
 * X-Forwarded-Proto is set (a client cannot claim https), X-Request-Id is carried or
 * generated, Via is appended. Transfer-Encoding: chunked is kept because chunked bodies
 * are forwarded with their framing. Connection tokens can never remove Host,
 * Content-Length or Transfer-Encoding: "Connection: content-length" is a known way to
 * make a proxy strip framing and desynchronise the next hop. */
#include <stdio.h>
#include <string.h>

#include "proxy/proxy_int.h"

static bool put(struct tg_buf *o, const char *s, size_t n)
{
    if (n > tg_buf_space(o))
        return false;
    memcpy(o->data + o->tail, s, n);
    o->tail += (uint32_t)n;
    return true;
}

static bool puts_(struct tg_buf *o, const char *s)
{
    return put(o, s, strlen(s));
}

static bool put_str(struct tg_buf *o, struct tg_str s)
{
    return put(o, s.p, s.len);
}

static bool put_header(struct tg_buf *o, const struct tg_http_header *h)
{
    return put_str(o, h->name) && put(o, ": ", 2) && put_str(o, h->value) && put(o, "\r\n", 2);
}

static bool str_ieq_str(struct tg_str a, struct tg_str b)
{
    if (a.len != b.len)
        return false;
    for (uint32_t i = 0; i < a.len; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b.p[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return false;
    }
    return true;
}

/* True if header `name` is listed as a token of any Connection header of `m`. */
static bool named_by_connection(const struct tg_http_msg *m, struct tg_str name)
{
    if (tg_str_ieq(name, "host") || tg_str_ieq(name, "content-length") ||
        tg_str_ieq(name, "transfer-encoding"))
        return false;
    for (uint32_t i = 0; i < m->nheaders; i++) {
        if (!tg_str_ieq(m->headers[i].name, "connection"))
            continue;
        const char *p = m->headers[i].value.p, *end = p + m->headers[i].value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *s = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            struct tg_str tok = {s, (uint32_t)(p - s)};
            if (tok.len && str_ieq_str(tok, name))
                return true;
        }
    }
    return false;
}

static bool hop_by_hop(const struct tg_http_msg *m, struct tg_str name, bool keep_upgrade)
{
    if (tg_str_ieq(name, "connection") || tg_str_ieq(name, "keep-alive") ||
        tg_str_ieq(name, "proxy-connection") || tg_str_ieq(name, "te"))
        return true;
    if (tg_str_ieq(name, "upgrade"))
        return !keep_upgrade;
    return named_by_connection(m, name);
}

/* The authority of an absolute-form target ("http://a.example:81/x" -> "a.example:81"),
 * or an empty slice for the other forms. The parser has checked its syntax. */
static struct tg_str target_authority(const struct tg_http_msg *req)
{
    struct tg_str t = req->target;
    if (t.len == 0 || t.p[0] == '/' || t.p[0] == '*' || req->method == TG_HTTP_CONNECT)
        return (struct tg_str){t.p, 0};
    const char *colon = memchr(t.p, ':', t.len);
    if (!colon)
        return (struct tg_str){t.p, 0};
    const char *a = colon + 3; /* after "scheme://" */
    const char *e = t.p + t.len, *p = a;
    while (p < e && *p != '/' && *p != '?')
        p++;
    return (struct tg_str){a, (uint32_t)(p - a)};
}

/* The request line to the upstream, always in origin-form (RFC 9112 §3.2.1: what a
 * client sends to an origin server), so an absolute-form target loses its scheme and
 * authority, which go to Host instead. */
static bool request_line(struct tg_buf *o, const struct tg_http_msg *req, bool absolute)
{
    bool ok = put_str(o, req->method_str) && put(o, " ", 1);
    if (!absolute)
        ok = ok && put_str(o, req->target);
    else
        ok = ok && put_str(o, req->path) &&
             (req->query.len == 0 || (put(o, "?", 1) && put_str(o, req->query)));
    return ok && puts_(o, " HTTP/1.1\r\n");
}

int tg__headers_request(struct tg_buf *o, const struct tg_http_msg *req, const char *client_ip,
                        const char *reqid, uint32_t reqid_len, const char *host_fallback)
{
    bool upgrade = (req->flags & TG_HTTP_F_UPGRADE) != 0;
    struct tg_str authority = target_authority(req);
    bool ok = request_line(o, req, authority.len > 0);
    /* RFC 9112 §3.2.2: with an absolute-form target, the Host sent on is the target's,
     * whatever Host the client wrote, so the upstream and our routing cannot disagree. */
    if (ok && authority.len)
        ok = puts_(o, "Host: ") && put_str(o, authority) && put(o, "\r\n", 2);
    bool xff_done = false, cl_done = false;
    for (uint32_t i = 0; ok && i < req->nheaders; i++) {
        const struct tg_http_header *h = &req->headers[i];
        if (hop_by_hop(req, h->name, upgrade) || tg_str_ieq(h->name, "x-forwarded-proto") ||
            tg_str_ieq(h->name, "x-request-id") || (authority.len && (int)i == req->host_idx))
            continue;
        if (tg_str_ieq(h->name, "content-length")) {
            /* "5, 5" or repeated lines (RFC 9112 §6.3 lets us accept them) go on as one
             * value: an upstream that reads lists differently must not see a list. */
            if (!cl_done) {
                char line[48];
                int n = snprintf(line, sizeof line, "Content-Length: %llu\r\n",
                                 (unsigned long long)req->content_length);
                ok = put(o, line, (size_t)n);
            }
            cl_done = true;
            continue;
        }
        if (tg_str_ieq(h->name, "x-forwarded-for")) {
            /* Every X-Forwarded-For line is merged, in order, into one list. */
            if (xff_done)
                continue;
            xff_done = true;
            ok = puts_(o, "X-Forwarded-For: ");
            bool first = true;
            for (uint32_t j = i; ok && j < req->nheaders; j++) {
                if (!tg_str_ieq(req->headers[j].name, "x-forwarded-for") ||
                    req->headers[j].value.len == 0)
                    continue;
                ok = (first || put(o, ", ", 2)) && put_str(o, req->headers[j].value);
                first = false;
            }
            ok = ok && (first || put(o, ", ", 2)) && puts_(o, client_ip) && put(o, "\r\n", 2);
            continue;
        }
        if (tg_str_ieq(h->name, "via")) {
            ok = puts_(o, "Via: ") && put_str(o, h->value) && puts_(o, ", 1.1 tailguard\r\n");
            continue;
        }
        ok = put_header(o, h);
    }
    if (ok && !xff_done)
        ok = puts_(o, "X-Forwarded-For: ") && puts_(o, client_ip) && put(o, "\r\n", 2);
    if (ok && tg_http1_find_header(req, "via") < 0)
        ok = puts_(o, "Via: 1.1 tailguard\r\n");
    if (ok && req->host_idx < 0 && !authority.len && host_fallback)
        ok = puts_(o, "Host: ") && puts_(o, host_fallback) && put(o, "\r\n", 2);
    ok = ok && puts_(o, "X-Forwarded-Proto: http\r\nX-Request-Id: ") && put(o, reqid, reqid_len) &&
         put(o, "\r\n", 2);
    if (ok && upgrade)
        ok = puts_(o, "Connection: upgrade\r\n");
    ok = ok && put(o, "\r\n", 2);
    return ok ? 0 : TG_ETOOBIG;
}

int tg__headers_response(struct tg_buf *o, const struct tg_http_msg *resp, bool keepalive,
                         bool client_http10, bool dechunk, const char *reqid, uint32_t reqid_len)
{
    char line[64];
    bool upgrade = resp->status == 101;
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d ", resp->status);
    bool ok = put(o, line, (size_t)n) && put_str(o, resp->reason) && put(o, "\r\n", 2);
    bool via = false, has_reqid = false;
    for (uint32_t i = 0; ok && i < resp->nheaders; i++) {
        const struct tg_http_header *h = &resp->headers[i];
        if (hop_by_hop(resp, h->name, upgrade))
            continue;
        if (dechunk && tg_str_ieq(h->name, "transfer-encoding"))
            continue;
        if (tg_str_ieq(h->name, "via")) {
            ok = puts_(o, "Via: ") && put_str(o, h->value) && puts_(o, ", 1.1 tailguard\r\n");
            via = true;
            continue;
        }
        if (tg_str_ieq(h->name, "x-request-id"))
            has_reqid = true;
        ok = put_header(o, h);
    }
    if (ok && !via)
        ok = puts_(o, "Via: 1.1 tailguard\r\n");
    if (ok && !has_reqid)
        ok = puts_(o, "X-Request-Id: ") && put(o, reqid, reqid_len) && put(o, "\r\n", 2);
    if (ok) {
        if (upgrade)
            ok = puts_(o, "Connection: upgrade\r\n");
        else if (!keepalive)
            ok = puts_(o, "Connection: close\r\n");
        else if (client_http10)
            ok = puts_(o, "Connection: keep-alive\r\n");
    }
    ok = ok && put(o, "\r\n", 2);
    return ok ? 0 : TG_ETOOBIG;
}
