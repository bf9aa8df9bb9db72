/* SPDX-License-Identifier: MIT */
/* HTTP/1.x head parser: the request or status line, the header fields, and the framing
 * and connection facts derived from them (RFC 9112). It is the proxy's request-smuggling
 * defence, so every ambiguity a peer could exploit is an error, never a guess: bare LF,
 * obs-fold, control bytes, space before the colon, Content-Length conflicts, Content-Length
 * with Transfer-Encoding, and request codings not ending in chunked. One forward pass over
 * the buffer with table-driven loops; nothing is kept between calls, because the caller
 * re-parses its grown buffer (heads are small, re-scanning beats carrying state). Methods
 * are upper-case tokens (a lower-case letter is refused, see parse_request_line). Called by
 * proxy/, demo/ and the load generator; chunked bodies live in chunked.c. */
#include "http/http1.h"

#include <string.h>

#include "http/http1_int.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define DEFAULT_MAX_HEAD_BYTES (64u * 1024u)
/* RFC 9112 §2.2 asks servers to ignore "at least one" empty line before a request line;
 * a few covers every client bug seen in the wild without letting a peer stream CRLFs. */
#define MAX_LEADING_CRLF 4
/* 2^60 - 1: far above any real body, and low enough that offset arithmetic on it in
 * callers can never overflow 64 bits. */
#define MAX_CONTENT_LENGTH ((UINT64_C(1) << 60) - 1)

#define CC(c) (tg_http1__cclass[(uint8_t)(c)])

/* Internal results of the helpers below: R_OK continues, R_MORE becomes TG_AGAIN, and
 * negative values are returned as they are. TG_AGAIN is 0, so it cannot mean "go on". */
enum { R_OK = 0, R_MORE = 1 };

/* Everything one call learns on its way through the head. */
struct head {
    const char *buf;
    const char *end; /* buf + min(len, max head bytes) */
    bool clipped;    /* len reached the limit: running out of bytes is TG_ETOOBIG */
    bool request;
    uint32_t max_headers;
    size_t *err_off;
    struct tg_http_msg *msg;

    uint64_t cl;         /* Content-Length value, valid when has_cl */
    const char *te_last; /* last coding seen in Transfer-Encoding */
    bool has_cl, has_te;
    bool te_chunked;      /* the last coding so far is "chunked" */
    bool te_seen_chunked; /* "chunked" appeared at all (twice is an error) */
    const char *te_other; /* requests: first coding other than chunked (NULL if none) */
    bool te_unknown;      /* requests: a coding outside the registry was named */
    bool conn_close, conn_keepalive, conn_upgrade, has_upgrade, expect_100;
};

static int more(const struct head *h)
{
    return h->clipped ? TG_ETOOBIG : R_MORE;
}

static int bad(const struct head *h, const char *at)
{
    if (h->err_off)
        *h->err_off = (size_t)(at - h->buf);
    return TG_EPARSE;
}

/* Compares `p` (a token: only tchar bytes) with a lowercase literal of letters, digits and
 * '-'. OR-ing 0x20 folds case for letters and maps no other tchar onto such a literal
 * ('^' becomes '~' and '_' becomes DEL, neither of which the literals contain). */
static bool tok_eq(const char *p, size_t n, const char *lit, size_t litn)
{
    if (n != litn)
        return false;
    for (size_t i = 0; i < n; i++)
        if (((uint8_t)p[i] | 0x20) != (uint8_t)lit[i])
            return false;
    return true;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

bool tg_str_ieq(struct tg_str s, const char *lower_lit)
{
    size_t n = strlen(lower_lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((uint8_t)s.p[i]) != (uint8_t)lower_lit[i])
            return false;
    return true;
}

int tg_http1_find_header(const struct tg_http_msg *msg, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < msg->nheaders; i++) {
        const struct tg_str *s = &msg->headers[i].name;
        if (s->len != n)
            continue;
        size_t j = 0;
        while (j < n && lower((uint8_t)s->p[j]) == lower((uint8_t)name[j]))
            j++;
        if (j == n)
            return (int)i;
    }
    return -1;
}

/* Skips bytes of class `cls` (enum tg_http1__cclass). Field values and targets are most
 * of a head's bytes, so the loop is unrolled by eight: one bounds check and one branch per
 * eight table lookups instead of per byte (about 25% off a typical head). */
static const char *scan(const char *p, const char *end, unsigned cls)
{
    while (end - p >= 8) {
        unsigned all =
            CC(p[0]) & CC(p[1]) & CC(p[2]) & CC(p[3]) & CC(p[4]) & CC(p[5]) & CC(p[6]) & CC(p[7]);
        if (!(all & cls))
            break;
        p += 8;
    }
    while (p < end && (CC(*p) & cls))
        p++;
    return p;
}

/* Matches the literal `s` at *pp, stopping early (R_MORE) if the buffer ends on a prefix
 * of it, so an incomplete head is never reported as malformed. */
static int expect_lit(const struct head *h, const char **pp, const char *s, size_t n)
{
    const char *p = *pp;
    for (size_t i = 0; i < n; i++, p++) {
        if (p == h->end)
            return more(h);
        if (*p != s[i])
            return bad(h, p);
    }
    *pp = p;
    return R_OK;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3). A higher minor version of
 * HTTP/1 is served as HTTP/1.1, the highest we implement (RFC 9110 §6.2); another major
 * version is TG_EVERSION, which a server answers with 505. The version of a response is
 * kept strict: an upstream that claims HTTP/1.2 is broken, not newer. */
static int parse_version(struct head *h, const char **pp)
{
    int rc = expect_lit(h, pp, "HTTP/", 5);
    if (rc)
        return rc;
    const char *p = *pp;
    static const char shape[3] = {'0', '.', '0'}; /* '0': any digit */
    for (int i = 0; i < 3; i++) {
        if (p + i == h->end)
            return more(h);
        bool ok = shape[i] == '0' ? p[i] >= '0' && p[i] <= '9' : p[i] == shape[i];
        if (!ok)
            return bad(h, p + i);
    }
    if (p[0] == '1' && p[2] <= '1') {
        h->msg->minor = p[2] - '0';
    } else if (!h->request) {
        return bad(h, p);
    } else if (p[0] == '1') {
        h->msg->minor = 1;
    } else {
        if (h->err_off)
            *h->err_off = (size_t)(p - h->buf);
        return TG_EVERSION;
    }
    *pp = p + 3;
    return R_OK;
}

static int expect_crlf(const struct head *h, const char **pp)
{
    return expect_lit(h, pp, "\r\n", 2);
}

/* authority = host [ ":" port ] (RFC 3986 §3.2) with no userinfo: '@' is refused because
 * "http://trusted@evil/" style authorities are a classic routing confusion, and RFC 9110
 * §4.2.4 tells recipients to treat userinfo in http URIs as an error. IP-literals keep
 * their brackets. The port is at most five digits and required only when `need_port`. */
static bool authority_ok(const char *a, size_t n, bool need_port)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(CC(a[i]) & TG_HTTP1__AUTH))
            return false;
    const char *e = a + n, *host_end;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', n);
        if (!rb || rb - a < 2 || memchr(a + 1, '[', (size_t)(rb - a - 1)))
            return false;
        host_end = rb + 1;
        if (host_end < e && *host_end != ':')
            return false;
    } else {
        const char *colon = memchr(a, ':', n);
        host_end = colon ? colon : e;
        if (host_end == a || memchr(a, '[', (size_t)(host_end - a)) ||
            memchr(a, ']', (size_t)(host_end - a)))
            return false;
    }
    if (host_end == e)
        return !need_port;
    const char *port = host_end + 1;
    size_t plen = (size_t)(e - port);
    if (plen > 5 || (need_port && plen == 0))
        return false;
    for (size_t i = 0; i < plen; i++)
        if (port[i] < '0' || port[i] > '9')
            return false;
    return true;
}

/* Splits an origin-form path at the first '?'. */
static void split_query(struct tg_http_msg *m, const char *p, const char *e)
{
    const char *q = memchr(p, '?', (size_t)(e - p));
    if (q) {
        m->path = (struct tg_str){p, (uint32_t)(q - p)};
        m->query = (struct tg_str){q + 1, (uint32_t)(e - q - 1)};
    } else {
        m->path = (struct tg_str){p, (uint32_t)(e - p)};
        m->query = (struct tg_str){e, 0};
    }
}

/* absolute-form (RFC 9112 §3.2.2), limited to the http and https schemes we can serve. An
 * empty path means "/", which is not in the caller's buffer, so `path` then points at a
 * static "/" (see tg_http1_parse_request in http1.h). */
static int set_absolute(struct head *h, const char *t, const char *e)
{
    struct tg_http_msg *m = h->msg;
    const char *p = t;
    while (p < e && lower((uint8_t)*p) >= 'a' && lower((uint8_t)*p) <= 'z')
        p++;
    size_t n = (size_t)(p - t);
    if (!tok_eq(t, n, "http", 4) && !tok_eq(t, n, "https", 5))
        return bad(h, t);
    if (e - p < 3 || memcmp(p, "://", 3) != 0)
        return bad(h, p);
    p += 3;
    const char *a = p;
    while (p < e && *p != '/' && *p != '?')
        p++;
    if (!authority_ok(a, (size_t)(p - a), false))
        return bad(h, a);
    if (p < e && *p == '/') {
        split_query(m, p, e);
    } else {
        static const char slash[] = "/";
        m->path = (struct tg_str){slash, 1};
        m->query = p < e ? (struct tg_str){p + 1, (uint32_t)(e - p - 1)} : (struct tg_str){e, 0};
    }
    return R_OK;
}

/* Checks the request-target form against the method (RFC 9112 §3.2) and fills path/query.
 * The bytes were already limited to VCHAR minus '#' by the scan loop. */
static int set_target(struct head *h, const char *t, const char *e)
{
    struct tg_http_msg *m = h->msg;
    m->target = (struct tg_str){t, (uint32_t)(e - t)};
    if (m->method == TG_HTTP_CONNECT) {
        /* authority-form only: anything else would let a CONNECT smuggle a path. */
        if (!authority_ok(t, (size_t)(e - t), true))
            return bad(h, t);
        m->path = m->target;
        m->query = (struct tg_str){e, 0};
        return R_OK;
    }
    if (t[0] == '/') {
        split_query(m, t, e);
        return R_OK;
    }
    if (t[0] == '*') {
        if (e - t != 1 || m->method != TG_HTTP_OPTIONS)
            return bad(h, t);
        m->path = m->target;
        m->query = (struct tg_str){e, 0};
        return R_OK;
    }
    return set_absolute(h, t, e);
}

static enum tg_http_method method_of(const char *p, size_t n)
{
    switch (n) {
    case 3:
        if (!memcmp(p, "GET", 3))
            return TG_HTTP_GET;
        if (!memcmp(p, "PUT", 3))
            return TG_HTTP_PUT;
        break;
    case 4:
        if (!memcmp(p, "POST", 4))
            return TG_HTTP_POST;
        if (!memcmp(p, "HEAD", 4))
            return TG_HTTP_HEAD;
        break;
    case 5:
        if (!memcmp(p, "PATCH", 5))
            return TG_HTTP_PATCH;
        if (!memcmp(p, "TRACE", 5))
            return TG_HTTP_TRACE;
        break;
    case 6:
        if (!memcmp(p, "DELETE", 6))
            return TG_HTTP_DELETE;
        break;
    case 7:
        if (!memcmp(p, "OPTIONS", 7))
            return TG_HTTP_OPTIONS;
        if (!memcmp(p, "CONNECT", 7))
            return TG_HTTP_CONNECT;
        break;
    }
    return TG_HTTP_OTHER;
}

/* request-line = method SP request-target SP HTTP-version CRLF, with exactly one SP
 * between parts (RFC 9112 §3 lets recipients be laxer; a proxy must not be, or the
 * upstream may split the line differently). */
static int parse_request_line(struct head *h, const char **pp)
{
    struct tg_http_msg *m = h->msg;
    const char *p = *pp, *end = h->end;
    for (int n = 0;; n++) {
        if (p == end)
            return more(h);
        if (*p != '\r')
            break;
        if (n == MAX_LEADING_CRLF)
            return bad(h, p);
        if (p + 1 == end)
            return more(h);
        if (p[1] != '\n')
            return bad(h, p + 1);
        p += 2;
    }
    /* The method is a case-sensitive token (RFC 9110 §9.1), but a lower-case "post" would
     * miss a route limited to POST and then be read as POST by a case-blind upstream: no
     * lower-case letters then, as nginx requires. */
    const char *s = p;
    while (p < end && (CC(*p) & TG_HTTP1__TCHAR) && (*p < 'a' || *p > 'z'))
        p++;
    if (p == end)
        return more(h);
    if (*p != ' ' || p == s)
        return bad(h, p);
    m->method_str = (struct tg_str){s, (uint32_t)(p - s)};
    m->method = method_of(s, (size_t)(p - s));
    s = ++p;
    p = scan(p, end, TG_HTTP1__TARGET);
    if (p == end)
        return more(h);
    if (*p != ' ' || p == s)
        return bad(h, p);
    int rc = set_target(h, s, p);
    if (rc)
        return rc;
    p++;
    if ((rc = parse_version(h, &p)) || (rc = expect_crlf(h, &p)))
        return rc;
    *pp = p;
    return R_OK;
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF. A missing SP before an
 * empty reason is tolerated: servers do send it, and it cannot change framing. */
static int parse_status_line(struct head *h, const char **pp)
{
    struct tg_http_msg *m = h->msg;
    const char *p = *pp, *end = h->end;
    int rc = parse_version(h, &p);
    if (rc || (rc = expect_lit(h, &p, " ", 1)))
        return rc;
    int status = 0;
    for (int i = 0; i < 3; i++, p++) {
        if (p == end)
            return more(h);
        if (*p < '0' || *p > '9' || (i == 0 && *p == '0'))
            return bad(h, p);
        status = status * 10 + (*p - '0');
    }
    m->status = status;
    if (p == end)
        return more(h);
    const char *s = p;
    if (*p == ' ') {
        s = ++p;
        while (p < end && (CC(*p) & TG_HTTP1__VALUE))
            p++;
    }
    m->reason = (struct tg_str){s, (uint32_t)(p - s)};
    if ((rc = expect_crlf(h, &p)))
        return rc;
    *pp = p;
    return R_OK;
}

/* Next element of a comma-separated token list (RFC 9110 §5.6.1), skipping OWS and empty
 * elements as the list rule requires. Returns 1 with the token, 0 at the end, or -1 with
 * *pp at the first byte that is neither a token, OWS nor ','. */
static int next_token(const char **pp, const char *e, const char **tok, size_t *tlen)
{
    const char *p = *pp;
    for (;;) {
        while (p < e && (CC(*p) & TG_HTTP1__WS))
            p++;
        if (p == e) {
            *pp = p;
            return 0;
        }
        if (*p != ',')
            break;
        p++;
    }
    const char *s = p;
    while (p < e && (CC(*p) & TG_HTTP1__TCHAR))
        p++;
    if (p == s) {
        *pp = p;
        return -1;
    }
    *tok = s;
    *tlen = (size_t)(p - s);
    while (p < e && (CC(*p) & TG_HTTP1__WS))
        p++;
    if (p < e) {
        if (*p != ',') {
            *pp = p;
            return -1;
        }
        p++;
    }
    *pp = p;
    return 1;
}

/* Content-Length = 1*DIGIT, or a list of identical values (RFC 9112 §6.3 item 5), across
 * any number of header lines. Signs, empty elements, differing values and values above
 * MAX_CONTENT_LENGTH are errors. Together with Transfer-Encoding it is an error too: the
 * RFC would let TE win, but a proxy that forwards both invites smuggling. */
static int on_content_length(struct head *h, const char *v, const char *e)
{
    if (h->has_te)
        return bad(h, v);
    const char *p = v;
    for (;;) {
        const char *d = p;
        uint64_t x = 0;
        while (p < e && *p >= '0' && *p <= '9') {
            x = x * 10 + (uint64_t)(*p - '0');
            if (x > MAX_CONTENT_LENGTH)
                return bad(h, p);
            p++;
        }
        if (p == d)
            return bad(h, p);
        if (h->has_cl && x != h->cl)
            return bad(h, d);
        h->has_cl = true;
        h->cl = x;
        while (p < e && (CC(*p) & TG_HTTP1__WS))
            p++;
        if (p == e)
            return R_OK;
        if (*p != ',')
            return bad(h, p);
        p++;
        while (p < e && (CC(*p) & TG_HTTP1__WS))
            p++;
    }
}

/* The transfer codings of the IANA registry that a sender may put before "chunked"
 * (RFC 9112 §7). Anything else is an error rather than an opaque token: the proxy cannot
 * decode it, RFC 9112 §6.1 has servers refuse unknown codings anyway, and unknown names
 * are where parsers disagree (http-parser 2.9 stops recognising the final "chunked" after
 * a coding that is a prefix of it, such as "chunk"). */
static bool known_coding(const char *p, size_t n)
{
    return tok_eq(p, n, "gzip", 4) || tok_eq(p, n, "deflate", 7) || tok_eq(p, n, "compress", 8) ||
           tok_eq(p, n, "x-gzip", 6) || tok_eq(p, n, "x-compress", 10);
}

/* Transfer-Encoding: a list of codings across all its lines. Stricter than the list rule
 * of RFC 9110 §5.6.1 on purpose, because every obfuscated spelling of this field is a
 * known TE.TE smuggling trick (",chunked", "chunked ,", "gzip,\tchunked"): empty elements
 * and HT inside the value are errors (parsers disagree on both, and no real client sends
 * them), codings take no parameters (none a proxy could use is registered), and only
 * registered codings are accepted. HT before or after the value is the OWS every field
 * may have (RFC 9112 §5.1): it is trimmed like SP, and the proxy forwards the trimmed
 * value, so no next hop sees it. "chunked" may appear once; whether it is last is decided
 * after the whole head, since a later line may add codings. */
static int on_transfer_encoding(struct head *h, const char *v, const char *e)
{
    if (h->has_cl || h->msg->minor == 0)
        return bad(h, v);
    const char *ht = memchr(v, '\t', (size_t)(e - v));
    if (ht)
        return bad(h, ht);
    const char *p = v;
    for (;;) {
        const char *tok = p;
        while (p < e && (CC(*p) & TG_HTTP1__TCHAR))
            p++;
        if (p == tok)
            return bad(h, p);
        h->te_last = tok;
        h->te_chunked = tok_eq(tok, (size_t)(p - tok), "chunked", 7);
        if (h->te_chunked) {
            if (h->te_seen_chunked)
                return bad(h, tok);
            h->te_seen_chunked = true;
        } else {
            bool known = known_coding(tok, (size_t)(p - tok));
            if (!known && !h->request)
                return bad(h, tok);
            if (!h->te_other)
                h->te_other = tok;
            h->te_unknown |= !known;
        }
        while (p < e && *p == ' ')
            p++;
        if (p == e)
            break;
        if (*p != ',')
            return bad(h, p);
        p++;
        while (p < e && *p == ' ')
            p++;
    }
    h->has_te = true;
    return R_OK;
}

/* Connection: a token list; only close, keep-alive and upgrade mean anything to us. The
 * other tokens name hop-by-hop headers, which the proxy strips. */
static int on_connection(struct head *h, const char *v, const char *e)
{
    const char *p = v, *tok;
    size_t n;
    int rc;
    while ((rc = next_token(&p, e, &tok, &n)) > 0) {
        if (tok_eq(tok, n, "close", 5))
            h->conn_close = true;
        else if (tok_eq(tok, n, "keep-alive", 10))
            h->conn_keepalive = true;
        else if (tok_eq(tok, n, "upgrade", 7))
            h->conn_upgrade = true;
    }
    return rc < 0 ? bad(h, p) : R_OK;
}

/* Reacts to the headers that carry framing or connection meaning. Dispatch is on the
 * name length first, so most headers cost one switch and no comparison. */
static int on_field(struct head *h, uint32_t idx, const char *name, size_t nlen, const char *v,
                    const char *ve)
{
    struct tg_http_msg *m = h->msg;
    switch (nlen) {
    case 4:
        if (h->request && tok_eq(name, nlen, "host", 4)) {
            /* RFC 9112 §3.2: more than one Host, or an invalid one, is a 400. Routing
             * on a Host the upstream reads differently is a smuggling primitive. */
            if (m->host_idx >= 0 || (v != ve && !authority_ok(v, (size_t)(ve - v), false)))
                return bad(h, v);
            m->host_idx = (int)idx;
            m->flags |= TG_HTTP_F_HAS_HOST;
        }
        break;
    case 6:
        if (tok_eq(name, nlen, "expect", 6) &&
            tg_str_ieq((struct tg_str){v, (uint32_t)(ve - v)}, "100-continue"))
            h->expect_100 = true;
        break;
    case 7:
        /* An empty Upgrade names no protocol, so it cannot make an upgrade. */
        if (v != ve && tok_eq(name, nlen, "upgrade", 7))
            h->has_upgrade = true;
        break;
    case 10:
        if (tok_eq(name, nlen, "connection", 10))
            return on_connection(h, v, ve);
        break;
    case 12:
        if (m->reqid_idx < 0 && tok_eq(name, nlen, "x-request-id", 12)) {
            m->reqid_idx = (int)idx;
            m->flags |= TG_HTTP_F_HAS_REQID;
        }
        break;
    case 14:
        if (tok_eq(name, nlen, "content-length", 14))
            return on_content_length(h, v, ve);
        break;
    case 17:
        if (tok_eq(name, nlen, "transfer-encoding", 17))
            return on_transfer_encoding(h, v, ve);
        break;
    }
    return R_OK;
}

/* field-line = field-name ":" OWS field-value OWS CRLF, until the empty line. A line that
 * starts with SP/HT (obs-fold, or whitespace before the first field) fails the name scan,
 * as does whitespace before the colon. This loop is where a head spends its time. */
static int parse_fields(struct head *h, const char **pp)
{
    struct tg_http_msg *m = h->msg;
    const char *p = *pp, *end = h->end;
    for (;;) {
        if (unlikely(p == end))
            return more(h);
        if (*p == '\r') {
            if (p + 1 == end)
                return more(h);
            if (p[1] != '\n')
                return bad(h, p + 1);
            *pp = p + 2;
            return R_OK;
        }
        const char *name = p;
        while (likely(p < end) && (CC(*p) & TG_HTTP1__TCHAR))
            p++;
        if (unlikely(p == end))
            return more(h);
        if (unlikely(*p != ':' || p == name))
            return bad(h, p);
        size_t nlen = (size_t)(p - name);
        p++;
        while (p < end && (CC(*p) & TG_HTTP1__WS))
            p++;
        const char *v = p;
        p = scan(p, end, TG_HTTP1__VALUE);
        if (unlikely(end - p < 2))
            return p < end && *p != '\r' ? bad(h, p) : more(h);
        if (unlikely(p[0] != '\r'))
            return bad(h, p);
        if (unlikely(p[1] != '\n'))
            return bad(h, p + 1);
        const char *ve = p;
        while (ve > v && (CC(ve[-1]) & TG_HTTP1__WS))
            ve--;
        p += 2;
        if (unlikely(m->nheaders == h->max_headers))
            return TG_ETOOBIG;
        uint32_t idx = m->nheaders++;
        m->headers[idx].name = (struct tg_str){name, (uint32_t)nlen};
        m->headers[idx].value = (struct tg_str){v, (uint32_t)(ve - v)};
        int rc = on_field(h, idx, name, nlen, v, ve);
        if (rc)
            return rc;
    }
}

static unsigned keepalive_flags(const struct head *h)
{
    unsigned f = 0;
    if (h->conn_close)
        f |= TG_HTTP_F_CONN_CLOSE;
    else if (h->msg->minor == 1 || h->conn_keepalive)
        f |= TG_HTTP_F_KEEPALIVE;
    if (h->conn_upgrade && h->has_upgrade)
        f |= TG_HTTP_F_UPGRADE;
    return f;
}

/* Refuses a request coding we do not implement: TG_ECODING (501, RFC 9112 §6.1), with
 * the offset of the coding. */
static int not_implemented(const struct head *h, const char *at)
{
    if (h->err_off)
        *h->err_off = (size_t)(at - h->buf);
    return TG_ECODING;
}

/* RFC 9112 §6.3 for requests: chunked must be the final coding (item 4), else
 * Content-Length, else no body. Only a lone "chunked" is served: any other coding, even
 * a registered one before a final chunked, is one we would have to decode to know the
 * body, so it is 501 as nginx answers; a registered coding after chunked is the 400 of
 * item 4. */
static int finish_request(struct head *h)
{
    struct tg_http_msg *m = h->msg;
    if (h->has_te) {
        if (h->te_unknown || (h->te_other && h->te_chunked))
            return not_implemented(h, h->te_other);
        if (!h->te_chunked)
            return bad(h, h->te_last);
        m->body = TG_HTTP_BODY_CHUNKED;
    } else if (h->has_cl) {
        m->body = TG_HTTP_BODY_LENGTH;
    }
    m->flags |= keepalive_flags(h);
    /* RFC 9110 §10.1.1: a server must ignore 100-continue from an HTTP/1.0 client. */
    if (h->expect_100 && m->minor == 1)
        m->flags |= TG_HTTP_F_EXPECT_100;
    return R_OK;
}

/* RFC 9112 §6.3 for responses, in the RFC's order. */
static void finish_response(struct head *h, enum tg_http_method req_method)
{
    struct tg_http_msg *m = h->msg;
    m->flags |= keepalive_flags(h);
    if (req_method == TG_HTTP_HEAD || m->status < 200 || m->status == 204 || m->status == 304)
        m->body = TG_HTTP_BODY_NONE;
    else if (req_method == TG_HTTP_CONNECT && m->status < 300)
        m->body = TG_HTTP_BODY_NONE; /* the connection becomes a tunnel */
    else if (h->has_te && h->te_chunked)
        m->body = TG_HTTP_BODY_CHUNKED;
    else if (h->has_cl && !h->has_te)
        m->body = TG_HTTP_BODY_LENGTH;
    else
        m->body = TG_HTTP_BODY_EOF;
    if (m->body == TG_HTTP_BODY_EOF)
        m->flags &= ~(unsigned)TG_HTTP_F_KEEPALIVE;
}

static void head_init(struct head *h, const char *buf, size_t len, const struct tg_http_limits *lim,
                      struct tg_http_msg *msg, size_t *err_off)
{
    uint32_t max_bytes = lim && lim->max_head_bytes ? lim->max_head_bytes : DEFAULT_MAX_HEAD_BYTES;
    if (max_bytes > INT32_MAX) /* the head length is returned as an int */
        max_bytes = INT32_MAX;
    uint32_t max_headers = lim ? lim->max_headers : 0;
    if (max_headers == 0 || max_headers > TG_HTTP_MAX_HEADERS)
        max_headers = TG_HTTP_MAX_HEADERS;
    *h = (struct head){
        .buf = buf,
        .end = buf + (len < max_bytes ? len : max_bytes),
        .clipped = len >= max_bytes,
        .max_headers = max_headers,
        .err_off = err_off,
        .msg = msg,
    };
    /* Every field but the header array, whose unused tail is left as it was: clearing
     * 3 KiB per call would cost more than parsing a typical head. */
    msg->method = TG_HTTP_OTHER;
    msg->method_str = msg->target = msg->path = msg->query = msg->reason = (struct tg_str){buf, 0};
    msg->status = 0;
    msg->minor = 0;
    msg->body = TG_HTTP_BODY_NONE;
    msg->content_length = 0;
    msg->flags = 0;
    msg->reqid_idx = -1;
    msg->host_idx = -1;
    msg->nheaders = 0;
    msg->head_len = 0;
}

static int head_done(struct head *h, const char *p)
{
    struct tg_http_msg *m = h->msg;
    if (h->has_cl)
        m->content_length = h->cl;
    m->head_len = (uint32_t)(p - h->buf);
    return (int)m->head_len;
}

int tg_http1_parse_request(const char *buf, size_t len, const struct tg_http_limits *lim,
                           struct tg_http_msg *msg, size_t *err_off)
{
    struct head h;
    head_init(&h, buf, len, lim, msg, err_off);
    h.request = true;
    const char *p = buf;
    int rc = parse_request_line(&h, &p);
    if (rc == TG_ETOOBIG)
        rc = TG_EURI; /* the limit ran out inside the request line: RFC 9112 §3 wants 414 */
    if (rc == R_OK)
        rc = parse_fields(&h, &p);
    if (rc == R_OK)
        rc = finish_request(&h);
    if (rc != R_OK)
        return rc == R_MORE ? TG_AGAIN : rc;
    return head_done(&h, p);
}

int tg_http1_parse_response(const char *buf, size_t len, const struct tg_http_limits *lim,
                            enum tg_http_method req_method, struct tg_http_msg *msg,
                            size_t *err_off)
{
    struct head h;
    head_init(&h, buf, len, lim, msg, err_off);
    const char *p = buf;
    int rc = parse_status_line(&h, &p);
    if (rc == R_OK)
        rc = parse_fields(&h, &p);
    if (rc != R_OK)
        return rc == R_MORE ? TG_AGAIN : rc;
    finish_response(&h, req_method);
    return head_done(&h, p);
}
