// link: tg_http http_parser
/* SPDX-License-Identifier: MIT */
/* Differential fuzz target: our head parser against nodejs http-parser 2.9.4 (Debian's
 * libhttp-parser). Debian builds it without HTTP_PARSER_STRICT (it takes bare LF and
 * spaces in field names), so its strict mode is not available; oracle 2 below covers what
 * strict mode would have. Inputs starting with "HTTP/" are responses (to a GET), the rest
 * requests. Two oracles:
 *
 * 1. http-parser. When we accept a head, it must accept the same bytes as a head of the
 *    same length and agree on method and target (requests), status and reason
 *    (responses), every field name and value, framing (Content-Length value, chunked, or
 *    read-until-close), keep-alive and upgrade. When both accept a chunked message, both
 *    must end the body at the same byte with the same payload.
 * 2. Our documented rules, restated simply in ref_reason() below (split into lines, check
 *    each rule in turn). When http-parser accepts a head that we reject, ref_reason() must
 *    name the rule we applied; when we accept, it must find none.
 *
 * Intentional differences. Where we are stricter, the rule is one of ref_reason()'s:
 *  - Bare LF or bare CR line endings, obs-fold, whitespace before the first field or the
 *    colon, SP inside field names: http-parser (non-strict) takes them; we refuse.
 *  - More than 4 empty lines before a request, or any before a response (http-parser
 *    skips any number). Status lines: exactly one SP around the 3-digit code, and reason
 *    bytes limited to HT, SP, VCHAR and obs-text.
 *  - Request lines with more than one SP, bytes >= 0x80 in the target, '#' (fragment),
 *    HTTP versions other than 1.x (1.2 .. 1.9 are read as 1.1), target forms not matching
 *    the method (asterisk-form
 *    only for OPTIONS, authority-form only and always for CONNECT, absolute-form only for
 *    http/https with a non-empty authority and no userinfo).
 *  - Transfer-Encoding in HTTP/1.0, HT (inside the value) or empty elements in
 *    Transfer-Encoding, codings
 *    with parameters or outside the IANA registry, request codings other than a lone
 *    "chunked" (501 for us), "chunked" twice; duplicate or
 *    malformed Host; Connection values that are not token lists; Content-Length above
 *    2^60 - 1.
 * Where http-parser is stricter than the RFC, or reads a head differently, the case is
 * skipped at the place marked DIFF:
 *  - Methods: we accept any token (TG_HTTP_OTHER); http-parser only its list. Before
 *    comparing, an unknown method is replaced by GET in the copy given to http-parser.
 *  - Content-Length: we accept identical repeats ("5, 5" or two lines), as RFC 9112 §6.3
 *    allows; http-parser refuses any repeat. We take HT as OWS around the value (RFC);
 *    http-parser only SP.
 *  - http-parser takes any field name starting with "Transfer-Encoding" (say
 *    "Transfer-Encodingx") as Transfer-Encoding; to us it is an unrelated field.
 *  - Keep-alive and upgrade: http-parser honours the non-standard Proxy-Connection; we
 *    ignore it (the proxy strips it). It does not see "close" or "keep-alive" next to an
 *    HT (OWS for us), nor tokens after an empty list element (",close"), which RFC 9110
 *    §5.6.1 says to ignore, nor after a token that is a prefix of one it knows ("k,
 *    keep-alive": "k" is a valid field name). In HTTP/1.0 it lets "keep-alive" beat
 *    "close"; for us close always wins.
 *  - After 1xx, 204 and 304, http-parser reads a body if Content-Length or chunked says
 *    so; RFC 9112 §6.3 says there is none, and so do we.
 *  - Trailer fields: http-parser applies its Content-Length (and other framing) value
 *    checks to them; we check trailers by syntax only and pass them on.
 *  - Chunked bodies: we refuse what http-parser skips over (chunk extensions outside the
 *    RFC grammar, whitespace after the size, sizes over 15 hex digits, bad trailers). Only
 *    a canonical body (sizes, CRLF, data, no extensions, no trailers) that http-parser
 *    completes must be completed by us too.
 * The corpus is tests/fuzz/corpus/http_diff/. */
#include <http_parser.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Exported by libhttp_parser 2.9 (it backs http_should_keep_alive) but not declared in its
 * header; it says whether a response body is read until close. */
int http_message_needs_eof(const http_parser *parser);

static void fail(const char *why, const uint8_t *data, size_t size)
{
    fprintf(stderr, "DISAGREEMENT: %s\ninput (%zu bytes): \"", why, size);
    for (size_t i = 0; i < size && i < 2048; i++) {
        uint8_t c = data[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
    abort();
}

/* ---- Oracle 2: our rules, restated line by line. ---- */

static bool tchar(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static bool ieq_n(const char *p, size_t n, const char *lit)
{
    if (n != strlen(lit))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lit[i])
            return false;
    }
    return true;
}

static void trim(const char **p, size_t *n)
{
    while (*n && ows((uint8_t)(*p)[0]))
        (*p)++, (*n)--;
    while (*n && ows((uint8_t)(*p)[*n - 1]))
        (*n)--;
}

/* host [":" port], RFC 3986 characters, no userinfo; brackets only around an IP-literal. */
static bool authority(const char *p, size_t n, bool need_port)
{
    if (n == 0)
        return false;
    size_t host_len = n;
    if (p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        if (!rb || rb == p + 1)
            return false;
        host_len = (size_t)(rb - p) + 1;
        for (size_t i = 1; i + 1 < host_len; i++) {
            bool ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                      (p[i] >= '0' && p[i] <= '9') || (p[i] && strchr("-._~!$&'()*+,;=%:", p[i]));
            if (!ok)
                return false;
        }
        if (host_len < n && p[host_len] != ':')
            return false;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (p[i] == ':') {
                host_len = i;
                break;
            }
            bool ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                      (p[i] >= '0' && p[i] <= '9') || (p[i] && strchr("-._~!$&'()*+,;=%", p[i]));
            if (!ok)
                return false;
        }
        if (host_len == 0)
            return false;
    }
    if (host_len == n)
        return !need_port;
    size_t plen = n - host_len - 1;
    if (plen > 5 || (need_port && plen == 0))
        return false;
    for (size_t i = host_len + 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static const char *target_reason(const char *m, size_t mlen, const char *t, size_t tlen)
{
    for (size_t i = 0; i < tlen; i++)
        if ((uint8_t)t[i] <= 0x20 || (uint8_t)t[i] >= 0x7f || t[i] == '#')
            return "target byte";
    if (mlen == 7 && !memcmp(m, "CONNECT", 7))
        return authority(t, tlen, true) ? NULL : "CONNECT needs authority-form";
    if (t[0] == '/')
        return NULL;
    if (tlen == 1 && t[0] == '*')
        return mlen == 7 && !memcmp(m, "OPTIONS", 7) ? NULL : "asterisk-form needs OPTIONS";
    size_t s = 0;
    if (tlen >= 7 && ieq_n(t, 4, "http") && !memcmp(t + 4, "://", 3))
        s = 7;
    else if (tlen >= 8 && ieq_n(t, 5, "https") && !memcmp(t + 5, "://", 3))
        s = 8;
    else
        return "not a target form we take";
    size_t a = s;
    while (a < tlen && t[a] != '/' && t[a] != '?')
        a++;
    return authority(t + s, a - s, false) ? NULL : "absolute-form authority";
}

struct field {
    const char *name, *value;
    size_t name_len, value_len;
};

/* Content-Length rules: digit lists of one value, at most 2^60 - 1, never with TE. */
static const char *cl_reason(const struct field *f, size_t nf)
{
    bool have = false;
    uint64_t val = 0;
    for (size_t i = 0; i < nf; i++) {
        if (!ieq_n(f[i].name, f[i].name_len, "content-length"))
            continue;
        const char *p = f[i].value, *e = p + f[i].value_len;
        for (;;) {
            const char *d = p;
            uint64_t x = 0;
            while (p < e && *p >= '0' && *p <= '9') {
                x = x * 10 + (uint64_t)(*p++ - '0');
                if (x >= (UINT64_C(1) << 60))
                    return "Content-Length too large";
            }
            if (p == d)
                return "Content-Length not a number";
            if (have && x != val)
                return "Content-Length conflict";
            have = true;
            val = x;
            while (p < e && ows((uint8_t)*p))
                p++;
            if (p == e)
                break;
            if (*p++ != ',')
                return "Content-Length not a number";
            while (p < e && ows((uint8_t)*p))
                p++;
        }
    }
    return NULL;
}

static const char *te_reason(const struct field *f, size_t nf, bool http10, bool has_cl,
                             bool response)
{
    bool have = false, chunked_seen = false, chunked_last = false;
    for (size_t i = 0; i < nf; i++) {
        if (!ieq_n(f[i].name, f[i].name_len, "transfer-encoding"))
            continue;
        if (has_cl)
            return "Content-Length with Transfer-Encoding";
        if (http10)
            return "Transfer-Encoding in HTTP/1.0";
        if (memchr(f[i].value, '\t', f[i].value_len))
            return "HT inside Transfer-Encoding";
        have = true;
        const char *p = f[i].value, *e = p + f[i].value_len;
        for (;;) {
            const char *tok = p;
            while (p < e && tchar((uint8_t)*p))
                p++;
            if (p == tok)
                return "Transfer-Encoding element not a token";
            size_t tl = (size_t)(p - tok);
            chunked_last = ieq_n(tok, tl, "chunked");
            if (chunked_last && chunked_seen)
                return "chunked twice";
            if (!chunked_last && !response)
                return "request transfer coding other than chunked";
            if (!chunked_last && !ieq_n(tok, tl, "gzip") && !ieq_n(tok, tl, "x-gzip") &&
                !ieq_n(tok, tl, "deflate") && !ieq_n(tok, tl, "compress") &&
                !ieq_n(tok, tl, "x-compress"))
                return "unregistered transfer coding";
            chunked_seen |= chunked_last;
            while (p < e && *p == ' ')
                p++;
            if (p == e)
                break;
            if (*p++ != ',')
                return "Transfer-Encoding element not a token";
            while (p < e && *p == ' ')
                p++;
        }
    }
    /* For a response, a final coding other than chunked means "read until close". */
    return have && !chunked_last && !response ? "chunked not last" : NULL;
}

static const char *misc_reason(const struct field *f, size_t nf, bool response)
{
    int hosts = 0;
    for (size_t i = 0; i < nf; i++) {
        if (!response && ieq_n(f[i].name, f[i].name_len, "host")) {
            if (++hosts > 1)
                return "two Host fields";
            if (f[i].value_len && !authority(f[i].value, f[i].value_len, false))
                return "Host value";
        }
        if (ieq_n(f[i].name, f[i].name_len, "connection")) {
            /* A token list with OWS and empty elements. */
            const char *p = f[i].value, *e = p + f[i].value_len;
            while (p < e) {
                if (*p == ',' || ows((uint8_t)*p)) {
                    p++;
                    continue;
                }
                while (p < e && tchar((uint8_t)*p))
                    p++;
                while (p < e && ows((uint8_t)*p))
                    p++;
                if (p < e && *p != ',')
                    return "Connection not a token list";
            }
        }
    }
    return NULL;
}

/* The request line at b[pos..eol): method SP target SP version, one SP each. */
static const char *request_line_reason(const char *line, const char *eol, bool *http10)
{
    const char *sp1 = memchr(line, ' ', (size_t)(eol - line));
    if (!sp1 || sp1 == line)
        return "request line";
    for (const char *q = line; q < sp1; q++) {
        if (!tchar((uint8_t)*q))
            return "method not a token";
        if (*q >= 'a' && *q <= 'z')
            return "lower-case letter in the method";
    }
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1)
        return "request line";
    /* HTTP/1.2 .. 1.9 are served as 1.1; another major version is refused (505). */
    if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) || sp2[8] < '0' || sp2[8] > '9')
        return "version";
    *http10 = sp2[8] == '0';
    return target_reason(line, (size_t)(sp1 - line), sp1 + 1, (size_t)(sp2 - sp1 - 1));
}

/* The status line: "HTTP/1.x" SP 3DIGIT (100-999), then CRLF or SP reason CRLF. */
static const char *status_line_reason(const char *line, const char *eol, bool *http10)
{
    size_t n = (size_t)(eol - line);
    if (n < 12 || memcmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') ||
        line[8] != ' ')
        return "status line version";
    *http10 = line[7] == '0';
    for (int i = 9; i < 12; i++)
        if (line[i] < '0' || line[i] > '9' || (i == 9 && line[i] == '0'))
            return "status code";
    if (n == 12)
        return NULL;
    if (line[12] != ' ')
        return "status line";
    for (size_t i = 13; i < n; i++)
        if (!ows((uint8_t)line[i]) && ((uint8_t)line[i] < 0x21 || (uint8_t)line[i] == 0x7f))
            return "reason byte";
    return NULL;
}

/* Returns the rule that makes us refuse the head b[0..n) (which ends with the final LF),
 * or NULL if none applies. */
static const char *ref_reason(const char *b, size_t n, bool response)
{
    static struct field f[TG_HTTP_MAX_HEADERS + 1];
    size_t pos = 0;
    if (response && n && (b[0] == '\r' || b[0] == '\n'))
        return "empty line before a status line";
    for (int empty = 0; pos < n && (b[pos] == '\r' || b[pos] == '\n'); empty++) {
        if (b[pos] == '\n' || pos + 1 == n || b[pos + 1] != '\n')
            return "bare LF or CR before the request line";
        if (empty == 4)
            return "more than 4 empty lines first";
        pos += 2;
    }
    if (n > 64 * 1024)
        return "head over 64 KiB";
    for (size_t i = pos; i < n; i++) {
        if (b[i] == '\n' && b[i - 1] != '\r')
            return "bare LF";
        if (b[i] == '\r' && (i + 1 == n || b[i + 1] != '\n'))
            return "bare CR";
    }
    const char *line = b + pos, *eol = memchr(line, '\r', n - pos);
    if (!eol)
        return "no start line end";
    bool http10 = false;
    const char *why =
        response ? status_line_reason(line, eol, &http10) : request_line_reason(line, eol, &http10);
    if (why)
        return why;
    /* Field lines. */
    size_t nf = 0;
    pos = (size_t)(eol - b) + 2;
    for (;;) {
        line = b + pos;
        eol = memchr(line, '\r', n - pos);
        if (!eol)
            return "no end of head";
        if (eol == line)
            break;
        if (ows((uint8_t)line[0]))
            return "obs-fold or whitespace before a field";
        const char *colon = line;
        while (colon < eol && tchar((uint8_t)*colon))
            colon++;
        if (colon == line || colon == eol || *colon != ':')
            return "field name";
        for (const char *q = colon + 1; q < eol; q++)
            if (!ows((uint8_t)*q) && ((uint8_t)*q < 0x21 || (uint8_t)*q == 0x7f))
                return "field value byte";
        if (nf == TG_HTTP_MAX_HEADERS)
            return "more than 100 fields";
        struct field *fl = &f[nf++];
        fl->name = line;
        fl->name_len = (size_t)(colon - line);
        fl->value = colon + 1;
        fl->value_len = (size_t)(eol - colon - 1);
        trim(&fl->value, &fl->value_len);
        pos = (size_t)(eol - b) + 2;
    }
    if ((why = cl_reason(f, nf)))
        return why;
    bool has_cl = false;
    for (size_t i = 0; i < nf; i++)
        has_cl |= ieq_n(f[i].name, f[i].name_len, "content-length");
    if ((why = te_reason(f, nf, http10, has_cl, response)))
        return why;
    return misc_reason(f, nf, response);
}

/* ---- Oracle 1: http-parser. ---- */

#define HP_MAX_FIELDS 256

struct hp_view {
    bool head_done, msg_done;
    size_t head_len, msg_end; /* bytes up to and including the head's final LF / body end */
    enum http_errno err;      /* after the head, including checks made just after it */
    unsigned method, flags, status, minor;
    int keepalive, upgrade, needs_eof;
    const char *reason;
    size_t reason_len;
    uint64_t content_length;
    const char *url;
    size_t url_len;
    bool split; /* some element arrived in two callbacks (e.g. obs-fold) */
    size_t nfields;
    struct {
        const char *name, *value;
        size_t name_len, value_len;
    } f[HP_MAX_FIELDS];
    bool last_was_value;
    char *body;
    size_t body_len;
};

static struct hp_view hv;

static int on_url(http_parser *p, const char *at, size_t n)
{
    (void)p;
    if (hv.url && hv.url + hv.url_len != at)
        hv.split = true;
    if (!hv.url)
        hv.url = at;
    hv.url_len += n;
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t n)
{
    (void)p;
    if (hv.reason && hv.reason + hv.reason_len != at)
        hv.split = true;
    if (!hv.reason)
        hv.reason = at;
    hv.reason_len += n;
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t n)
{
    (void)p;
    if (hv.head_done)
        return 0; /* trailers */
    if (!hv.last_was_value && hv.nfields) {
        hv.split = true;
        return 0;
    }
    if (hv.nfields < HP_MAX_FIELDS) {
        hv.f[hv.nfields].name = at;
        hv.f[hv.nfields].name_len = n;
        hv.f[hv.nfields].value = NULL;
        hv.f[hv.nfields].value_len = 0;
    }
    hv.nfields++;
    hv.last_was_value = false;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t n)
{
    (void)p;
    if (hv.head_done || hv.nfields == 0)
        return 0;
    if (hv.last_was_value)
        hv.split = true;
    size_t i = hv.nfields - 1;
    if (i < HP_MAX_FIELDS) {
        hv.f[i].value = at;
        hv.f[i].value_len = n;
    }
    hv.last_was_value = true;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    hv.head_done = true;
    hv.method = p->method;
    hv.flags = p->flags;
    hv.keepalive = http_should_keep_alive(p);
    hv.content_length = p->content_length;
    hv.status = p->status_code;
    hv.minor = p->http_minor;
    hv.needs_eof = http_message_needs_eof(p);
    http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    (void)p;
    memcpy(hv.body + hv.body_len, at, n);
    hv.body_len += n;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    hv.msg_done = true;
    http_parser_pause(p, 1);
    return 0;
}

/* Runs http-parser over b[0..n): the head (pausing right after it, then letting it make
 * the checks it makes on the final LF) and, if `body`, the body that follows. */
static void hp_run(const char *b, size_t n, bool body, bool response)
{
    static http_parser_settings s = {
        .on_url = on_url,
        .on_status = on_status,
        .on_header_field = on_field,
        .on_header_value = on_value,
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
    };
    char *bodybuf = hv.body;
    memset(&hv, 0, sizeof hv);
    hv.body = bodybuf;
    http_parser p;
    http_parser_init(&p, response ? HTTP_RESPONSE : HTTP_REQUEST);
    size_t used = http_parser_execute(&p, &s, b, n);
    hv.err = HTTP_PARSER_ERRNO(&p);
    if (!hv.head_done || hv.err != HPE_PAUSED) {
        hv.head_done = false;
        return;
    }
    /* Paused in on_headers_complete with the final LF not yet consumed. */
    hv.head_len = used + 1;
    hv.upgrade = p.upgrade;
    http_parser_pause(&p, 0);
    size_t more = http_parser_execute(&p, &s, b + used, 1);
    hv.err = HTTP_PARSER_ERRNO(&p);
    if (hv.err == HPE_PAUSED && hv.msg_done) /* a message without body ended on the LF */
        hv.err = HPE_OK;
    if (hv.err != HPE_OK || more != 1 || !body || hv.msg_done)
        return;
    size_t done = http_parser_execute(&p, &s, b + hv.head_len, n - hv.head_len);
    if (hv.msg_done && HTTP_PARSER_ERRNO(&p) == HPE_PAUSED)
        hv.msg_end = hv.head_len + done;
    else
        hv.msg_done = false;
}

/* A chunked body with nothing optional: hex sizes of 1-15 digits, CRLF everywhere, no
 * extensions, no trailers. Any parser must take it; returns its length or 0. */
static size_t canonical_chunked(const char *b, size_t n)
{
    size_t pos = 0;
    for (;;) {
        size_t d = 0;
        uint64_t size = 0;
        while (pos + d < n && d < 16 && strchr("0123456789abcdefABCDEF", b[pos + d]) &&
               b[pos + d]) {
            char c = b[pos + d];
            size = size * 16 + (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            d++;
        }
        if (d == 0 || d > 15 || n - pos - d < 2 || memcmp(b + pos + d, "\r\n", 2))
            return 0;
        pos += d + 2;
        if (size == 0)
            return n - pos >= 2 && !memcmp(b + pos, "\r\n", 2) ? pos + 2 : 0;
        if (size > n - pos || n - pos - size < 2 || memcmp(b + pos + size, "\r\n", 2))
            return 0;
        pos += size + 2;
    }
}

/* True if the field line of `name` (up to its CR) holds an HT. */
static bool line_has_ht(struct tg_str name)
{
    for (const char *p = name.p; *p != '\r'; p++)
        if (*p == '\t')
            return true;
    return false;
}

/* A list with an empty element: a leading ',' or two ',' with only OWS between. */
static bool has_empty_element(struct tg_str v)
{
    bool after_comma = true;
    for (uint32_t i = 0; i < v.len; i++) {
        if (v.p[i] == ',') {
            if (after_comma)
                return true;
            after_comma = true;
        } else if (!ows((uint8_t)v.p[i])) {
            after_comma = false;
        }
    }
    return false;
}

/* A token that is a proper prefix of close, keep-alive or upgrade ("k", "clo"), after
 * which http-parser stops matching the tokens that follow. */
static bool has_prefix_token(struct tg_str v)
{
    static const char *const known[] = {"close", "keep-alive", "upgrade"};
    const char *p = v.p, *e = v.p + v.len;
    while (p < e) {
        const char *t = p;
        while (p < e && *p != ',' && !ows((uint8_t)*p))
            p++;
        size_t n = (size_t)(p - t);
        for (int i = 0; i < 3; i++) {
            bool prefix = n > 0 && n < strlen(known[i]);
            for (size_t j = 0; prefix && j < n; j++)
                prefix = (t[j] | 0x20) == known[i][j];
            if (prefix)
                return true;
        }
        while (p < e && (*p == ',' || ows((uint8_t)*p)))
            p++;
    }
    return false;
}

/* DIFF: Connection spellings http-parser reads differently (see the top comment); the
 * keep-alive and upgrade comparisons are skipped for them. */
static bool connection_differs(const struct tg_http_msg *m)
{
    for (uint32_t i = 0; i < m->nheaders; i++) {
        struct tg_str nm = m->headers[i].name;
        if (tg_str_ieq(nm, "proxy-connection"))
            return true;
        if (tg_str_ieq(nm, "connection") &&
            (line_has_ht(nm) || has_empty_element(m->headers[i].value) ||
             has_prefix_token(m->headers[i].value)))
            return true;
    }
    return false;
}

/* DIFF: Content-Length repeats, or HT around its value, which http-parser refuses. */
static bool cl_repeat_or_ht(const struct tg_http_msg *m)
{
    int n = 0;
    for (uint32_t i = 0; i < m->nheaders; i++) {
        struct tg_str nm = m->headers[i].name, v = m->headers[i].value;
        if (!tg_str_ieq(nm, "content-length"))
            continue;
        n++;
        if (memchr(v.p, ',', v.len) || line_has_ht(nm))
            return true;
    }
    return n > 1;
}

/* DIFF: http-parser decides a name is Transfer-Encoding once it has matched that much,
 * so "Transfer-Encodingx" counts as one for its request checks. */
static bool te_prefixed_name(const struct tg_http_msg *m)
{
    for (uint32_t i = 0; i < m->nheaders; i++) {
        struct tg_str nm = m->headers[i].name;
        if (nm.len > 17 && tg_str_ieq((struct tg_str){nm.p, 17}, "transfer-encoding"))
            return true;
    }
    return false;
}

/* DIFF: http-parser runs its Content-Length, Transfer-Encoding, Connection and Upgrade
 * value checks on trailer fields too; we check trailers by syntax only and pass them on.
 * True if one of those names occurs anywhere in b[0..n) (data included: rare, harmless). */
static bool framing_name_in(const char *b, size_t n)
{
    static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                        "upgrade", "proxy-connection"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t k = strlen(names[i]);
        for (size_t j = 0; j + k <= n; j++)
            if (ieq_n(b + j, k, names[i]))
                return true;
    }
    return false;
}

static bool known_to_hp(struct tg_str m)
{
    static const char *const names[] = {
#define XX(num, name, string) #string,
        HTTP_METHOD_MAP(XX)
#undef XX
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == m.len && !memcmp(names[i], m.p, m.len))
            return true;
    return false;
}

static void compare_fields(const struct tg_http_msg *m, const uint8_t *data, size_t size)
{
    if (hv.split)
        fail("http-parser split an element we took whole", data, size);
    if (hv.nfields != m->nheaders)
        fail("field count differs", data, size);
    for (uint32_t i = 0; i < m->nheaders && i < HP_MAX_FIELDS; i++) {
        const char *v = hv.f[i].value ? hv.f[i].value : "";
        size_t vl = hv.f[i].value_len;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (hv.f[i].name_len != m->headers[i].name.len ||
            memcmp(hv.f[i].name, m->headers[i].name.p, hv.f[i].name_len))
            fail("field name differs", data, size);
        if (vl != m->headers[i].value.len || memcmp(v, m->headers[i].value.p, vl))
            fail("field value differs", data, size);
    }
}

/* Both oracles agree on a request head we accepted; `delta` is how much longer
 * http-parser's copy is (method replaced), `rewritten` whether it was. Returns false when
 * http-parser refused the head for a documented reason, so there is nothing more to
 * compare. */
static bool compare_request(const struct tg_http_msg *m, long delta, bool rewritten,
                            const uint8_t *data, size_t size)
{
    if (!hv.head_done || hv.err != HPE_OK) {
        if (cl_repeat_or_ht(m) || te_prefixed_name(m))
            return false;
        fail("we accept a head http-parser refuses", data, size);
    }
    if ((long)hv.head_len != (long)m->head_len + delta)
        fail("head length differs", data, size);
    const char *hm = http_method_str((enum http_method)hv.method);
    if (!rewritten &&
        (strlen(hm) != m->method_str.len || memcmp(hm, m->method_str.p, m->method_str.len)))
        fail("method differs", data, size);
    if (hv.url_len != m->target.len || memcmp(hv.url, m->target.p, m->target.len))
        fail("target differs", data, size);
    compare_fields(m, data, size);
    bool hp_chunked = hv.flags & F_CHUNKED;
    switch (m->body) {
    case TG_HTTP_BODY_LENGTH:
        if (hp_chunked || hv.content_length != m->content_length)
            fail("Content-Length differs", data, size);
        break;
    case TG_HTTP_BODY_CHUNKED:
        if (!hp_chunked)
            fail("chunked differs", data, size);
        break;
    default:
        if (hp_chunked || hv.content_length != UINT64_MAX)
            fail("http-parser sees a body we do not", data, size);
    }
    if (connection_differs(m))
        return true;
    /* DIFF: in HTTP/1.0 http-parser lets keep-alive beat close. */
    bool close10 = m->minor == 0 && (m->flags & TG_HTTP_F_CONN_CLOSE);
    if (!close10 && hv.keepalive != !!(m->flags & TG_HTTP_F_KEEPALIVE))
        fail("keep-alive differs", data, size);
    bool up = (m->flags & TG_HTTP_F_UPGRADE) || m->method == TG_HTTP_CONNECT;
    if (hv.upgrade != up)
        fail("upgrade differs", data, size);
    return true;
}

/* The same for a response head (parsed as the answer to GET). */
static bool compare_response(const struct tg_http_msg *m, const uint8_t *data, size_t size)
{
    if (!hv.head_done || hv.err != HPE_OK) {
        if (cl_repeat_or_ht(m) || te_prefixed_name(m))
            return false;
        fail("we accept a head http-parser refuses", data, size);
    }
    if (hv.head_len != m->head_len)
        fail("head length differs", data, size);
    if ((int)hv.status != m->status || (int)hv.minor != m->minor)
        fail("status line differs", data, size);
    if (hv.reason_len != m->reason.len ||
        (m->reason.len && memcmp(hv.reason, m->reason.p, m->reason.len)))
        fail("reason differs", data, size);
    compare_fields(m, data, size);
    bool hp_chunked = hv.flags & F_CHUNKED;
    switch (m->body) {
    case TG_HTTP_BODY_NONE:
        /* DIFF: after 1xx/204/304 http-parser still reads a body that Content-Length or
         * chunked announces; RFC 9112 §6.3 says there is none. */
        if (hp_chunked || hv.content_length != UINT64_MAX)
            return false;
        break;
    case TG_HTTP_BODY_LENGTH:
        if (hp_chunked || hv.content_length != m->content_length)
            fail("Content-Length differs", data, size);
        break;
    case TG_HTTP_BODY_CHUNKED:
        if (!hp_chunked)
            fail("chunked differs", data, size);
        break;
    case TG_HTTP_BODY_EOF:
        if (hp_chunked || !hv.needs_eof)
            fail("read-until-close differs", data, size);
        break;
    }
    if (connection_differs(m))
        return true;
    bool close10 = m->minor == 0 && (m->flags & TG_HTTP_F_CONN_CLOSE);
    if (!close10 && hv.keepalive != !!(m->flags & TG_HTTP_F_KEEPALIVE))
        fail("keep-alive differs", data, size);
    bool up = (m->flags & TG_HTTP_F_UPGRADE) && m->status == 101;
    if (hv.upgrade != up)
        fail("upgrade differs", data, size);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tg_http_msg m;
    const char *b = (const char *)data;
    size_t off = 0;
    /* Inputs that start like a status line are responses (to a GET), the rest requests. */
    bool response = size >= 5 && !memcmp(b, "HTTP/", 5);
    int rc = response ? tg_http1_parse_response(b, size, NULL, TG_HTTP_GET, &m, &off)
                      : tg_http1_parse_request(b, size, NULL, &m, &off);

    /* DIFF: a method http-parser does not know becomes GET in its copy. */
    char *hb = malloc(size + 8);
    size_t hn = size;
    long delta = 0;
    bool rewritten = false;
    memcpy(hb, b, size);
    if (rc > 0 && !response && m.method == TG_HTTP_OTHER && !known_to_hp(m.method_str)) {
        size_t mo = (size_t)(m.method_str.p - b), ml = m.method_str.len;
        memcpy(hb + mo, "GET", 3);
        memcpy(hb + mo + 3, b + mo + ml, size - mo - ml);
        hn = size - ml + 3;
        delta = 3 - (long)ml;
        rewritten = true;
    }
    hv.body = malloc(size + 1);
    hp_run(hb, hn, rc > 0 && m.body == TG_HTTP_BODY_CHUNKED, response);

    if (rc > 0) {
        const char *why = ref_reason(b, (size_t)rc, response);
        if (why) {
            fprintf(stderr, "our own rule: %s\n", why);
            fail("we accept a head our rules refuse", data, size);
        }
        bool comparable = response ? compare_response(&m, data, size)
                                   : compare_request(&m, delta, rewritten, data, size);
        if (comparable && m.body == TG_HTTP_BODY_CHUNKED && !hv.upgrade) {
            static char out[1 << 20];
            struct tg_http_chunked c = {0};
            bool done = false;
            size_t olen = 0, rest = size - (size_t)rc;
            long used = rest <= sizeof out
                            ? tg_http1_chunked_decode(&c, b + rc, rest, out, &olen, &done)
                            : TG_EPARSE;
            if (used >= 0 && done) {
                if (!hv.msg_done) {
                    if (!framing_name_in(b + rc, (size_t)used))
                        fail("http-parser refuses a chunked body we accept", data, size);
                } else if ((long)hv.msg_end != rc + used + delta || hv.body_len != olen ||
                           memcmp(hv.body, out, olen)) {
                    fail("chunked body differs", data, size);
                }
            } else if (used < 0 && hv.msg_done && canonical_chunked(b + rc, size - (size_t)rc)) {
                fail("we refuse a canonical chunked body", data, size);
            }
        }
    } else if (hv.head_done && hv.err == HPE_OK) {
        /* http-parser took a head we refused (or still wait for): one of our rules must
         * say why. */
        const char *why = ref_reason(hb, hv.head_len, response);
        if (!why) {
            fprintf(stderr, "ours: %s at %zu\n", rc == TG_AGAIN ? "TG_AGAIN" : tg_strerror(rc),
                    off);
            fail("we refuse a head no rule of ours refuses", data, size);
        }
    }
    free(hv.body);
    hv.body = NULL;
    free(hb);
    return 0;
}
