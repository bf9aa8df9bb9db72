/* SPDX-License-Identifier: MIT */
/* Incidents and events on the admin API (docs/api.md, "Incidents and events"):
 * GET|POST /api/v1/incidents, GET|PUT /api/v1/incidents/<id> (incidents.c) and
 * GET|POST /api/v1/events (events.c). Mutations need the bearer token and are audited;
 * bodies are strict JSON, a bad one a 400 naming the field. Control thread. */
#ifndef TG_ADMIN_INCIDENTS_H
#define TG_ADMIN_INCIDENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/control_api.h"
#include "admin/resp.h"
#include "http/http1.h"
#include "tsdb/query.h"

struct tg_incidents;

/* Answers `req` if its path is /api/v1/incidents or below and returns true. `m` NULL
 * (no store yet, or tests): 503. GET /api/v1/incidents/<id>/report reads the latency of
 * the incident's window from `q` (NULL: no store, the chart has no data). */
bool tg_admin_incidents(const struct tg_admin_control_ctx *c, struct tg_incidents *m,
                        const struct tg_queryable *q, const struct tg_http_msg *req,
                        const char *body, size_t body_len, struct tg_admin_resp *r);

/* Answers `req` if its path is /api/v1/events and returns true. */
bool tg_admin_events(const struct tg_admin_control_ctx *c, const struct tg_http_msg *req,
                     const char *body, size_t body_len, struct tg_admin_resp *r);

#endif
