/* SPDX-License-Identifier: MIT */
/* Unit tests for the HTTP/1 server engine (src/http/server*.c), without a network: each
 * connection is one end of an AF_UNIX socketpair adopted by a server on a real loop, the
 * other end is the client; accept, the connection cap and the EMFILE pause use an
 * AF_UNIX listener. Covered: pipelining past the drive budget, keep-alive and HTTP/1.0,
 * the engine's refusals (400 without Host, 405, 413, 414, 431, 501) and their counters,
 * the header, idle, body-rate and write timeouts, 100-continue, captured, streamed
 * (on_body) and chunked bodies, asynchronous, borrowed and streamed responses, HEAD, the
 * cancel-on-close of a pending request, eviction (idle, then slow heads) and 503 at the cap, and
 * the accept pause.
 *
 * The loop is pumped in short non-blocking turns (pump()) until the client side has
 * seen what the test waits for, or a time limit passes, so a broken engine fails a check
 * instead of hanging. Timeouts are configured in tens of milliseconds. */
#include "http/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "tg_test.h"

/* ---- a test handler ----------------------------------------------------------------- */

static int closed_count, released_count;
static uint64_t streamed_bytes; /* decoded body bytes seen by on_body */
static struct tg_hconn *async_conn;
static struct tg_timer async_timer;
static struct tg_loop *cur_loop;
static char pattern[65536];
static char ref_body[100000];

struct cdata {
    uint64_t stream_left;
};

static bool path_is(const struct tg_http_msg *m, const char *p)
{
    return m->path.len == strlen(p) && memcmp(m->path.p, p, m->path.len) == 0;
}

static void on_head(struct tg_hconn *c, const struct tg_http_msg *m)
{
    if (path_is(m, "/cap"))
        tg_hconn_capture_body(c, 64);
    else if (path_is(m, "/small"))
        tg_hconn_set_body_limit(c, 10);
}

static void answer_late(struct tg_timer *t)
{
    (void)t;
    tg_hconn_respond(async_conn, 200, "text/plain", NULL, "late", 4);
    async_conn = NULL;
}

static void release_cb(void *arg)
{
    (void)arg;
    released_count++;
}

static void on_request(struct tg_hconn *c, const struct tg_http_msg *m)
{
    struct cdata *d = tg_hconn_data(c);
    char extra[64];
    if (path_is(m, "/cap")) {
        size_t n = 0;
        const char *b = tg_hconn_body(c, &n);
        snprintf(extra, sizeof extra, "X-Body-Bytes: %llu\r\n",
                 (unsigned long long)tg_hconn_body_bytes(c));
        tg_hconn_respond(c, 200, "text/plain", extra, b, n);
    } else if (path_is(m, "/async")) {
        async_conn = c;
        tg_timer_start(cur_loop, &async_timer, tg_loop_now_us(cur_loop) + 20000, answer_late, NULL);
    } else if (path_is(m, "/stream") || path_is(m, "/stream-chunked")) {
        d->stream_left = strtoull(m->query.p, NULL, 10);
        tg_hconn_respond_stream(c, 200, "application/octet-stream", NULL, d->stream_left,
                                path_is(m, "/stream-chunked"));
    } else if (path_is(m, "/ref")) {
        tg_hconn_respond_ref(c, 200, NULL, NULL, ref_body, sizeof ref_body, release_cb, NULL);
    } else if (path_is(m, "/stop")) {
        tg_hsrv_stop(tg_hconn_server(c));
    } else if (path_is(m, "/hang")) {
        tg_hconn_cancel_on_hup(c);
    } else {
        /* The query names the request, so order is visible in the answers. */
        tg_hconn_respond(c, 200, "text/plain", NULL, m->query.p, m->query.len);
    }
}

static void on_body(struct tg_hconn *c, const char *p, size_t n)
{
    (void)c;
    for (size_t i = 0; i < n; i++)
        TG_EXPECT(p[i] != '\r' && p[i] != '\n'); /* decoded: no chunk framing */
    streamed_bytes += n;
}

static void on_write(struct tg_hconn *c)
{
    struct cdata *d = tg_hconn_data(c);
    if (!d->stream_left) {
        tg_hconn_stream_end(c);
        return;
    }
    size_t k = d->stream_left < sizeof pattern ? (size_t)d->stream_left : sizeof pattern;
    d->stream_left -= k;
    tg_hconn_stream_ref(c, pattern, k);
}

static void on_close(struct tg_hconn *c)
{
    closed_count++;
    if (c == async_conn) {
        tg_timer_stop(cur_loop, &async_timer);
        async_conn = NULL;
    }
}

static const struct tg_hsrv_handler handler = {
    .on_head = on_head,
    .on_body = on_body,
    .on_request = on_request,
    .on_write = on_write,
    .on_close = on_close,
};

/* ---- the fixture: one server, one socketpair client ------------------------------- */

struct fx {
    struct tg_loop *loop;
    struct tg_hsrv *srv;
    int cfd;
    char got[1 << 20];
    size_t got_len;
    uint64_t got_total; /* bytes read, including those not kept */
    bool eof;
};

static struct fx fx;
static struct tg_defer stopper;

static void stop_cb(struct tg_defer *d)
{
    tg_loop_stop(d->data);
}

static void one_turn(struct tg_loop *loop)
{
    tg_loop_defer(loop, &stopper, stop_cb, loop);
    tg_loop_run(loop);
}

static void client_read(struct fx *f)
{
    for (;;) {
        char buf[65536];
        ssize_t n = read(f->cfd, buf, sizeof buf);
        if (n > 0) {
            size_t k = (size_t)n < sizeof f->got - 1 - f->got_len ? (size_t)n
                                                                  : sizeof f->got - 1 - f->got_len;
            memcpy(f->got + f->got_len, buf, k);
            f->got_len += k;
            f->got[f->got_len] = 0;
            f->got_total += (uint64_t)n;
            continue;
        }
        if (n == 0)
            f->eof = true;
        return;
    }
}

static size_t count_str(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static bool until_eof(struct fx *f)
{
    return f->eof;
}

static uint64_t want_total;
static bool until_total(struct fx *f)
{
    return f->got_total >= want_total;
}

static bool until_closed(struct fx *f)
{
    (void)f;
    return closed_count > 0;
}

static bool until_chunked_end(struct fx *f)
{
    return f->got_len >= 7 && memcmp(f->got + f->got_len - 7, "\r\n0\r\n\r\n", 7) == 0;
}

static size_t want_responses;
static bool until_responses(struct fx *f)
{
    return count_str(f->got, "HTTP/1.1 ") >= want_responses;
}

static void sleep_us(long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Runs loop turns and reads the client side until `until` holds or `max_ms` pass.
 * Returns the elapsed milliseconds. */
static long pump(struct fx *f, long max_ms, bool (*until)(struct fx *), bool read_client)
{
    int64_t start = tg_clock_mono_us();
    for (;;) {
        one_turn(f->loop);
        if (read_client)
            client_read(f);
        long ms = (long)((tg_clock_mono_us() - start) / 1000);
        if ((until && until(f)) || ms >= max_ms)
            return ms;
        sleep_us(500);
    }
}

static struct tg_hsrv_config config(const struct tg_hsrv_limits *lim)
{
    struct tg_hsrv_config cfg = {
        .handler = &handler,
        .conn_data_bytes = sizeof(struct cdata),
        .resp_headers = "Server: t\r\n",
    };
    if (lim)
        cfg.limits = *lim;
    return cfg;
}

static void fx_open(struct fx *f, const struct tg_hsrv_limits *lim)
{
    memset(f, 0, sizeof *f);
    TG_EXPECT_EQ(tg_loop_new(&f->loop, NULL, NULL), 0);
    cur_loop = f->loop;
    struct tg_hsrv_config cfg = config(lim);
    TG_EXPECT_EQ(tg_hsrv_new(&f->srv, f->loop, -1, &cfg), 0);
    int sv[2];
    TG_EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    TG_EXPECT_EQ(tg_hsrv_adopt(f->srv, sv[0]), 0);
    f->cfd = sv[1];
    closed_count = released_count = 0;
}

static void fx_close(struct fx *f)
{
    tg_hsrv_free(f->srv);
    close(f->cfd);
    tg_loop_free(f->loop);
}

static void fx_send(struct fx *f, const char *s)
{
    size_t n = strlen(s);
    TG_EXPECT_EQ(write(f->cfd, s, n), (ssize_t)n);
}

static struct tg_hsrv_stats stats(struct fx *f)
{
    struct tg_hsrv_stats st;
    tg_hsrv_stats(f->srv, &st);
    return st;
}

/* Sends `req` on a fresh connection; expects one answer `status_line` then a close. */
static void expect_refusal(const struct tg_hsrv_limits *lim, const char *req,
                           const char *status_line, uint64_t requests)
{
    fx_open(&fx, lim);
    fx_send(&fx, req);
    pump(&fx, 2000, until_eof, true);
    TG_EXPECT(fx.eof);
    if (strncmp(fx.got, status_line, strlen(status_line)) != 0)
        TG_EXPECT_STREQ(fx.got, status_line);
    TG_EXPECT(strstr(fx.got, "\r\nConnection: close\r\n") != NULL);
    TG_EXPECT_EQ(count_str(fx.got, "HTTP/1.1 "), 1);
    TG_EXPECT_EQ(stats(&fx).requests, requests);
    fx_close(&fx);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_pipelining_in_order(void)
{
    fx_open(&fx, NULL);
    /* 100 requests in one write: more than one drive's budget, answered in order. */
    char req[100 * 48];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(req + n, sizeof req - n, "GET /?%03d HTTP/1.1\r\nHost: x\r\n\r\n", i);
    TG_EXPECT_EQ(write(fx.cfd, req, n), (ssize_t)n);
    want_responses = 100;
    pump(&fx, 2000, until_responses, true);
    TG_EXPECT_EQ(count_str(fx.got, "HTTP/1.1 200 OK\r\n"), 100);
    const char *p = fx.got;
    for (int i = 0; i < 100 && p; i++) {
        char want[16];
        snprintf(want, sizeof want, "\r\n\r\n%03d", i);
        const char *q = strstr(p, want);
        TG_EXPECT(q != NULL);
        p = q ? q + 1 : NULL;
    }
    TG_EXPECT(!fx.eof);
    TG_EXPECT_EQ(stats(&fx).requests, 100);
    TG_EXPECT(strstr(fx.got, "Server: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n"));
    fx_close(&fx);
}

static void test_http10_and_keepalive(void)
{
    fx_open(&fx, NULL);
    fx_send(&fx, "GET /?a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    want_responses = 1;
    pump(&fx, 1000, until_responses, true);
    TG_EXPECT(strstr(fx.got, "\r\nConnection: keep-alive\r\n") != NULL);
    fx_send(&fx, "GET /?b HTTP/1.0\r\n\r\n");
    pump(&fx, 1000, until_eof, true);
    TG_EXPECT(fx.eof);
    TG_EXPECT_EQ(count_str(fx.got, "HTTP/1.1 200"), 2);
    TG_EXPECT(strstr(fx.got, "\r\nConnection: close\r\n\r\nb") != NULL);
    fx_close(&fx);

    /* HTTP/1.1 with Connection: close. */
    fx_open(&fx, NULL);
    fx_send(&fx, "GET /?c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /?d HTTP/1.1\r\n");
    pump(&fx, 1000, until_eof, true);
    TG_EXPECT(fx.eof);
    TG_EXPECT_EQ(count_str(fx.got, "HTTP/1.1 "), 1);
    fx_close(&fx);
}

static void test_refusals(void)
{
    struct tg_hsrv_limits lim = {.max_target_bytes = 100, .max_head_bytes = 1024};
    expect_refusal(&lim, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", 0);
    expect_refusal(&lim, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", "HTTP/1.1 400 ", 0);
    expect_refusal(&lim, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "HTTP/1.1 405 ", 0);
    expect_refusal(&lim, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 ", 0);
    expect_refusal(&lim, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\n",
                   "HTTP/1.1 501 ", 0);
    expect_refusal(&lim, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                   "HTTP/1.1 501 ", 0);
    expect_refusal(&lim, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                   "HTTP/1.1 400 ", 0);
    char big[2048];
    /* A target over its limit: 414 when complete, and before the line is. */
    snprintf(big, sizeof big, "GET /%0150d HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    expect_refusal(&lim, big, "HTTP/1.1 414 ", 0);
    snprintf(big, sizeof big, "GET /%0200d", 0);
    expect_refusal(&lim, big, "HTTP/1.1 414 ", 0);
    /* A head over its limit: 431. */
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: x\r\nX: %01100d\r\n\r\n", 0);
    expect_refusal(&lim, big, "HTTP/1.1 431 ", 0);

    /* A body over the limit: 413 from Content-Length, and while reading a chunked one. */
    expect_refusal(NULL, "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n",
                   "HTTP/1.1 413 ", 1);
    fx_open(&fx, NULL);
    fx_send(&fx, "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    pump(&fx, 1000, until_eof, true);
    TG_EXPECT(strncmp(fx.got, "HTTP/1.1 413 ", 13) == 0);
    TG_EXPECT(strstr(fx.got, "{\"error\":\"request body too large\"}") != NULL);
    TG_EXPECT_EQ(stats(&fx).status_413, 1);
    TG_EXPECT_EQ(stats(&fx).requests, 1);
    fx_close(&fx);

    /* Bad chunked framing: 400. Each refusal is counted under its status. */
    fx_open(&fx, NULL);
    fx_send(&fx, "POST /cap HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    pump(&fx, 1000, until_eof, true);
    TG_EXPECT(strncmp(fx.got, "HTTP/1.1 400 ", 13) == 0);
    struct tg_hsrv_stats st = stats(&fx);
    TG_EXPECT_EQ(st.status_400, 1);
    TG_EXPECT_EQ(st.status_413 + st.status_414 + st.status_431 + st.status_501 + st.status_505, 0);
    fx_close(&fx);
}

static void test_header_and_idle_timeouts(void)
{
    struct tg_hsrv_limits lim = {.header_timeout_us = 60000, .idle_timeout_us = 150000};
    /* A head that never completes: 408 after the header timeout, counted. */
    fx_open(&fx, &lim);
    fx_send(&fx, "GET / HTTP/1.1\r\nHo");
    long ms = pump(&fx, 2000, until_eof, true);
    TG_EXPECT(strncmp(fx.got, "HTTP/1.1 408 ", 13) == 0);
    TG_EXPECT_GE(ms, 50);
    TG_EXPECT_EQ(stats(&fx).status_408, 1);
    fx_close(&fx);

    /* Trickling bytes does not extend it: the clock starts at the head's first byte, so
     * the 408 comes long before a byte every 10 ms has delivered the 41-byte head. */
    fx_open(&fx, &lim);
    const char *drip = "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-B: 2\r\n";
    size_t sent = 0;
    for (; drip[sent] && !fx.eof; sent++) {
        TG_EXPECT_EQ(write(fx.cfd, drip + sent, 1), 1);
        pump(&fx, 10, until_eof, true);
    }
    TG_EXPECT(fx.eof);
    TG_EXPECT_LT(sent, strlen(drip));
    TG_EXPECT(strncmp(fx.got, "HTTP/1.1 408 ", 13) == 0);
    fx_close(&fx);

    /* Idle keep-alive: closed silently after the idle timeout, also after a request. */
    fx_open(&fx, &lim);
    fx_send(&fx, "GET /?x HTTP/1.1\r\nHost: x\r\n\r\n");
    ms = pump(&fx, 2000, until_eof, true);
    TG_EXPECT(fx.eof);
    TG_EXPECT_GE(ms, 140);
    TG_EXPECT_EQ(count_str(fx.got, "HTTP/1.1 "), 1);
    TG_EXPECT_EQ(stats(&fx).timeouts_idle, 1);
    TG_EXPECT_EQ(stats(&fx).status_408, 0);
    fx_close(&fx);
}

static void test_body_rate_and_write_timeout(void)
{
    struct tg_hsrv_limits lim = {
        .body_timeout_us = 50000, .body_min_bytes_per_s = 1000, .write_timeout_us = 60000};
    /* 10 bytes of a 1000-byte body, then nothing: 408 once below the minimum rate. */
    fx_open(&fx, &lim);
    fx_send(&fx, "POST /cap HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
    long ms = pump(&fx, 2000, until_eof, true);
    TG_EXPECT(strncmp(fx.got, "HTTP/1.1 408 ", 13) == 0);
    TG_EXPECT_GE(ms, 55); /* grace 50 ms + 10 bytes at 1000 B/s */
    TG_EXPECT_EQ(stats(&fx).status_408, 1);
    fx_close(&fx);

    /* A client that does not read a big streamed answer is closed, with no 408. */
    fx_open(&fx, &lim);
    fx_send(&fx, "GET /stream?100000000 HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(&fx, 3000, until_closed, false);
    TG_EXPECT_EQ(closed_count, 1);
    TG_EXPECT_EQ(stats(&fx).timeouts_write, 1);
    TG_EXPECT_EQ(stats(&fx).conns, 0);
    fx_close(&fx);
}

static void test_bodies_and_continue(void)
{
    fx_open(&fx, NULL);
    streamed_bytes = 0;
    /* 100-continue: the interim answer comes before any body byte is sent. */
    fx_send(&fx,
            "POST /cap HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    want_responses = 1;
    pump(&fx, 1000, until_responses, true);
    TG_EXPECT_STREQ(fx.got, "HTTP/1.1 100 Continue\r\n\r\n");
    fx_send(&fx, "hello");
    want_responses = 2;
    pump(&fx, 1000, until_responses, true);
    TG_EXPECT(strstr(fx.got, "X-Body-Bytes: 5\r\n\r\nhello") != NULL);
    /* Chunked, split anywhere; the capture keeps 64 bytes of 100, counts all. */
    fx.got_len = 0;
    fx.got[0] = 0;
    fx_send(&fx, "POST /cap HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3");
    pump(&fx, 20, NULL, true);
    fx_send(&fx, "2\r\n");
    for (int i = 0; i < 5; i++)
        fx_send(&fx, "0123456789");
    fx_send(&fx, "\r\n32\r\n01234567890123456789012345678901234567890123456789\r\n0\r\n\r\n");
    want_responses = 1;
    pump(&fx, 1000, until_responses, true);
    TG_EXPECT(strstr(fx.got, "Content-Length: 64\r\nX-Body-Bytes: 100\r\n\r\n0123") != NULL);
    /* on_body saw every decoded byte of both bodies, the ones past the capture too. */
    TG_EXPECT_EQ(streamed_bytes, 5 + 100);
    /* The next request on the same connection still parses. */
    fx_send(&fx, "GET /?next HTTP/1.1\r\nHost: x\r\n\r\n");
    want_responses = 2;
    pump(&fx, 1000, until_responses, true);
    TG_EXPECT(strstr(fx.got, "\r\n\r\nnext") != NULL);
    TG_EXPECT(!fx.eof);
    fx_close(&fx);
}

static void test_async_ref_stream_head(void)
{
    fx_open(&fx, NULL);
    /* An asynchronous answer holds the pipelined request behind it. */
    fx_send(&fx, "GET /async HTTP/1.1\r\nHost: x\r\n\r\nGET /?after HTTP/1.1\r\nHost: x\r\n\r\n");
    want_responses = 2;
    long ms = pump(&fx, 1000, until_responses, true);
    TG_EXPECT_GE(ms, 15);
    const char *late = strstr(fx.got, "late"), *after = strstr(fx.got, "after");
    TG_EXPECT(late && after && late < after);
    /* A borrowed body: sent whole, released once. HEAD: released, not sent. */
    fx.got_len = fx.got_total = 0;
    fx_send(&fx, "GET /ref HTTP/1.1\r\nHost: x\r\n\r\nHEAD /ref HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /?end HTTP/1.1\r\nHost: x\r\n\r\n");
    want_responses = 3;
    pump(&fx, 1000, until_responses, true);
    pump(&fx, 50, NULL, true);
    TG_EXPECT_EQ(released_count, 2);
    TG_EXPECT_EQ(count_str(fx.got, "Content-Length: 100000\r\n"), 2);
    fx_close(&fx);

    /* Streams: Content-Length and chunked, then a HEAD that gets no body. */
    fx_open(&fx, NULL);
    fx_send(&fx, "GET /stream?200000 HTTP/1.1\r\nHost: x\r\n\r\n");
    want_total = 200000 + 100;
    pump(&fx, 3000, until_total, true);
    pump(&fx, 20, NULL, true); /* nothing more may come */
    TG_EXPECT(strstr(fx.got, "Content-Length: 200000\r\n") != NULL);
    const char *end = strstr(fx.got, "\r\n\r\n");
    TG_EXPECT(end != NULL);
    if (end)
        TG_EXPECT_EQ(fx.got_total - (uint64_t)(end + 4 - fx.got), 200000);
    fx.got_len = fx.got_total = 0;
    fx_send(&fx, "GET /stream-chunked?70000 HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(&fx, 3000, until_chunked_end, true);
    TG_EXPECT(strstr(fx.got, "Transfer-Encoding: chunked\r\n\r\n10000\r\n") != NULL);
    TG_EXPECT(strstr(fx.got, "\r\n1170\r\n") != NULL);
    TG_EXPECT_EQ(memcmp(fx.got + fx.got_len - 7, "\r\n0\r\n\r\n", 7), 0);
    fx.got_len = fx.got_total = 0;
    fx_send(&fx, "HEAD /stream?5 HTTP/1.1\r\nHost: x\r\n\r\nGET /?z HTTP/1.1\r\nHost: x\r\n\r\n");
    want_responses = 2;
    pump(&fx, 1000, until_responses, true);
    TG_EXPECT(strstr(fx.got, "Content-Length: 5\r\n\r\nHTTP/1.1 200") != NULL);
    fx_close(&fx);
}

static void test_cancel_on_hup(void)
{
    fx_open(&fx, NULL);
    fx_send(&fx, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(&fx, 30, NULL, true);
    TG_EXPECT_EQ(closed_count, 0);
    shutdown(fx.cfd, SHUT_WR);
    pump(&fx, 1000, until_eof, true);
    TG_EXPECT(fx.eof);
    TG_EXPECT_EQ(fx.got_len, 0);
    TG_EXPECT_EQ(closed_count, 1);
    fx_close(&fx);

    /* Without it, a half-closed client still gets its late answer. */
    fx_open(&fx, NULL);
    fx_send(&fx, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n");
    shutdown(fx.cfd, SHUT_WR);
    pump(&fx, 1000, until_eof, true);
    TG_EXPECT(strstr(fx.got, "\r\n\r\nlate") != NULL);
    fx_close(&fx);
}

/* Stopping the server from a request's callback, with another connection's event fetched
 * in the same turn: both close, and nothing touches freed memory (ASan would say). */
static void test_stop_from_callback(void)
{
    fx_open(&fx, NULL);
    int sv[2];
    TG_EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    TG_EXPECT_EQ(tg_hsrv_adopt(fx.srv, sv[0]), 0);
    pump(&fx, 20, NULL, true);
    TG_EXPECT_EQ(write(sv[1], "GET /stop HTTP/1.1\r\nHost: x\r\n\r\n", 32), 32);
    fx_send(&fx, "GET /stop HTTP/1.1\r\nHost: x\r\n\r\n");
    pump(&fx, 2000, until_eof, true);
    TG_EXPECT(fx.eof);
    TG_EXPECT_EQ(closed_count, 2);
    TG_EXPECT_EQ(stats(&fx).conns, 0);
    char buf[64];
    TG_EXPECT_EQ(read(sv[1], buf, sizeof buf), 0);
    close(sv[1]);
    fx_close(&fx);
}

/* ---- accept: the cap, eviction, the EMFILE pause --------------------------------------- */

static int unix_listener(struct sockaddr_un *sa, socklen_t *len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    /* Abstract namespace: no file, nothing to clean up. */
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "tg-test-server-%d", getpid());
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    TG_EXPECT_EQ(bind(fd, (struct sockaddr *)sa, *len), 0);
    TG_EXPECT_EQ(listen(fd, 16), 0);
    return fd;
}

static int client_connect(const struct sockaddr_un *sa, socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    TG_EXPECT_EQ(connect(fd, (const struct sockaddr *)sa, len), 0);
    return fd;
}

/* Reads what `fd` has; returns bytes read, or -1 at EOF with nothing read. */
static long drain(int fd, char *buf, size_t cap)
{
    long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, cap - 1);
        if (n > 0) {
            buf[n] = 0;
            total += n;
            continue;
        }
        return n == 0 && total == 0 ? -1 : total;
    }
}

static void pump_loop(struct tg_loop *loop, long ms)
{
    int64_t end = tg_clock_mono_us() + ms * 1000;
    while (tg_clock_mono_us() < end) {
        one_turn(loop);
        sleep_us(500);
    }
}

/* Pumps until `fd` has something to read or is at EOF (at most `max_ms`); returns what
 * drain() returns then. Waits on the outcome rather than on a duration, so a loaded
 * machine makes the test slower, not wrong. */
static long wait_read(struct tg_loop *loop, int fd, char *buf, size_t cap, long max_ms)
{
    int64_t end = tg_clock_mono_us() + max_ms * 1000;
    for (;;) {
        one_turn(loop);
        long n = drain(fd, buf, cap);
        if (n != 0 || tg_clock_mono_us() >= end)
            return n;
        sleep_us(500);
    }
}

static void test_connection_cap(void)
{
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    cur_loop = loop;
    struct sockaddr_un sa;
    socklen_t salen;
    int lfd = unix_listener(&sa, &salen);
    struct tg_hsrv_limits lim = {.max_conns = 2};
    struct tg_hsrv_config cfg = config(&lim);
    struct tg_hsrv *srv;
    TG_EXPECT_EQ(tg_hsrv_new(&srv, loop, lfd, &cfg), 0);
    char buf[4096];

    /* Two idle clients fill the cap; a third evicts the one idle the longest, once it has
     * been idle for a second (before that, the third is refused). */
    int a = client_connect(&sa, salen);
    pump_loop(loop, 10);
    int b = client_connect(&sa, salen);
    pump_loop(loop, 10);
    int early = client_connect(&sa, salen);
    TG_EXPECT_GT(wait_read(loop, early, buf, sizeof buf, 2000), 0);
    TG_EXPECT(strncmp(buf, "HTTP/1.1 503 ", 13) == 0);
    TG_EXPECT_EQ(drain(a, buf, sizeof buf), 0);
    close(early);
    pump_loop(loop, 1000);
    int c = client_connect(&sa, salen);
    TG_EXPECT_EQ(write(c, "GET /?c HTTP/1.1\r\nHost: x\r\n\r\n", 29), 29);
    TG_EXPECT_GT(wait_read(loop, c, buf, sizeof buf, 2000), 0);
    TG_EXPECT(strstr(buf, "\r\n\r\nc") != NULL);
    TG_EXPECT_EQ(wait_read(loop, a, buf, sizeof buf, 2000), -1);
    TG_EXPECT_EQ(drain(b, buf, sizeof buf), 0);
    struct tg_hsrv_stats st;
    tg_hsrv_stats(srv, &st);
    TG_EXPECT_EQ(st.evicted_idle, 1);
    TG_EXPECT_EQ(st.conns, 2);

    /* A head in progress for a while loses its place to a new client, even before its
     * header timeout, while a connection idle for less than a second keeps its own. */
    TG_EXPECT_EQ(write(b, "GET / HTTP/1.1\r\n", 16), 16);
    pump_loop(loop, 5);
    int e2 = client_connect(&sa, salen);
    TG_EXPECT_EQ(write(e2, "GET /?e HTTP/1.1\r\nHost: x\r\n\r\n", 29), 29);
    TG_EXPECT_GT(wait_read(loop, e2, buf, sizeof buf, 2000), 0);
    TG_EXPECT(strstr(buf, "\r\n\r\ne") != NULL);
    TG_EXPECT_EQ(wait_read(loop, b, buf, sizeof buf, 2000), -1);
    TG_EXPECT_EQ(drain(c, buf, sizeof buf), 0);
    tg_hsrv_stats(srv, &st);
    TG_EXPECT_EQ(st.evicted_slow, 1);
    TG_EXPECT_EQ(st.conns, 2);

    /* Both busy (requests waiting for their answers): the next client gets a 503. */
    TG_EXPECT_EQ(write(c, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n", 31), 31);
    TG_EXPECT_EQ(write(e2, "GET /async HTTP/1.1\r\nHost: x\r\n\r\n", 32), 32);
    pump_loop(loop, 5);
    int d = client_connect(&sa, salen);
    TG_EXPECT_GT(wait_read(loop, d, buf, sizeof buf, 2000), 0);
    TG_EXPECT(strncmp(buf, "HTTP/1.1 503 ", 13) == 0);
    TG_EXPECT(strstr(buf, "Retry-After: 1\r\n") != NULL);
    tg_hsrv_stats(srv, &st);
    TG_EXPECT_EQ(st.rejected_cap, 2);
    TG_EXPECT_EQ(st.accepted, 4);

    /* The accept pause: with no descriptor left, accept fails; the listener rests
     * (counted) instead of spinning, and serves the waiting client afterwards. */
    struct rlimit old;
    TG_EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    close(a);
    close(b);
    close(d);
    pump_loop(loop, 5);
    /* The two lowest free descriptors: the limit lets the test take them, then no more. */
    int probe = socket(AF_UNIX, SOCK_STREAM, 0), probe2 = socket(AF_UNIX, SOCK_STREAM, 0);
    struct rlimit low = {(rlim_t)probe2 + 1, old.rlim_max};
    close(probe);
    close(probe2);
    TG_EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    int e = client_connect(&sa, salen);          /* takes the last but one descriptor */
    int spare = socket(AF_UNIX, SOCK_STREAM, 0); /* and the last: accept has none left */
    TG_EXPECT_GE(spare, 0);
    /* Level-triggered and not paused, the listener would fail on every turn. */
    pump_loop(loop, 30);
    tg_hsrv_stats(srv, &st);
    TG_EXPECT_EQ(st.accept_errors, 1);
    close(spare);
    TG_EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
    /* After the 100 ms pause the listener is back. */
    int64_t end = tg_clock_mono_us() + 3000000;
    do {
        pump_loop(loop, 10);
        tg_hsrv_stats(srv, &st);
    } while (st.rejected_cap + st.accepted < 7 && tg_clock_mono_us() < end);
    TG_EXPECT_EQ(st.accept_errors, 1);
    TG_EXPECT_EQ(st.rejected_cap + st.accepted, 7); /* the waiting client was taken */
    if (e >= 0)
        close(e);

    tg_hsrv_free(srv);
    close(c);
    close(e2);
    close(lfd);
    tg_loop_free(loop);
}

int main(int argc, char **argv)
{
    (void)argc;
    memset(pattern, 'p', sizeof pattern);
    memset(ref_body, 'r', sizeof ref_body);
    test_pipelining_in_order();
    test_http10_and_keepalive();
    test_refusals();
    test_header_and_idle_timeouts();
    test_body_rate_and_write_timeout();
    test_bodies_and_continue();
    test_async_ref_stream_head();
    test_cancel_on_hup();
    test_stop_from_callback();
    test_connection_cap();
    return tg_test_report(argv[0]);
}
