/* SPDX-License-Identifier: MIT */
/* The runbooks' loop on the control thread: when an incident opens (or an alert fires
 * into one), the diagnosis runs over the time-series store (diagnose/run.h) and is
 * attached to it, and its playbook (diagnose/playbooks.h) takes it from there; a task
 * each second moves the playbooks on (verdicts, next actions, undo). Autoscaling steps
 * become timeline entries through tg_respond_scale_note. Control thread only. */
#ifndef TG_CONTROL_RESPOND_H
#define TG_CONTROL_RESPOND_H

#include <jansson.h>

#include "diagnose/playbooks.h"

struct tg_control;
struct tg_gateway;
struct tg_incidents;
struct tg_scrape;
struct tg_store;

struct tg_respond;

/* Everything borrowed; `hooks` (copied) send the playbooks' calls. 0 or -ENOMEM. */
int tg_respond_new(struct tg_control *ctl, struct tg_gateway *gw, struct tg_scrape *scrape,
                   struct tg_store *store, struct tg_incidents *inc,
                   const struct tg_pb_hooks *hooks, struct tg_respond **out);
void tg_respond_free(struct tg_respond *r); /* accepts NULL */

/* GET /api/v1/system/playbooks. */
json_t *tg_respond_playbooks_status(const struct tg_respond *r);

/* A scale/scaler.h note (tg_scale_note_fn): a "scale" entry of the open incidents. */
void tg_respond_scale_note(void *ctx, const char *kind, const char *text, const char *data_json);

#endif
