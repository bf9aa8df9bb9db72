/* SPDX-License-Identifier: MIT */
/* Control-API calls made by tailguard itself (the playbooks): the same handler, checks,
 * audit row and publication as a client's request, so an automatic action can do
 * exactly what an operator's curl does and nothing else. The actor in the audit log is
 * the caller's name ("playbook:<name>"). Also the undo of a setting change: its
 * overrides put back as they were. Control thread (the admin server's). */
#ifndef TG_ADMIN_CALL_H
#define TG_ADMIN_CALL_H

#include <jansson.h>
#include <stdint.h>

struct tg_admin;

/* Runs `method` `path` with `body` (NULL: none) as `actor` (must start "playbook:").
 * Returns the HTTP status; *answer is the JSON answer (a new reference, NULL when it was
 * not JSON) and *audit_id the audit row the call wrote (0 when none). */
int tg_admin_call(struct tg_admin *a, const char *actor, const char *method, const char *path,
                  const json_t *body, json_t **answer, int64_t *audit_id);

/* The control-API overrides whose key starts with `prefix` ("circuit_breaker.",
 * "routes[api].circuit_breaker."), as {"key": value} (a new reference). */
json_t *tg_admin_overrides_under(struct tg_admin *a, const char *prefix);

/* Puts the overrides under `prefix` back to `before` (tg_admin_overrides_under's earlier
 * answer): keys in `before` get its values, others under `prefix` are dropped. Audited as
 * `actor` ("undo"). Returns the HTTP-like status (200, or the error's) and the audit id. */
int tg_admin_restore(struct tg_admin *a, const char *actor, const char *prefix,
                     const json_t *before, json_t **answer, int64_t *audit_id);

#endif
