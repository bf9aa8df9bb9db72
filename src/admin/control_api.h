/* SPDX-License-Identifier: MIT */
/* The control API (API.md "Control", seed-inventory.md §a.2 and §e): the runbooks' PUT
 * and POST calls under /api/v1/system/, each turned into named settings (config/
 * settings.h) and handed to the runtime layer (control/runtime.h), which checks them by
 * building the configuration, writes them with their audit row, and returns the
 * configuration this file publishes to the gateway. Also GET /api/v1/system/config,
 * GET /api/v1/system/audit and DELETE /api/v1/system/overrides/<setting>. Mutating
 * requests need the bearer token when one is configured (compared in constant time);
 * bodies are strict JSON: an unknown field, a wrong type or a value out of range is a 400
 * naming the field, and changes nothing. */
#ifndef TG_ADMIN_CONTROL_API_H
#define TG_ADMIN_CONTROL_API_H

#include <stdbool.h>
#include <stddef.h>

#include "admin/resp.h"
#include "http/http1.h"

struct tg_gateway;
struct tg_runtime;
struct tg_scaler;

struct tg_admin_control_ctx {
    struct tg_gateway *gw;
    struct tg_runtime *rt; /* NULL: no control API (tests of the monitoring API alone) */
    const char *peer;      /* the client's address */
    struct tg_scaler *scaler; /* NULL: no autoscaler (GET/PUT /autoscale, POST /scale: 404) */
};

/* Answers `req` if its path is under /api/v1/system/ and returns true; else false. */
bool tg_admin_control(const struct tg_admin_control_ctx *c, const struct tg_http_msg *req,
                      const char *body, size_t body_len, struct tg_admin_resp *r);

/* 0 when `m` may change things (it has the bearer token, or none is configured); else
 * `r` is filled with the 401 and -1 returned. Shared by every mutating admin call. */
struct tg_config;
int tg_admin_authorize(const struct tg_config *cfg, const struct tg_http_msg *m,
                       struct tg_admin_resp *r);

/* Helpers the other mutating admin paths share (the database hook, admin/database.c). */

/* Who made the request, for the audit log: "token@<address>" when a token is
 * configured, else the address; a loopback peer's X-Forwarded-For last hop counts. */
void tg_admin_actor(const struct tg_admin_control_ctx *c, const struct tg_config *cfg,
                    const struct tg_http_msg *m, char *buf, size_t cap);

/* The request body as a JSON object (strict: duplicates refused), or NULL with the
 * 400/415 filled in `r`. `optional`: an empty body is {}. */
json_t *tg_admin_body_object(const struct tg_http_msg *m, const char *body, size_t len,
                             bool optional, struct tg_admin_resp *r);

/* Appends the audit row of an action that changes no setting (`detail` is JSON text).
 * 0, or -1 with the 500 filled in `r`. */
int tg_admin_audit_action(const struct tg_admin_control_ctx *c, const char *actor,
                          const char *action, const char *target, const char *detail,
                          struct tg_admin_resp *r);

/* GET /api/v1/system/autoscale and POST /api/v1/system/scale (scale_api.c). */
void tg_admin_autoscale_get(const struct tg_admin_control_ctx *c, struct tg_admin_resp *r);
void tg_admin_scale_post(const struct tg_admin_control_ctx *c, json_t *body, const char *actor,
                         struct tg_admin_resp *r);

#endif
