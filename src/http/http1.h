/* SPDX-License-Identifier: MIT */
/* HTTP/1.x message parser: request and response heads, and chunked body framing.
 * Allocation-free and incremental in the simplest way: the caller keeps appending bytes
 * to its buffer and calls the head parser again on the whole buffer until it stops
 * returning TG_AGAIN (heads are small, so re-scanning is cheaper than keeping state).
 * Names and values are slices into the caller's buffer, valid until it is compacted.
 * This is the proxy's request-smuggling defence, so it is strict (RFC 9110/9112):
 * conflicting Content-Length, Content-Length with Transfer-Encoding, Transfer-Encoding
 * other than a final "chunked", obs-fold, NUL/CR/LF or other control bytes inside
 * header names or values, whitespace before the colon, bad chunk sizes: all TG_EPARSE.
 * Called from worker threads (proxy), the demo API and the load generator. */
#ifndef TG_HTTP_HTTP1_H
#define TG_HTTP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A byte range in the caller's buffer. Not NUL-terminated. */
struct tg_str {
    const char *p;
    uint32_t len;
};

enum tg_http_method {
    TG_HTTP_OTHER = 0, /* an upper-case token we do not know by name; see `method_str` */
    TG_HTTP_GET,
    TG_HTTP_HEAD,
    TG_HTTP_POST,
    TG_HTTP_PUT,
    TG_HTTP_DELETE,
    TG_HTTP_PATCH,
    TG_HTTP_OPTIONS,
    TG_HTTP_CONNECT,
    TG_HTTP_TRACE,
};

/* How the body that follows the head is delimited. */
enum tg_http_body {
    TG_HTTP_BODY_NONE = 0, /* no body (or a response to HEAD, 1xx, 204, 304) */
    TG_HTTP_BODY_LENGTH,   /* Content-Length bytes */
    TG_HTTP_BODY_CHUNKED,  /* chunked coding, see tg_http1_chunked_* */
    TG_HTTP_BODY_EOF,      /* responses only: until the server closes */
};

struct tg_http_header {
    struct tg_str name;  /* token, case preserved */
    struct tg_str value; /* leading and trailing whitespace stripped */
};

#define TG_HTTP_MAX_HEADERS 100

/* Flags derived from the headers while parsing, so callers never rescan. */
enum tg_http_flags {
    TG_HTTP_F_KEEPALIVE = 1 << 0,  /* persistent connection after this message */
    TG_HTTP_F_EXPECT_100 = 1 << 1, /* request: "Expect: 100-continue" */
    TG_HTTP_F_UPGRADE = 1 << 2,    /* "Connection: upgrade" with a non-empty Upgrade */
    TG_HTTP_F_HAS_HOST = 1 << 3,   /* request: a Host header was present */
    TG_HTTP_F_CONN_CLOSE = 1 << 4, /* "Connection: close" was present */
    TG_HTTP_F_HAS_REQID = 1 << 5,  /* "X-Request-Id" present (index in `reqid_idx`) */
};

struct tg_http_msg {
    /* Request line (requests only). */
    enum tg_http_method method;
    struct tg_str method_str;
    struct tg_str target; /* request-target as sent, e.g. "/a/b?x=1" */
    struct tg_str path;   /* target up to '?' (the whole target if no query); absolute-form:
                           * from the '/' after the authority, or a static "/" (not in the
                           * buffer) if there is none; CONNECT and "*": the whole target */
    struct tg_str query;  /* after '?', empty if none */
    /* Status line (responses only). */
    int status;
    struct tg_str reason;

    int minor; /* HTTP/1.<minor>: 0 or 1 */
    enum tg_http_body body;
    uint64_t content_length; /* when body == TG_HTTP_BODY_LENGTH (also set when a
                              * Content-Length is present but body is NONE; else 0) */
    unsigned flags;          /* enum tg_http_flags */
    int reqid_idx;           /* index of X-Request-Id in headers, -1 if none */
    int host_idx;            /* index of Host in headers, -1 if none (requests only) */

    uint32_t nheaders;
    struct tg_http_header headers[TG_HTTP_MAX_HEADERS]; /* entries >= nheaders unspecified */
    uint32_t head_len; /* bytes of the head including the final CRLFCRLF */
};

/* Limits applied while parsing a head. */
struct tg_http_limits {
    uint32_t max_head_bytes; /* larger head -> TG_ETOOBIG (431); 0 = 64 KiB */
    uint32_t max_headers;    /* more headers -> TG_ETOOBIG; 0 or > TG_HTTP_MAX_HEADERS = max */
};

/* Parses a request head from buf[0..len). Returns the head length (> 0) when complete,
 * TG_AGAIN when more bytes are needed, TG_ETOOBIG when a limit is exceeded (431),
 * TG_EURI when the limit ran out inside the request line (414), TG_EVERSION for an HTTP
 * major version other than 1 (505), TG_ECODING for a transfer coding other than a lone
 * "chunked" (501), or TG_EPARSE (400) with `*err_off` (if not NULL) set to the offset of
 * the offending byte (for a semantic error such as a Content-Length conflict, the start
 * of the offending value; the other errors set it too where a position makes sense).
 * `msg` is fully overwritten; after an error, `msg->method` is still the method of a
 * request line that was read. HTTP/1.2 and later HTTP/1 minor versions are served as
 * HTTP/1.1 (`minor` is 1). A method with a lower-case letter is TG_EPARSE (see http1.c).
 * Keep-alive follows the version default and Connection tokens.
 * Body framing: Transfer-Encoding chunked (must be the last coding, else TG_EPARSE as RFC
 * 9112 §6.3 says; any other coding is TG_ECODING; obfuscated spellings are TG_EPARSE),
 * else Content-Length (repeated identical values allowed, as RFC 9112 §6.3 permits;
 * differing ones are TG_EPARSE), else none. HTTP/1.0 with Transfer-Encoding is TG_EPARSE.
 * Cost: O(len), no allocation, no syscalls. */
int tg_http1_parse_request(const char *buf, size_t len, const struct tg_http_limits *lim,
                           struct tg_http_msg *msg, size_t *err_off);

/* Parses a response head. `req_method` is the method of the request it answers (HEAD
 * and CONNECT change framing); 1xx, 204 and 304 have no body; no framing header means
 * TG_HTTP_BODY_EOF (and keep-alive off). Returns the head length, TG_AGAIN, TG_ETOOBIG or
 * TG_EPARSE (a version other than HTTP/1.0 or 1.1 included: an upstream that claims
 * more is broken, not newer); registered codings before a final chunked are fine. */
int tg_http1_parse_response(const char *buf, size_t len, const struct tg_http_limits *lim,
                            enum tg_http_method req_method, struct tg_http_msg *msg,
                            size_t *err_off);

/* Finds a header by case-insensitive name; returns its index or -1. O(nheaders). */
int tg_http1_find_header(const struct tg_http_msg *msg, const char *name);

/* Case-insensitive comparison of a slice with a NUL-terminated lowercase string. */
bool tg_str_ieq(struct tg_str s, const char *lower);

/* Chunked-body scanner. It validates the chunked framing of a body that is forwarded
 * verbatim (the proxy passes chunk headers through unchanged), and tells where the body
 * ends. Chunk-size lines: hex digits (at most 15, so sizes fit in 60 bits), optional
 * chunk extensions (token[=token|quoted-string], BWS allowed around ';' and '='),
 * CRLF. Bare LF, a missing CRLF after chunk data, or a bad size is TG_EPARSE. Trailer
 * fields are validated like headers (syntax only; the section is limited to 64 KiB) and
 * passed through. Zero-initialise to start. */
struct tg_http_chunked {
    unsigned state;      /* private */
    uint64_t remaining;  /* bytes of chunk data left in the current chunk */
    uint32_t line_len;   /* private: bytes in the current size/trailer line */
    uint64_t body_bytes; /* decoded payload bytes seen so far */
};

/* Scans buf[0..len). Returns the number of bytes that belong to the chunked body (<= len),
 * setting *done when the final CRLF after the last chunk/trailers has been consumed (no
 * byte after it is counted), or TG_EPARSE. Lines longer than 4 KiB are TG_EPARSE.
 * Can be called with any split of the input. Cost: O(len) for framing bytes, O(1) per
 * chunk of data. */
long tg_http1_chunked_scan(struct tg_http_chunked *c, const char *buf, size_t len, bool *done);

/* Decodes in place: like tg_http1_chunked_scan, but also copies only the payload bytes
 * to `out` (which may equal `buf`), returning the count in *out_len. For the demo API
 * and the load generator, which consume bodies rather than forward them. */
long tg_http1_chunked_decode(struct tg_http_chunked *c, const char *buf, size_t len, char *out,
                             size_t *out_len, bool *done);

/* Reason phrase for a status code ("OK", "Not Found"; "Unknown" otherwise). */
const char *tg_http_reason(int status);

/* Method name for an enum value ("GET"...; "OTHER" for TG_HTTP_OTHER). */
const char *tg_http_method_name(enum tg_http_method m);

#endif
