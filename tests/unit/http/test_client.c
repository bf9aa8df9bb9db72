/* SPDX-License-Identifier: MIT */
/* Unit tests for src/http/client.c against a scripted server thread on 127.0.0.1: each
 * body framing (Content-Length, chunked, until close), an interim 100 before the answer,
 * the request as sent (method, Host, body), a refused connection reported through the
 * callback on a later turn, a server that never answers (timeout), a body over the cap,
 * a malformed head, a cancelled call (no callback), and URL parsing. */
#include "http/client.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_test.h"

/* The server answers each connection by the first path segment of its request. */
static int lfd;
static uint16_t port;
static char last_request[4096];

static const char *answer_for(const char *req)
{
    if (strstr(req, " /len "))
        return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    if (strstr(req, " /chunked "))
        return "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
    if (strstr(req, " /eof "))
        return "HTTP/1.0 200 OK\r\n\r\nuntil close";
    if (strstr(req, " /continue "))
        return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok";
    if (strstr(req, " /big "))
        return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    if (strstr(req, " /bad "))
        return "HTTP/9.9 200 OK\r\n\r\n";
    if (strstr(req, " /short "))
        return "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly this";
    return NULL; /* /hang: say nothing */
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
        for (;;) {
            ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
            buf[n] = '\0';
            const char *end = strstr(buf, "\r\n\r\n");
            const char *cl = strstr(buf, "Content-Length: ");
            if (end && (!cl || n >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10)))
                break;
        }
        buf[n] = '\0';
        memcpy(last_request, buf, n + 1);
        const char *a = answer_for(buf);
        if (!a) {
            usleep(400000); /* longer than the hang test's timeout */
            close(c);
            continue;
        }
        (void)!write(c, a, strlen(a));
        close(c);
    }
}

struct result {
    bool done;
    int calls;
    struct tg_hclient_resp r;
    char body[256];
};

static void on_done(void *ctx, const struct tg_hclient_resp *r)
{
    struct result *res = ctx;
    res->calls++;
    res->done = true;
    res->r = *r;
    res->r.head = NULL;
    size_t n = r->body_len < sizeof res->body - 1 ? r->body_len : sizeof res->body - 1;
    memcpy(res->body, r->body, n);
    res->body[n] = '\0';
    res->r.body = res->body;
}

static void stop_loop(struct tg_timer *t)
{
    tg_loop_stop(t->data);
}

/* Runs the loop until the call ended (checked each turn) or 3 s passed. */
static void run_until(struct tg_loop *loop, struct result *res)
{
    for (int i = 0; i < 300 && !res->done; i++) {
        struct tg_timer t = {0};
        tg_loop_update_time(loop);
        tg_timer_start(loop, &t, tg_loop_now_us(loop) + 10000, stop_loop, loop);
        tg_loop_run(loop);
        tg_timer_stop(loop, &t);
    }
}

static struct result fetch(struct tg_hclient *cl, struct tg_loop *loop, const char *path,
                           const char *method, const char *body, int64_t timeout_us)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    struct tg_hclient_target t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_hclient_target_parse(url, &t, &eb), 0);
    struct tg_hclient_req rq = {.method = method,
                                .headers = "Content-Type: application/json\r\n",
                                .body = body,
                                .body_len = body ? strlen(body) : 0,
                                .timeout_us = timeout_us,
                                .max_body = 64};
    struct result res = {0};
    TG_EXPECT_EQ(tg_hclient_call(cl, &t, &rq, on_done, &res, NULL), 0);
    TG_EXPECT(!res.done); /* never from inside the call */
    run_until(loop, &res);
    TG_EXPECT(res.done && res.calls == 1);
    return res;
}

static void test_framings(struct tg_hclient *cl, struct tg_loop *loop)
{
    struct result r = fetch(cl, loop, "/len", "POST", "{\"a\":1}", 2000000);
    TG_EXPECT_EQ(r.r.error, TG_HCLIENT_OK);
    TG_EXPECT_EQ(r.r.status, 200);
    TG_EXPECT_STREQ(r.body, "hello");
    TG_EXPECT(strstr(last_request, "POST /len HTTP/1.1\r\n") == last_request);
    TG_EXPECT(strstr(last_request, "\r\nHost: 127.0.0.1:") != NULL);
    TG_EXPECT(strstr(last_request, "Content-Type: application/json\r\n") != NULL);
    TG_EXPECT(strstr(last_request, "Content-Length: 7\r\n") != NULL);
    TG_EXPECT(strstr(last_request, "\r\n\r\n{\"a\":1}") != NULL);
    TG_EXPECT(r.r.duration_us >= 0 && r.r.first_byte_us >= 0);
    r = fetch(cl, loop, "/chunked", "GET", NULL, 2000000);
    TG_EXPECT_EQ(r.r.status, 201);
    TG_EXPECT_STREQ(r.body, "abcdefg");
    r = fetch(cl, loop, "/eof", "GET", NULL, 2000000);
    TG_EXPECT_EQ(r.r.error, TG_HCLIENT_OK);
    TG_EXPECT_STREQ(r.body, "until close");
    r = fetch(cl, loop, "/continue", "POST", "x", 2000000);
    TG_EXPECT_EQ(r.r.status, 202);
    TG_EXPECT_STREQ(r.body, "ok");
}

static void test_failures(struct tg_hclient *cl, struct tg_loop *loop)
{
    struct result r = fetch(cl, loop, "/big", "GET", NULL, 2000000);
    TG_EXPECT_EQ(r.r.error, TG_HCLIENT_TOO_BIG);
    r = fetch(cl, loop, "/bad", "GET", NULL, 2000000);
    TG_EXPECT_EQ(r.r.error, TG_HCLIENT_BAD);
    r = fetch(cl, loop, "/short", "GET", NULL, 2000000);
    TG_EXPECT_EQ(r.r.error, TG_HCLIENT_IO);
    r = fetch(cl, loop, "/hang", "GET", NULL, 150000);
    TG_EXPECT_EQ(r.r.error, TG_HCLIENT_TIMEOUT);
    TG_EXPECT(r.r.duration_us >= 150000);
    TG_EXPECT_STREQ(tg_hclient_error_name(r.r.error), "timeout");
    /* A port nobody listens on: refused, reported on a later turn. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    TG_EXPECT_EQ(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    TG_EXPECT_EQ(getsockname(s, (struct sockaddr *)&a, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(a.sin_port));
    struct tg_hclient_target t;
    TG_EXPECT_EQ(tg_hclient_target_parse(url, &t, NULL), 0);
    struct tg_hclient_req rq = {.method = "GET", .timeout_us = 1000000, .max_body = 10};
    struct result res = {0};
    TG_EXPECT_EQ(tg_hclient_call(cl, &t, &rq, on_done, &res, NULL), 0);
    TG_EXPECT(!res.done);
    run_until(loop, &res);
    close(s);
    TG_EXPECT(res.done && res.r.error == TG_HCLIENT_CONNECT);
    /* Cancelled: no callback, ever. */
    struct result quiet = {0};
    struct tg_hclient_call *k;
    TG_EXPECT_EQ(tg_hclient_call(cl, &t, &rq, on_done, &quiet, &k), 0);
    tg_hclient_cancel(k);
    struct result other = fetch(cl, loop, "/len", "GET", NULL, 2000000);
    TG_EXPECT_EQ(other.r.error, TG_HCLIENT_OK);
    TG_EXPECT(!quiet.done);
    struct tg_hclient_stats st;
    tg_hclient_stats(cl, &st);
    TG_EXPECT_EQ(st.in_flight, 0);
    TG_EXPECT_EQ(st.ended[TG_HCLIENT_TIMEOUT], 1);
    TG_EXPECT_EQ(st.ended[TG_HCLIENT_CONNECT], 1);
}

static void test_target_parse(void)
{
    struct tg_hclient_target t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_hclient_target_parse("http://127.0.0.1:9093/api/v2/alerts", &t, &eb), 0);
    TG_EXPECT_STREQ(t.host, "127.0.0.1:9093");
    TG_EXPECT_STREQ(t.path, "/api/v2/alerts");
    TG_EXPECT_EQ(tg_hclient_target_parse("http://localhost", &t, &eb), 0);
    TG_EXPECT_STREQ(t.path, "/");
    TG_EXPECT_EQ(ntohs(((struct sockaddr_in *)&t.addr)->sin_port), 80);
    TG_EXPECT_EQ(tg_hclient_target_parse("http://[::1]:8080/x?y=1", &t, &eb), 0);
    TG_EXPECT_EQ(t.addr.ss_family, AF_INET6);
    TG_EXPECT_STREQ(t.path, "/x?y=1");
    const char *bad[] = {"https://127.0.0.1/", "ftp://x", "http://", "http://127.0.0.1:0/",
                         "http://127.0.0.1:70000/", "http://example.com/", "http://[::1/",
                         "http://127.0.0.1:/", "http://127.0.0.1/a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eb = (struct tg_errbuf){0};
        TG_EXPECT_EQ(tg_hclient_target_parse(bad[i], &t, &eb), TG_EPARSE);
        TG_EXPECT(eb.msg[0] != '\0');
    }
}

int main(void)
{
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) != 0)
        return 1;
    port = ntohs(a.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, server, NULL);
    struct tg_loop *loop;
    struct tg_hclient *cl;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    TG_EXPECT_EQ(tg_hclient_new(loop, &cl), 0);
    test_target_parse();
    test_framings(cl, loop);
    test_failures(cl, loop);
    /* A call still in flight when the client is freed: no callback, nothing leaked. */
    struct tg_hclient_target t;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hang", port);
    TG_EXPECT_EQ(tg_hclient_target_parse(url, &t, NULL), 0);
    struct tg_hclient_req rq = {.method = "GET", .timeout_us = 1000000, .max_body = 10};
    struct result res = {0};
    TG_EXPECT_EQ(tg_hclient_call(cl, &t, &rq, on_done, &res, NULL), 0);
    tg_hclient_free(cl);
    TG_EXPECT(!res.done);
    tg_loop_free(loop);
    shutdown(lfd, SHUT_RDWR);
    close(lfd);
    pthread_join(th, NULL);
    return tg_test_report("http/client");
}
