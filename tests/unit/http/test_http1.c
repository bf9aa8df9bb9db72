/* SPDX-License-Identifier: MIT */
/* Unit tests for src/http/http1.c, the request and response head parser. Every input goes
 * through parse_all(), which also parses each proper prefix and requires TG_AGAIN or the
 * final result (an early error must be the same error at the same offset), so incremental
 * feeding is tested on every case, not only on the ones that say so. The smuggling cases
 * follow the list in http1.h; each names the attack it stops. */
#include "http/http1.h"

#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

static struct tg_http_msg msg;
static size_t off;

/* Parses `s[0..n)` and every proper prefix of it. Returns the full parse's result with
 * `msg` and `off` from it. */
static int parse_n(bool request, const char *s, size_t n, const struct tg_http_limits *lim,
                   enum tg_http_method m)
{
    static struct tg_http_msg pm;
    size_t poff = 0;
    int full = request ? tg_http1_parse_request(s, n, lim, &msg, &off)
                       : tg_http1_parse_response(s, n, lim, m, &msg, &off);
    /* Prefixes are checked from copies, so a parser reading past `len` is caught by ASan. */
    for (size_t k = 0; k < n; k++) {
        char *cp = malloc(k ? k : 1);
        memcpy(cp, s, k);
        int rc = request ? tg_http1_parse_request(cp, k, lim, &pm, &poff)
                         : tg_http1_parse_response(cp, k, lim, m, &pm, &poff);
        free(cp);
        if (rc == TG_AGAIN)
            continue;
        if (rc != full || (rc == TG_EPARSE && poff != off)) {
            fprintf(stderr, "prefix %zu of %zu: rc %d off %zu, full rc %d off %zu\n", k, n, rc,
                    poff, full, off);
            TG_EXPECT(!"prefix result differs from the full result");
            break;
        }
    }
    return full;
}

static int req(const char *s)
{
    return parse_n(true, s, strlen(s), NULL, TG_HTTP_GET);
}

static int req_lim(const char *s, uint32_t max_bytes, uint32_t max_headers)
{
    struct tg_http_limits lim = {max_bytes, max_headers};
    return parse_n(true, s, strlen(s), &lim, TG_HTTP_GET);
}

static int resp(const char *s, enum tg_http_method m)
{
    return parse_n(false, s, strlen(s), NULL, m);
}

/* Whole-request helper: expects success and returns the flags. */
static unsigned req_flags(const char *s)
{
    int rc = req(s);
    TG_EXPECT_EQ(rc, (int)strlen(s));
    return msg.flags;
}

#define EXPECT_SLICE(sl, lit) TG_EXPECT_MEMEQ((sl).p, (sl).len, lit)
#define EXPECT_REJECT(s) TG_EXPECT_EQ(req(s), TG_EPARSE)

static void test_basic_get(void)
{
    const char *s = "GET /a/b?x=1&y=2 HTTP/1.1\r\n"
                    "Host: example.com\r\n"
                    "User-Agent:   curl/8.0  \r\n"
                    "Accept: */*\r\n"
                    "X-Request-Id: abc-123\r\n"
                    "\r\n";
    int n = req(s);
    TG_EXPECT_EQ(n, (int)strlen(s));
    TG_EXPECT_EQ(msg.head_len, strlen(s));
    TG_EXPECT_EQ(msg.method, TG_HTTP_GET);
    EXPECT_SLICE(msg.method_str, "GET");
    EXPECT_SLICE(msg.target, "/a/b?x=1&y=2");
    EXPECT_SLICE(msg.path, "/a/b");
    EXPECT_SLICE(msg.query, "x=1&y=2");
    TG_EXPECT_EQ(msg.minor, 1);
    TG_EXPECT_EQ(msg.nheaders, 4);
    EXPECT_SLICE(msg.headers[0].name, "Host");
    EXPECT_SLICE(msg.headers[0].value, "example.com");
    EXPECT_SLICE(msg.headers[1].name, "User-Agent");
    EXPECT_SLICE(msg.headers[1].value, "curl/8.0");
    TG_EXPECT_EQ(msg.host_idx, 0);
    TG_EXPECT_EQ(msg.reqid_idx, 3);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE | TG_HTTP_F_HAS_HOST | TG_HTTP_F_HAS_REQID);
    TG_EXPECT_EQ(msg.status, 0);

    /* Slices point into the caller's buffer. */
    TG_EXPECT(msg.target.p == s + 4);
    TG_EXPECT(msg.headers[0].value.p == strstr(s, "example.com"));

    /* Bytes after the head are not counted. */
    TG_EXPECT_EQ(req("GET / HTTP/1.1\r\n\r\nGARBAGE"), 18);
    TG_EXPECT_EQ(req("GET / HTTP/1.1\r\n\r\n"), 18);
    TG_EXPECT_EQ(msg.nheaders, 0);
    EXPECT_SLICE(msg.path, "/");
    EXPECT_SLICE(msg.query, "");
    TG_EXPECT_EQ(msg.host_idx, -1);
    TG_EXPECT_EQ(msg.reqid_idx, -1);
}

static void test_methods(void)
{
    static const struct {
        const char *name;
        enum tg_http_method m;
    } cases[] = {
        {"GET", TG_HTTP_GET},         {"HEAD", TG_HTTP_HEAD},     {"POST", TG_HTTP_POST},
        {"PUT", TG_HTTP_PUT},         {"DELETE", TG_HTTP_DELETE}, {"PATCH", TG_HTTP_PATCH},
        {"OPTIONS", TG_HTTP_OPTIONS}, {"TRACE", TG_HTTP_TRACE},   {"PROPFIND", TG_HTTP_OTHER},
        {"GET-", TG_HTTP_OTHER},      {"GETX", TG_HTTP_OTHER},    {"X-Y_Z~!", TG_HTTP_OTHER},
    };
    char buf[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, "%s /x HTTP/1.1\r\n\r\n", cases[i].name);
        TG_EXPECT_EQ(req(buf), (int)strlen(buf));
        TG_EXPECT_EQ(msg.method, cases[i].m);
        EXPECT_SLICE(msg.method_str, cases[i].name);
    }
    TG_EXPECT_EQ(req("CONNECT h:1 HTTP/1.1\r\n\r\n"), 24);
    TG_EXPECT_EQ(msg.method, TG_HTTP_CONNECT);
    /* A method is a token: no separators, no empty method. */
    EXPECT_REJECT("G(T / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT(" / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET\t/ HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("G\x80T / HTTP/1.1\r\n\r\n");
}

static void test_targets(void)
{
    TG_EXPECT_GT(req("GET /? HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.path, "/");
    EXPECT_SLICE(msg.query, "");
    TG_EXPECT_GT(req("GET /a?b?c HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.path, "/a");
    EXPECT_SLICE(msg.query, "b?c");
    /* Bytes RFC 3986 does not allow but clients send anyway pass through unchanged. */
    TG_EXPECT_GT(req("GET /a|b{c}\"<>^`\\%zz HTTP/1.1\r\n\r\n"), 0);

    /* absolute-form: target is the whole URI, path starts after the authority. */
    TG_EXPECT_GT(req("GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.target, "http://example.com:8080/a/b?q=1");
    EXPECT_SLICE(msg.path, "/a/b");
    EXPECT_SLICE(msg.query, "q=1");
    TG_EXPECT_GT(req("GET HTTPS://[::1]/ HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.path, "/");
    /* An empty path is "/" (a static slice, not in the buffer). */
    TG_EXPECT_GT(req("GET http://example.com HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.path, "/");
    EXPECT_SLICE(msg.query, "");
    TG_EXPECT_GT(req("GET http://example.com?x HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.path, "/");
    EXPECT_SLICE(msg.query, "x");
    EXPECT_REJECT("GET ftp://example.com/ HTTP/1.1\r\n\r\n"); /* scheme we cannot serve */
    EXPECT_REJECT("GET http:///a HTTP/1.1\r\n\r\n");          /* empty authority */
    EXPECT_REJECT("GET http://user@evil/ HTTP/1.1\r\n\r\n");  /* userinfo confusion */
    EXPECT_REJECT("GET http:/example.com/ HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET http://exa mple/ HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET http://a:b/ HTTP/1.1\r\n\r\n"); /* port not digits */
    EXPECT_REJECT("GET http://a]/ HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET http://[::1/ HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET example.com/ HTTP/1.1\r\n\r\n"); /* no form at all */
    EXPECT_REJECT("GET a HTTP/1.1\r\n\r\n");

    /* asterisk-form is for OPTIONS only, and is exactly "*". */
    TG_EXPECT_GT(req("OPTIONS * HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.target, "*");
    EXPECT_SLICE(msg.path, "*");
    EXPECT_REJECT("GET * HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("OPTIONS *x HTTP/1.1\r\n\r\n");

    /* authority-form is for CONNECT only, and CONNECT takes nothing else. */
    TG_EXPECT_GT(req("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), 0);
    EXPECT_SLICE(msg.target, "example.com:443");
    EXPECT_SLICE(msg.path, "example.com:443");
    TG_EXPECT_GT(req("CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n"), 0);
    EXPECT_REJECT("CONNECT / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("CONNECT example.com HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("CONNECT example.com: HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("CONNECT example.com:123456 HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("CONNECT u@example.com:443 HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("CONNECT http://example.com:443/ HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET example.com:443 HTTP/1.1\r\n\r\n");

    /* Bytes a target may not hold. */
    EXPECT_REJECT("GET /a#frag HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET /a\x7f HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET /\xc3\xa9 HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET /a\tb HTTP/1.1\r\n\r\n");
    TG_EXPECT_EQ(tg_http1_parse_request("GET /\0 HTTP/1.1\r\n\r\n", 20, NULL, &msg, &off),
                 TG_EPARSE);
    TG_EXPECT_EQ(off, 5);
}

static void test_request_line(void)
{
    TG_EXPECT_GT(req("GET / HTTP/1.0\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.minor, 0);
    /* A later HTTP/1 minor version is served as 1.1; another major version is 505. */
    TG_EXPECT_GT(req("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.minor, 1);
    TG_EXPECT(msg.flags & TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_GT(req("GET / HTTP/1.9\r\n\r\n"), 0);
    TG_EXPECT_EQ(req("GET / HTTP/2.0\r\n\r\n"), TG_EVERSION);
    TG_EXPECT_EQ(off, 11);
    TG_EXPECT_EQ(msg.method, TG_HTTP_GET);
    TG_EXPECT_EQ(req("GET / HTTP/0.9\r\n\r\n"), TG_EVERSION);
    TG_EXPECT_EQ(req("GET / HTTP/3.0\r\n\r\n"), TG_EVERSION);
    EXPECT_REJECT("GET / HTTP/1.x\r\n\r\n");
    /* Methods are upper-case tokens: "post" could slip past a route for POST. */
    EXPECT_REJECT("get / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("Post / HTTP/1.1\r\n\r\n");
    TG_EXPECT_GT(req("PROPFIND / HTTP/1.1\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.method, TG_HTTP_OTHER);
    TG_EXPECT_GT(req("M-SEARCH /x HTTP/1.1\r\n\r\n"), 0);
    EXPECT_REJECT("GET / HTTP/11\r\n\r\n");
    TG_EXPECT_EQ(req("GET / HTTP/1."), TG_AGAIN);
    EXPECT_REJECT("GET / http/1.1\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.10\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1 \r\n\r\n");
    EXPECT_REJECT("GET /\r\n\r\n"); /* HTTP/0.9 simple request */
    EXPECT_REJECT("GET  / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET /  HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET HTTP/1.1\r\n\r\n");
    EXPECT_REJECT(" GET / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\r\n\r\n");

    /* The offending byte is reported. */
    TG_EXPECT_EQ(req("GET / HTTP/1.1x\r\n\r\n"), TG_EPARSE);
    TG_EXPECT_EQ(off, 14);
    TG_EXPECT_EQ(req("GET  / HTTP/1.1\r\n\r\n"), TG_EPARSE);
    TG_EXPECT_EQ(off, 4);
}

static void test_leading_crlf(void)
{
    TG_EXPECT_EQ(req("\r\nGET / HTTP/1.1\r\n\r\n"), 20);
    TG_EXPECT_EQ(msg.head_len, 20);
    EXPECT_SLICE(msg.method_str, "GET");
    TG_EXPECT_EQ(req("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 26);
    TG_EXPECT_EQ(req("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), TG_EPARSE);
    TG_EXPECT_EQ(off, 8);
    EXPECT_REJECT("\nGET / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("\r\n\nGET / HTTP/1.1\r\n\r\n");
    EXPECT_REJECT("\rGET / HTTP/1.1\r\n\r\n");
    TG_EXPECT_EQ(req("\r\n"), TG_AGAIN);
}

/* Line endings other than CRLF are how two parsers come to see different header sets. */
static void test_bare_lf_and_cr(void)
{
    EXPECT_REJECT("GET / HTTP/1.1\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\n\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a\r\n\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: b\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\r\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\r\n\r\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\n");
    TG_EXPECT_EQ(req("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), TG_EPARSE);
    TG_EXPECT_EQ(off, 23);
}

static void test_field_syntax(void)
{
    /* obs-fold: a line starting with SP/HT continues the previous value for some parsers
     * and starts a new (bogus) field for others. */
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\r\n Transfer-Encoding: chunked\r\n\r\n");
    /* Whitespace between the start line and the first field (RFC 9112 §2.2). */
    EXPECT_REJECT("GET / HTTP/1.1\r\n Host: a\r\n\r\n");
    /* Whitespace before the colon: "Transfer-Encoding : chunked" smuggling. */
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length\t: 5\r\n\r\n");
    TG_EXPECT_EQ(req("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), TG_EPARSE);
    TG_EXPECT_EQ(off, 20);
    /* Names are tokens. */
    EXPECT_REJECT("GET / HTTP/1.1\r\n: a\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX Y: a\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX(Y): a\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX\x80: a\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX\x01: a\r\n\r\n");
    TG_EXPECT_EQ(tg_http1_parse_request("GET / HTTP/1.1\r\nX\0Y: a\r\n\r\n", 26, NULL, &msg, &off),
                 TG_EPARSE);
    TG_EXPECT_EQ(off, 17);
    /* Values: control bytes other than HT are errors, obs-text passes. */
    TG_EXPECT_EQ(tg_http1_parse_request("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26, NULL, &msg, &off),
                 TG_EPARSE);
    TG_EXPECT_EQ(off, 20);
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\x1f\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n");
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nX: caf\xc3\xa9\tok\r\n\r\n"), 0);
    EXPECT_SLICE(msg.headers[0].value, "caf\xc3\xa9\tok");
    /* Trimming of OWS, and empty values. */
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nX: \t a  b \t \r\nY:\r\nZ:   \r\nW:v\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.nheaders, 4);
    EXPECT_SLICE(msg.headers[0].value, "a  b");
    EXPECT_SLICE(msg.headers[1].value, "");
    EXPECT_SLICE(msg.headers[2].value, "");
    EXPECT_SLICE(msg.headers[3].value, "v");
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: x\r\n\r\n"), 0);

    /* A bad byte is found wherever it sits in a long value or target (the scans look at
     * eight bytes at a time), and reported at its own offset. */
    for (size_t i = 0; i < 40; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nX: %s\r\n\r\n",
                 "0123456789abcdefghijklmnopqrstuvwxyzABCD");
        buf[19 + i] = '\x01';
        TG_EXPECT_EQ(tg_http1_parse_request(buf, strlen(buf), NULL, &msg, &off), TG_EPARSE);
        TG_EXPECT_EQ(off, 19 + i);
        snprintf(buf, sizeof buf, "GET /%s HTTP/1.1\r\n\r\n",
                 "0123456789abcdefghijklmnopqrstuvwxyzABCD");
        buf[5 + i] = '#';
        TG_EXPECT_EQ(tg_http1_parse_request(buf, strlen(buf), NULL, &msg, &off), TG_EPARSE);
        TG_EXPECT_EQ(off, 5 + i);
    }
}

static void test_content_length(void)
{
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nContent-Length: 42\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_LENGTH);
    TG_EXPECT_EQ(msg.content_length, 42);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_LENGTH);
    TG_EXPECT_EQ(msg.content_length, 0);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nCONTENT-LENGTH:  007 \r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.content_length, 7);
    /* Identical repeats are one value (RFC 9112 §6.3 item 5). */
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.content_length, 5);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.content_length, 5);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nContent-Length: 5,5 ,\t5\r\n\r\n"), 0);
    /* The largest accepted value, and the first refused. */
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nContent-Length: 1152921504606846975\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.content_length, (UINT64_C(1) << 60) - 1);
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 1152921504606846976\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 18446744073709551617\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n");
    /* Conflicts: the classic CL.CL smuggling. */
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 00 1\r\n\r\n");
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
                 TG_EPARSE);
    TG_EXPECT_EQ(off, 52);
    /* Not a number. */
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5a\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5.0\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: ,5\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 5,,5\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: \"5\"\r\n\r\n");
    /* Names that only look alike are ordinary fields. */
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nContent-Lengthx: abc\r\nContent_Length: x\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
}

static void test_transfer_encoding(void)
{
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\ntransfer-encoding: CHUNKED\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    /* A coding before chunked is one we would have to decode: 501, as nginx answers. */
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_EQ(off, 36);
    /* Codings accumulate across lines. */
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip ,chunked  \r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nTransfer-Encoding:  chunked  \r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    /* TE.TE obfuscation: spellings some upstreams would not read as chunked. */
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked ,\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,,chunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\tchunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t,\r\n\r\n");
    /* HT around the value is OWS, as for every field (RFC 9112 §5.1). */
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    TG_EXPECT_GT(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    /* Chunked not last: the request's length is unknowable (RFC 9112 §6.3 item 4). */
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                  "Transfer-Encoding: gzip\r\n\r\n");
    /* Unknown codings (RFC 9112 §6.1: 501), including look-alikes of chunked. */
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"), TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: foo\r\n\r\n"), TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunk, chunked\r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: br, chunked\r\n\r\n"), TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: x-gzip, DEFLATE,compress, "
                     "x-compress, Gzip, chunked\r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n"), TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, foo\r\n\r\n"),
                 TG_ECODING);
    TG_EXPECT_EQ(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), TG_EPARSE);
    TG_EXPECT_EQ(off, 45);
    /* Twice chunked, parameters, odd bytes. */
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chun ked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\x0b\r\n\r\n");
    /* CL.TE and TE.CL, in both orders. */
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n");
    EXPECT_REJECT("POST / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: gzip\r\n\r\n");
    /* HTTP/1.0 has no Transfer-Encoding (RFC 9112 §6.1). */
    EXPECT_REJECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
}

static void test_keepalive(void)
{
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\n\r\n"), TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), TG_HTTP_F_CONN_CLOSE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.0\r\n\r\n"), 0);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.0\r\nConnection: close\r\n\r\n"), TG_HTTP_F_CONN_CLOSE);
    /* close wins over keep-alive, and is found anywhere in the list or in any line. */
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.0\r\nConnection: keep-alive, CLOSE\r\n\r\n"),
                 TG_HTTP_F_CONN_CLOSE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: x-foo\r\nConnection: ,close,\r\n\r\n"),
                 TG_HTTP_F_CONN_CLOSE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: closed, x-close\r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection:\r\n\r\n"), TG_HTTP_F_KEEPALIVE);
    /* The value is a token list; anything else is malformed. */
    EXPECT_REJECT("GET / HTTP/1.1\r\nConnection: close x\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nConnection: \"close\"\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nConnection: close;q=1\r\n\r\n");
}

static void test_upgrade_expect(void)
{
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE | TG_HTTP_F_UPGRADE);
    TG_EXPECT_EQ(
        req_flags("GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: keep-alive, upgrade\r\n\r\n"),
        TG_HTTP_F_KEEPALIVE | TG_HTTP_F_UPGRADE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n"), TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(req_flags("GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: \r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE);

    TG_EXPECT_EQ(req_flags("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE | TG_HTTP_F_EXPECT_100);
    TG_EXPECT_EQ(req_flags("PUT / HTTP/1.1\r\nexpect:  100-Continue \r\n\r\n"),
                 TG_HTTP_F_KEEPALIVE | TG_HTTP_F_EXPECT_100);
    TG_EXPECT_EQ(req_flags("PUT / HTTP/1.1\r\nExpect: 100-continued\r\n\r\n"), TG_HTTP_F_KEEPALIVE);
    /* An HTTP/1.0 client cannot wait for 100 (RFC 9110 §10.1.1). */
    TG_EXPECT_EQ(req_flags("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), 0);
}

static void test_host_and_reqid(void)
{
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nX: 1\r\nhOsT: Example.COM:8080\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.host_idx, 1);
    TG_EXPECT(msg.flags & TG_HTTP_F_HAS_HOST);
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"), 0);
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n"), 0);
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0); /* empty is allowed */
    TG_EXPECT_EQ(msg.host_idx, 0);
    /* Two Hosts, or one the upstream could read differently, is a 400 (RFC 9112 §3.2). */
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n");
    EXPECT_REJECT("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n");
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"), 0); /* ',' is a sub-delim */
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nX-Request-Id: one\r\nX-Request-ID: two\r\n\r\n"), 0);
    TG_EXPECT_EQ(msg.reqid_idx, 0);
    TG_EXPECT(msg.flags & TG_HTTP_F_HAS_REQID);
}

static void test_limits(void)
{
    /* Header count: exactly the limit passes, one more is TG_ETOOBIG. */
    TG_EXPECT_GT(req_lim("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", 0, 3), 0);
    TG_EXPECT_EQ(req_lim("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n", 0, 3),
                 TG_ETOOBIG);
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < TG_HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "h%d: v\r\n", i);
    memcpy(big + n, "\r\n", 3);
    TG_EXPECT_EQ(req(big), (int)n + 2);
    TG_EXPECT_EQ(msg.nheaders, TG_HTTP_MAX_HEADERS);
    TG_EXPECT_EQ(req_lim(big, 0, 1000), (int)n + 2); /* > TG_HTTP_MAX_HEADERS means max */
    memcpy(big + n, "x: y\r\n\r\n", 9);
    TG_EXPECT_EQ(req(big), TG_ETOOBIG);

    /* Head bytes: a head of exactly the limit passes; one byte more does not, whether or
     * not the rest has arrived. */
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"; /* 27 bytes */
    TG_EXPECT_EQ(req_lim(s, 27, 0), 27);
    TG_EXPECT_EQ(req_lim(s, 26, 0), TG_ETOOBIG);
    TG_EXPECT_EQ(tg_http1_parse_request(s, 26, &(struct tg_http_limits){26, 0}, &msg, &off),
                 TG_ETOOBIG);
    TG_EXPECT_EQ(tg_http1_parse_request(s, 25, &(struct tg_http_limits){26, 0}, &msg, &off),
                 TG_AGAIN);
    /* The limit running out inside the request line is 414, not 431 (RFC 9112 §3). */
    TG_EXPECT_EQ(req_lim("GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 12, 0), TG_EURI);
    TG_EXPECT_EQ(req_lim("GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 28, 0), TG_EURI);
    TG_EXPECT_EQ(req_lim("GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nA: b\r\n\r\n", 34, 0), TG_ETOOBIG);
    /* A malformed byte before the limit is still a parse error. */
    TG_EXPECT_EQ(req_lim("GET / HTTP/1.1\r\nX\x01: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 24, 0),
                 TG_EPARSE);
    /* The default limit is 64 KiB. */
    size_t bn = 70 * 1024;
    char *b = malloc(bn + 1);
    memset(b, 'a', bn);
    memcpy(b, "GET / HTTP/1.1\r\nX: ", 19);
    memcpy(b + bn - 4, "\r\n\r\n", 4);
    b[bn] = 0;
    TG_EXPECT_EQ(tg_http1_parse_request(b, bn, NULL, &msg, &off), TG_ETOOBIG);
    TG_EXPECT_EQ(tg_http1_parse_request(b, 65535, NULL, &msg, &off), TG_AGAIN);
    TG_EXPECT_EQ(tg_http1_parse_request(b, 65536, NULL, &msg, &off), TG_ETOOBIG);
    memcpy(b + 65536 - 4, "\r\n\r\n", 4);
    TG_EXPECT_EQ(tg_http1_parse_request(b, bn, NULL, &msg, &off), 65536);
    free(b);
}

/* Pipelined requests: head_len and the framing tell the caller where the next one starts. */
static void test_pipelining(void)
{
    const char *s = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                    "GET /b HTTP/1.1\r\n\r\n"
                    "\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
    size_t n = strlen(s), pos = 0;
    const char *paths[] = {"/a", "/b", "/c"};
    for (int i = 0; i < 3; i++) {
        int rc = tg_http1_parse_request(s + pos, n - pos, NULL, &msg, &off);
        TG_EXPECT_GT(rc, 0);
        if (rc <= 0)
            return;
        EXPECT_SLICE(msg.path, paths[i]);
        pos += (size_t)rc;
        if (msg.body == TG_HTTP_BODY_LENGTH)
            pos += msg.content_length;
    }
    TG_EXPECT_EQ(pos, n);
    TG_EXPECT(msg.flags & TG_HTTP_F_CONN_CLOSE);
}

/* Byte-by-byte feeding through a growing buffer, as a connection would. */
static void test_incremental(void)
{
    const char *s = "PUT /up?x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                    "Expect: 100-continue\r\n\r\n";
    size_t n = strlen(s);
    char *buf = malloc(n);
    int rc = TG_AGAIN;
    size_t k;
    for (k = 1; k <= n && rc == TG_AGAIN; k++) {
        memcpy(buf, s, k);
        rc = tg_http1_parse_request(buf, k, NULL, &msg, &off);
    }
    TG_EXPECT_EQ(k - 1, n);
    TG_EXPECT_EQ(rc, (int)n);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE | TG_HTTP_F_HAS_HOST | TG_HTTP_F_EXPECT_100);
    free(buf);
    TG_EXPECT_EQ(tg_http1_parse_request("", 0, NULL, &msg, &off), TG_AGAIN);
    TG_EXPECT_EQ(tg_http1_parse_response("", 0, NULL, TG_HTTP_GET, &msg, &off), TG_AGAIN);
}

static void test_helpers(void)
{
    TG_EXPECT_GT(req("GET / HTTP/1.1\r\nContent-Type: a\r\nX-Thing: b\r\n\r\n"), 0);
    TG_EXPECT_EQ(tg_http1_find_header(&msg, "content-type"), 0);
    TG_EXPECT_EQ(tg_http1_find_header(&msg, "X-THING"), 1);
    TG_EXPECT_EQ(tg_http1_find_header(&msg, "x-thin"), -1);
    TG_EXPECT_EQ(tg_http1_find_header(&msg, "x-things"), -1);
    TG_EXPECT(tg_str_ieq((struct tg_str){"Chunked", 7}, "chunked"));
    TG_EXPECT(tg_str_ieq((struct tg_str){"", 0}, ""));
    TG_EXPECT(!tg_str_ieq((struct tg_str){"chunke", 6}, "chunked"));
    TG_EXPECT(!tg_str_ieq((struct tg_str){"chunked", 7}, "chunke"));
    TG_EXPECT(!tg_str_ieq((struct tg_str){"\xc3", 1}, "c"));
    TG_EXPECT(!tg_str_ieq((struct tg_str){"[", 1}, "{"));
}

static void test_responses(void)
{
    TG_EXPECT_GT(resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_EQ(msg.status, 200);
    EXPECT_SLICE(msg.reason, "OK");
    TG_EXPECT_EQ(msg.minor, 1);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_LENGTH);
    TG_EXPECT_EQ(msg.content_length, 12);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_EQ(msg.method, TG_HTTP_OTHER);
    EXPECT_SLICE(msg.target, "");

    TG_EXPECT_GT(
        resp("HTTP/1.1 404 Not  Found \t\r\nTransfer-Encoding: chunked\r\n\r\n", TG_HTTP_POST), 0);
    EXPECT_SLICE(msg.reason, "Not  Found \t");
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_CHUNKED);
    /* Empty reasons, with and without the SP. */
    TG_EXPECT_GT(resp("HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n", TG_HTTP_GET), 0);
    EXPECT_SLICE(msg.reason, "");
    TG_EXPECT_GT(resp("HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n", TG_HTTP_GET), 0);
    EXPECT_SLICE(msg.reason, "");
    TG_EXPECT_EQ(msg.status, 500);
    TG_EXPECT_GT(resp("HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_GT(resp("HTTP/1.1 200 caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", TG_HTTP_GET), 0);

    /* No framing header: read until close, so no keep-alive. */
    TG_EXPECT_GT(resp("HTTP/1.1 200 OK\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_EOF);
    TG_EXPECT_EQ(msg.flags, 0);
    /* A final coding other than chunked also means "until close" for responses. */
    TG_EXPECT_GT(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_EOF);
    TG_EXPECT_EQ(msg.flags, 0);
    TG_EXPECT_GT(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", TG_HTTP_GET),
                 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_EOF);

    /* No body: HEAD, 1xx, 204, 304, and 2xx to CONNECT, whatever the headers say. */
    TG_EXPECT_GT(resp("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", TG_HTTP_HEAD), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_EQ(msg.content_length, 99);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_GT(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", TG_HTTP_HEAD), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_GT(resp("HTTP/1.1 204 No Content\r\n\r\n", TG_HTTP_DELETE), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_GT(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_GT(resp("HTTP/1.1 100 Continue\r\n\r\n", TG_HTTP_PUT), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_EQ(msg.status, 100);
    TG_EXPECT_GT(resp("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      "Upgrade: websocket\r\n\r\n",
                      TG_HTTP_GET),
                 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE | TG_HTTP_F_UPGRADE);
    TG_EXPECT_GT(resp("HTTP/1.1 200 Connection established\r\n\r\n", TG_HTTP_CONNECT), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_NONE);
    TG_EXPECT_GT(resp("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n", TG_HTTP_CONNECT), 0);
    TG_EXPECT_EQ(msg.body, TG_HTTP_BODY_LENGTH);

    /* Keep-alive rules mirror requests. */
    TG_EXPECT_GT(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_EQ(msg.flags, 0);
    TG_EXPECT_EQ(msg.minor, 0);
    TG_EXPECT_GT(
        resp("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", TG_HTTP_GET),
        0);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_KEEPALIVE);
    TG_EXPECT_GT(
        resp("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", TG_HTTP_GET), 0);
    TG_EXPECT_EQ(msg.flags, TG_HTTP_F_CONN_CLOSE);

    /* Malformed responses. */
    TG_EXPECT_EQ(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                      TG_HTTP_GET),
                 TG_EPARSE);
    TG_EXPECT_EQ(
        resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", TG_HTTP_GET),
        TG_EPARSE);
    TG_EXPECT_EQ(
        resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", TG_HTTP_GET),
        TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", TG_HTTP_GET),
                 TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 099 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 20 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 2000 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 2x0 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1  200 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.2 200 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/2 200 X\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 200 O\x01K\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 200 OK\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("\r\nHTTP/1.1 200 OK\r\n\r\n", TG_HTTP_GET), TG_EPARSE);
    TG_EXPECT_EQ(resp("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", TG_HTTP_HEAD), TG_EPARSE);
    TG_EXPECT_EQ(off, 33);
    /* Host is a request field; in a response it is just a field. */
    TG_EXPECT_GT(
        resp("HTTP/1.1 200 OK\r\nHost: a b\r\nHost: c\r\nContent-Length: 0\r\n\r\n", TG_HTTP_GET),
        0);
    TG_EXPECT_EQ(msg.host_idx, -1);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_basic_get();
    test_methods();
    test_targets();
    test_request_line();
    test_leading_crlf();
    test_bare_lf_and_cr();
    test_field_syntax();
    test_content_length();
    test_transfer_encoding();
    test_keepalive();
    test_upgrade_expect();
    test_host_and_reqid();
    test_limits();
    test_pipelining();
    test_incremental();
    test_helpers();
    test_responses();
    return tg_test_report(argv[0]);
}
