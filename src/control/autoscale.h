/* SPDX-License-Identifier: MIT */
/* The autoscaler (scale/scaler.h) wired to the rest of the control thread: its signal
 * is the gateway's own latency (the window p95 or p99 that GET /api/v1/monitoring/
 * metrics/latency shows), its servers are published through the runtime layer
 * (tg_runtime_set_servers, then the gateway's reload), its notes go to the log and the
 * audit log until a timeline takes them (`note`), and its figures are a /metrics
 * collector. Control thread only. */
#ifndef TG_CONTROL_AUTOSCALE_H
#define TG_CONTROL_AUTOSCALE_H

#include "control/control.h"
#include "control/runtime.h"
#include "scale/scaler.h"

struct tg_autoscale;

/* Starts the autoscaler on the control loop of `ctl` for `gw`, publishing through `rt`
 * (both borrowed). `note` (may be NULL) also receives every note. 0 or -ENOMEM. */
int tg_autoscale_new(struct tg_control *ctl, struct tg_gateway *gw, struct tg_runtime *rt,
                     tg_scale_note_fn *note, void *note_ctx, struct tg_autoscale **out);

/* Stops the instances the autoscaler started, removes its collector, frees. Accepts
 * NULL. */
void tg_autoscale_free(struct tg_autoscale *as);

struct tg_scaler *tg_autoscale_scaler(struct tg_autoscale *as);

#endif
