/* SPDX-License-Identifier: MIT */
/* The notifier's queues and requests (see notify.h). Alerts are copied once into a
 * reference-counted block shared by every target's queue; each target sends from the
 * head of its queue, one request at a time, and retries that request with backoff. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "rules/notify_int.h"

/* An alert and the strings it points at, in one allocation. */
struct qalert {
    uint32_t refs;
    struct tg_notify_alert a;
};

struct target {
    struct tg_notifier *n;
    enum tg_notify_kind kind;
    char url[1024];
    struct tg_hclient_target t;
    struct qalert **ring; /* queue_capacity slots */
    uint32_t head, len;
    uint32_t in_flight;   /* alerts of the head that the request under way carries */
    uint32_t tries;       /* failed tries of that request */
    struct tg_hclient_call *call;
    struct tg_timer retry;
    struct tg_notify_target_stats st;
};

struct tg_notifier {
    struct tg_loop *loop;
    struct tg_hclient *client;
    struct tg_notify_opts o;
    char external_url[512];
    struct target **targets;
    size_t ntargets;
};

void tg_notify_opts_init(struct tg_notify_opts *o)
{
    *o = (struct tg_notify_opts){
        .queue_capacity = 10000,
        .max_batch = 64,
        .timeout_us = 10000000,
        .retries = 3,
        .backoff_base_us = 1000000,
        .external_url = "",
    };
}

int tg_notifier_new(struct tg_loop *loop, const struct tg_notify_opts *o,
                    struct tg_notifier **out)
{
    struct tg_notifier *n = calloc(1, sizeof *n);
    if (!n || tg_hclient_new(loop, &n->client) != 0) {
        free(n);
        return -ENOMEM;
    }
    n->loop = loop;
    n->o = *o;
    if (!n->o.queue_capacity)
        n->o.queue_capacity = 1;
    if (!n->o.max_batch)
        n->o.max_batch = 1;
    snprintf(n->external_url, sizeof n->external_url, "%s", o->external_url ? o->external_url : "");
    n->o.external_url = n->external_url;
    *out = n;
    return 0;
}

static void unref(struct qalert *q)
{
    if (q && --q->refs == 0)
        free(q);
}

static struct qalert *at(const struct target *t, uint32_t i)
{
    return t->ring[(t->head + i) % t->n->o.queue_capacity];
}

/* Removes `k` alerts from the head. */
static void pop(struct target *t, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++)
        unref(at(t, i));
    t->head = (t->head + k) % t->n->o.queue_capacity;
    t->len -= k;
    t->st.queued = t->len;
}

void tg_notifier_free(struct tg_notifier *n)
{
    if (!n)
        return;
    tg_hclient_free(n->client); /* no callbacks: the targets go next */
    for (size_t i = 0; i < n->ntargets; i++) {
        struct target *t = n->targets[i];
        tg_timer_stop(n->loop, &t->retry);
        pop(t, t->len);
        free(t->ring);
        free(t);
    }
    free(n->targets);
    free(n);
}

int tg_notifier_add(struct tg_notifier *n, enum tg_notify_kind kind, const char *url,
                    struct tg_errbuf *eb)
{
    struct target *t = calloc(1, sizeof *t);
    struct target **v = realloc(n->targets, (n->ntargets + 1) * sizeof *v);
    if (v)
        n->targets = v;
    if (!t || !v || !(t->ring = calloc(n->o.queue_capacity, sizeof *t->ring))) {
        free(t);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    int rc = tg_hclient_target_parse(url, &t->t, eb);
    size_t plen = strlen(t->t.path);
    if (rc == 0 && kind == TG_NOTIFY_ALERTMANAGER) {
        /* The API path goes after the URL's own prefix ("/" is no prefix). */
        if (plen == 1)
            plen = 0;
        if (plen + sizeof "/api/v2/alerts" > sizeof t->t.path)
            rc = tg_errbuf_set(eb, TG_EPARSE, "%s: path too long", url);
        else
            snprintf(t->t.path + plen, sizeof t->t.path - plen, "/api/v2/alerts");
    }
    if (rc == 0 && strlen(url) >= sizeof t->url)
        rc = tg_errbuf_set(eb, TG_EPARSE, "%s: URL too long", url);
    if (rc != 0) {
        free(t->ring);
        free(t);
        return rc;
    }
    t->n = n;
    t->kind = kind;
    snprintf(t->url, sizeof t->url, "%s", url);
    t->st.url = t->url;
    t->st.kind = kind;
    t->st.last_duration_us = -1;
    n->targets[n->ntargets++] = t;
    return 0;
}

static void pump(struct target *t);

static void on_retry(struct tg_timer *tm)
{
    pump(tm->data);
}

static void on_done(void *ctx, const struct tg_hclient_resp *r)
{
    struct target *t = ctx;
    t->call = NULL;
    bool ok = r->error == TG_HCLIENT_OK && r->status >= 200 && r->status < 300;
    if (r->error == TG_HCLIENT_OK)
        t->st.last_duration_us = r->duration_us;
    uint32_t k = t->in_flight;
    t->in_flight = 0;
    if (ok) {
        t->st.sent += k;
        t->tries = 0;
        pop(t, k);
        pump(t);
        return;
    }
    t->st.errors++;
    char why[64];
    if (r->error == TG_HCLIENT_OK)
        snprintf(why, sizeof why, "status %d", r->status);
    else
        snprintf(why, sizeof why, "%s", tg_hclient_error_name(r->error));
    if (t->tries++ < t->n->o.retries) {
        int64_t wait = t->n->o.backoff_base_us << (t->tries - 1 < 20 ? t->tries - 1 : 20);
        tg_log(TG_LOG_WARN, "rules", "notify-failed url=%s alerts=%u error=%s retry_in_ms=%lld",
               t->url, k, why, (long long)(wait / 1000));
        tg_timer_start(t->n->loop, &t->retry, tg_loop_now_us(t->n->loop) + wait, on_retry, t);
        return;
    }
    tg_log(TG_LOG_ERROR, "rules", "notify-dropped url=%s alerts=%u error=%s tries=%u", t->url, k,
           why, t->tries);
    t->st.dropped += k;
    t->tries = 0;
    pop(t, k);
    pump(t);
}

/* How many alerts from the head the next request takes: up to max_batch, and for a
 * webhook only the run that shares the first alert's alertname (one message per group). */
static uint32_t batch_len(const struct target *t)
{
    uint32_t k = t->len < t->n->o.max_batch ? t->len : t->n->o.max_batch;
    if (t->kind != TG_NOTIFY_WEBHOOK || k == 0)
        return k;
    const char *name = tg_notify__label(&at(t, 0)->a.labels, "alertname");
    uint32_t i = 1;
    while (i < k && strcmp(tg_notify__label(&at(t, i)->a.labels, "alertname"), name) == 0)
        i++;
    return i;
}

/* Starts the next request when none is under way or waiting to be retried. */
static void pump(struct target *t)
{
    if (t->call || t->in_flight || tg_timer_armed(&t->retry) || t->len == 0)
        return;
    uint32_t k = batch_len(t);
    struct tg_notify_alert *v = malloc(k * sizeof *v);
    char *body = NULL;
    if (v) {
        for (uint32_t i = 0; i < k; i++)
            v[i] = at(t, i)->a;
        body = t->kind == TG_NOTIFY_WEBHOOK
                   ? tg_notify_webhook_body(v, k, "tailguard", t->n->o.external_url)
                   : tg_notify_am_body(v, k);
    }
    free(v);
    struct tg_hclient_req rq = {
        .method = "POST",
        .headers = "Content-Type: application/json\r\n",
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_us = t->n->o.timeout_us,
        .max_body = 64 * 1024,
    };
    t->in_flight = k;
    if (!body || tg_hclient_call(t->n->client, &t->t, &rq, on_done, t, &t->call) != 0) {
        /* Out of memory or descriptors: try again later, like a failed request. */
        t->in_flight = 0;
        t->st.errors++;
        tg_timer_start(t->n->loop, &t->retry,
                       tg_loop_now_us(t->n->loop) + t->n->o.backoff_base_us, on_retry, t);
    }
    free(body);
}

/* A deep copy of `a` in one block. */
static struct qalert *copy(const struct tg_notify_alert *a)
{
    size_t size = sizeof(struct qalert), nl = a->labels.n + a->annotations.n;
    size += nl * sizeof(struct tg_label);
    const struct tg_labels *sets[2] = {&a->labels, &a->annotations};
    for (int s = 0; s < 2; s++)
        for (uint32_t i = 0; i < sets[s]->n; i++)
            size += strlen(sets[s]->v[i].name) + strlen(sets[s]->v[i].value) + 2;
    const char *gu = a->generator_url ? a->generator_url : "";
    size += strlen(gu) + 1;
    struct qalert *q = malloc(size);
    if (!q)
        return NULL;
    q->refs = 0;
    q->a = *a;
    struct tg_label *lv = (struct tg_label *)(q + 1);
    char *p = (char *)(lv + nl);
    for (int s = 0; s < 2; s++) {
        struct tg_labels *dst = s ? &q->a.annotations : &q->a.labels;
        dst->v = lv;
        for (uint32_t i = 0; i < sets[s]->n; i++, lv++) {
            size_t a1 = strlen(sets[s]->v[i].name) + 1, a2 = strlen(sets[s]->v[i].value) + 1;
            lv->name = memcpy(p, sets[s]->v[i].name, a1);
            lv->value = memcpy(p + a1, sets[s]->v[i].value, a2);
            p += a1 + a2;
        }
    }
    q->a.generator_url = memcpy(p, gu, strlen(gu) + 1);
    return q;
}

static void enqueue(struct target *t, struct qalert *q)
{
    uint32_t cap = t->n->o.queue_capacity;
    if (t->len == cap) {
        /* Full: the oldest alert not being sent right now goes (Prometheus drops the
         * oldest too); when every slot is in a request, the new alert goes instead. */
        if (t->in_flight >= cap) {
            t->st.dropped++;
            return;
        }
        uint32_t victim = (t->head + t->in_flight) % cap;
        unref(t->ring[victim]);
        for (uint32_t i = t->in_flight; i + 1 < t->len; i++)
            t->ring[(t->head + i) % cap] = t->ring[(t->head + i + 1) % cap];
        t->len--;
        t->st.dropped++;
    }
    q->refs++;
    t->ring[(t->head + t->len) % cap] = q;
    t->len++;
    t->st.queued = t->len;
}

void tg_notifier_send(struct tg_notifier *n, const struct tg_notify_alert *alerts,
                      size_t nalerts)
{
    for (size_t i = 0; i < nalerts; i++) {
        struct qalert *q = n->ntargets ? copy(&alerts[i]) : NULL;
        if (!q) {
            for (size_t k = 0; k < n->ntargets; k++)
                n->targets[k]->st.dropped++;
            continue;
        }
        q->refs = 1; /* held while being queued */
        for (size_t k = 0; k < n->ntargets; k++)
            enqueue(n->targets[k], q);
        unref(q);
    }
    for (size_t k = 0; k < n->ntargets; k++)
        pump(n->targets[k]);
}

void tg_notifier_foreach(const struct tg_notifier *n,
                         void (*fn)(const struct tg_notify_target_stats *st, void *ctx),
                         void *ctx)
{
    for (size_t i = 0; i < n->ntargets; i++)
        fn(&n->targets[i]->st, ctx);
}
