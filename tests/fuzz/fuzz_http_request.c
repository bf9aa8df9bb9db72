// link: tg_http
/* SPDX-License-Identifier: MIT */
/* Fuzz target for tg_http1_parse_request, fed a byte stream as a client connection would
 * deliver it: pipelined requests with Content-Length and chunked bodies in between. For
 * every head it checks the invariants callers rely on (slices inside the head, names are
 * tokens, values trimmed and free of CR/LF/NUL, framing consistent with the headers), that
 * re-parsing gives the same answer, and that prefixes give TG_AGAIN or that same answer,
 * so incremental feeding cannot change the verdict. It also re-runs with tight limits.
 * Any violation aborts. The corpus is tests/fuzz/corpus/http_request/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static bool is_tchar(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool inside(struct tg_str s, const char *b, size_t n)
{
    return s.p >= b && s.p + s.len <= b + n;
}

static bool ieq(struct tg_str s, const char *lit)
{
    return tg_str_ieq(s, lit);
}

/* What every successful parse must satisfy. */
static void check_msg(const struct tg_http_msg *m, const char *b, size_t len, int rc)
{
    CHECK(rc > 0 && (size_t)rc <= len && m->head_len == (uint32_t)rc);
    size_t h = m->head_len;
    CHECK(h >= 4 && !memcmp(b + h - 4, "\r\n\r\n", 4));
    CHECK(m->minor == 0 || m->minor == 1);
    CHECK(inside(m->method_str, b, h) && m->method_str.len > 0);
    for (uint32_t i = 0; i < m->method_str.len; i++)
        CHECK(is_tchar((uint8_t)m->method_str.p[i]));
    if (m->method != TG_HTTP_OTHER) {
        const char *name = tg_http_method_name(m->method);
        CHECK(m->method_str.len == strlen(name) && !memcmp(m->method_str.p, name, strlen(name)));
    }
    CHECK(inside(m->target, b, h) && m->target.len > 0);
    for (uint32_t i = 0; i < m->target.len; i++) {
        uint8_t c = (uint8_t)m->target.p[i];
        CHECK(c > 0x20 && c < 0x7f && c != '#');
    }
    if (m->target.p[0] == '/') {
        CHECK(m->path.p == m->target.p);
        CHECK(m->path.len == m->target.len ||
              (m->path.p[m->path.len] == '?' && m->query.p == m->path.p + m->path.len + 1 &&
               m->path.len + 1 + m->query.len == m->target.len));
        CHECK(!memchr(m->path.p, '?', m->path.len));
    } else if (m->method == TG_HTTP_CONNECT || m->target.p[0] == '*') {
        CHECK(m->path.p == m->target.p && m->path.len == m->target.len && m->query.len == 0);
    } else {
        /* absolute-form: path is inside the target, or the static "/". */
        CHECK(m->path.len > 0 && m->path.p[0] == '/');
        CHECK(inside(m->path, m->target.p, m->target.len) ||
              (m->path.len == 1 && !inside(m->path, b, len)));
        CHECK(m->query.len == 0 || inside(m->query, m->target.p, m->target.len));
    }
    CHECK(m->nheaders <= TG_HTTP_MAX_HEADERS);
    int cl_seen = 0, te_seen = 0, host_seen = 0;
    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct tg_http_header *hd = &m->headers[i];
        CHECK(inside(hd->name, b, h) && inside(hd->value, b, h) && hd->name.len > 0);
        CHECK(hd->name.p[hd->name.len] == ':');
        for (uint32_t j = 0; j < hd->name.len; j++)
            CHECK(is_tchar((uint8_t)hd->name.p[j]));
        for (uint32_t j = 0; j < hd->value.len; j++) {
            uint8_t c = (uint8_t)hd->value.p[j];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        if (hd->value.len) {
            CHECK(hd->value.p[0] != ' ' && hd->value.p[0] != '\t');
            char last = hd->value.p[hd->value.len - 1];
            CHECK(last != ' ' && last != '\t');
        }
        cl_seen += ieq(hd->name, "content-length");
        te_seen += ieq(hd->name, "transfer-encoding");
        host_seen += ieq(hd->name, "host");
    }
    CHECK(!(cl_seen && te_seen));
    CHECK(host_seen <= 1);
    CHECK((m->host_idx >= 0) == (host_seen == 1));
    CHECK(!!(m->flags & TG_HTTP_F_HAS_HOST) == (host_seen == 1));
    if (m->host_idx >= 0)
        CHECK(ieq(m->headers[m->host_idx].name, "host"));
    if (m->reqid_idx >= 0) {
        CHECK(ieq(m->headers[m->reqid_idx].name, "x-request-id"));
        CHECK(tg_http1_find_header(m, "x-request-id") == m->reqid_idx);
        CHECK(m->flags & TG_HTTP_F_HAS_REQID);
    }
    switch (m->body) {
    case TG_HTTP_BODY_NONE:
        CHECK(!cl_seen && !te_seen);
        break;
    case TG_HTTP_BODY_LENGTH:
        CHECK(cl_seen && m->content_length < (UINT64_C(1) << 60));
        break;
    case TG_HTTP_BODY_CHUNKED:
        CHECK(te_seen && m->minor == 1);
        break;
    default:
        CHECK(!"requests are never read to EOF");
    }
    CHECK(!((m->flags & TG_HTTP_F_KEEPALIVE) && (m->flags & TG_HTTP_F_CONN_CLOSE)));
    if (m->minor == 0)
        CHECK(!(m->flags & TG_HTTP_F_EXPECT_100));
}

/* Errors that carry the offset of the byte that decided them. */
static bool positioned(int rc)
{
    return rc == TG_EPARSE || rc == TG_EVERSION || rc == TG_ECODING;
}

/* Parses `b[0..k)` from a private copy, so reads past `k` are caught by ASan. */
static int parse_prefix(const char *b, size_t k, const struct tg_http_limits *lim, size_t *off)
{
    static struct tg_http_msg pm;
    char *cp = malloc(k ? k : 1);
    memcpy(cp, b, k);
    int rc = tg_http1_parse_request(cp, k, lim, &pm, off);
    free(cp);
    return rc;
}

/* One head at b[0..len): checks it and returns the parse result. */
static int one(const char *b, size_t len, const struct tg_http_limits *lim, uint32_t salt,
               struct tg_http_msg *m)
{
    static struct tg_http_msg again;
    size_t off = (size_t)-1, off2 = (size_t)-1;
    int rc = tg_http1_parse_request(b, len, lim, m, &off);
    CHECK(rc > 0 || rc == TG_AGAIN || positioned(rc) || rc == TG_ETOOBIG || rc == TG_EURI);
    int rc2 = tg_http1_parse_request(b, len, lim, &again, &off2);
    CHECK(rc == rc2);
    if (rc > 0) {
        check_msg(m, b, len, rc);
        CHECK(again.nheaders == m->nheaders && again.flags == m->flags && again.body == m->body &&
              again.content_length == m->content_length);
    }
    if (positioned(rc)) {
        CHECK(off == off2 && off < len);
        /* The error is decided by bytes up to and after the offending one, never before. */
        size_t o;
        CHECK(parse_prefix(b, off, lim, &o) == TG_AGAIN);
    }
    /* A few prefixes: each is TG_AGAIN or the full answer. */
    size_t cuts[3] = {len / 2, len ? len - 1 : 0, len ? salt % len : 0};
    if (rc > 0)
        cuts[1] = (size_t)rc - 1;
    if (positioned(rc))
        cuts[0] = off + 1;
    for (int i = 0; i < 3; i++) {
        size_t k = cuts[i] < len ? cuts[i] : len;
        size_t o = (size_t)-1;
        int r = parse_prefix(b, k, lim, &o);
        if (r == TG_AGAIN)
            continue;
        CHECK(r == rc);
        if (positioned(rc))
            CHECK(o == off);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tg_http_msg m;
    const char *b = (const char *)data;
    uint32_t salt = 2166136261u;
    for (size_t i = 0; i < size; i++)
        salt = (salt ^ data[i]) * 16777619u;

    /* The stream as a connection would see it. */
    size_t pos = 0;
    for (int n = 0; n < 64 && pos < size; n++) {
        int rc = one(b + pos, size - pos, NULL, salt, &m);
        if (rc <= 0)
            break;
        pos += (size_t)rc;
        if (m.body == TG_HTTP_BODY_LENGTH) {
            if (m.content_length > size - pos)
                break;
            pos += m.content_length;
        } else if (m.body == TG_HTTP_BODY_CHUNKED) {
            struct tg_http_chunked c = {0};
            bool done;
            long used = tg_http1_chunked_scan(&c, b + pos, size - pos, &done);
            if (used < 0 || !done)
                break;
            CHECK((size_t)used <= size - pos);
            pos += (size_t)used;
        }
    }

    /* The same bytes under tight limits: only the verdicts may change, toward ETOOBIG (or
     * EURI when the limit cuts the request line). */
    struct tg_http_limits lim = {.max_head_bytes = 1 + salt % 512, .max_headers = 1 + salt % 8};
    static struct tg_http_msg big;
    int full = tg_http1_parse_request(b, size, NULL, &big, NULL);
    int tight = one(b, size, &lim, salt >> 9, &m);
    if (tight > 0)
        CHECK(full == tight);
    if (positioned(full))
        CHECK(tight == full || tight == TG_ETOOBIG || tight == TG_EURI);
    return 0;
}
