/* SPDX-License-Identifier: MIT */
/* The playbooks at work (respond.md's loop: mitigate, verify, roll back, undo). When an
 * incident gets its diagnosis, the first matching rule (playbook.h) is taken for it. In
 * `suggest` mode its actions are written to the incident's timeline for an operator to
 * send; in `auto` mode they are sent one at a time through the control API (the same
 * calls an operator makes, audited as "playbook:<name>"), within the guardrails. Each
 * action is then judged (verify.h) against the affected endpoints' p95 and error ratio
 * before it, with the other endpoints as a control, once the settle time has passed, at
 * most five looks over the verify window: "helped" ends the playbook, "worse" rolls the
 * action back at once, "no_effect" or "inconclusive" moves on to the next action after
 * the cooldown. Every action, verdict, rollback and undo is a timeline entry. When the
 * incident resolves, every action still in force is undone after the hold time (a
 * setting's overrides put back as they were before the action; switched-off features
 * switched on again). What an undo needs rides in the action's timeline entry, so after
 * a restart tg_playbooks_restore reads back the actions still in force and undoes them in
 * time; a verdict pending at the restart is not given. Control thread only. */
#ifndef TG_DIAGNOSE_PLAYBOOKS_H
#define TG_DIAGNOSE_PLAYBOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "tsdb/query.h"

struct tg_incidents;

/* How actions reach the control API (admin/call.h, wired by cli/). */
struct tg_pb_hooks {
    void *ctx;
    /* Sends one call as `actor`; returns the HTTP status, *answer (new reference or NULL)
     * and the audit row it wrote (*audit_id, 0 when none). */
    int (*call)(void *ctx, const char *actor, const char *method, const char *path,
                const json_t *body, json_t **answer, int64_t *audit_id);
    /* The overrides under `prefix` ({"key": value}, new reference). */
    json_t *(*overrides)(void *ctx, const char *prefix);
    /* Puts the overrides under `prefix` back to `before`; returns an HTTP-like status. */
    int (*restore)(void *ctx, const char *actor, const char *prefix, const json_t *before,
                   json_t **answer, int64_t *audit_id);
};

struct tg_playbooks;

/* `inc` (borrowed) receives the timeline entries. 0 or -ENOMEM. */
int tg_playbooks_new(struct tg_incidents *inc, const struct tg_pb_hooks *hooks,
                     struct tg_playbooks **out);
void tg_playbooks_free(struct tg_playbooks *pb); /* accepts NULL */

/* Incident `id` has diagnosis `diag` (borrowed). The first one picks its playbook and, in
 * auto mode, may send its first action now; later ones refresh what the actions' bodies
 * and verdicts read. */
void tg_playbooks_on_diagnosis(struct tg_playbooks *pb, const struct tg_config *cfg, int64_t id,
                               const json_t *diag, int64_t now_us);

/* The periodic step (about once a scrape): judge, roll back, send the next action, undo
 * after resolution. `q` reads the store for the verdicts; `now_ms` is wall time (the
 * store's), `now_us` monotonic. */
void tg_playbooks_tick(struct tg_playbooks *pb, const struct tg_config *cfg,
                       const struct tg_queryable *q, int64_t now_us, int64_t now_ms);

/* After a restart: the actions of `incident` (its JSON, tg_incidents_get_json) that a
 * playbook sent and did not undo, read back from its timeline, to be undone after the
 * incident resolves and the hold time. Nothing more is sent for it. */
void tg_playbooks_restore(struct tg_playbooks *pb, const json_t *incident, int64_t now_us);

/* True when incident `id` has its playbook (a diagnosis matched a rule). */
bool tg_playbooks_has(const struct tg_playbooks *pb, int64_t id);

/* GET /api/v1/system/playbooks: the settings and every incident's playbook state. */
json_t *tg_playbooks_status(const struct tg_playbooks *pb, const struct tg_config *cfg);

#endif
