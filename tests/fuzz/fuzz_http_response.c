// link: tg_http
/* SPDX-License-Identifier: MIT */
/* Fuzz target for tg_http1_parse_response, fed a byte stream as an upstream connection
 * would deliver it. Each head is parsed as the answer to GET, HEAD and CONNECT: the three
 * must agree on everything but framing, and framing must follow RFC 9112 §6.3 exactly
 * (checked here against a separate statement of the rules). Prefixes must give TG_AGAIN
 * or the same answer. Bodies are skipped (Content-Length, chunked) to reach the next
 * response; EOF framing ends the stream. The corpus is tests/fuzz/corpus/http_response/. */
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

static bool inside(struct tg_str s, const char *b, size_t n)
{
    return s.p >= b && s.p + s.len <= b + n;
}

/* RFC 9112 §6.3, restated: what the framing of `m` must be for `req`. */
static enum tg_http_body expected_body(const struct tg_http_msg *m, enum tg_http_method req)
{
    bool te = false, chunked_last = false, cl = false;
    for (uint32_t i = 0; i < m->nheaders; i++) {
        if (tg_str_ieq(m->headers[i].name, "content-length"))
            cl = true;
        if (tg_str_ieq(m->headers[i].name, "transfer-encoding")) {
            struct tg_str v = m->headers[i].value;
            te = true;
            chunked_last = v.len >= 7 &&
                           tg_str_ieq((struct tg_str){v.p + v.len - 7, 7}, "chunked") &&
                           (v.len == 7 || v.p[v.len - 8] == ' ' || v.p[v.len - 8] == ',');
        }
    }
    if (req == TG_HTTP_HEAD || m->status < 200 || m->status == 204 || m->status == 304)
        return TG_HTTP_BODY_NONE;
    if (req == TG_HTTP_CONNECT && m->status < 300)
        return TG_HTTP_BODY_NONE;
    if (te)
        return chunked_last ? TG_HTTP_BODY_CHUNKED : TG_HTTP_BODY_EOF;
    return cl ? TG_HTTP_BODY_LENGTH : TG_HTTP_BODY_EOF;
}

static void check_msg(const struct tg_http_msg *m, const char *b, size_t len, int rc,
                      enum tg_http_method req)
{
    CHECK(rc > 0 && (size_t)rc <= len && m->head_len == (uint32_t)rc);
    size_t h = m->head_len;
    CHECK(h >= 4 && !memcmp(b + h - 4, "\r\n\r\n", 4));
    CHECK(!memcmp(b, "HTTP/1.", 7) && m->minor == b[7] - '0' && m->minor <= 1);
    CHECK(m->status >= 100 && m->status <= 999);
    CHECK(inside(m->reason, b, h));
    for (uint32_t i = 0; i < m->reason.len; i++) {
        uint8_t c = (uint8_t)m->reason.p[i];
        CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
    }
    CHECK(m->host_idx == -1 && !(m->flags & (TG_HTTP_F_HAS_HOST | TG_HTTP_F_EXPECT_100)));
    CHECK(m->method == TG_HTTP_OTHER && m->target.len == 0);
    int cl = 0, te = 0;
    for (uint32_t i = 0; i < m->nheaders; i++) {
        const struct tg_http_header *hd = &m->headers[i];
        CHECK(inside(hd->name, b, h) && inside(hd->value, b, h) && hd->name.len > 0);
        CHECK(hd->name.p[hd->name.len] == ':');
        for (uint32_t j = 0; j < hd->value.len; j++) {
            uint8_t c = (uint8_t)hd->value.p[j];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        cl += tg_str_ieq(hd->name, "content-length");
        te += tg_str_ieq(hd->name, "transfer-encoding");
    }
    CHECK(!(cl && te));
    CHECK(!(te && m->minor == 0));
    CHECK(m->body == expected_body(m, req));
    if (m->body == TG_HTTP_BODY_EOF)
        CHECK(!(m->flags & TG_HTTP_F_KEEPALIVE));
    CHECK(!((m->flags & TG_HTTP_F_KEEPALIVE) && (m->flags & TG_HTTP_F_CONN_CLOSE)));
}

static int parse_prefix(const char *b, size_t k, enum tg_http_method req, size_t *off)
{
    static struct tg_http_msg pm;
    char *cp = malloc(k ? k : 1);
    memcpy(cp, b, k);
    int rc = tg_http1_parse_response(cp, k, NULL, req, &pm, off);
    free(cp);
    return rc;
}

/* Parses b[0..len) for three request methods; returns the GET result in `m`. */
static int one(const char *b, size_t len, uint32_t salt, struct tg_http_msg *m)
{
    static struct tg_http_msg mh, mc;
    size_t off = (size_t)-1, offh = (size_t)-1, offc = (size_t)-1;
    int rc = tg_http1_parse_response(b, len, NULL, TG_HTTP_GET, m, &off);
    int rch = tg_http1_parse_response(b, len, NULL, TG_HTTP_HEAD, &mh, &offh);
    int rcc = tg_http1_parse_response(b, len, NULL, TG_HTTP_CONNECT, &mc, &offc);
    CHECK(rc > 0 || rc == TG_AGAIN || rc == TG_EPARSE || rc == TG_ETOOBIG);
    CHECK(rc == rch && rc == rcc);
    if (rc == TG_EPARSE) {
        CHECK(off == offh && off == offc && off < len);
        size_t o;
        CHECK(parse_prefix(b, off, TG_HTTP_GET, &o) == TG_AGAIN);
    }
    if (rc > 0) {
        check_msg(m, b, len, rc, TG_HTTP_GET);
        check_msg(&mh, b, len, rc, TG_HTTP_HEAD);
        check_msg(&mc, b, len, rc, TG_HTTP_CONNECT);
        CHECK(m->nheaders == mh.nheaders && m->nheaders == mc.nheaders);
        CHECK(m->status == mh.status && m->content_length == mh.content_length);
        unsigned ka = TG_HTTP_F_KEEPALIVE;
        if (m->body != TG_HTTP_BODY_EOF && mh.body != TG_HTTP_BODY_EOF)
            CHECK(m->flags == mh.flags);
        else
            CHECK((m->flags & ~ka) == (mh.flags & ~ka));
    }
    size_t cuts[3] = {len / 2, rc > 0 ? (size_t)rc - 1 : (len ? len - 1 : 0), len ? salt % len : 0};
    if (rc == TG_EPARSE)
        cuts[0] = off + 1;
    for (int i = 0; i < 3; i++) {
        size_t k = cuts[i] < len ? cuts[i] : len, o = (size_t)-1;
        int r = parse_prefix(b, k, TG_HTTP_GET, &o);
        if (r == TG_AGAIN)
            continue;
        CHECK(r == rc && (rc != TG_EPARSE || o == off));
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
    size_t pos = 0;
    for (int n = 0; n < 64 && pos < size; n++) {
        int rc = one(b + pos, size - pos, salt, &m);
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
            pos += (size_t)used;
        } else if (m.body == TG_HTTP_BODY_EOF) {
            break;
        }
    }
    return 0;
}
