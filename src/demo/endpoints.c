/* SPDX-License-Identifier: MIT */
/* What each demo API endpoint answers, and when. ep_begin runs when the request head is
 * complete: it routes, evaluates the faults (so their effects, including capacity
 * queueing, count from the arrival of the head) and tells the engine what to do with the
 * body (its limit, and whether to keep it). ep_dispatch runs once the body is in: it
 * answers at once, arms the connection's timer for the simulated latency (never
 * sleeping the thread), or holds a hung request. Response bodies are either static
 * (built once at start-up) or formatted into a stack buffer; /echo is built in the
 * connection's big block and lent to the engine; /_faults uses jansson, since it is
 * control traffic. The agent pool's paths are answered by agents_ep.c; each
 * /api/v1/agents request is one coordination of its model while it is in progress. */
#include "demo/server_int.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "demo/json.h"

#define JSON "application/json"
#define LIT(s) s, sizeof(s) - 1 /* a string literal and its length */

/* Simulated service times (median, p99, clamp), in ms. */
static struct tg_demo_lognormal lat_products, lat_product, lat_analytics, lat_generate, lat_agents;

static char products_json[4096];
static size_t products_len;

static const char agents_json[] =
    "{\"agents\":["
    "{\"id\":\"agent-1\",\"name\":\"planner\",\"status\":\"active\",\"tasks\":12},"
    "{\"id\":\"agent-2\",\"name\":\"researcher\",\"status\":\"active\",\"tasks\":7},"
    "{\"id\":\"agent-3\",\"name\":\"writer\",\"status\":\"idle\",\"tasks\":0},"
    "{\"id\":\"agent-4\",\"name\":\"reviewer\",\"status\":\"active\",\"tasks\":3},"
    "{\"id\":\"agent-5\",\"name\":\"coordinator\",\"status\":\"degraded\",\"tasks\":21}"
    "],\"total\":5}";

static const char *const adjectives[] = {"Ergonomic", "Rustic", "Sleek",   "Durable",
                                         "Compact",   "Smart",  "Vintage", "Premium"};
static const char *const nouns[] = {"Chair",   "Lamp", "Keyboard",   "Backpack", "Kettle",
                                    "Monitor", "Desk", "Headphones", "Bottle",   "Jacket"};
static const char *const categories[] = {"furniture", "electronics", "outdoor", "kitchen",
                                         "apparel"};

/* One product, derived from its id so every worker and every run agree. */
static int product_json(char *dst, size_t cap, uint64_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    return snprintf(dst, cap,
                    "{\"id\":%" PRIu64 ",\"name\":\"%s %s %" PRIu64 "\",\"category\":\"%s\","
                    "\"price\":%" PRIu64 ".%02" PRIu64 ",\"currency\":\"USD\","
                    "\"stock\":%" PRIu64 ",\"rating\":%" PRIu64 ".%" PRIu64 "}",
                    id, adjectives[h % 8], nouns[(h >> 8) % 10], id, categories[(h >> 16) % 5],
                    5 + (h >> 20) % 495, (h >> 32) % 100, (h >> 40) % 250, 3 + (h >> 48) % 2,
                    (h >> 52) % 10);
}

void tg_demo__endpoints_init(void)
{
    tg_demo_lognormal_init(&lat_products, 20, 80, 10000);
    tg_demo_lognormal_init(&lat_product, 8, 30, 10000);
    tg_demo_lognormal_init(&lat_analytics, 150, 1500, 30000);
    tg_demo_lognormal_init(&lat_generate, 600, 2000, 30000);
    tg_demo_lognormal_init(&lat_agents, 15, 60, 10000);
    size_t n = (size_t)snprintf(products_json, sizeof products_json, "{\"products\":[");
    for (uint64_t id = 1; id <= 20; id++) {
        n += (size_t)product_json(products_json + n, sizeof products_json - n, id);
        products_json[n++] = id < 20 ? ',' : ']';
    }
    n += (size_t)snprintf(products_json + n, sizeof products_json - n, ",\"total\":20}");
    products_len = n;
}

/* Writes `s` as a quoted JSON string; returns the new end. Room: 6 * n + 2. */
static char *put_jstr(char *d, const char *s, size_t n)
{
    *d++ = '"';
    d += tg_demo_json_escape(d, s, n);
    *d++ = '"';
    return d;
}

static char *put_lit(char *d, const char *s)
{
    size_t n = strlen(s);
    memcpy(d, s, n);
    return d + n;
}

/* Writes the echo JSON up to the opening quote of "body" into the big block. The whole
 * head is at most TG_DEMO_HEAD_MAX bytes and the captured body TG_DEMO_CAPTURE_MAX, so
 * even fully escaped (x6) both fit in the block. */
static bool echo_begin(struct tg_demo_conn *d, const struct tg_http_msg *m)
{
    if (!tg_buf_reserve(&d->big, &d->w->bigpool)) {
        tg_hconn_close(d->hc, "out of memory");
        return false;
    }
    char *base = d->big.data, *p = base;
    p = put_lit(p, "{\"method\":");
    p = put_jstr(p, m->method_str.p, m->method_str.len);
    p = put_lit(p, ",\"path\":");
    p = put_jstr(p, m->path.p, m->path.len);
    p = put_lit(p, ",\"query\":");
    p = put_jstr(p, m->query.p, m->query.len);
    p = put_lit(p, m->minor ? ",\"version\":\"HTTP/1.1\",\"headers\":["
                            : ",\"version\":\"HTTP/1.0\",\"headers\":[");
    for (uint32_t i = 0; i < m->nheaders; i++) {
        p = put_lit(p, i ? ",[" : "[");
        p = put_jstr(p, m->headers[i].name.p, m->headers[i].name.len);
        *p++ = ',';
        p = put_jstr(p, m->headers[i].value.p, m->headers[i].value.len);
        *p++ = ']';
    }
    p = put_lit(p, "],\"body\":\"");
    d->req.echo_len = (uint32_t)(p - base);
    return true;
}

static void release_big(void *arg)
{
    struct tg_demo_conn *d = arg;
    tg_buf_release(&d->big, &d->w->bigpool);
}

static void echo_answer(struct tg_demo_conn *d)
{
    size_t cap_len = 0;
    const char *cap = tg_hconn_body(d->hc, &cap_len);
    uint64_t total = tg_hconn_body_bytes(d->hc);
    char *base = d->big.data;
    size_t n = d->req.echo_len;
    n += tg_demo_json_escape(base + n, cap, cap_len);
    n += (size_t)sprintf(base + n, "\",\"body_bytes\":%" PRIu64 ",\"body_truncated\":%s}", total,
                         total > cap_len ? "true" : "false");
    tg_hconn_respond_ref(d->hc, 200, JSON, NULL, base, n, release_big, d);
}

/* /_faults: DELETE ?endpoint=X decodes X into r->name now, while the query exists; POST
 * keeps its JSON body (a bigger one is a 413). */
static void faults_begin(struct tg_demo_conn *d, const struct tg_http_msg *m)
{
    struct tg_demo_req *r = &d->req;
    tg_hconn_set_body_limit(d->hc, TG_DEMO_CAPTURE_MAX);
    struct tg_str v;
    if (m->method == TG_HTTP_DELETE && tg_demo_query_get(m->query, "endpoint", &v)) {
        long n = tg_demo_url_decode(r->name, sizeof r->name - 1, v);
        r->has_name = true;
        r->name_len = n < 0 ? 0 : (uint32_t)n;
    }
    if (m->method == TG_HTTP_POST)
        tg_hconn_capture_body(d->hc, TG_DEMO_CAPTURE_MAX);
}

void tg_demo__ep_begin(struct tg_demo_conn *d, const struct tg_http_msg *m)
{
    struct tg_demo_req *r = &d->req;
    struct tg_demo_worker *w = d->w;
    memset(r, 0, offsetof(struct tg_demo_req, name));
    r->head_us = tg_loop_now_us(w->loop);
    r->method = m->method;
    r->route_err = tg_demo_route_match(m->method, m->path, &r->route);
    if (r->route_err != TG_DEMO_ROUTE_OK)
        return;
    /* The agent pool's control paths are not faulted either (see agents_ep.c). */
    if (tg_demo__agents_begin(d, m))
        return;
    struct tg_str v;
    switch (r->route.ep) {
    case TG_DEMO_EP_FAULTS:
        /* Control traffic is never subject to the faults it controls. */
        faults_begin(d, m);
        return;
    case TG_DEMO_EP_ANALYTICS:
        r->name_len = r->route.name.len < 64 ? r->route.name.len : 64;
        memcpy(r->name, r->route.name.p, r->name_len);
        break;
    case TG_DEMO_EP_BYTES:
        r->chunked_resp = tg_demo_query_get(m->query, "chunked", &v) && v.len == 1 && v.p[0] == '1';
        break;
    case TG_DEMO_EP_ECHO:
        /* Any size is counted; the first bytes are echoed back. */
        tg_hconn_set_body_limit(d->hc, UINT64_MAX);
        tg_hconn_capture_body(d->hc, TG_DEMO_CAPTURE_MAX);
        break;
    default:
        break;
    }
    tg_demo_faults_eval(tg_demo_faults_current(w->sh->faults), m->path, r->head_us, &w->rng,
                        &r->effect);
}

static void answer_json(struct tg_demo_conn *d, int status, const char *body, size_t len)
{
    tg_hconn_respond(d->hc, status, JSON, NULL, body, len);
}

static void answer_route_err(struct tg_demo_conn *c)
{
    struct tg_demo_req *r = &c->req;
    char extra[96];
    switch (r->route_err) {
    case TG_DEMO_ROUTE_BAD_METHOD:
        snprintf(extra, sizeof extra, "Allow: %s\r\n", r->route.allow);
        tg_hconn_respond(c->hc, 405, JSON, extra, LIT("{\"error\":\"method not allowed\"}"));
        return;
    case TG_DEMO_ROUTE_BAD_ARG:
        answer_json(c, 400, LIT("{\"error\":\"bad path argument\"}"));
        return;
    case TG_DEMO_ROUTE_NOT_FOUND:
    case TG_DEMO_ROUTE_OK:
    default:
        answer_json(c, 404, LIT("{\"error\":\"not found\"}"));
        return;
    }
}

void tg_demo__answer_error(struct tg_demo_conn *c, int status, const char *msg, const char *field)
{
    char body[512];
    char *d = put_lit(body, "{\"error\":");
    d = put_jstr(d, msg, strlen(msg));
    d = put_lit(d, ",\"field\":");
    d = field && field[0] ? put_jstr(d, field, strlen(field)) : put_lit(d, "null");
    *d++ = '}';
    answer_json(c, status, body, (size_t)(d - body));
}

/* Answers with the current fault list (after a change, the new one). */
static void answer_fault_list(struct tg_demo_conn *c)
{
    struct tg_demo_worker *w = c->w;
    char *s =
        tg_demo_faults_to_json(tg_demo_faults_current(w->sh->faults), tg_loop_now_us(w->loop));
    if (!s) {
        tg_demo__answer_error(c, 503, "out of memory", NULL);
        return;
    }
    tg_hconn_respond_ref(c->hc, 200, JSON, NULL, s, strlen(s), free, s);
}

static void faults_post(struct tg_demo_conn *c)
{
    struct tg_demo_worker *w = c->w;
    struct tg_demo_fault f;
    struct tg_demo_fault_err err;
    size_t len = 0;
    const char *body = tg_hconn_body(c->hc, &len);
    if (tg_demo_fault_parse(body ? body : "", len, tg_loop_now_us(w->loop), &f, &err)) {
        tg_demo__answer_error(c, 400, err.msg, err.field);
        return;
    }
    int rc = tg_demo_faults_put(w->sh->faults, &f);
    if (rc == TG_ELIMIT) {
        tg_demo__answer_error(c, 409, "too many active faults", "endpoint");
        return;
    }
    if (rc < 0) {
        tg_demo__answer_error(c, 503, "out of memory", NULL);
        return;
    }
    tg_log(TG_LOG_INFO, "demo", "fault set endpoint=%s latency_ms=%" PRId64 " error_rate=%g",
           f.endpoint, f.latency_us / 1000, f.error_rate);
    /* Every worker passes a quiescent point so the replaced set can be freed. */
    tg_demo__wake_all(w->sh);
    answer_fault_list(c);
}

static void faults_handle(struct tg_demo_conn *c)
{
    struct tg_demo_req *r = &c->req;
    struct tg_demo_worker *w = c->w;
    if (r->method == TG_HTTP_POST) {
        faults_post(c);
        return;
    }
    if (r->method == TG_HTTP_DELETE) {
        int n = tg_demo_faults_delete(w->sh->faults, r->has_name ? r->name : NULL, r->name_len);
        if (n < 0) {
            tg_demo__answer_error(c, 503, "out of memory", NULL);
            return;
        }
        if (n == 0 && r->has_name) {
            tg_demo__answer_error(c, 404, "no fault for this endpoint", "endpoint");
            return;
        }
        if (n > 0) {
            tg_log(TG_LOG_INFO, "demo", "faults cleared count=%d", n);
            tg_demo__wake_all(w->sh);
        }
    }
    answer_fault_list(c);
}

static void answer_generate(struct tg_demo_conn *c)
{
    struct tg_demo_worker *w = c->w;
    uint64_t prompt_bytes = tg_hconn_body_bytes(c->hc);
    uint64_t prompt_tokens = (prompt_bytes + 3) / 4;
    uint64_t completion_tokens = 40 + tg_demo_rng_next(&w->rng) % 200;
    char body[768];
    int n = snprintf(body, sizeof body,
                     "{\"id\":\"gen-%u-%" PRIu64 "\",\"model\":\"demo-llm-1\","
                     "\"output\":\"Here is a draft based on your prompt. Latency in this "
                     "service follows a long-tailed distribution, as language models do.\","
                     "\"usage\":{\"prompt_bytes\":%" PRIu64 ",\"prompt_tokens\":%" PRIu64
                     ",\"completion_tokens\":%" PRIu64 "}}",
                     w->idx, ++w->generated, prompt_bytes, prompt_tokens, completion_tokens);
    answer_json(c, 200, body, (size_t)n);
}

static void answer_analytics(struct tg_demo_conn *c)
{
    struct tg_demo_req *r = &c->req;
    char body[1536];
    char *d = put_lit(body, "{\"report\":");
    d = put_jstr(d, r->name, r->name_len);
    d = put_lit(d, ",\"period\":\"7d\",\"rows\":[");
    for (int day = 1; day <= 7; day++) {
        uint64_t h = (uint64_t)(r->name_len * 131 + (unsigned)day) * 0x9E3779B97F4A7C15ull;
        d += sprintf(d,
                     "%s{\"day\":%d,\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
                     ",\"p95_ms\":%" PRIu64 "}",
                     day > 1 ? "," : "", day, 10000 + (h >> 40) % 90000, (h >> 20) % 300,
                     40 + (h >> 8) % 400);
    }
    d = put_lit(d, "]}");
    answer_json(c, 200, body, (size_t)(d - body));
}

/* Produces the endpoint's answer; the request's simulated time has passed. */
static void answer(struct tg_demo_conn *c)
{
    struct tg_demo_req *r = &c->req;
    char body[512];
    int n;
    if (r->effect.status) {
        n = snprintf(body, sizeof body, "{\"error\":\"injected fault\",\"status\":%d}",
                     r->effect.status);
        answer_json(c, r->effect.status, body, (size_t)n);
        return;
    }
    switch (r->route.ep) {
    case TG_DEMO_EP_ROOT:
        tg_hconn_respond(c->hc, 200, "text/plain", NULL, LIT("ok"));
        return;
    case TG_DEMO_EP_HEALTH:
        answer_json(c, 200, LIT("{\"status\":\"ok\"}"));
        return;
    case TG_DEMO_EP_PRODUCTS:
        answer_json(c, 200, products_json, products_len);
        return;
    case TG_DEMO_EP_PRODUCT:
        if (r->route.arg == 0 || r->route.arg > TG_DEMO_MAX_PRODUCT_ID) {
            n = snprintf(body, sizeof body, "{\"error\":\"product not found\",\"id\":%" PRIu64 "}",
                         r->route.arg);
            answer_json(c, 404, body, (size_t)n);
            return;
        }
        answer_json(c, 200, body, (size_t)product_json(body, sizeof body, r->route.arg));
        return;
    case TG_DEMO_EP_ANALYTICS:
        answer_analytics(c);
        return;
    case TG_DEMO_EP_GENERATE:
        answer_generate(c);
        return;
    case TG_DEMO_EP_AGENTS:
        tg_demo__ep_end(c);
        answer_json(c, 200, agents_json, sizeof agents_json - 1);
        return;
    case TG_DEMO_EP_ECHO:
        echo_answer(c);
        return;
    case TG_DEMO_EP_BYTES:
        tg_demo__respond_bytes(c, r->route.arg, r->chunked_resp);
        return;
    case TG_DEMO_EP_STATUS:
        n = snprintf(body, sizeof body, "{\"status\":%" PRIu64 "}", r->route.arg);
        answer_json(c, (int)r->route.arg, body, (size_t)n);
        return;
    case TG_DEMO_EP_SLEEP:
        n = snprintf(body, sizeof body, "{\"slept_ms\":%" PRIu64 "}", r->route.arg);
        answer_json(c, 200, body, (size_t)n);
        return;
    case TG_DEMO_EP_FAULTS:
    case TG_DEMO_EP_NOT_FOUND:
    default:
        answer_route_err(c);
        return;
    }
}

void tg_demo__ep_end(struct tg_demo_conn *d)
{
    if (!d->req.agent_busy)
        return;
    d->req.agent_busy = false;
    tg_demo_agents_end(&d->w->sh->agents);
}

static void on_latency_done(struct tg_timer *t)
{
    answer(t->data);
}

/* The endpoint's own simulated service time (scaled), or the explicit /sleep time. */
static int64_t base_latency_us(struct tg_demo_conn *c)
{
    struct tg_demo_req *r = &c->req;
    struct tg_demo_rng *rng = &c->w->rng;
    double scale = c->w->sh->latency_scale;
    switch (r->route.ep) {
    case TG_DEMO_EP_PRODUCTS:
        return tg_demo_lognormal_sample_us(&lat_products, rng, scale);
    case TG_DEMO_EP_PRODUCT:
        return tg_demo_lognormal_sample_us(&lat_product, rng, scale);
    case TG_DEMO_EP_ANALYTICS:
        return tg_demo_lognormal_sample_us(&lat_analytics, rng, scale);
    case TG_DEMO_EP_GENERATE:
        return tg_demo_lognormal_sample_us(&lat_generate, rng, scale);
    case TG_DEMO_EP_AGENTS:
        return tg_demo_lognormal_sample_us(&lat_agents, rng, scale);
    case TG_DEMO_EP_SLEEP:
        return (int64_t)r->route.arg * 1000;
    default:
        return 0;
    }
}

void tg_demo__ep_dispatch(struct tg_demo_conn *c, const struct tg_http_msg *m)
{
    struct tg_demo_req *r = &c->req;
    if (r->route_err != TG_DEMO_ROUTE_OK) {
        answer_route_err(c);
        return;
    }
    if (r->route.ep == TG_DEMO_EP_FAULTS) {
        faults_handle(c);
        return;
    }
    if (tg_demo__agents_handle(c))
        return;
    if (r->route.ep == TG_DEMO_EP_ECHO && !echo_begin(c, m))
        return;
    /* Injected errors fail fast (only the injected latency applies); a capacity model's
     * service time stands in for the endpoint's own. */
    int64_t delay = r->effect.delay_us;
    if (!r->effect.status && (!r->effect.capacity || r->route.ep == TG_DEMO_EP_SLEEP))
        delay += base_latency_us(c);
    if (r->route.ep == TG_DEMO_EP_AGENTS && !r->effect.status) {
        tg_demo_agents_begin(&c->w->sh->agents, delay, r->effect.hang);
        r->agent_busy = true;
    }
    if (r->effect.hang) {
        /* Held until the client gives up. */
        tg_hconn_cancel_on_hup(c->hc);
        return;
    }
    int64_t due = r->head_us + delay;
    if (delay <= 0 || due <= tg_loop_now_us(c->w->loop)) {
        answer(c);
        return;
    }
    tg_timer_start(c->w->loop, &c->timer, due, on_latency_done, c);
}
