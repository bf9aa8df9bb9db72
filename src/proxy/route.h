/* SPDX-License-Identifier: MIT */
/* Request routing: the route table compiled from a config snapshot, matched by method and
 * path (exact, prefix, or template such as /api/products/:id), and the endpoint name a
 * request is counted under. Routes are tried in config order and the first match wins
 * (Envoy's rule: predictable, and the config reads top to bottom). Matching is a linear
 * scan over pre-split segments with no allocation: fine below ~1k routes, which is far
 * beyond what the runbooks' APIs have. Immutable after compile; any thread may match. */
#ifndef TG_PROXY_ROUTE_H
#define TG_PROXY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "http/http1.h"

struct tg_route_table;

/* Compiles the routes of `cfg` (borrowed; must outlive the table). Returns 0 or -ENOMEM. */
int tg_route_table_new(const struct tg_config *cfg, struct tg_route_table **out);
void tg_route_table_free(struct tg_route_table *t);

/* Returns the index of the first route of cfg->routes matching, or -1. O(routes). */
int tg_route_match(const struct tg_route_table *t, enum tg_http_method m, struct tg_str path);

/* Writes the endpoint name of an unmatched `path` into out[0..cap): segments that are
 * numbers, UUIDs or long hex strings (>= 16 hex digits) become ":id", at most 8
 * segments are kept (the rest become one "*" segment), the query is never part of it. Returns the
 * length written (always NUL-terminated; truncated to cap - 1). */
size_t tg_route_template(struct tg_str path, char *out, size_t cap);

#endif
