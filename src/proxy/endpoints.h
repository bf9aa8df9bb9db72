/* SPDX-License-Identifier: MIT */
/* The endpoint registry: every request is counted under an endpoint name, either its
 * route's name or, for unmatched paths, a template of the path (route.h's
 * tg_route_template: /api/products/123 -> /api/products/:id). The number of endpoints is
 * bounded (config `endpoints.max`, default 1000) so no client can blow up metric label
 * cardinality: once full, new names count as "other" (id 0). Per-endpoint metric shards
 * are indexed by id.
 *
 * Three defences keep anonymous traffic from filling it: names from unmatched paths are
 * admitted only at their second sighting within a probation window (tg_endpoints_admit,
 * a small fixed table of recent template hashes); names that are not pinned can be
 * removed once idle (tg_endpoints_remove, driven by the gateway's aging), and their ids
 * are reused; route names and "other" are pinned and never removed. A removed id goes
 * through three states: live -> retiring (unlinked: lookups no longer find it, but its
 * name stays readable and unchanged) -> free (tg_endpoints_release, reusable). The
 * caller releases only after a grace period in which every thread that might have
 * looked the name up has moved on (the gateway's aging explains its grace period).
 * tg_endpoints_gen tells a stored id from a later reuse of it.
 *
 * Lookups are lock-free (an open-addressing table whose slots are published with
 * release stores; removal leaves a tombstone, and a table with too many tombstones is
 * replaced by a fresh one, freed by tg_endpoints_reclaim after the same grace period).
 * Adding a name takes a mutex, which only happens for a name not in the table. Any thread
 * may look up and add; remove, release and reclaim are for one thread (the control
 * thread). */
#ifndef TG_PROXY_ENDPOINTS_H
#define TG_PROXY_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#define TG_ENDPOINT_OTHER 0u
#define TG_ENDPOINT_NAME_MAX 128

/* The name under which requests refused before routing are counted; intern it with
 * tg_endpoints_intern_pinned so it never ages (no path template or route name can
 * take it: templates start with '/', route names have no parentheses). */
#define TG_ENDPOINT_REJECTED "(rejected)"

/* Recent first sightings remembered for probation (8 bytes each). A direct-mapped table:
 * a flood of one-off paths overwrites it within about this many requests, so a template
 * seen rarely under such a flood stays "other" a little longer; a bigger table would
 * only cost memory. */
#define TG_ENDPOINT_PROBATION_SLOTS 4096

enum tg_endpoint_state {
    TG_ENDPOINT_FREE = 0, /* never used, or released: no name */
    TG_ENDPOINT_LIVE,     /* found by lookups; may be removed */
    TG_ENDPOINT_PINNED,   /* found by lookups; never removed (routes, "(rejected)") */
    TG_ENDPOINT_RETIRING, /* removed, awaiting release: name readable, not found */
};

struct tg_endpoints;

/* Creates a registry holding at most `max` names besides "other". -ENOMEM or 0. */
int tg_endpoints_new(uint32_t max, struct tg_endpoints **out);
void tg_endpoints_free(struct tg_endpoints *e);

/* Returns the id of `name` (names longer than TG_ENDPOINT_NAME_MAX - 1 are cut), adding
 * it if there is room, else TG_ENDPOINT_OTHER. "other" itself is always id 0. Cost: one
 * hash and one compare when the name is known. */
uint32_t tg_endpoints_intern(struct tg_endpoints *e, const char *name, size_t len);

/* As tg_endpoints_intern, and the name is never removed (also when it was already
 * known). For route names and TG_ENDPOINT_REJECTED. */
uint32_t tg_endpoints_intern_pinned(struct tg_endpoints *e, const char *name, size_t len);

/* For names made from request paths: returns the id of `name` if known. Otherwise the
 * first sighting is remembered (lock-free, in the probation table) and the request
 * counts as "other"; a second sighting no more than `window_s` seconds after the
 * remembered one adds the name (if there is room). `now_s` is the caller's clock in
 * seconds. Cost when known: as tg_endpoints_find; when unknown: plus one atomic load
 * and store, and the mutex at the second sighting. */
uint32_t tg_endpoints_admit(struct tg_endpoints *e, const char *name, size_t len, int64_t now_s,
                            int64_t window_s);

/* Returns the id of `name` if known, else TG_ENDPOINT_OTHER; never adds. */
uint32_t tg_endpoints_find(const struct tg_endpoints *e, const char *name, size_t len);

/* The name of `id` ("other" for 0 and out-of-range ids). It stays readable and unchanged
 * until the id is released and reused. */
const char *tg_endpoints_name(const struct tg_endpoints *e, uint32_t id);

/* How many times `id` has been released: a stored (id, gen) pair still names the same
 * endpoint while tg_endpoints_gen returns the same gen. */
uint32_t tg_endpoints_gen(const struct tg_endpoints *e, uint32_t id);

/* Ids in use (live, pinned, and removed but not yet released), not counting "other". */
uint32_t tg_endpoints_count(const struct tg_endpoints *e);

/* The state of `id` (TG_ENDPOINT_PINNED for 0, TG_ENDPOINT_FREE out of range). */
enum tg_endpoint_state tg_endpoints_state(const struct tg_endpoints *e, uint32_t id);

/* Control thread. Unlinks a live (not pinned) name: lookups stop finding it, its id is
 * retiring. Returns 0, -EINVAL if `id` is not live, -ENOMEM if a fresh table was needed
 * and could not be allocated (nothing changed). */
int tg_endpoints_remove(struct tg_endpoints *e, uint32_t id);

/* Control thread, after the grace period that followed the removal: makes a retiring id
 * free for reuse. Ignores ids that are not retiring. */
void tg_endpoints_release(struct tg_endpoints *e, uint32_t id);

/* Control thread, after the grace period that followed the last removal: frees the
 * tables that removals replaced. */
void tg_endpoints_reclaim(struct tg_endpoints *e);

#endif
