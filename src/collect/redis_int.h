/* SPDX-License-Identifier: MIT */
/* What the Redis collector's files share and nothing else uses: the INFO field table
 * (redis_fields.c, read by redis_info.c) and the adapter that runs a hiredis
 * asynchronous context on a tg_loop (redis_loop.c, used by redis.c). */
#ifndef TG_COLLECT_REDIS_INT_H
#define TG_COLLECT_REDIS_INT_H

#include <hiredis/async.h>
#include <stddef.h>

#include "core/loop.h"
#include "metrics/collect.h"

struct tg_credis__field {
    const char *info; /* the INFO field */
    const char *name; /* the family, after "redis_" */
    enum tg_metric_type type;
};

extern const struct tg_credis__field tg_credis__fields[];
extern const size_t tg_credis__nfields;

/* Called once hiredis has released the context (after redisAsyncFree, a connect failure
 * or an I/O or protocol error), after every pending reply callback has run (with a NULL
 * reply). The context must not be used any more. */
typedef void tg_credis__gone_fn(void *arg);

/* Puts `ac` (just created by redisAsyncConnect*) on `loop`: registers its socket and
 * installs the ev hooks, so commands queued on it are written and their replies read
 * from the loop's events, each event read to EAGAIN as the edge-triggered loop needs.
 * Returns 0, or -errno (then nothing is attached and the caller frees `ac`). */
int tg_credis__attach(struct tg_loop *loop, redisAsyncContext *ac, tg_credis__gone_fn *gone,
                      void *arg);

#endif
