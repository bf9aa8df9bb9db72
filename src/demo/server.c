/* SPDX-License-Identifier: MIT */
/* Demo API workers: one per thread, each with its own loop, SO_REUSEPORT listener served
 * by the HTTP server engine (http/server.h), and pools, so workers share nothing on the
 * request path. The engine owns connections, limits and timeouts; a request waiting on
 * simulated latency or a hang has no engine deadline, by design. The worker's loop
 * wake-up is its only inbound channel: it marks a quiescent point for the fault registry
 * and carries the stop request. */
#include "demo/server_int.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

/* The demo API is the backend of tests and benchmarks: its limits are generous, so the
 * thing under test is never the demo, but every one of them exists. */
static const struct tg_hsrv_limits demo_limits = {
    .max_conns = 65536,
    .max_head_bytes = TG_DEMO_HEAD_MAX,
    .max_target_bytes = 16 * 1024,
    .max_body_bytes = TG_DEMO_BODY_MAX,
    .header_timeout_us = 10000000,
    .idle_timeout_us = 60000000,
    .body_timeout_us = 30000000,
    .body_min_bytes_per_s = 1024,
    .write_timeout_us = 60000000,
};

static void on_wake(struct tg_loop *loop, void *data)
{
    struct tg_demo_worker *w = data;
    tg_demo_faults_quiescent(w->sh->faults, w->idx);
    if (!atomic_load(&w->sh->stopping))
        return;
    /* Not freed here: events of this turn may still point at its connections. */
    tg_hsrv_stop(w->srv);
    tg_loop_stop(loop);
}

int tg_demo__worker_new(struct tg_demo_worker **out, struct tg_demo_shared *sh, unsigned idx,
                        int listen_fd)
{
    struct tg_demo_worker *w = calloc(1, sizeof *w);
    if (!w) {
        close(listen_fd);
        return -ENOMEM;
    }
    w->sh = sh;
    w->idx = idx;
    w->lfd = listen_fd;
    tg_bufpool_init(&w->bigpool, TG_DEMO_BIG_BLOCK, 4);
    /* Seeded from the clock so runs differ; the worker index keeps threads apart. */
    tg_demo_rng_seed(&w->rng, (uint64_t)tg_clock_mono_us() ^ ((uint64_t)idx << 48));
    int rc = tg_loop_new(&w->loop, on_wake, w);
    if (rc < 0)
        goto fail;
    struct tg_hsrv_config cfg = {
        .limits = demo_limits,
        .handler = &tg_demo__handler,
        .data = w,
        .conn_data_bytes = sizeof(struct tg_demo_conn),
        .resp_headers = "Server: tailguard-demo\r\n",
        .log_module = "demo",
    };
    rc = tg_hsrv_new(&w->srv, w->loop, listen_fd, &cfg);
    if (rc < 0)
        goto fail;
    *out = w;
    return 0;
fail:
    tg_demo__worker_free(w);
    return rc;
}

void tg_demo__worker_free(struct tg_demo_worker *w)
{
    if (!w)
        return;
    /* The loop has stopped (or never ran): connections still open close here. */
    tg_hsrv_free(w->srv);
    tg_loop_free(w->loop);
    if (w->lfd != -1)
        close(w->lfd);
    tg_bufpool_deinit(&w->bigpool);
    free(w);
}

void *tg_demo__worker_main(void *arg)
{
    struct tg_demo_worker *w = arg;
    int rc = tg_loop_run(w->loop);
    if (rc < 0)
        tg_log(TG_LOG_ERROR, "demo", "event loop failed worker=%u err=\"%s\"", w->idx,
               tg_strerror(rc));
    return NULL;
}

void tg_demo__wake_all(struct tg_demo_shared *sh)
{
    for (unsigned i = 0; i < sh->nworkers; i++)
        if (sh->workers[i])
            tg_loop_wake(sh->workers[i]->loop);
}
