/* SPDX-License-Identifier: MIT */
/* Configuration loads on a thread of their own; see reload.h. The load thread touches
 * only the job below, and hands it back with one release store of `finished` plus a
 * loop wake-up; the control thread joins it before reading the result, so nothing here
 * needs a lock. */
#include "control/reload.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tg_reload {
    struct tg_loop *loop;
    tg_reload_load_fn *load;
    tg_reload_done_fn *done;
    void *ctx;
    pthread_t thread;
    bool running; /* a load thread exists (control thread's view) */
    bool again;   /* requested while running */
    atomic_bool finished;
    /* The load's result, written by the load thread before `finished`. */
    int rc;
    struct tg_config *cfg;
    struct tg_errbuf eb;
};

static void *load_main(void *arg)
{
    struct tg_reload *r = arg;
    r->cfg = NULL;
    memset(&r->eb, 0, sizeof r->eb);
    r->rc = r->load(r->ctx, &r->cfg, &r->eb);
    atomic_store_explicit(&r->finished, true, memory_order_release);
    tg_loop_wake(r->loop);
    return NULL;
}

int tg_reload_new(struct tg_loop *loop, tg_reload_load_fn *load, tg_reload_done_fn *done,
                  void *ctx, struct tg_reload **out)
{
    struct tg_reload *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->loop = loop;
    r->load = load;
    r->done = done;
    r->ctx = ctx;
    *out = r;
    return 0;
}

void tg_reload_request(struct tg_reload *r)
{
    if (r->running) {
        r->again = true;
        return;
    }
    atomic_store_explicit(&r->finished, false, memory_order_relaxed);
    int rc = pthread_create(&r->thread, NULL, load_main, r);
    if (rc) {
        struct tg_errbuf eb = {0};
        tg_errbuf_set(&eb, -rc, "cannot start the reload thread: %s", strerror(rc));
        r->done(r->ctx, -rc, NULL, &eb);
        return;
    }
    r->running = true;
}

void tg_reload_poll(struct tg_reload *r)
{
    if (!r->running || !atomic_load_explicit(&r->finished, memory_order_acquire))
        return;
    pthread_join(r->thread, NULL);
    r->running = false;
    struct tg_config *cfg = r->cfg;
    r->cfg = NULL;
    r->done(r->ctx, r->rc, cfg, &r->eb);
    if (r->again) {
        r->again = false;
        tg_reload_request(r);
    }
}

void tg_reload_free(struct tg_reload *r)
{
    if (!r)
        return;
    if (r->running) {
        pthread_join(r->thread, NULL);
        tg_config_free(r->cfg);
    }
    free(r);
}
