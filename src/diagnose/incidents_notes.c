/* SPDX-License-Identifier: MIT */
/* What other parts add to the open incidents' timelines: tg_incidents_note (the shared
 * interface) and the control changes of the audit log (tg_incidents_audit), which also
 * become actions_taken entries (seed-inventory §d.3: "auto-filled from the control-API
 * audit log"). */
#include "diagnose/incidents.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "diagnose/incidents_int.h"
#include "store/audit.h"

static const char *const kinds[] = {"alert",    "diagnosis", "mitigation",     "verdict",
                                    "rollback", "undo",      "control_change", "escalation",
                                    "scale",    "note",      "status"};

static const char *known_kind(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return kinds[i];
    return NULL;
}

/* A verdict, undo or rollback note that names an audit row updates that action. */
static void update_action(struct tg_incidents *m, int64_t id, const char *kind, json_t *data,
                          int64_t now_us)
{
    json_int_t audit_id = json_integer_value(json_object_get(data, "audit_id"));
    if (audit_id <= 0)
        return;
    const char *verdict = NULL;
    if (strcmp(kind, "verdict") == 0) {
        static const char *const ok[] = {"helped", "no_effect", "worse", "inconclusive"};
        const char *v = json_string_value(json_object_get(data, "verdict"));
        for (int i = 0; v && i < 4; i++)
            if (strcmp(v, ok[i]) == 0)
                verdict = ok[i];
        if (!verdict)
            return;
    } else if (strcmp(kind, "undo") != 0 && strcmp(kind, "rollback") != 0) {
        return;
    }
    struct tg_errbuf eb = {0};
    if (tg_store_incident_action_update(m->store, id, audit_id, verdict, verdict ? 0 : now_us,
                                        &eb) != 0)
        tg_log(TG_LOG_ERROR, "diagnose", "incident-action-update-failed id=%lld error=\"%s\"",
               (long long)id, eb.msg);
}

/* The note for every open incident (only_id 0), or for incident only_id whatever its
 * status but closed. */
static int note(struct tg_incidents *m, int64_t only_id, int64_t now_us, const char *kind,
                const char *text, const char *data_json)
{
    struct tg_errbuf eb = {0};
    const char *k = known_kind(kind);
    if (!k || !text)
        return -EINVAL;
    json_t *data = data_json ? json_loads(data_json, 0, NULL) : NULL;
    if (data_json && !json_is_object(data)) {
        json_decref(data);
        return -EINVAL;
    }
    int ret = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct tg_incident *inc = m->v[i];
        if (only_id ? inc->id != only_id : !tg_incident_is_open(inc))
            continue;
        struct tg_incident_out out = {.n = 1};
        out.v[0].ts_us = now_us;
        out.v[0].kind = k;
        snprintf(out.v[0].text, sizeof out.v[0].text, "%s", text);
        int rc = tg_incidents__save(
            m, inc, &(struct tg_incidents__step){.out = &out, .data_json = data_json}, now_us,
            &eb);
        if (rc)
            ret = rc;
        else if (data)
            update_action(m, inc->id, k, data, now_us);
    }
    json_decref(data);
    return ret;
}

int tg_incidents_note(struct tg_incidents *m, int64_t now_us, const char *kind, const char *text,
                      const char *data_json)
{
    return note(m, 0, now_us, kind, text, data_json);
}

int tg_incidents_note_to(struct tg_incidents *m, int64_t id, int64_t now_us, const char *kind,
                         const char *text, const char *data_json)
{
    return id > 0 ? note(m, id, now_us, kind, text, data_json) : -EINVAL;
}

/* ------------------------------------------------------------------ audit rows */

/* The §e operation a control path is, for actions_taken. */
static const char *op_of(const char *path)
{
    static const struct {
        const char *path, *op;
    } ops[] = {
        {"circuit-breaker", "BREAKER"},
        {"timeouts", "TIMEOUTS"},
        {"rate-limit", "RATE_LIMIT"},
        {"features/disable", "FEATURES_DISABLE"},
        {"features/enable", "FEATURES_ENABLE"},
        {"workers", "WORKERS"},
        {"tracing", "TRACING"},
        {"fallback", "FALLBACK"},
        {"cache", "CACHE_TTL"},
        {"cache/purge", "CACHE_PURGE"},
        {"cache/warm", "CACHE_WARM"},
        {"retries", "RETRY"},
        {"concurrency", "CONCURRENCY"},
        {"scale", "SCALE"},
        {"autoscale", "AUTOSCALE"},
        {"upstreams/eject", "EJECT"},
        {"playbooks", "PLAYBOOKS"},
        {"gc", "GC"},
        {"db/terminate-long-queries", "KILL_LONG_QUERIES"},
        {"agents/config", "AGENTS_CONFIG"},
        {"agents/coordination/cleanup", "AGENTS_CLEANUP"},
    };
    static const char prefix[] = "/api/v1/system/";
    if (strncmp(path, prefix, sizeof prefix - 1) == 0)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (strcmp(path + sizeof prefix - 1, ops[i].path) == 0)
                return ops[i].op;
    return "CONFIG";
}

struct audit_copy {
    int64_t id, ts_us;
    char actor[128], action[256], target[128];
    char *old_json, *new_json;
};

static int copy_row(void *ctx, const struct tg_store_audit *r)
{
    struct audit_copy *c = ctx;
    c->id = r->id;
    c->ts_us = r->ts_us;
    snprintf(c->actor, sizeof c->actor, "%s", r->actor);
    snprintf(c->action, sizeof c->action, "%s", r->action);
    snprintf(c->target, sizeof c->target, "%s", r->target ? r->target : "");
    c->old_json = r->old_json ? strdup(r->old_json) : NULL;
    c->new_json = r->new_json ? strdup(r->new_json) : NULL;
    return 0;
}

static void note_change(struct tg_incidents *m, struct tg_incident *inc,
                        const struct audit_copy *c)
{
    /* "PUT /api/v1/system/circuit-breaker": the method, then the path. */
    char method[16] = "", path[240] = "";
    sscanf(c->action, "%15s %239s", method, path);
    struct tg_incident_out out = {.n = 1};
    out.v[0].ts_us = c->ts_us;
    out.v[0].kind = "control_change";
    /* Truncation is harmless here: the whole row is in the entry's data. */
    int len = snprintf(out.v[0].text, sizeof out.v[0].text, "%.150s (%.80s) by %.80s",
                       c->action, c->target, c->actor);
    (void)len;
    json_t *d = json_pack("{s:I, s:s, s:s, s:s}", "audit_id", (json_int_t)c->id, "action",
                          c->action, "target", c->target, "actor", c->actor);
    json_t *o = c->old_json ? json_loads(c->old_json, JSON_DECODE_ANY, NULL) : NULL;
    json_t *n = c->new_json ? json_loads(c->new_json, JSON_DECODE_ANY, NULL) : NULL;
    json_object_set_new(d, "old", o ? o : json_null());
    json_object_set_new(d, "new", n ? n : json_null());
    char *data = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    const struct tg_store_incident_action act = {
        .ts_us = c->ts_us,
        .op = op_of(path),
        .method = method[0] ? method : "-",
        .path = path[0] ? path : c->action,
        .body_json = c->new_json,
        .by = c->actor,
        .audit_id = c->id,
    };
    struct tg_errbuf eb = {0};
    (void)tg_incidents__save(m, inc,
                             &(struct tg_incidents__step){.out = &out, .data_json = data,
                                                          .actions = &act, .nactions = 1},
                             c->ts_us, &eb);
    free(data);
}

void tg_incidents_audit(struct tg_incidents *m, int64_t audit_id)
{
    struct audit_copy c = {0};
    struct tg_errbuf eb = {0};
    if (tg_store_audit_get(m->store, audit_id, copy_row, &c, &eb) != 0) {
        tg_log(TG_LOG_ERROR, "diagnose", "incident-audit-read-failed id=%lld error=\"%s\"",
               (long long)audit_id, eb.msg);
        return;
    }
    /* Edits of incidents and posted events are not changes of the gateway. */
    bool change = strncmp(c.target, "incident", 8) != 0 && strcmp(c.target, "events") != 0;
    for (size_t i = 0; change && i < m->n; i++)
        if (tg_incident_is_open(m->v[i]))
            note_change(m, m->v[i], &c);
    free(c.old_json);
    free(c.new_json);
}
