/* SPDX-License-Identifier: MIT */
/* Building the request bytes and the weighted mix (see request_int.h). */
#include "bench/request_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool tg_bench__header_ok(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h)
        return false;
    for (const char *p = h; p < colon; p++)
        if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
            return false;
    for (const char *p = colon + 1; *p; p++)
        if (*p == '\r' || *p == '\n' || ((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static bool header_is(const char *h, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

static enum tg_http_method method_of(const char *m)
{
    static const char *const names[] = {"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                        "PATCH", "OPTIONS", "CONNECT", "TRACE"};
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(m, names[i]) == 0)
            return (enum tg_http_method)(TG_HTTP_GET + i);
    return TG_HTTP_OTHER;
}

struct out {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2 + 256;
        char *np = realloc(o->p, cap);
        if (!np) {
            o->oom = true;
            return;
        }
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_crlf(struct out *o, const char *s)
{
    put(o, s, strlen(s));
    put(o, "\r\n", 2);
}

static int check_headers(const char *const *h, uint32_t n, bool *host, bool *ua, bool *conn,
                         struct tg_errbuf *eb)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!tg_bench__header_ok(h[i]))
            return tg_errbuf_set(eb, TG_EPARSE, "bad header '%s' (expected 'Name: value')", h[i]);
        if (header_is(h[i], "content-length") || header_is(h[i], "transfer-encoding"))
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "header '%s': the body length is set by the load generator", h[i]);
        *host |= header_is(h[i], "host");
        *ua |= header_is(h[i], "user-agent");
        *conn |= header_is(h[i], "connection");
    }
    return 0;
}

static int build_one(struct tg_bench_req *r, const struct tg_bench_reqspec *s,
                     const char *const *hdrs, uint32_t nhdrs, bool keepalive, struct tg_errbuf *eb)
{
    for (const char *m = s->method; *m; m++)
        if (!(isupper((unsigned char)*m) || *m == '-' || *m == '_'))
            return tg_errbuf_set(eb, TG_EPARSE, "bad method '%s' (e.g. GET, POST)", s->method);
    if (!*s->method || strlen(s->method) > 20)
        return tg_errbuf_set(eb, TG_EPARSE, "bad method '%s' (e.g. GET, POST)", s->method);
    bool host = false, ua = false, conn = false;
    if (check_headers(hdrs, nhdrs, &host, &ua, &conn, eb) < 0 ||
        check_headers(s->headers, s->nheaders, &host, &ua, &conn, eb) < 0)
        return TG_EPARSE;
    r->method = method_of(s->method);
    r->weight = s->weight ? s->weight : 1;
    struct out o = {0};
    put(&o, s->method, strlen(s->method));
    put(&o, " ", 1);
    put(&o, s->url.path, strlen(s->url.path));
    put(&o, " HTTP/1.1\r\n", 11);
    if (!host) {
        put(&o, "Host: ", 6);
        puts_crlf(&o, s->url.authority);
    }
    if (!ua)
        puts_crlf(&o, "User-Agent: tailguard-bench/" TG_VERSION);
    if (!keepalive && !conn)
        puts_crlf(&o, "Connection: close");
    for (uint32_t i = 0; i < nhdrs; i++)
        puts_crlf(&o, hdrs[i]);
    for (uint32_t i = 0; i < s->nheaders; i++)
        puts_crlf(&o, s->headers[i]);
    if (s->body || r->method == TG_HTTP_POST || r->method == TG_HTTP_PUT ||
        r->method == TG_HTTP_PATCH) {
        char cl[48];
        snprintf(cl, sizeof cl, "Content-Length: %zu", s->body ? s->body_len : 0);
        puts_crlf(&o, cl);
    }
    put(&o, "\r\n", 2);
    if (s->body)
        put(&o, s->body, s->body_len);
    if (o.oom || o.len > UINT32_MAX) {
        free(o.p);
        return -ENOMEM;
    }
    r->bytes = o.p;
    r->len = (uint32_t)o.len;
    return 0;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Smooth weighted round-robin (nginx's): each step adds every weight to its counter and
 * picks the largest counter, then subtracts the total from it. It interleaves instead of
 * sending 80 of one kind in a row, and one pass of `total` picks is exact. */
static int build_cycle(struct tg_bench_reqset *rs, struct tg_errbuf *eb)
{
    uint32_t g = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < rs->n; i++)
        g = gcd(g, rs->r[i].weight);
    for (uint32_t i = 0; i < rs->n; i++)
        total += rs->r[i].weight / g;
    if (total > TG_BENCH_CYCLE_MAX)
        return tg_errbuf_set(eb, TG_EPARSE,
                             "weights too fine-grained (their sum divided by "
                             "their gcd exceeds %d)",
                             TG_BENCH_CYCLE_MAX);
    rs->cycle = malloc(total * sizeof *rs->cycle);
    int64_t *cur = calloc(rs->n, sizeof *cur);
    if (!rs->cycle || !cur) {
        free(cur);
        return -ENOMEM;
    }
    for (uint64_t k = 0; k < total; k++) {
        uint32_t best = 0;
        for (uint32_t i = 0; i < rs->n; i++) {
            cur[i] += rs->r[i].weight / g;
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= (int64_t)total;
        rs->cycle[k] = best;
    }
    free(cur);
    rs->cycle_len = (uint32_t)total;
    return 0;
}

int tg_bench__reqset_build(struct tg_bench_reqset *rs, const struct tg_bench_reqspec *specs,
                           uint32_t n, const char *const *hdrs, uint32_t nhdrs, bool keepalive,
                           struct tg_errbuf *eb)
{
    memset(rs, 0, sizeof *rs);
    rs->r = calloc(n ? n : 1, sizeof *rs->r);
    if (!rs->r)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int rc = build_one(&rs->r[i], &specs[i], hdrs, nhdrs, keepalive, eb);
        if (rc < 0) {
            if (eb && specs[i].line && rc == TG_EPARSE) {
                char msg[TG_ERRBUF_MSG];
                snprintf(msg, sizeof msg, "%s", eb->msg);
                tg_errbuf_set(eb, rc, "scenario line %u: %s", specs[i].line, msg);
            }
            return rc;
        }
        rs->n++;
    }
    return build_cycle(rs, eb);
}

void tg_bench__reqset_deinit(struct tg_bench_reqset *rs)
{
    if (!rs)
        return;
    for (uint32_t i = 0; i < rs->n; i++)
        free(rs->r[i].bytes);
    free(rs->r);
    free(rs->cycle);
    memset(rs, 0, sizeof *rs);
}
