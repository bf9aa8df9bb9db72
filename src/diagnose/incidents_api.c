/* SPDX-License-Identifier: MIT */
/* The manager's side of the admin API and of the diagnosis: reading an incident as JSON,
 * listing, opening by hand, editing, attaching a diagnosis. */
#include "diagnose/incidents.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "diagnose/incidents_int.h"
#include "store/audit.h"

static json_t *time_json(int64_t us)
{
    char buf[32];
    return us ? json_string(tg_incident_time(us, buf, sizeof buf)) : json_null();
}

static json_t *parsed(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static int on_note(void *ctx, const struct tg_store_incident_note *n)
{
    return json_array_append_new(ctx, json_pack("{s:o, s:s, s:s, s:o}", "ts", time_json(n->ts_us),
                                                "kind", n->kind, "text", n->text, "data",
                                                parsed(n->data_json)))
               ? -ENOMEM
               : 0;
}

static int on_action(void *ctx, const struct tg_store_incident_action *a)
{
    json_t *j = json_pack("{s:o, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "ts", time_json(a->ts_us),
                          "op", a->op, "method", a->method, "path", a->path, "body",
                          parsed(a->body_json), "by", a->by, "verdict",
                          a->verdict ? json_string(a->verdict) : json_null(), "undone_at",
                          time_json(a->undone_at_us));
    if (j && a->audit_id)
        json_object_set_new(j, "audit_id", json_integer(a->audit_id));
    return json_array_append_new(ctx, j) ? -ENOMEM : 0;
}

json_t *tg_incidents_get_json(struct tg_incidents *m, int64_t id, struct tg_errbuf *eb)
{
    struct tg_incident tmp = {0}, *inc = tg_incidents__find(m, id);
    if (!inc) {
        if (tg_incidents__load(m, id, &tmp, eb) != 0)
            return NULL;
        inc = &tmp;
    }
    json_t *timeline = json_array(), *actions = json_array(), *j = NULL;
    int rc = timeline && actions ? 0 : tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    if (rc == 0)
        rc = tg_store_incident_timeline(m->store, id, on_note, timeline, eb);
    if (rc == 0)
        rc = tg_store_incident_actions(m->store, id, on_action, actions, eb);
    if (rc == 0) {
        j = tg_incident_json(inc, &m->o, timeline, actions);
        timeline = actions = NULL;
        if (!j)
            tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    } else if (rc == -ENOMEM) {
        tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    }
    json_decref(timeline);
    json_decref(actions);
    tg_incident_deinit(&tmp);
    return j;
}

struct listing {
    struct tg_incidents *m;
    json_t *arr;
    struct tg_errbuf *eb;
};

static int on_listed(void *ctx, const struct tg_store_incident *r)
{
    struct listing *l = ctx;
    struct tg_incident tmp = {0}, *inc = tg_incidents__find(l->m, r->id);
    json_t *s;
    if (inc) {
        s = tg_incident_summary(inc, &l->m->o);
    } else {
        /* Closed (or beyond the page loaded at start): summed up from its row alone. */
        tmp.id = r->id;
        tmp.title = (char *)r->title;
        tmp.status = strcmp(r->status, "closed") == 0     ? TG_INCIDENT_CLOSED
                     : strcmp(r->status, "resolved") == 0 ? TG_INCIDENT_RESOLVED
                                                          : TG_INCIDENT_OPEN;
        tmp.severity = tg_incident_sev_parse(r->severity);
        tmp.opened_by_api = strcmp(r->opened_by, "api") == 0;
        tmp.escalation = r->escalation[0] == 'L' ? r->escalation[1] - '0' : 1;
        tmp.opened_at_us = r->opened_at_us;
        tmp.resolved_at_us = r->resolved_at_us;
        tmp.closed_at_us = r->closed_at_us;
        s = tg_incident_summary(&tmp, &l->m->o);
        if (s)
            json_object_set_new(s, "status", json_string(r->status));
    }
    return !s || json_array_append_new(l->arr, s) ? -ENOMEM : 0;
}

json_t *tg_incidents_list_json(struct tg_incidents *m, const char *status, unsigned limit,
                               struct tg_errbuf *eb)
{
    json_t *arr = json_array();
    struct listing l = {m, arr, eb};
    const struct tg_store_incidents_filter f = {.status = status, .limit = limit};
    int rc = arr ? tg_store_incidents_list(m->store, &f, on_listed, &l, eb) : -ENOMEM;
    if (rc == -ENOMEM)
        tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    if (rc) {
        json_decref(arr);
        return NULL;
    }
    return json_pack("{s:o}", "incidents", arr);
}

int tg_incidents_create(struct tg_incidents *m, int64_t now_us, const char *title,
                        const char *severity, const char *text, const char *actor, int64_t *id,
                        struct tg_errbuf *eb)
{
    struct tg_incident *inc = calloc(1, sizeof *inc);
    struct tg_incident_out out = {0};
    if (!inc || tg_incident_init(inc, title, true, now_us, &out) != 0) {
        if (inc)
            tg_incident_deinit(inc);
        free(inc);
        return tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    }
    inc->severity = tg_incident_sev_parse(severity);
    if (text && out.n < TG_INCIDENT_OUT_MAX) {
        out.v[out.n].ts_us = now_us;
        out.v[out.n].kind = "note";
        snprintf(out.v[out.n].text, sizeof out.v[out.n].text, "%s", text);
        out.n++;
    }
    if (tg_incidents__adopt(m, inc) != 0)
        return tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    json_t *nj = json_pack("{s:s, s:o, s:o}", "title", title, "severity",
                           severity ? json_string(severity) : json_null(), "text",
                           text ? json_string(text) : json_null());
    char *new_json = nj ? json_dumps(nj, JSON_COMPACT) : NULL;
    json_decref(nj);
    const struct tg_store_audit audit = {.ts_us = now_us, .actor = actor,
                                         .action = "POST /api/v1/incidents",
                                         .target = "incidents", .new_json = new_json};
    int rc = tg_incidents__save(m, inc, &(struct tg_incidents__step){.out = &out, .audit = &audit},
                                now_us, eb);
    free(new_json);
    if (rc) {
        for (size_t i = 0; i < m->n; i++)
            if (m->v[i] == inc)
                m->v[i] = m->v[--m->n];
        tg_incident_deinit(inc);
        free(inc);
        return rc;
    }
    *id = inc->id;
    if (m->on_open)
        m->on_open(m->on_open_ctx, inc->id, NULL);
    return 0;
}

/* The manual actions_taken of a PUT as store rows (strings borrowed from `actions`). */
static size_t manual_actions(json_t *actions, struct tg_store_incident_action *rows, char **bodies,
                             size_t cap, const char *actor, int64_t now_us)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        if (n == cap)
            break;
        json_t *body = json_object_get(a, "body");
        bodies[n] = body && !json_is_null(body) ? json_dumps(body, JSON_COMPACT) : NULL;
        rows[n] = (struct tg_store_incident_action){
            .ts_us = now_us,
            .op = json_string_value(json_object_get(a, "op")),
            .method = json_string_value(json_object_get(a, "method")),
            .path = json_string_value(json_object_get(a, "path")),
            .body_json = bodies[n],
            .by = actor,
            .verdict = json_string_value(json_object_get(a, "verdict")),
        };
        n++;
    }
    return n;
}

int tg_incidents_put(struct tg_incidents *m, int64_t id, int64_t now_us, json_t *body,
                     const char *actor, json_t *missing, struct tg_errbuf *eb)
{
    struct tg_incident tmp = {0}, *inc = tg_incidents__find(m, id);
    if (!inc) {
        if (tg_incidents__load(m, id, &tmp, eb) != 0)
            return eb->code;
        inc = &tmp;
    }
    json_t *actions = json_array();
    struct tg_incident_out out = {0};
    int rc = actions ? tg_incident_put(inc, body, now_us, actions, missing, &out, eb) : -ENOMEM;
    if (rc == 0) {
        enum { MAXA = 100 };
        struct tg_store_incident_action rows[MAXA];
        char *bodies[MAXA];
        size_t na = manual_actions(actions, rows, bodies, MAXA, actor, now_us);
        inc->nactions -= na; /* counted again once written */
        char *new_json = json_dumps(body, JSON_COMPACT);
        char action[64], target[48];
        snprintf(action, sizeof action, "PUT /api/v1/incidents/%lld", (long long)id);
        snprintf(target, sizeof target, "incident/%lld", (long long)id);
        const struct tg_store_audit audit = {.ts_us = now_us, .actor = actor, .action = action,
                                             .target = target, .new_json = new_json};
        rc = tg_incidents__save(m, inc,
                                &(struct tg_incidents__step){.out = &out, .actions = rows,
                                                             .nactions = na, .audit = &audit},
                                now_us, eb);
        free(new_json);
        for (size_t i = 0; i < na; i++)
            free(bodies[i]);
    }
    json_decref(actions);
    tg_incident_deinit(&tmp);
    return rc;
}

/* "diagnosis: targeted, pattern sudden, SEV-2; causes: database". */
static void summary(json_t *d, char *buf, size_t cap)
{
    const char *scope = json_string_value(json_object_get(d, "scope"));
    const char *pattern = json_string_value(json_object_get(d, "pattern"));
    const char *sev = json_string_value(json_object_get(d, "severity"));
    json_t *causes = json_object_get(d, "causes");
    const char *cause = json_string_value(json_object_get(json_array_get(causes, 0), "cause"));
    snprintf(buf, cap, "diagnosis: scope %s, pattern %s, severity %s, %zu affected, cause %s",
             scope ? scope : "?", pattern ? pattern : "?", sev ? sev : "none",
             json_array_size(json_object_get(d, "affected")), cause ? cause : "unknown");
}

static json_t *affected_of(json_t *d)
{
    json_t *out = json_array(), *a;
    size_t i;
    json_array_foreach(json_object_get(d, "affected"), i, a)
    {
        json_t *e = json_object_get(a, "endpoint"), *mth = json_object_get(a, "method");
        if (json_is_string(e))
            json_array_append_new(out, json_pack("{s:O, s:o}", "endpoint", e, "method",
                                                 json_is_string(mth) ? json_copy(mth)
                                                                     : json_null()));
    }
    return out;
}

int tg_incidents_set_diagnosis(struct tg_incidents *m, int64_t id, const char *diagnosis_json)
{
    struct tg_errbuf eb = {0};
    struct tg_incident *inc = tg_incidents__find(m, id);
    if (!inc)
        return TG_ENOTFOUND;
    json_t *d = diagnosis_json ? json_loads(diagnosis_json, 0, NULL) : NULL;
    if (!json_is_object(d)) {
        json_decref(d);
        return TG_EPARSE;
    }
    tg_incident_raise(inc, tg_incident_sev_parse(json_string_value(json_object_get(d, "severity"))));
    json_t *aff = affected_of(d);
    if (aff && json_array_size(aff))
        json_object_set_new(inc->fields, "affected_endpoints", aff);
    else
        json_decref(aff);
    /* The store's wall clock: the diagnosis hands over its result, not a time. */
    int64_t now_us = tg_clock_wall_us();
    struct tg_incident_out out = {.n = 1};
    out.v[0].ts_us = now_us;
    out.v[0].kind = "diagnosis";
    summary(d, out.v[0].text, sizeof out.v[0].text);
    json_object_set_new(inc->fields, "diagnosis", d);
    return tg_incidents__save(m, inc, &(struct tg_incidents__step){.out = &out}, now_us, &eb);
}
