/* SPDX-License-Identifier: MIT */
/* Configuration reloads off the control thread. Reading and checking a file can take
 * seconds (the format allows 16 MiB, and a list of millions of tiny items costs about
 * 1 µs each), and meanwhile the control thread must go on serving the admin API, the
 * health checks and the metrics tick. So the load runs on a short-lived thread of its
 * own, and its result comes back to the control thread through the loop's wake-up, where
 * the caller publishes it. One load runs at a time; a request made while one runs starts
 * another when it ends, since the file may have changed again. All functions are for the
 * control thread. */
#ifndef TG_CONTROL_RELOAD_H
#define TG_CONTROL_RELOAD_H

#include "config/config.h"
#include "core/err.h"
#include "core/loop.h"

/* Runs on the load thread: builds a validated configuration into *out, or fails with
 * `eb` filled. It must only read what the control thread does not change while a load
 * runs. */
typedef int tg_reload_load_fn(void *ctx, struct tg_config **out, struct tg_errbuf *eb);

/* Runs on the control thread with the load's result: `rc` 0 and `cfg` (the callee takes
 * it), or a negative `rc` and `eb`. */
typedef void tg_reload_done_fn(void *ctx, int rc, struct tg_config *cfg,
                               const struct tg_errbuf *eb);

struct tg_reload;

/* `loop` is the control loop, whose wake callback must call tg_reload_poll. 0 or
 * -ENOMEM. */
int tg_reload_new(struct tg_loop *loop, tg_reload_load_fn *load, tg_reload_done_fn *done,
                  void *ctx, struct tg_reload **out);

/* Starts a load, or marks one to follow the load under way. A thread that cannot be
 * started is reported through `done` at once. */
void tg_reload_request(struct tg_reload *r);

/* From the control loop's wake callback: hands a finished load to `done`. */
void tg_reload_poll(struct tg_reload *r);

/* Waits for a load under way and drops its result. Accepts NULL. */
void tg_reload_free(struct tg_reload *r);

#endif
