/* SPDX-License-Identifier: MIT */
/* What every collector target is to the set that schedules it (set.h): something that
 * can be asked to collect into a snapshot (snap.h) and says when it is done, on the
 * control thread's loop, without ever blocking it. A host or cgroup reader finishes
 * inside start(); a PostgreSQL or Redis target sends its queries and finishes later from
 * its socket's events; the set's deadline cancels what takes too long.
 *
 * The contract, for each kind (host.h, container.h, postgres.h, redis.h, probe.h):
 * - start(impl, out, done, arg): `out` is empty and owned by the set; fill it and call
 *   done(arg, 0, NULL) once, or done(arg, <0, "why") when the target could not be
 *   collected (refused, auth failed, query error); either may happen before start
 *   returns. On failure `out` holds what a failed scrape of the real exporter shows
 *   (pg_up 0, redis_up 0), nothing else. `why` is one short line, borrowed for the call,
 *   never holding a secret.
 * - cancel(impl, out): the deadline passed before done: give up (drop the connection
 *   if a query is in flight, so a hung server costs nothing more), never call done for
 *   this collection, and write into `out` (reset by the set) what a failed scrape shows.
 *   Called only while a collection is in flight.
 * - free(impl): also called only when no collection is in flight (after done, or after
 *   cancel).
 * All calls are on the loop's thread. */
#ifndef TG_COLLECT_TARGET_H
#define TG_COLLECT_TARGET_H

#include <stdint.h>

struct tg_csnap;

typedef void tg_ctarget_done_fn(void *arg, int rc, const char *why);

struct tg_ctarget_ops {
    void (*start)(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg);
    void (*cancel)(void *impl, struct tg_csnap *out);
    void (*free)(void *impl);
};

/* What a kind's constructor returns; the set owns it from then on. */
struct tg_ctarget {
    const struct tg_ctarget_ops *ops;
    void *impl;
};

#endif
