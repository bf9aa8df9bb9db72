/* SPDX-License-Identifier: MIT */
/* The demo API's side of a connection: the callbacks the HTTP server engine
 * (http/server.h) calls, and /bytes streaming. Everything HTTP/1 (framing, pipelining,
 * limits, timeouts, lingering close) is the engine's; this file connects its request
 * events to endpoints.c and releases what a connection holds when it closes. /bytes
 * answers are windows onto one shared read-only pattern, handed to the engine without a
 * copy each time it has sent the previous one, so streaming N bytes costs no memory per
 * connection whatever N is, and a client that does not read stops the stream. */
#include "demo/server_int.h"

#include <pthread.h>
#include <string.h>

#define PATTERN_BYTES (256 * 1024) /* /bytes payload source, shared read-only */

static char pattern[PATTERN_BYTES];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void fill_pattern(void)
{
    static const char line[] = "tailguard demo-api /bytes payload 0123456789abcdefghijklmnopq\n";
    for (size_t i = 0; i < PATTERN_BYTES; i++)
        pattern[i] = line[i % (sizeof line - 1)];
}

static void on_head(struct tg_hconn *c, const struct tg_http_msg *m)
{
    struct tg_demo_conn *d = tg_hconn_data(c);
    if (!d->w) {
        d->hc = c;
        d->w = tg_hsrv_data(tg_hconn_server(c));
    }
    tg_demo__ep_begin(d, m);
}

static void on_request(struct tg_hconn *c, const struct tg_http_msg *m)
{
    tg_demo__ep_dispatch(tg_hconn_data(c), m);
}

void tg_demo__respond_bytes(struct tg_demo_conn *d, uint64_t n, bool chunked)
{
    pthread_once(&pattern_once, fill_pattern);
    d->stream_left = n;
    tg_hconn_respond_stream(d->hc, 200, "application/octet-stream", NULL, n, chunked);
}

/* The previous piece of a /bytes answer is sent: queue the next one, or end it. */
static void on_write(struct tg_hconn *c)
{
    struct tg_demo_conn *d = tg_hconn_data(c);
    uint64_t k = d->stream_left < PATTERN_BYTES ? d->stream_left : PATTERN_BYTES;
    if (k == 0) {
        tg_hconn_stream_end(c);
        return;
    }
    d->stream_left -= k;
    tg_hconn_stream_ref(c, pattern, (size_t)k);
}

static void on_close(struct tg_hconn *c)
{
    struct tg_demo_conn *d = tg_hconn_data(c);
    if (!d->w)
        return; /* closed before its first request */
    tg_timer_stop(d->w->loop, &d->timer);
    tg_demo__ep_end(d);
    tg_buf_release(&d->big, &d->w->bigpool);
}

const struct tg_hsrv_handler tg_demo__handler = {
    .on_head = on_head,
    .on_request = on_request,
    .on_write = on_write,
    .on_close = on_close,
};
