/* SPDX-License-Identifier: MIT */
/* The autoscaler (docs/scale.md): every autoscale.check_interval_s it reads the
 * gateway's latency through a callback, asks the pure decider (decide.h) what to do,
 * and has its provider make the upstream's instances match: `process` starts and stops
 * local instances of a command (process.c), `command` runs the user's command with the
 * wanted count and reads the server list back (command.c). New servers reach the pool
 * through the `publish` callback, which the layer above turns into a new configuration
 * (control/runtime.h tg_runtime_set_servers), so this module never includes control/
 * or admin/. Every step, and every failed one, goes to the `note` callback (kind
 * "scale"). Runs on the control loop; every function is for the control thread. */
#ifndef TG_SCALE_SCALER_H
#define TG_SCALE_SCALER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"
#include "core/loop.h"

struct tg_gateway;

/* The timeline entry of a scaling step: `kind` "scale", `text` one line, `data_json` a
 * JSON object as text (or NULL). */
typedef void tg_scale_note_fn(void *ctx, const char *kind, const char *text,
                              const char *data_json);

/* The signal in milliseconds over the last `window_s` seconds: true and *ms, or false
 * when there is none (no request in the window). */
typedef bool tg_scale_signal_fn(void *ctx, enum tg_autoscale_signal signal, double window_s,
                                double *ms);

/* Makes `servers[0..n)` the scaler's servers of `upstream` (joining the file's, or
 * replacing them with `replace`) and publishes the configuration. 0, or a negative code
 * with `eb` filled. */
typedef int tg_scale_publish_fn(void *ctx, const char *upstream, bool replace,
                                const struct tg_addr *servers, size_t n, struct tg_errbuf *eb);

struct tg_scale_hooks {
    tg_scale_signal_fn *signal;
    tg_scale_publish_fn *publish;
    tg_scale_note_fn *note; /* NULL: steps are only logged */
    void *ctx;
};

struct tg_scaler;

/* Starts the scaler on `loop` for the gateway `gw` (borrowed), with the provider of
 * the configuration in force (autoscale.provider cannot change without a restart). It
 * checks only while autoscale.enabled; POST /scale works either way. Settings are read
 * from the configuration in force at every turn, so a change (control API, reload)
 * applies at the next check; another upstream starts from fresh counters. 0 or
 * -ENOMEM. */
int tg_scaler_new(struct tg_loop *loop, struct tg_gateway *gw, const struct tg_scale_hooks *h,
                  struct tg_scaler **out);

/* Stops every instance the process provider started (drain skipped: the gateway is
 * stopping), waiting up to autoscale.stop_grace for each before SIGKILL, and frees.
 * Accepts NULL. */
void tg_scaler_free(struct tg_scaler *s);

/* POST /api/v1/system/scale: scale `upstream` ("" or NULL: the configured one) to `n`
 * now. 0; TG_ELIMIT when `n` is outside min..max (`eb` names the bound), TG_ENOTFOUND
 * (another upstream than the autoscaler's), TG_ECONFIG (no provider configured),
 * -EBUSY (the command provider's command is still running). */
int tg_scaler_scale_to(struct tg_scaler *s, uint32_t n, const char *upstream, const char *by,
                       struct tg_errbuf *eb);

/* The live state for GET /api/v1/system/autoscale (a new reference). */
json_t *tg_scaler_state(struct tg_scaler *s);

/* Figures for /metrics. */
struct tg_scaler_stats {
    const char *upstream;
    uint32_t instances;  /* servers in the pool now */
    uint32_t desired;    /* what the scaler wants */
    uint64_t actions[2][2]; /* [up, down][ok, failed] */
    uint64_t checks[3];     /* by enum tg_scale_verdict: hold, high, low */
};
void tg_scaler_stats(struct tg_scaler *s, struct tg_scaler_stats *out);

#endif
