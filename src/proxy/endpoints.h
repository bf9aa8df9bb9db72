/* SPDX-License-Identifier: MIT */
/* The endpoint registry: every request is counted under an endpoint name, either its
 * route's name or, for unmatched paths, a template of the path (route.h's
 * tg_route_template: /api/products/123 -> /api/products/:id). The number of endpoints is
 * bounded (config `endpoints.max`, default 1000) so no client can blow up metric label
 * cardinality: once full, new names count as "other" (id 0). Ids are stable for the
 * life of the process (across reloads), so per-endpoint metric shards can be indexed
 * by id. Lookups are lock-free (an append-only open-addressing table whose slots are
 * published with release stores); inserting a new name takes a mutex, which only happens
 * the first time a name is seen. Any thread may call any function. */
#ifndef TG_PROXY_ENDPOINTS_H
#define TG_PROXY_ENDPOINTS_H

#include <stddef.h>
#include <stdint.h>

#define TG_ENDPOINT_OTHER 0u
#define TG_ENDPOINT_NAME_MAX 128

struct tg_endpoints;

/* Creates a registry holding at most `max` names besides "other". -ENOMEM or 0. */
int tg_endpoints_new(uint32_t max, struct tg_endpoints **out);
void tg_endpoints_free(struct tg_endpoints *e);

/* Returns the id of `name` (names longer than TG_ENDPOINT_NAME_MAX - 1 are cut), adding
 * it if there is room, else TG_ENDPOINT_OTHER. Cost: one hash and one compare when the
 * name is known. */
uint32_t tg_endpoints_intern(struct tg_endpoints *e, const char *name, size_t len);

/* Returns the id of `name` if known, else TG_ENDPOINT_OTHER; never adds. */
uint32_t tg_endpoints_find(const struct tg_endpoints *e, const char *name, size_t len);

/* The name of `id` ("other" for 0); valid for the registry's lifetime. */
const char *tg_endpoints_name(const struct tg_endpoints *e, uint32_t id);

/* Names registered so far, not counting "other". */
uint32_t tg_endpoints_count(const struct tg_endpoints *e);

#endif
