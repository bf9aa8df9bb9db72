/* SPDX-License-Identifier: MIT */
/* Unit tests for src/rules/notify*.c: the payloads (Alertmanager v2 array, webhook
 * message, time formats, Alertmanager's fingerprint checked against the value
 * Alertmanager 0.25 computed), and the queues against a scripted receiver on 127.0.0.1:
 * batching by max_batch and by alertname for webhooks, retries with backoff then a drop
 * that is counted, a full queue dropping its oldest alert. */
#include "rules/notify.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_test.h"

static const struct tg_label circuit_labels[] = {
    {"alertname", "CircuitOpen"}, {"instance", "127.0.0.1:18000"}, {"job", "gw"},
    {"severity", "critical"},     {"site", "lab"},                 {"upstream", "api"}};
static const struct tg_label summary[] = {{"summary", "breaker api open, value 1"}};

static struct tg_notify_alert alert(const char *name, bool resolved)
{
    static struct tg_label ls[8][2];
    static int k;
    struct tg_label *l = ls[k++ % 8];
    l[0] = (struct tg_label){"alertname", name};
    l[1] = (struct tg_label){"job", "gw"};
    return (struct tg_notify_alert){.labels = {l, 2},
                                    .annotations = {summary, 1},
                                    .starts_at_ms = 1795830905620,
                                    .ends_at_ms = 1795830911620,
                                    .resolved = resolved,
                                    .generator_url = "http://x/graph"};
}

static void test_payloads(void)
{
    char b[40];
    TG_EXPECT_STREQ(tg_notify_time(1795830905620, false, b), "2026-11-28T01:55:05.620Z");
    TG_EXPECT_STREQ(tg_notify_time(1795830905620, true, b), "2026-11-28T01:55:05.62Z");
    TG_EXPECT_STREQ(tg_notify_time(1795830905000, true, b), "2026-11-28T01:55:05Z");
    TG_EXPECT_STREQ(tg_notify_time(1795830905007, true, b), "2026-11-28T01:55:05.007Z");
    TG_EXPECT_STREQ(tg_notify_time(0, false, b), "1970-01-01T00:00:00.000Z");
    /* Alertmanager 0.25's own fingerprint of these labels (prometheus-compat.md §e.2). */
    struct tg_labels ls = {circuit_labels, 6};
    TG_EXPECT_EQ(tg_notify_fingerprint(&ls), 0xac88aab6de612ee6ull);

    struct tg_notify_alert a[2] = {alert("A", false), alert("A", true)};
    char *am = tg_notify_am_body(a, 2);
    json_t *v = json_loads(am, 0, NULL);
    TG_EXPECT(json_is_array(v) && json_array_size(v) == 2);
    json_t *first = json_array_get(v, 0);
    TG_EXPECT_STREQ(json_string_value(json_object_get(first, "startsAt")),
                    "2026-11-28T01:55:05.620Z");
    TG_EXPECT_STREQ(json_string_value(json_object_get(json_object_get(first, "labels"),
                                                      "alertname")),
                    "A");
    TG_EXPECT_STREQ(json_string_value(json_object_get(first, "generatorURL")), "http://x/graph");
    json_decref(v);
    free(am);

    char *wh = tg_notify_webhook_body(a, 2, "tailguard", "http://tg:9090");
    v = json_loads(wh, 0, NULL);
    TG_EXPECT_STREQ(json_string_value(json_object_get(v, "status")), "firing");
    TG_EXPECT_STREQ(json_string_value(json_object_get(v, "version")), "4");
    TG_EXPECT_STREQ(json_string_value(json_object_get(v, "groupKey")), "{}:{alertname=\"A\"}");
    TG_EXPECT_STREQ(json_string_value(json_object_get(v, "externalURL")), "http://tg:9090");
    json_t *al = json_object_get(v, "alerts");
    TG_EXPECT_STREQ(json_string_value(json_object_get(json_array_get(al, 0), "endsAt")),
                    "0001-01-01T00:00:00Z");
    TG_EXPECT_STREQ(json_string_value(json_object_get(json_array_get(al, 1), "endsAt")),
                    "2026-11-28T01:55:11.62Z");
    TG_EXPECT_STREQ(json_string_value(json_object_get(json_array_get(al, 1), "status")),
                    "resolved");
    TG_EXPECT_EQ(strlen(json_string_value(json_object_get(json_array_get(al, 0), "fingerprint"))),
                 16);
    TG_EXPECT_STREQ(json_string_value(json_object_get(json_object_get(v, "commonLabels"), "job")),
                    "gw");
    json_decref(v);
    free(wh);
    a[0].resolved = true;
    wh = tg_notify_webhook_body(a, 2, "tailguard", "");
    v = json_loads(wh, 0, NULL);
    TG_EXPECT_STREQ(json_string_value(json_object_get(v, "status")), "resolved");
    json_decref(v);
    free(wh);
}

/* ---- A receiver on 127.0.0.1: answers every request with `status`, records bodies. */
static int lfd;
static uint16_t port;
static atomic_int status = 200, requests;
static char bodies[16][4096];

static void *receiver(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[8192];
        size_t n = 0;
        for (;;) {
            ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
            buf[n] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            char *cl = strstr(buf, "Content-Length: ");
            if (end && cl && n >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
                break;
        }
        buf[n] = '\0';
        int k = atomic_fetch_add(&requests, 1);
        char *body = strstr(buf, "\r\n\r\n");
        if (k < 16)
            snprintf(bodies[k], sizeof bodies[k], "%s|%s", strtok(buf, "\r"),
                     body ? body + 4 : "");
        char resp[128];
        int st = atomic_load(&status);
        int len = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n", st);
        (void)!write(c, resp, (size_t)len);
        close(c);
    }
}

static void stop_loop(struct tg_timer *t)
{
    tg_loop_stop(t->data);
}

static void spin(struct tg_loop *loop, int64_t us)
{
    struct tg_timer t = {0};
    tg_loop_update_time(loop);
    tg_timer_start(loop, &t, tg_loop_now_us(loop) + us, stop_loop, loop);
    tg_loop_run(loop);
}

struct totals {
    uint64_t sent, errors, dropped;
    uint32_t queued;
};

static void add(const struct tg_notify_target_stats *st, void *ctx)
{
    struct totals *t = ctx;
    t->sent += st->sent;
    t->errors += st->errors;
    t->dropped += st->dropped;
    t->queued += st->queued;
}

static struct totals totals(struct tg_notifier *n)
{
    struct totals t = {0};
    tg_notifier_foreach(n, add, &t);
    return t;
}

static void test_queues(struct tg_loop *loop)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    struct tg_notify_opts o;
    tg_notify_opts_init(&o);
    o.max_batch = 2;
    o.retries = 2;
    o.backoff_base_us = 20000;
    o.timeout_us = 1000000;
    struct tg_notifier *n;
    TG_EXPECT_EQ(tg_notifier_new(loop, &o, &n), 0);
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_notifier_add(n, TG_NOTIFY_ALERTMANAGER, url, &eb), 0);
    TG_EXPECT_EQ(tg_notifier_add(n, TG_NOTIFY_ALERTMANAGER, "https://127.0.0.1/", &eb),
                 TG_EPARSE);
    /* Five alerts, batches of two: three requests to /api/v2/alerts. */
    struct tg_notify_alert a[5] = {alert("A", false), alert("B", false), alert("C", false),
                                   alert("D", false), alert("E", false)};
    tg_notifier_send(n, a, 5);
    for (int i = 0; i < 100 && totals(n).sent < 5; i++)
        spin(loop, 10000);
    TG_EXPECT_EQ(totals(n).sent, 5);
    TG_EXPECT_EQ(atomic_load(&requests), 3);
    TG_EXPECT(strncmp(bodies[0], "POST /api/v2/alerts HTTP/1.1|[", 30) == 0);
    /* A receiver failing: the first try and two retries, then the alerts are dropped. */
    atomic_store(&status, 500);
    atomic_store(&requests, 0);
    tg_notifier_send(n, a, 1);
    for (int i = 0; i < 200 && totals(n).dropped < 1; i++)
        spin(loop, 10000);
    TG_EXPECT_EQ(totals(n).dropped, 1);
    TG_EXPECT_EQ(atomic_load(&requests), 3);
    TG_EXPECT_EQ(totals(n).errors, 3);
    TG_EXPECT_EQ(totals(n).queued, 0);
    tg_notifier_free(n);

    /* Webhook: one message per alertname; a full queue drops its oldest waiting alert. */
    atomic_store(&status, 200);
    atomic_store(&requests, 0);
    o.queue_capacity = 3;
    o.max_batch = 64;
    TG_EXPECT_EQ(tg_notifier_new(loop, &o, &n), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hook", port);
    TG_EXPECT_EQ(tg_notifier_add(n, TG_NOTIFY_WEBHOOK, url, &eb), 0);
    struct tg_notify_alert w[4] = {alert("X", false), alert("Y", false), alert("Y", false),
                                   alert("Z", false)};
    tg_notifier_send(n, w, 4); /* the queue holds 3: Z pushes the oldest, X, out */
    for (int i = 0; i < 100 && totals(n).queued > 0; i++)
        spin(loop, 10000);
    struct totals t = totals(n);
    TG_EXPECT_EQ(t.sent + t.dropped, 4);
    TG_EXPECT_EQ(t.dropped, 1);
    TG_EXPECT_EQ(atomic_load(&requests), 2); /* Y and Y together, then Z */
    TG_EXPECT(strncmp(bodies[0], "POST /hook HTTP/1.1|{", 21) == 0);
    TG_EXPECT(strstr(bodies[0], "\"groupKey\":\"{}:{alertname=\\\"Y\\\"}\"") != NULL);
    TG_EXPECT(strstr(bodies[1], "\"groupKey\":\"{}:{alertname=\\\"Z\\\"}\"") != NULL);
    json_t *m = json_loads(strchr(bodies[0], '|') + 1, 0, NULL);
    TG_EXPECT_EQ(json_array_size(json_object_get(m, "alerts")), 2);
    json_decref(m);
    tg_notifier_free(n);
}

int main(void)
{
    test_payloads();
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 16) ||
        getsockname(lfd, (struct sockaddr *)&sa, &len))
        return 1;
    port = ntohs(sa.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, receiver, NULL);
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    test_queues(loop);
    tg_loop_free(loop);
    shutdown(lfd, SHUT_RDWR);
    close(lfd);
    pthread_join(th, NULL);
    return tg_test_report("rules/notify");
}
