/* SPDX-License-Identifier: MIT */
/* A small asynchronous HTTP/1.1 client for the control plane: alert notifications
 * (Alertmanager, webhooks), external-service probes, cache warming. It runs on one
 * tg_loop (the control thread's), one connection per call (`Connection: close`: the
 * traffic is a few calls a second at most, and a fresh connection is what a probe wants
 * to measure anyway), with a deadline for the whole call, a cap on the response body,
 * and Content-Length, chunked or close-delimited bodies. Every call ends with exactly one
 * callback, whether it succeeded, failed or timed out, unless it is cancelled first.
 *
 * Addresses are numeric (IPv4 or IPv6) or "localhost": names are resolved by the caller
 * when it reads its configuration (tg_hclient_target_parse does it for a URL), never on
 * the loop, where a DNS lookup would block every other task.
 *
 * Loop thread only. */
#ifndef TG_HTTP_CLIENT_H
#define TG_HTTP_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/loop.h"
#include "http/http1.h"

/* Where a call goes: a resolved address, the Host header and the path of a URL. */
struct tg_hclient_target {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[256]; /* the Host header: "host:port" as the URL wrote it */
    char path[1024]; /* path and query, "/" when the URL has none */
};

/* Parses "http://HOST[:PORT][/PATH]" (PORT 80 by default) into `t`. HOST is an IPv4
 * address, a bracketed IPv6 address or "localhost". 0, or TG_EPARSE with `eb` naming what
 * is wrong ("https" is refused: there is no TLS here). */
int tg_hclient_target_parse(const char *url, struct tg_hclient_target *t, struct tg_errbuf *eb);

struct tg_hclient_req {
    const char *method;       /* "GET", "POST", ... */
    const char *headers;      /* extra header lines, each ending in "\r\n"; may be NULL */
    const char *body;         /* may be NULL */
    size_t body_len;
    int64_t timeout_us;       /* for the whole call, connect included; > 0 */
    size_t max_body;          /* response body bytes kept at most; more is an error */
};

enum tg_hclient_error {
    TG_HCLIENT_OK = 0,
    TG_HCLIENT_CONNECT,  /* the connection could not be made (refused, unreachable) */
    TG_HCLIENT_TIMEOUT,  /* the deadline passed */
    TG_HCLIENT_IO,       /* the connection failed or closed before a whole response */
    TG_HCLIENT_BAD,      /* the response was not valid HTTP/1.x */
    TG_HCLIENT_TOO_BIG,  /* the response body was larger than max_body */
    TG_HCLIENT_ERRORS
};

/* "ok", "connect", "timeout", "io", "bad_response", "too_big" (metric label values). */
const char *tg_hclient_error_name(enum tg_hclient_error e);

struct tg_hclient_resp {
    enum tg_hclient_error error;
    const char *detail;      /* why, for the log ("connection refused"); "" when OK */
    int status;              /* the response status, 0 on error */
    const struct tg_http_msg *head; /* its head, NULL on error */
    const char *body;        /* the whole body (chunked framing removed) */
    size_t body_len;
    int64_t duration_us;     /* from the call to its end */
    int64_t first_byte_us;   /* from the call to the first response byte, -1 if none */
};

/* Called once per call that was not cancelled. `resp` and what it points at are valid
 * only during the callback. The callback may start new calls and cancel others. */
typedef void tg_hclient_done_fn(void *ctx, const struct tg_hclient_resp *resp);

struct tg_hclient;
struct tg_hclient_call;

struct tg_hclient_stats {
    uint64_t calls;                         /* calls started */
    uint64_t ended[TG_HCLIENT_ERRORS];      /* calls ended, by outcome */
    uint32_t in_flight;
};

int tg_hclient_new(struct tg_loop *loop, struct tg_hclient **out);

/* Cancels every call in flight (no callbacks) and frees. Accepts NULL. */
void tg_hclient_free(struct tg_hclient *c);

/* Starts a call. Returns 0 with the call's handle in `*call` (may be NULL if the caller
 * never cancels), or a negative code (out of memory, out of descriptors) without any
 * callback. A connection error found at once is reported through the callback, at the
 * end of the current loop turn, never from inside this function. */
int tg_hclient_call(struct tg_hclient *c, const struct tg_hclient_target *t,
                    const struct tg_hclient_req *rq, tg_hclient_done_fn *done, void *ctx,
                    struct tg_hclient_call **call);

/* Ends a call without its callback. The handle is invalid afterwards. */
void tg_hclient_cancel(struct tg_hclient_call *call);

void tg_hclient_stats(const struct tg_hclient *c, struct tg_hclient_stats *out);

#endif
