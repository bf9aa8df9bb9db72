/* SPDX-License-Identifier: MIT */
/* Watches the protections for what they decide on their own: a circuit breaker that
 * opens, goes half-open or closes is logged and written to the audit log (actor
 * "tailguard"), as a change an operator made would be. Polled by a control-thread task;
 * transitions between two polls are counted by the breaker and named here by the last
 * one. Control thread. */
#ifndef TG_CONTROL_WATCH_H
#define TG_CONTROL_WATCH_H

#include <stdint.h>

struct tg_gateway;
struct tg_store;
struct tg_watch;

/* `gw` and `store` (may be NULL: log only) are borrowed. 0 or -ENOMEM. */
int tg_watch_new(struct tg_gateway *gw, struct tg_store *store, struct tg_watch **out);
void tg_watch_free(struct tg_watch *w); /* accepts NULL */

/* One poll: logs and audits the transitions since the last. A tg_control_task_fn. */
void tg_watch_tick(void *w, int64_t now_us);

#endif
