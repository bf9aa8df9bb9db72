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

#include "control/runtime.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/server.h"
#include "metrics/registry.h"
#include "admin/control_api.h"
#include "admin/health.h"
#include "admin/monitoring.h"
#include "admin/prom.h"
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
    struct tg_registry *reg; /* scrape-time counters and gauges of /metrics */
    struct tg_admin_reload reload;
};

static void prom_metrics(struct tg_admin *a, struct tg_admin_resp *resp)
{
    struct tg_hsrv_stats hs;
    tg_admin_server_stats(a, &hs);
    tg_admin_prom_metrics(a->gw, a->ctl, a->rt ? tg_runtime_store(a->rt) : NULL, a->reg,
                          a->start_wall_us, &a->reload, &hs, resp);
}

void tg_admin_handle(struct tg_admin *a, const struct tg_http_msg *req, const char *body,
                     size_t body_len, const char *peer, struct tg_admin_resp *resp)
{
    struct tg_admin_control_ctx cc = {a->gw, a->rt, peer};
    struct tg_str p = req->path;
    bool get = req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD;
    struct tg_admin_health_ctx h = {a->gw, a->draining, a->start_wall_us};
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
        prom_metrics(a, resp);
    else if (PATH_IS("/metrics"))
        tg_admin_resp_error(resp, 405, "method not allowed", NULL);
    else if (tg_admin_monitoring(a->gw, req, resp))
        return;
    else if (tg_admin_control(&cc, req, body, body_len, resp))
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

static void on_request(struct tg_hconn *c, const struct tg_http_msg *m)
{
    struct tg_admin *a = tg_hsrv_data(tg_hconn_server(c));
    size_t blen = 0;
    const char *body = tg_hconn_body(c, &blen);
    struct tg_admin_resp r = {0};
    char peer[64];
    tg_hconn_peer(c, peer, sizeof peer);
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
    a->reload = (struct tg_admin_reload){.ok = true, .success_wall_us = a->start_wall_us};
    if (tg_registry_new(&a->reg) != 0) {
        tg_admin_free(a);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
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
        .resp_headers = "Cache-Control: no-store\r\n",
        .log_module = "admin",
    };
    int rc = tg_hsrv_new(&a->srv, loop, a->lfd, &cfg);
    if (rc < 0) {
        tg_admin_free(a);
        return tg_errbuf_set(eb, rc, "cannot serve admin address %s: %s", addr->text,
                             tg_strerror(rc));
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
    a->reload.ok = ok;
    if (ok) {
        a->reload.success_wall_us = tg_clock_wall_us();
        a->reload.restart_pending = restart_pending;
    }
}

void tg_admin_free(struct tg_admin *a)
{
    if (!a)
        return;
    tg_hsrv_free(a->srv);
    if (a->lfd >= 0)
        close(a->lfd);
    tg_registry_free(a->reg);
    free(a);
}
