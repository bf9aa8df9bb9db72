/* SPDX-License-Identifier: MIT */
/* The runbooks' loop (respond.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "control/respond.h"
#include "control/scrape.h"
#include "core/clock.h"
#include "core/log.h"
#include "diagnose/incidents.h"
#include "diagnose/run.h"
#include "proxy/gateway.h"
#include "tsdb/tsdb.h"

/* A diagnosis gets this long before its queries give up (the control loop waits). */
#define DIAG_BUDGET_US (5 * 1000000LL)
/* An open incident whose diagnosis found nothing to act on (its alert fired before the
 * diagnosis window showed the degradation, or on something the tree does not read) is
 * diagnosed again every diagnosis.step (at least 5 s), at most RERUNS times. */
#define RERUNS 20
#define RERUN_MIN_US (5 * 1000000LL)
#define TRACKED 64

struct rerun {
    int64_t id, last_us;
    int runs;
};

struct tg_respond {
    struct tg_gateway *gw;
    struct tg_scrape *scrape;
    struct tg_store *store;
    struct tg_incidents *inc;
    struct tg_playbooks *pb;
    struct rerun rr[TRACKED];
};

static struct rerun *rerun_of(struct tg_respond *r, int64_t id)
{
    struct rerun *free_slot = NULL;
    for (size_t i = 0; i < TRACKED; i++) {
        if (r->rr[i].id == id)
            return &r->rr[i];
        if (!r->rr[i].id && !free_slot)
            free_slot = &r->rr[i];
    }
    if (free_slot)
        *free_slot = (struct rerun){id, tg_clock_mono_us(), 0};
    return free_slot;
}

/* Diagnoses incident `id` now; with `quiet`, a diagnosis that is not degraded is not
 * attached (a rerun that found nothing new adds nothing to the timeline). */
static void diagnose(struct tg_respond *r, int64_t id, const char *alertname, bool quiet)
{
    const struct tg_config *cfg = tg_gateway_config(r->gw);
    if (!cfg->diagnosis.enabled || !cfg->diagnosis.on_alert)
        return;
    struct tg_queryable q;
    tg_tsdb_queryable(tg_scrape_tsdb(r->scrape), &q);
    struct tg_diag_env env = {
        .q = &q, .cfg = cfg, .store = r->store, .deadline_us = tg_clock_mono_us() + DIAG_BUDGET_US};
    json_t *d = NULL;
    struct tg_errbuf eb = {0};
    if (tg_diag_run(&env, &cfg->diagnosis, tg_clock_wall_us() / 1000, &d, NULL, &eb) != 0) {
        tg_log(TG_LOG_ERROR, "diagnose", "diagnosis-failed incident=%lld alert=%s error=\"%s\"",
               (long long)id, alertname ? alertname : "-", eb.msg);
        tg_incidents_note_to(r->inc, id, tg_clock_wall_us(), "diagnosis",
                             "the diagnosis could not run: the store did not answer", NULL);
        return;
    }
    if (quiet && !json_is_true(json_object_get(d, "degraded"))) {
        json_decref(d);
        return;
    }
    char *text = json_dumps(d, JSON_COMPACT);
    if (text && tg_incidents_set_diagnosis(r->inc, id, text) != 0)
        tg_log(TG_LOG_ERROR, "diagnose", "diagnosis-not-attached incident=%lld", (long long)id);
    free(text);
    tg_playbooks_on_diagnosis(r->pb, cfg, id, d, tg_clock_mono_us());
    json_decref(d);
}

static void on_open(void *ctx, int64_t id, const char *alertname)
{
    struct tg_respond *r = ctx;
    struct rerun *x = rerun_of(r, id);
    if (x)
        x->last_us = tg_clock_mono_us();
    /* An incident opened by hand gets the diagnosis only when it finds something. */
    diagnose(r, id, alertname, alertname == NULL);
}

/* The open incidents without a playbook yet, diagnosed again when their turn comes. */
static void reruns(struct tg_respond *r, int64_t now_us)
{
    int64_t ids[TRACKED];
    size_t n = tg_incidents_open_ids(r->inc, ids, TRACKED);
    int64_t every = tg_gateway_config(r->gw)->diagnosis.step_us;
    every = every > RERUN_MIN_US ? every : RERUN_MIN_US;
    for (size_t i = 0; i < TRACKED; i++) { /* forget the incidents no longer open */
        bool open = false;
        for (size_t k = 0; k < n && k < TRACKED && !open; k++)
            open = ids[k] == r->rr[i].id;
        if (!open)
            r->rr[i].id = 0;
    }
    for (size_t k = 0; k < n && k < TRACKED; k++) {
        struct rerun *x = rerun_of(r, ids[k]);
        if (!x || tg_playbooks_has(r->pb, ids[k]) || x->runs >= RERUNS ||
            now_us - x->last_us < every)
            continue;
        x->last_us = now_us;
        x->runs++;
        diagnose(r, ids[k], NULL, true);
    }
}

static void tick(void *ctx, int64_t now_us)
{
    struct tg_respond *r = ctx;
    reruns(r, now_us);
    struct tg_queryable q;
    tg_tsdb_queryable(tg_scrape_tsdb(r->scrape), &q);
    tg_playbooks_tick(r->pb, tg_gateway_config(r->gw), &q, now_us, tg_clock_wall_us() / 1000);
}

/* The playbooks' actions of the incidents loaded at start, to be undone in time. */
static void restore(struct tg_respond *r)
{
    struct tg_errbuf eb = {0};
    json_t *list = tg_incidents_list_json(r->inc, NULL, 1000, &eb);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "incidents"), i, s)
    {
        const char *st = json_string_value(json_object_get(s, "status"));
        if (!st || strcmp(st, "closed") == 0)
            continue;
        json_t *inc =
            tg_incidents_get_json(r->inc, json_integer_value(json_object_get(s, "id")), &eb);
        if (inc)
            tg_playbooks_restore(r->pb, inc, tg_clock_mono_us());
        json_decref(inc);
    }
    json_decref(list);
}

int tg_respond_new(struct tg_control *ctl, struct tg_gateway *gw, struct tg_scrape *scrape,
                   struct tg_store *store, struct tg_incidents *inc,
                   const struct tg_pb_hooks *hooks, struct tg_respond **out)
{
    struct tg_respond *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->gw = gw;
    r->scrape = scrape;
    r->store = store;
    r->inc = inc;
    if (tg_playbooks_new(inc, hooks, &r->pb) != 0 ||
        tg_control_every(ctl, "playbooks", 1000000, tick, r) != 0) {
        tg_playbooks_free(r->pb);
        free(r);
        return -ENOMEM;
    }
    tg_incidents_on_open(inc, on_open, r);
    restore(r);
    *out = r;
    return 0;
}

void tg_respond_free(struct tg_respond *r)
{
    if (!r)
        return;
    tg_incidents_on_open(r->inc, NULL, NULL);
    tg_playbooks_free(r->pb);
    free(r);
}

json_t *tg_respond_playbooks_status(const struct tg_respond *r)
{
    return tg_playbooks_status(r->pb, tg_gateway_config(r->gw));
}

void tg_respond_scale_note(void *ctx, const char *kind, const char *text, const char *data_json)
{
    struct tg_respond *r = ctx;
    if (r)
        tg_incidents_note(r->inc, tg_clock_wall_us(), kind, text, data_json);
}
