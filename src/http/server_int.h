/* SPDX-License-Identifier: MIT */
/* Internals of the HTTP/1 server engine (server.h), shared by server.c (listener, accept,
 * connection objects, counters), server_conn.c (the read side: heads, bodies, timeouts,
 * lingering close) and server_resp.c (the write side: response heads, copies, references,
 * streams and the engine's own error answers). */
#ifndef TG_HTTP_SERVER_INT_H
#define TG_HTTP_SERVER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/loop.h"
#include "http/http1.h"
#include "http/server.h"

#define TG_HSRV__OUT_BLOCK (16 * 1024) /* write buffer: heads, small bodies, chunk lines */
#define TG_HSRV__OUT_RESERVE 4096      /* room a request needs before it is started */
#define TG_HSRV__BODY_ROOM (8 * 1024)  /* read room past a maximal head, for body bytes */

enum tg_hsrv__state {
    TG_HSRV__HEAD = 0, /* reading (or waiting for) the next request head */
    TG_HSRV__BODY,     /* reading the body of the current request */
    TG_HSRV__WAIT,     /* on_request returned without answering: the handler owes it */
    TG_HSRV__SEND,     /* the answer is queued but its body (a tail or a stream) is not sent */
    TG_HSRV__LINGER,   /* last answer queued: flush, half-close, drain, close */
    TG_HSRV__CLOSED,
};

struct tg_hconn {
    struct tg_io io;
    struct tg_hsrv *srv;
    struct tg_hconn *prev, *next; /* the server's open connections */
    struct tg_timer timer;        /* the nearest deadline, armed lazily (server_conn.c) */
    struct tg_defer defer;        /* returns the object to the pool after the turn */
    enum tg_hsrv__state state;
    bool readable, writable; /* an edge not yet consumed to EAGAIN / a short read */
    bool hup;                /* the peer's FIN was reported: read on to EOF */
    bool peer_eof;           /* read() returned 0 */
    bool shut_wr;            /* we half-closed (lingering close) */
    bool driving;            /* inside tg_hsrv__drive: calls from handlers do not recurse */
    bool resume;             /* the drive budget ran out: continue from a zero timer */
    bool rejected;           /* over the cap: answered 503, lingering, not counted in it */
    /* The current request. */
    bool keepalive, head_only, close_after, cancel_on_hup;
    int minor;
    uint32_t head_len; /* its head, kept at in.head while the body is read */
    enum tg_http_body body;
    uint64_t body_left; /* TG_HTTP_BODY_LENGTH: bytes still to read */
    struct tg_http_chunked chunked;
    uint64_t body_bytes, body_limit;
    char *cap; /* captured body (malloc'd), cap_len of cap_size bytes used, at most cap_max */
    size_t cap_len, cap_size, cap_max;
    /* Output: `out`, then the tail (an owned copy, a borrowed body or a stream piece). */
    struct tg_buf in, out;
    const char *tail_p;
    size_t tail_len;
    char *tail_owned;
    void (*release)(void *);
    void *release_arg;
    bool streaming, stream_chunked, stream_in_chunk, stream_ended;
    /* Deadlines (loop time, microseconds). */
    int64_t idle_since_us, head_start_us, body_start_us, stall_since_us, linger_until_us;
    /* The handler's data follows at TG_HSRV__DATA_OFF. */
};

#define TG_HSRV__DATA_OFF ((sizeof(struct tg_hconn) + 15) & ~(size_t)15)

struct tg_hsrv {
    struct tg_loop *loop;
    struct tg_hsrv_config cfg; /* limits with the defaults filled in */
    size_t resp_headers_len;   /* of cfg.resp_headers ("" when not set) */
    struct tg_http_limits plim;
    int lfd;
    struct tg_io lio;
    struct tg_timer accept_pause;
    int64_t accept_warned_us;
    bool draining;
    struct tg_bufpool inpool, outpool;
    struct tg_hconn *conns; /* open connections */
    uint32_t nrejecting;    /* of which refused at the cap (see `rejected`) */
    struct tg_hconn *free_conns;
    uint32_t nfree;
    struct tg_hsrv_stats st;
    struct tg_http_msg msg; /* parse scratch: too big for the stack of every callback */
};

/* server.c */
/* The connection was closed: unlinks it and queues its object for reuse after the turn. */
void tg_hsrv__conn_gone(struct tg_hconn *c);

/* server_conn.c */
void tg_hsrv__conn_init(struct tg_hconn *c);
void tg_hsrv__on_io(struct tg_io *io, unsigned events);
/* Runs the connection as far as it can go without blocking; re-arms its timer. */
void tg_hsrv__drive(struct tg_hconn *c);
/* The current answer is fully queued and sent as far as the engine must wait for: the
 * request is over; the connection reads the next head or lingers and closes. */
void tg_hsrv__request_done(struct tg_hconn *c);

/* server_resp.c */
/* Sends `out`, then the tail. Returns 1 when both are empty, 0 when the socket is full
 * (resumed on the WRITE edge), -1 when the connection failed and was closed. */
int tg_hsrv__flush(struct tg_hconn *c);
/* Drops the tail and runs its release callback, if any. */
void tg_hsrv__tail_drop(struct tg_hconn *c);
/* Appends `n` bytes of framing to `out`; false if the connection was closed instead. */
bool tg_hsrv__out_append(struct tg_hconn *c, const char *s, size_t n);
/* Answers an error the engine detected (counted per status) and closes afterwards. */
void tg_hsrv__error(struct tg_hconn *c, int status, const char *msg);
/* The SEND state: sends the tail, asks the handler for more of a stream. */
bool tg_hsrv__step_send(struct tg_hconn *c);
/* Formats the engine's error body (the handler's error_body, or {"error":"msg"}). */
size_t tg_hsrv__error_body(struct tg_hsrv *s, int status, const char *msg, char *dst, size_t cap,
                           const char **ctype);

#endif
