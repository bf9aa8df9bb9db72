/* SPDX-License-Identifier: MIT */
/* The admin listener and request dispatch; see server.h. Connections, HTTP/1 rules,
 * limits and timeouts are the HTTP server engine's (http/server.h): this file sets the
 * admin listener's own small limits and turns each request into a handler call. The
 * limits are constants for now: the admin port serves operators and scrapers, a few
 * connections each, and must stay reachable when something floods it. */
#include "admin/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/collect.h"
#include "control/control.h"
#include "control/runtime.h"
#include "control/respond.h"
#include "control/scrape.h"
#include "tsdb/tsdb.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/server.h"
#include "metrics/expo.h"
#include "metrics/process.h"
#include "admin/async.h"
#include "admin/collectors.h"
#include "admin/control_api.h"
#include "admin/dashboard.h"
#include "admin/federate.h"
#include "admin/health.h"
#include "admin/diagnosis.h"
#include "admin/incidents.h"
#include "admin/monitoring.h"
#include "admin/prom.h"
#include "admin/promapi.h"
#include "admin/promapi_rules.h"
#include "proxy/collect.h"
#include "proxy/gateway.h"

/* Far above what operators, a scraper and the dashboard open, far below what exhausts
 * descriptors or memory (about 20 KiB per connection with a request in flight). */
#define ADMIN_MAX_CONNS 256
#define ADMIN_HEAD_BYTES (16 * 1024)
#define ADMIN_TARGET_BYTES (8 * 1024)
#define ADMIN_BODY_BYTES (1024 * 1024) /* control-API JSON bodies */
#define ADMIN_HEADER_TIMEOUT_US 10000000
#define ADMIN_IDLE_US 30000000
#define ADMIN_BODY_TIMEOUT_US 10000000
#define ADMIN_WRITE_TIMEOUT_US 10000000

struct tg_admin {
    struct tg_loop *loop;
    struct tg_gateway *gw;
    const struct tg_control *ctl;
    struct tg_runtime *rt;
    int lfd;
    bool draining;
    int64_t start_wall_us;
    struct tg_hsrv *srv;
    struct tg_admin_prom prom; /* the admin listener's own series */
    /* The collectors /metrics shows: the control thread's list, with the store's and the
     * admin listener's added; without a control thread (tests), a list of our own. */
    struct tg_mcollectors *cs, *own;
    struct tg_process_info process;
    struct tg_store *store; /* whose collector we added, or NULL */
    struct tg_scrape *scrape; /* the store the Prometheus API reads, or NULL */
    struct tg_ruler *ruler; /* the rule engine, once started (tg_admin_set_ruler) */
    struct tg_scaler *scaler; /* the autoscaler, once started (tg_admin_set_scaler) */
    struct tg_cset *collectors; /* the collector targets (tg_admin_set_collectors), or NULL */
    struct tg_incidents *incidents; /* tg_admin_set_incidents, or NULL */
    struct tg_respond *respond;     /* tg_admin_set_respond, or NULL */
};

/* What a connection holds: the exposition it is streaming, if any, or the asynchronous
 * answer it waits for (async.h). */
struct conn {
    struct tg_admin_prom_stream *metrics;
    tg_admin_async_cancel_fn *cancel;
    void *pending;
};

void tg_admin_async_hold(struct tg_hconn *c, tg_admin_async_cancel_fn *cancel, void *p)
{
    struct conn *cd = tg_hconn_data(c);
    cd->cancel = cancel;
    cd->pending = p;
}

void tg_admin_async_respond(struct tg_hconn *c, struct tg_admin_resp *r)
{
    struct conn *cd = tg_hconn_data(c);
    cd->cancel = NULL;
    cd->pending = NULL;
    tg_hconn_respond_ref(c, r->status, r->content_type ? r->content_type : "text/plain", r->extra,
                         r->body, r->body_len, free, r->body);
    r->body = NULL;
}

struct tg_gateway *tg_admin_gateway(struct tg_admin *a)
{
    return a->gw;
}

struct tg_runtime *tg_admin_runtime(struct tg_admin *a)
{
    return a->rt;
}

void tg_admin_handle(struct tg_admin *a, const struct tg_http_msg *req, const char *body,
                     size_t body_len, const char *peer, struct tg_admin_resp *resp)
{
    struct tg_admin_control_ctx cc = {a->gw, a->rt, peer, a->scaler};
    struct tg_queryable q;
    if (a->scrape)
        tg_tsdb_queryable(tg_scrape_tsdb(a->scrape), &q);
    struct tg_str p = req->path;
    bool get = req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD;
    struct tg_admin_health_ctx h = {a->gw, a->draining, a->start_wall_us, a->collectors};
#define PATH_IS(s) (p.len == sizeof(s) - 1 && memcmp(p.p, s, p.len) == 0)
    bool health = PATH_IS("/health") || PATH_IS("/api/v1/health") || PATH_IS("/api/health") ||
                  PATH_IS("/health/detailed") || PATH_IS("/health/services");
    if (health && !get) {
        tg_admin_resp_error(resp, 405, "method not allowed", NULL);
        return;
    }
    if (PATH_IS("/health"))
        tg_admin_health(&h, false, resp);
    else if (PATH_IS("/api/v1/health") || PATH_IS("/api/health"))
        tg_admin_health(&h, true, resp);
    else if (PATH_IS("/health/detailed"))
        tg_admin_health_detailed(&h, resp);
    else if (PATH_IS("/health/services"))
        tg_admin_health_services(&h, resp);
    else if (PATH_IS("/metrics") && get)
        tg_admin_prom_metrics(a->cs, resp);
    else if (PATH_IS("/metrics"))
        tg_admin_resp_error(resp, 405, "method not allowed", NULL);
    else if (PATH_IS("/federate") && get)
        tg_admin_federate(a->scrape ? tg_scrape_tsdb(a->scrape) : NULL, req->query,
                          tg_clock_wall_us() / 1000, resp);
    else if (PATH_IS("/federate"))
        tg_admin_resp_error(resp, 405, "method not allowed", NULL);
    else if (tg_admin_promapi(&(struct tg_admin_promapi_ctx){a->scrape, a->cs, a->start_wall_us, 0,
                                                              a->collectors},
                              req, body, body_len, resp))
        return;
    else if (tg_admin_diagnosis(&(struct tg_admin_diag_ctx){a->gw, a->scrape,
                                                             a->rt ? tg_runtime_store(a->rt) : NULL},
                                req, resp))
        return;
    else if (tg_admin_monitoring(a->gw, a->collectors, req, resp))
        return;
    else if (PATH_IS("/api/v1/system/playbooks") && get && a->respond)
        tg_admin_resp_json(resp, 200, tg_respond_playbooks_status(a->respond));
    else if (tg_admin_control(&cc, req, body, body_len, resp))
        return;
    else if (tg_admin_incidents(&cc, a->incidents, a->scrape ? &q : NULL, req, body, body_len,
                                resp) ||
             tg_admin_events(&cc, req, body, body_len, resp))
        return;
    else if (tg_admin_promapi_rules(a->ruler, tg_gateway_config(a->gw), req, resp))
        return;
    else
        tg_admin_resp_error(resp, 404, "not found", NULL);
#undef PATH_IS
}

static void on_head(struct tg_hconn *c, const struct tg_http_msg *m)
{
    (void)m;
    tg_hconn_capture_body(c, ADMIN_BODY_BYTES);
}

/* An HTTP/1.1 GET /metrics: streamed with chunked coding (HEAD and HTTP/1.0 clients,
 * which need a Content-Length, get the whole body from tg_admin_handle). */
static bool stream_metrics(struct tg_admin *a, struct tg_hconn *c, const struct tg_http_msg *m)
{
    if (m->method != TG_HTTP_GET || m->minor != 1 || m->path.len != 8 ||
        memcmp(m->path.p, "/metrics", 8) != 0)
        return false;
    struct conn *cd = tg_hconn_data(c);
    cd->metrics = tg_admin_prom_stream_new(a->cs);
    if (!cd->metrics)
        return false; /* the buffered path answers 500 */
    tg_hconn_respond_stream(c, 200, TG_EXPO_CONTENT_TYPE, NULL, 0, true);
    return true;
}

static void on_write(struct tg_hconn *c)
{
    struct conn *cd = tg_hconn_data(c);
    const char *p = NULL;
    size_t n = 0;
    int rc = cd->metrics ? tg_admin_prom_stream_next(cd->metrics, &p, &n) : TG_DONE;
    if (rc < 0) {
        tg_log(TG_LOG_WARN, "admin", "metrics stream failed err=%s", tg_strerror(rc));
        tg_hconn_close(c, "out of memory");
        return;
    }
    if (n) {
        tg_hconn_stream_ref(c, p, n); /* the next on_write ends it when this was the last */
        return;
    }
    tg_admin_prom_stream_free(cd->metrics);
    cd->metrics = NULL;
    tg_hconn_stream_end(c);
}

static void on_close(struct tg_hconn *c)
{
    struct conn *cd = tg_hconn_data(c);
    tg_admin_prom_stream_free(cd->metrics);
    cd->metrics = NULL;
    if (cd->cancel) {
        tg_admin_async_cancel_fn *cancel = cd->cancel;
        cd->cancel = NULL;
        cancel(cd->pending);
    }
}

static void on_request(struct tg_hconn *c, const struct tg_http_msg *m)
{
    struct tg_admin *a = tg_hsrv_data(tg_hconn_server(c));
    if (stream_metrics(a, c, m) || tg_admin_dashboard(c, m))
        return;
    size_t blen = 0;
    const char *body = tg_hconn_body(c, &blen);
    struct tg_admin_resp r = {0};
    char peer[64];
    tg_hconn_peer(c, peer, sizeof peer);
    const struct tg_admin_coll_ctx coll = {a->collectors, a->gw, a->rt, peer};
    if (tg_admin_collectors(&coll, c, m, body, blen))
        return;
    tg_admin_handle(a, m, body, blen, peer, &r);
    tg_hconn_respond_ref(c, r.status, r.content_type ? r.content_type : "text/plain", r.extra,
                         r.body, r.body_len, free, r.body);
}

/* Errors the engine answers itself look like every other admin error. */
static size_t error_body(struct tg_hsrv *s, int status, const char *msg, char *dst, size_t cap,
                         const char **ctype)
{
    (void)s;
    (void)status;
    *ctype = "application/json";
    int n = snprintf(dst, cap, "{\"error\":\"%s\",\"field\":null}\n", msg);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static const struct tg_hsrv_handler handler = {
    .on_head = on_head,
    .on_request = on_request,
    .on_write = on_write,
    .on_close = on_close,
    .error_body = error_body,
};

static int listen_on(const struct tg_addr *addr)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1 || listen(fd, 128) == -1) {
        int err = -errno;
        if (fd != -1)
            close(fd);
        return err;
    }
    return fd;
}

/* The store's and our own collectors, on the control thread's list (or on our own list
 * with the gateway's and the process's, when there is no control thread). */
static int add_collectors(struct tg_admin *a)
{
    int rc = 0;
    if (a->ctl) {
        a->cs = tg_control_collectors(a->ctl);
    } else {
        a->process.start_wall_us = a->start_wall_us;
        if ((rc = tg_mcollectors_new(&a->own)) != 0 ||
            (rc = tg_gateway_collectors_add(a->own, a->gw)) != 0 ||
            (rc = tg_mcollectors_add(a->own, "process", tg_process_collect, &a->process)) != 0)
            return rc;
        a->cs = a->own;
    }
    struct tg_store *store = a->rt ? tg_runtime_store(a->rt) : NULL;
    if (store && (rc = tg_mcollectors_add(a->cs, "store", tg_control_collect_store, store)) != 0)
        return rc;
    a->store = store;
    return tg_mcollectors_add(a->cs, "admin", tg_admin_prom_collect, &a->prom);
}

int tg_admin_new(struct tg_loop *loop, const struct tg_addr *addr, struct tg_gateway *gw,
                 const struct tg_control *ctl, struct tg_runtime *rt, struct tg_admin **out,
                 struct tg_errbuf *eb)
{
    struct tg_admin *a = calloc(1, sizeof *a);
    if (!a)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    a->loop = loop;
    a->gw = gw;
    a->ctl = ctl;
    a->rt = rt;
    a->lfd = -1;
    a->start_wall_us = tg_clock_wall_us();
    a->prom.reload = (struct tg_admin_reload){.ok = true, .success_wall_us = a->start_wall_us};
    a->lfd = listen_on(addr);
    if (a->lfd < 0) {
        int err = a->lfd;
        tg_admin_free(a);
        return tg_errbuf_set(eb, err, "cannot listen on admin address %s: %s", addr->text,
                             strerror(-err));
    }
    struct tg_hsrv_config cfg = {
        .limits =
            {
                .max_conns = ADMIN_MAX_CONNS,
                .max_head_bytes = ADMIN_HEAD_BYTES,
                .max_target_bytes = ADMIN_TARGET_BYTES,
                .max_body_bytes = ADMIN_BODY_BYTES,
                .header_timeout_us = ADMIN_HEADER_TIMEOUT_US,
                .idle_timeout_us = ADMIN_IDLE_US,
                .body_timeout_us = ADMIN_BODY_TIMEOUT_US,
                .write_timeout_us = ADMIN_WRITE_TIMEOUT_US,
            },
        .handler = &handler,
        .data = a,
        .conn_data_bytes = sizeof(struct conn),
        .resp_headers = "Cache-Control: no-store\r\n",
        .log_module = "admin",
    };
    int rc = tg_hsrv_new(&a->srv, loop, a->lfd, &cfg);
    if (rc < 0) {
        tg_admin_free(a);
        return tg_errbuf_set(eb, rc, "cannot serve admin address %s: %s", addr->text,
                             tg_strerror(rc));
    }
    a->prom.srv = a->srv;
    if ((rc = add_collectors(a)) != 0) {
        tg_admin_free(a);
        return tg_errbuf_set(eb, rc, "metrics collectors: %s", tg_strerror(rc));
    }
    tg_log(TG_LOG_INFO, "admin", "listening addr=%s", addr->text);
    *out = a;
    return 0;
}

void tg_admin_set_draining(struct tg_admin *a)
{
    a->draining = true;
    tg_hsrv_set_draining(a->srv);
}

void tg_admin_server_stats(const struct tg_admin *a, struct tg_hsrv_stats *out)
{
    tg_hsrv_stats(a->srv, out);
}

void tg_admin_reloaded(struct tg_admin *a, bool ok, uint32_t restart_pending)
{
    a->prom.reload.ok = ok;
    if (ok) {
        a->prom.reload.success_wall_us = tg_clock_wall_us();
        a->prom.reload.restart_pending = restart_pending;
    }
}

void tg_admin_set_scrape(struct tg_admin *a, struct tg_scrape *s)
{
    a->scrape = s;
}

void tg_admin_set_scaler(struct tg_admin *a, struct tg_scaler *scaler)
{
    a->scaler = scaler;
}

void tg_admin_set_ruler(struct tg_admin *a, struct tg_ruler *ruler)
{
    a->ruler = ruler;
}

void tg_admin_set_collectors(struct tg_admin *a, struct tg_cset *set)
{
    a->collectors = set;
}

void tg_admin_free(struct tg_admin *a)
{
    if (!a)
        return;
    tg_hsrv_free(a->srv);
    if (a->lfd >= 0)
        close(a->lfd);
    if (a->cs) {
        tg_mcollectors_remove(a->cs, &a->prom);
        if (a->store)
            tg_mcollectors_remove(a->cs, a->store);
    }
    tg_mcollectors_free(a->own);
    free(a);
}

void tg_admin_set_respond(struct tg_admin *a, struct tg_respond *r)
{
    a->respond = r;
}

void tg_admin_set_incidents(struct tg_admin *a, struct tg_incidents *m)
{
    a->incidents = m;
}
