/* SPDX-License-Identifier: MIT */
/* Unit tests for src/collect/probe.c against a scripted server thread on 127.0.0.1: a
 * 200 (probe_success 1, status, content length, version, phases), a 500 (probe_success 0
 * but a successful collection, the reason kept; accepted when valid_status lists it), a
 * chunked answer (content length -1), HEAD when configured, a slow answer (the duration follows), a
 * dead port (connect), a hanging server (the probe's own timeout), a collection cancelled at the
 * set's deadline (no callback, counted), the figures kept across probes
 * (external_api_*), and the pure helpers. */
#include "collect/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "config/config.h"
#include "metrics/expo.h"
#include "tg_test.h"

static int lfd;
static uint16_t port;

static const char *answer_for(const char *req)
{
    if (strstr(req, " /ok "))
        return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    if (strstr(req, " /err "))
        return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nbad";
    if (strstr(req, " /chunked "))
        return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    if (strstr(req, " /old "))
        return "HTTP/1.0 204 No Content\r\n\r\n";
    if (strstr(req, " /slow ")) {
        usleep(150000);
        return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    }
    return NULL; /* /hang */
}

static void *server(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t n = 0;
        while (n < sizeof buf - 1) {
            ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
            buf[n] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        buf[n] = '\0';
        const char *a = answer_for(buf);
        if (!a)
            usleep(700000); /* longer than the hang tests' timeouts */
        else
            (void)!write(c, a, strlen(a));
        close(c);
    }
}

static uint16_t listen_on(int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    TG_EXPECT(*fd >= 0);
    TG_EXPECT_EQ(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
    TG_EXPECT_EQ(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

struct run {
    int calls, rc;
    char why[160];
};

static void on_done(void *arg, int rc, const char *why)
{
    struct run *r = arg;
    r->calls++;
    r->rc = rc;
    snprintf(r->why, sizeof r->why, "%s", why ? why : "");
}

static void stop_loop(struct tg_timer *t)
{
    tg_loop_stop(t->data);
}

/* Runs the loop in 10 ms slices until `r` has its callback or 3 s passed. */
static void run_until(struct tg_loop *loop, struct run *r, int max_slices)
{
    for (int i = 0; i < max_slices && !r->calls; i++) {
        struct tg_timer t = {0};
        tg_loop_update_time(loop);
        tg_timer_start(loop, &t, tg_loop_now_us(loop) + 10000, stop_loop, loop);
        tg_loop_run(loop);
        tg_timer_stop(loop, &t);
    }
}

static void make(struct tg_loop *loop, struct tg_cfg_probe *c, const char *service,
                 const char *path, uint16_t p, struct tg_ctarget *t)
{
    snprintf(c->service, sizeof c->service, "%s", service);
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:%u%s", p, path);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cprobe_make(loop, c, NULL, t, &eb), 0);
}

/* One collection of `t` into a fresh `s`. */
static struct run collect(struct tg_loop *loop, struct tg_ctarget *t, struct tg_csnap *s)
{
    struct run r = {0};
    tg_csnap_reset(s);
    t->ops->start(t->impl, s, on_done, &r);
    TG_EXPECT_EQ(r.calls, 0); /* never from inside start: the client defers even errors */
    run_until(loop, &r, 300);
    TG_EXPECT_EQ(r.calls, 1);
    return r;
}

static double val(const struct tg_csnap *s, const char *name)
{
    double v = -42;
    TG_EXPECT(tg_csnap_get(s, &v, name, NULL));
    return v;
}

static char *expo(const struct tg_csnap *s)
{
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_csnap_collect((void *)s, &v, &cur), TG_DONE);
    TG_EXPECT(!e.oom);
    size_t len;
    char *p = tg_expo_take(&e, &len);
    p = realloc(p, len + 1);
    p[len] = '\0';
    tg_expo_deinit(&e);
    return p;
}

static void test_ok(struct tg_loop *loop, struct tg_csnap *s)
{
    struct tg_cfg_probe c = {0};
    struct tg_ctarget t;
    make(loop, &c, "payments", "/ok", port, &t);
    struct run r = collect(loop, &t, s);
    TG_EXPECT_EQ(r.rc, 0);
    TG_EXPECT_EQ(val(s, "probe_success"), 1);
    TG_EXPECT_EQ(val(s, "probe_http_status_code"), 200);
    TG_EXPECT_EQ(val(s, "probe_http_content_length"), 5);
    TG_EXPECT_EQ(val(s, "probe_http_uncompressed_body_length"), 5);
    TG_EXPECT_EQ(val(s, "probe_http_version") * 10, 11);
    double d = val(s, "probe_duration_seconds");
    TG_EXPECT(d > 0 && d < 1);
    double proc = -1, xfer = -1, res = -1;
    TG_EXPECT(tg_csnap_get(s, &proc, "probe_http_duration_seconds", "phase", "processing", NULL));
    TG_EXPECT(tg_csnap_get(s, &xfer, "probe_http_duration_seconds", "phase", "transfer", NULL));
    TG_EXPECT(tg_csnap_get(s, &res, "probe_http_duration_seconds", "phase", "resolve", NULL));
    TG_EXPECT(proc > 0 && xfer >= 0 && res == 0);
    TG_EXPECT_EQ((proc + xfer) * 1e6 + 0.5, d * 1e6 + 0.5);

    /* A second probe: the figures across probes add up. */
    collect(loop, &t, s);
    double n = 0;
    TG_EXPECT(tg_csnap_get(s, &n, "external_api_requests_total", "service", "payments", "status",
                           "200", NULL));
    TG_EXPECT_EQ(n, 2);
    char *text = expo(s);
    TG_EXPECT(strstr(text, "external_api_duration_seconds_count{service=\"payments\"} 2\n"));
    TG_EXPECT(strstr(text, "external_api_duration_seconds_bucket{service=\"payments\","
                           "le=\"120\"} 2\n"));
    TG_EXPECT(strstr(text, "# TYPE external_api_duration_seconds histogram\n"));
    TG_EXPECT(
        strstr(text, "external_api_errors_total{service=\"payments\",reason=\"status\"} 0\n"));
    free(text);
    struct tg_cprobe_info in;
    tg_cprobe_info(t.impl, &in);
    TG_EXPECT(in.probed && in.success);
    TG_EXPECT_EQ(in.status, 200);
    TG_EXPECT_EQ(in.probes, 2);
    TG_EXPECT_EQ(in.failures, 0);
    TG_EXPECT_STREQ(in.service, "payments");
    TG_EXPECT_STREQ(in.last_error, "");
    t.ops->free(t.impl);
}

static void test_status(struct tg_loop *loop, struct tg_csnap *s)
{
    struct tg_cfg_probe c = {0};
    struct tg_ctarget t;
    make(loop, &c, "llm", "/err", port, &t);
    struct run r = collect(loop, &t, s);
    /* The probe ran: a successful collection that says the service failed it. */
    TG_EXPECT_EQ(r.rc, 0);
    TG_EXPECT_EQ(val(s, "probe_success"), 0);
    TG_EXPECT_EQ(val(s, "probe_http_status_code"), 500);
    double n = 0;
    TG_EXPECT(tg_csnap_get(s, &n, "external_api_errors_total", "reason", "status", NULL));
    TG_EXPECT_EQ(n, 1);
    struct tg_cprobe_info in;
    tg_cprobe_info(t.impl, &in);
    TG_EXPECT(in.probed && !in.success);
    TG_EXPECT_STREQ(in.last_error, "status 500 not accepted");
    TG_EXPECT_EQ(in.failures, 1);
    t.ops->free(t.impl);

    c = (struct tg_cfg_probe){.valid_status = {200, 500}, .nvalid_status = 2};
    make(loop, &c, "llm", "/err", port, &t);
    collect(loop, &t, s);
    TG_EXPECT_EQ(val(s, "probe_success"), 1);
    t.ops->free(t.impl);

    c = (struct tg_cfg_probe){0};
    make(loop, &c, "chunky", "/chunked", port, &t);
    collect(loop, &t, s);
    TG_EXPECT_EQ(val(s, "probe_success"), 1);
    TG_EXPECT_EQ(val(s, "probe_http_content_length"), -1);
    TG_EXPECT_EQ(val(s, "probe_http_uncompressed_body_length"), 3);
    t.ops->free(t.impl);

    /* HEAD, as configured: the answer's head only. */
    c = (struct tg_cfg_probe){.method = TG_CFG_M_HEAD};
    make(loop, &c, "head", "/ok", port, &t);
    collect(loop, &t, s);
    TG_EXPECT_EQ(val(s, "probe_success"), 1);
    TG_EXPECT_EQ(val(s, "probe_http_content_length"), 5);
    TG_EXPECT_EQ(val(s, "probe_http_uncompressed_body_length"), 0);
    t.ops->free(t.impl);

    c = (struct tg_cfg_probe){0};
    make(loop, &c, "old", "/old", port, &t);
    collect(loop, &t, s);
    TG_EXPECT_EQ(val(s, "probe_success"), 1);
    TG_EXPECT_EQ(val(s, "probe_http_status_code"), 204);
    TG_EXPECT_EQ(val(s, "probe_http_version") * 10, 10);
    t.ops->free(t.impl);
}

static void test_slow_dead_hang(struct tg_loop *loop, struct tg_csnap *s)
{
    struct tg_cfg_probe c = {0};
    struct tg_ctarget t;
    make(loop, &c, "slow", "/slow", port, &t);
    collect(loop, &t, s);
    TG_EXPECT_EQ(val(s, "probe_success"), 1);
    TG_EXPECT(val(s, "probe_duration_seconds") >= 0.15);
    t.ops->free(t.impl);

    int dead;
    uint16_t dport = listen_on(&dead);
    close(dead); /* nothing listens there now */
    make(loop, &c, "dead", "/", dport, &t);
    struct run r = collect(loop, &t, s);
    TG_EXPECT_EQ(r.rc, 0);
    TG_EXPECT_EQ(val(s, "probe_success"), 0);
    TG_EXPECT_EQ(val(s, "probe_http_status_code"), 0);
    struct tg_cprobe_info in;
    tg_cprobe_info(t.impl, &in);
    TG_EXPECT(strncmp(in.last_error, "connect: ", 9) == 0);
    double n = 0;
    TG_EXPECT(tg_csnap_get(s, &n, "external_api_requests_total", "status", "connect", NULL));
    TG_EXPECT_EQ(n, 1);
    t.ops->free(t.impl);

    c.timeout_us = 400000; /* the call gets 360 ms */
    make(loop, &c, "hang", "/hang", port, &t);
    r = collect(loop, &t, s);
    TG_EXPECT_EQ(r.rc, 0);
    TG_EXPECT_EQ(val(s, "probe_success"), 0);
    double d = val(s, "probe_duration_seconds");
    TG_EXPECT(d >= 0.35 && d < 0.6);
    tg_cprobe_info(t.impl, &in);
    TG_EXPECT(strncmp(in.last_error, "timeout", 7) == 0);

    /* The set's deadline first: cancelled, no callback, counted as a timeout. */
    struct run cr = {0};
    tg_csnap_reset(s);
    t.ops->start(t.impl, s, on_done, &cr);
    run_until(loop, &cr, 5);
    t.ops->cancel(t.impl, s);
    run_until(loop, &cr, 50);
    TG_EXPECT_EQ(cr.calls, 0);
    tg_cprobe_info(t.impl, &in);
    TG_EXPECT_EQ(in.failures, 2);
    TG_EXPECT_EQ(in.probes, 2);
    t.ops->free(t.impl);
}

static void test_pure(void)
{
    TG_EXPECT_EQ(tg_cprobe_call_timeout_us(0), 4500000);
    TG_EXPECT_EQ(tg_cprobe_call_timeout_us(1000000), 900000);
    TG_EXPECT_EQ(tg_cprobe_call_timeout_us(30000000), 29500000);
    TG_EXPECT(tg_cprobe_status_ok(200, NULL, 0));
    TG_EXPECT(tg_cprobe_status_ok(299, NULL, 0));
    TG_EXPECT(!tg_cprobe_status_ok(301, NULL, 0));
    TG_EXPECT(!tg_cprobe_status_ok(199, NULL, 0));
    uint32_t v[] = {301, 404};
    TG_EXPECT(tg_cprobe_status_ok(404, v, 2));
    TG_EXPECT(!tg_cprobe_status_ok(200, v, 2));

    struct tg_cfg_probe c = {.service = "x", .url = "https://127.0.0.1/"};
    struct tg_ctarget t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cprobe_make(NULL, &c, NULL, &t, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "https") != NULL);
}

int main(void)
{
    port = listen_on(&lfd);
    TG_EXPECT_EQ(listen(lfd, 16), 0);
    pthread_t th;
    pthread_create(&th, NULL, server, NULL);
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_csnap *s = tg_csnap_new();
    test_pure();
    test_ok(loop, s);
    test_status(loop, s);
    test_slow_dead_hang(loop, s);
    tg_csnap_free(s);
    tg_loop_free(loop);
    shutdown(lfd, SHUT_RDWR);
    close(lfd);
    pthread_join(th, NULL);
    return tg_test_report("collect/probe");
}
