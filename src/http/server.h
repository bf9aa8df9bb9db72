/* SPDX-License-Identifier: MIT */
/* The HTTP/1 server connection engine of the admin listener and the demo API: it accepts
 * on a listening socket registered on one loop, reads and checks request heads with the
 * shared parser, reads bodies, writes responses and closes connections, so limits,
 * timeouts and HTTP/1 rules live in one place. (The proxy's client side has its own state
 * machine, because it streams bodies to an upstream.) A handler (struct tg_hsrv_handler)
 * sees only complete, valid requests and answers each with one tg_hconn_respond* call,
 * then or later.
 *
 * What the engine guarantees, whatever the handler does:
 * - Requests on a connection are answered strictly in order: the next head is parsed only
 *   after the current response is queued (and its body, if streamed or by reference, is
 *   sent). Pipelined requests wait in the read buffer.
 * - Engine errors close the connection after the answer: 400 (malformed head or chunked
 *   body, HTTP/1.1 without Host), 405 (CONNECT), 408 (head not complete within the
 *   header timeout, or a body slower than the minimum rate), 413 (body over its limit),
 *   414 (request-target over its limit), 431 (head over its limit), 501 (a transfer
 *   coding other than chunked), 505 (an HTTP major version other than 1). A client that
 *   stops reading its response is closed after the write timeout, an idle keep-alive one
 *   after the idle timeout, both silently.
 * - At the connection cap, a new client takes the place of a connection that holds a slot
 *   without using it: the longest-idle one that has been idle for a second at least (as
 *   nginx reuses idle keep-alive connections), else the one whose incomplete request head
 *   has been arriving the longest (a slowloris loses its place before its header
 *   timeout). If every connection has a request in progress, the client gets a 503 with
 *   Retry-After and a lingering close (up to a quarter of the cap plus 16 such refusals
 *   at once; past that, a bare close). Answering beats leaving it in the backlog: the
 *   client learns at once, and the listener never stops serving the clients it has.
 * - When accept fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
 *   the listener is paused for 100 ms instead of spinning on a readable socket.
 * - The last response of a connection is followed by a lingering close (half-close, then
 *   read and discard for up to 2 s) so unread request bytes do not turn our FIN into a
 *   RST that destroys the response before the client reads it.
 *
 * Threads: a server and its connections belong to the thread of their loop; every call
 * below is made from that thread. Memory: connection objects and their buffers come from
 * per-server pools and are held only while bytes are in flight; the hot path of a small
 * request allocates nothing once the pools are warm. */
#ifndef TG_HTTP_SERVER_H
#define TG_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "http/http1.h"

struct tg_hsrv;
struct tg_hconn;

/* Limits and timeouts of one server. Zero fields take the defaults noted. */
struct tg_hsrv_limits {
    uint32_t max_conns;        /* open connections (default 1024), see the cap above */
    uint32_t max_head_bytes;   /* request line + headers (default 16 KiB) -> 431 */
    uint32_t max_headers;      /* header fields (default TG_HTTP_MAX_HEADERS) -> 431 */
    uint32_t max_target_bytes; /* request-target (default 8 KiB) -> 414 */
    uint64_t max_body_bytes;   /* default per-request body limit (default 1 MiB) -> 413;
                                * a handler may change it per request */
    int64_t header_timeout_us; /* from the first byte of a head (default 10 s) -> 408 */
    int64_t idle_timeout_us;   /* keep-alive connection with no request (default 60 s) */
    int64_t body_timeout_us;   /* grace before the body rate applies (default 10 s) */
    /* The rate a body must keep up after the grace (default 1024): a body's deadline is
     * its start + body_timeout_us + bytes received / body_min_bytes_per_s -> 408. */
    uint32_t body_min_bytes_per_s;
    int64_t write_timeout_us; /* no send progress for this long -> close (default 30 s) */
};

/* Per-server counters, readable by the owner from the loop's thread. */
struct tg_hsrv_stats {
    uint64_t accepted;       /* connections accepted (and adopted) */
    uint64_t rejected_cap;   /* answered 503 at the connection cap (not in `accepted`) */
    uint64_t evicted_idle;   /* idle connections closed to make room at the cap */
    uint64_t evicted_slow;   /* connections with an incomplete head closed for the same */
    uint64_t accept_errors;  /* accept failures that paused the listener */
    uint64_t requests;       /* valid request heads handed to the handler */
    uint64_t timeouts_idle;  /* idle keep-alive connections closed */
    uint64_t timeouts_write; /* connections closed because the client did not read */
    /* Refused by the engine itself, per status. */
    uint64_t status_400, status_405, status_408, status_413, status_414, status_431, status_501,
        status_505;
    uint32_t conns; /* open connections now, refused ones still closing included */
};

/* The handler's callbacks. `on_head` and `on_request` are required. */
struct tg_hsrv_handler {
    /* A valid head is complete. `m` (and its slices) is valid only during the call. Set up
     * the body here (tg_hconn_set_body_limit, tg_hconn_capture_body); do not respond. */
    void (*on_head)(struct tg_hconn *c, const struct tg_http_msg *m);
    /* Optional: decoded body bytes as they arrive (for bodies too big to capture). */
    void (*on_body)(struct tg_hconn *c, const char *p, size_t n);
    /* The request (head and body) is complete. `m` is the same head again, valid only
     * during the call. Respond now, or later from a timer (an asynchronous response):
     * until then the engine reads nothing more from this connection. */
    void (*on_request)(struct tg_hconn *c, const struct tg_http_msg *m);
    /* A streamed response (tg_hconn_respond_stream) has sent everything queued: queue
     * more with tg_hconn_stream_ref, or finish it with tg_hconn_stream_end. */
    void (*on_write)(struct tg_hconn *c);
    /* Optional: the connection is closing. Stop timers that point at `c`, release what
     * the connection's data holds. `c` stays readable until the end of this loop turn. */
    void (*on_close)(struct tg_hconn *c);
    /* Optional: formats the body of an error the engine answers itself (`status`, a short
     * lowercase `msg`) into dst[0..cap); returns its length and sets *ctype. Default:
     * {"error":"<msg>"} as application/json. */
    size_t (*error_body)(struct tg_hsrv *s, int status, const char *msg, char *dst, size_t cap,
                         const char **ctype);
};

struct tg_hsrv_config {
    struct tg_hsrv_limits limits;
    const struct tg_hsrv_handler *handler; /* borrowed, must outlive the server */
    void *data;                            /* the owner's, see tg_hsrv_data */
    size_t conn_data_bytes;   /* per-connection handler data, zeroed at each connection */
    const char *resp_headers; /* NULL, or header lines (each ending in CRLF) sent in every
                               * response, e.g. "Server: x\r\n"; borrowed */
    const char *log_module;   /* module name in log lines (default "http") */
};

/* Creates a server on `loop` and, if `listen_fd` is not -1, starts accepting on it (a
 * non-blocking listening socket, borrowed: the owner closes it after tg_hsrv_free). The
 * config is copied. Returns 0 or -errno. */
int tg_hsrv_new(struct tg_hsrv **out, struct tg_loop *loop, int listen_fd,
                const struct tg_hsrv_config *cfg);

/* Stops accepting and closes every connection (on_close runs for each). Safe from any
 * callback of the loop: memory is released at the end of the turn or by tg_hsrv_free. */
void tg_hsrv_stop(struct tg_hsrv *s);

/* Stops the server and frees it; the listening socket is unregistered, not closed.
 * Accepts NULL. Loop thread, outside the loop's callbacks (events already fetched in the
 * current turn may still point at its connections): after tg_loop_run has returned, or
 * before it runs. */
void tg_hsrv_free(struct tg_hsrv *s);

/* Serves an already connected, non-blocking socket as if it had been accepted (takes
 * `fd`; closed on failure). Used by tests over socketpairs. Returns 0 or -errno. */
int tg_hsrv_adopt(struct tg_hsrv *s, int fd);

/* From now on every response says "Connection: close" and closes (a draining process). */
void tg_hsrv_set_draining(struct tg_hsrv *s);

/* Copies the counters into *out. */
void tg_hsrv_stats(const struct tg_hsrv *s, struct tg_hsrv_stats *out);

void *tg_hsrv_data(const struct tg_hsrv *s);
struct tg_loop *tg_hsrv_loop(const struct tg_hsrv *s);

/* ---- connections: calls a handler makes on the connection it was given ------------ */

struct tg_hsrv *tg_hconn_server(const struct tg_hconn *c);

/* The handler's per-connection data (conn_data_bytes, zeroed when the client connected). */
void *tg_hconn_data(struct tg_hconn *c);

/* In on_head: this request's body limit (default limits.max_body_bytes; UINT64_MAX for
 * none). A Content-Length above it is answered 413 before any body byte is read. */
void tg_hconn_set_body_limit(struct tg_hconn *c, uint64_t limit);

/* In on_head: keep the first `max_bytes` decoded body bytes (the rest is counted and
 * dropped). The capture is readable with tg_hconn_body until the response is complete. */
void tg_hconn_capture_body(struct tg_hconn *c, size_t max_bytes);

/* The captured body (NULL with *len = 0 if none), and the decoded body bytes received in
 * total (more than *len when the capture was cut). */
const char *tg_hconn_body(const struct tg_hconn *c, size_t *len);
uint64_t tg_hconn_body_bytes(const struct tg_hconn *c);

/* The peer's address as text ("127.0.0.1", "::1"; "?" when unknown) into buf[0..cap);
 * returns its length. One getpeername call: for logs and audit, not for every request. */
size_t tg_hconn_peer(const struct tg_hconn *c, char *buf, size_t cap);

/* In on_request: while the request waits for an asynchronous answer, the client's FIN
 * closes the connection (for requests that may never be answered, such as a simulated
 * hang). Without it, a half-closed client still gets its answer. */
void tg_hconn_cancel_on_hup(struct tg_hconn *c);

/* The answer to the current request. Each formats the head: status line, the server's
 * resp_headers, Content-Type (when `ctype` is not NULL), Content-Length (none for 204 and
 * 304) or Transfer-Encoding, "Connection: close" when the connection will close (and
 * "Connection: keep-alive" to an HTTP/1.0 client that keeps it), then `extra` (NULL or
 * header lines each ending in CRLF). A HEAD request gets the head only. Exactly one of
 * them per request. They return false when the connection was closed instead (out of
 * memory); `c` must then not be used after the current callback. */

/* A complete response; `body` is copied. */
bool tg_hconn_respond(struct tg_hconn *c, int status, const char *ctype, const char *extra,
                      const char *body, size_t len);

/* A complete response whose body is sent from `body` without a copy; `release(arg)` runs
 * once the engine no longer needs it (sent, or the connection closed), also on failure. */
bool tg_hconn_respond_ref(struct tg_hconn *c, int status, const char *ctype, const char *extra,
                          const char *body, size_t len, void (*release)(void *), void *arg);

/* A response whose body is produced later, `len` bytes (with `chunked`, chunked coding
 * instead; an HTTP/1.0 client gets Content-Length framing either way, so `len` must be
 * exact). The engine then calls on_write whenever everything queued has been sent: this
 * is the backpressure, and a slow reader costs no memory. */
bool tg_hconn_respond_stream(struct tg_hconn *c, int status, const char *ctype, const char *extra,
                             uint64_t len, bool chunked);

/* In on_write: queues `n` (> 0) body bytes at `p`, sent without a copy; `p` must stay
 * valid until the next on_write or on_close. */
void tg_hconn_stream_ref(struct tg_hconn *c, const char *p, size_t n);

/* In on_write (or after tg_hconn_respond_stream): the streamed body is complete. */
void tg_hconn_stream_end(struct tg_hconn *c);

/* Closes the connection now (pending output is dropped). on_close runs. */
void tg_hconn_close(struct tg_hconn *c, const char *reason);

#endif
