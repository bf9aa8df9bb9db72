/* SPDX-License-Identifier: MIT */
/* The control thread: the thread that calls tg_control_run, on its own event loop. It
 * turns signals into actions (SIGHUP reloads the configuration through reload.h; the
 * first SIGTERM or SIGINT drains the gateway, the second stops at once), runs the health
 * checks, and runs periodic tasks on a tick scheduler (sched.h): the 1 s metrics merge
 * today, more as modules are added, each one call to tg_control_every. The layers above
 * (admin/, wired by cli/) put their servers on tg_control_loop and learn of reloads and
 * drains through the hooks below, so this module knows nothing of them. All functions are
 * for the control thread unless stated otherwise. */
#ifndef TG_CONTROL_CONTROL_H
#define TG_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "control/sched.h"
#include "core/err.h"
#include "core/loop.h"

struct tg_control;
struct tg_gateway;
struct tg_mcollectors;

/* On the reload thread: builds the configuration a SIGHUP asks for into *out, putting
 * the settings that need a restart back to their values in `running` and reporting each
 * through `kept` with `kept_ctx` (tg_config_keep_restart_only), then validating it; or
 * fails with `eb` filled. It may read only what does not change while it runs. */
typedef int tg_control_load_fn(void *ctx, const struct tg_config *running, tg_config_kept_fn *kept,
                               void *kept_ctx, struct tg_config **out, struct tg_errbuf *eb);

/* What the control thread needs from the layers above it and tells them. `ctx` is
 * passed to each. */
struct tg_control_hooks {
    tg_control_load_fn *load;
    /* Optional, on the control thread: finishes what `load` read into the configuration
     * to publish (takes `loaded`; settings needing a restart go back to `running`'s
     * values, reported through `kept`). For what only the control thread may read, such
     * as the control API's overrides. */
    int (*build)(void *ctx, struct tg_config *loaded, const struct tg_config *running,
                 tg_config_kept_fn *kept, void *kept_ctx, struct tg_config **out,
                 struct tg_errbuf *eb);
    /* Optional: a reload was applied (`ok`, with `restart_pending` settings of the file
     * waiting for a restart) or refused. */
    void (*reloaded)(void *ctx, bool ok, uint32_t restart_pending);
    /* Optional: a drain begins; called before the gateway stops accepting. */
    void (*draining)(void *ctx);
    void *ctx;
};

/* A periodic task: `now_us` is the monotonic time it started at. */
typedef void tg_control_task_fn(void *ctx, int64_t now_us);

/* A task and its figures, for tg_control_foreach_task. */
struct tg_control_task_info {
    const char *name;
    int64_t period_us;
    struct tg_control_task_stats stats;
};
typedef void tg_control_task_info_fn(const struct tg_control_task_info *t, void *ctx);

/* Creates the control loop and its signalfd for `gw` (borrowed; it must outlive
 * tg_control_close), registers the metrics task, and blocks SIGTERM, SIGINT, SIGHUP and
 * SIGPIPE in the calling thread. Call it before any other thread is started (the
 * gateway's workers), so that they inherit the mask and those signals reach only the
 * signalfd. `hooks` is copied. 0, or a negative error with `eb` filled. */
int tg_control_new(struct tg_control **out, struct tg_gateway *gw,
                   const struct tg_control_hooks *hooks, struct tg_errbuf *eb);

/* The control thread's loop, for servers that run on it. Valid until tg_control_free. */
struct tg_loop *tg_control_loop(struct tg_control *ctl);

/* The one list of collectors (metrics/collect.h) that /metrics and the store's scrape
 * walk: tg_control_new fills it with the gateway's, the process's and the control
 * thread's own; the layers above add theirs (and remove them before they go). Valid
 * until tg_control_free; control thread. */
struct tg_mcollectors *tg_control_collectors(const struct tg_control *ctl);

/* Runs `fn(ctx, now)` every `period_us` on the boundaries of that period, from the first
 * one after now; a run longer than the period skips the ticks it missed (sched.h).
 * `name` (borrowed, valid until tg_control_free) labels its figures. 0, -EINVAL for a
 * period not above 0, or -ENOMEM. */
int tg_control_every(struct tg_control *ctl, const char *name, int64_t period_us,
                     tg_control_task_fn *fn, void *ctx);

/* Starts a configuration reload, as SIGHUP does (POST /-/reload). */
void tg_control_request_reload(struct tg_control *ctl);

/* Calls `fn` for each task, in the order they were added. */
void tg_control_foreach_task(const struct tg_control *ctl, tg_control_task_info_fn *fn, void *ctx);

/* Attaches the gateway's health checks to the loop and runs it until a drain ends or a
 * second signal arrives. 0, or a negative error from the loop. */
int tg_control_run(struct tg_control *ctl);

/* Teardown, step one: stops the signalfd, the tasks and the drain timer, and waits for a
 * reload under way, so nothing here reads the gateway any more. Accepts NULL. */
void tg_control_close(struct tg_control *ctl);

/* Teardown, step two (closing first if needed): frees the loop. Whatever runs on it (the
 * admin server, the gateway's health checks) must be freed before. Accepts NULL. */
void tg_control_free(struct tg_control *ctl);

#endif
