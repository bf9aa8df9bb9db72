/* SPDX-License-Identifier: MIT */
/* POST /api/v1/events (a change marker: {"type", "service"?, "version"?, "text"?,
 * "labels"?, "ts"?}) and GET /api/v1/events (the markers and every control change of the
 * audit log, newest first; diagnose/events.h). A posted event is written with its audit
 * row in one transaction. */
#include "admin/incidents.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_params.h"
#include "admin/query.h"
#include "control/runtime.h"
#include "core/clock.h"
#include "diagnose/events.h"
#include "diagnose/incident.h"
#include "proxy/gateway.h"
#include "store/events.h"

#define MAX_FIELD 256
#define MAX_TEXT 4096

static bool type_ok(const char *s)
{
    if (!s || !s[0] || strlen(s) > 64)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(s);
}

/* RFC3339 or Unix seconds (a float), as the Prometheus API reads times. */
static bool parse_time(const char *s, int64_t *us)
{
    struct tg_admin_ptime t;
    if (!s || !tg_admin_ptime_parse(s, strlen(s), &t) || t.sec < 0 || t.sec > (1LL << 40))
        return false;
    *us = t.sec * 1000000 + t.nsec / 1000;
    return true;
}

static bool opt_string(json_t *body, const char *name, size_t max, const char **out,
                       struct tg_admin_resp *r)
{
    json_t *v = json_object_get(body, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a string of at most %zu bytes", name, max);
        tg_admin_resp_error(r, 400, msg, name);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool labels_ok(json_t *labels)
{
    const char *k;
    json_t *v;
    if (!json_is_object(labels) || json_object_size(labels) > 32)
        return false;
    json_object_foreach(labels, k, v)
    {
        if (!json_is_string(v) || strlen(k) > 128 || json_string_length(v) > MAX_FIELD)
            return false;
    }
    return true;
}

/* Checks the body; fills `ev` (strings borrowed from `body`). */
static bool read_event(json_t *body, struct tg_store_event *ev, char **labels_json,
                       struct tg_admin_resp *r)
{
    static const char *const known[] = {"type", "service", "version", "text", "labels", "ts"};
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        size_t i = 0;
        while (i < 6 && strcmp(k, known[i]) != 0)
            i++;
        if (i == 6) {
            tg_admin_resp_error(r, 400, "unknown field", k);
            return false;
        }
    }
    ev->type = json_string_value(json_object_get(body, "type"));
    if (!type_ok(ev->type)) {
        tg_admin_resp_error(r, 400, "type is required: 1 to 64 of [a-z0-9_.-]", "type");
        return false;
    }
    if (!opt_string(body, "service", MAX_FIELD, &ev->service, r) ||
        !opt_string(body, "version", MAX_FIELD, &ev->version, r) ||
        !opt_string(body, "text", MAX_TEXT, &ev->text, r))
        return false;
    json_t *labels = json_object_get(body, "labels");
    if (labels && !json_is_null(labels)) {
        if (!labels_ok(labels)) {
            tg_admin_resp_error(r, 400, "labels must be an object of at most 32 string values",
                                "labels");
            return false;
        }
        *labels_json = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
        ev->labels_json = *labels_json;
    }
    json_t *ts = json_object_get(body, "ts");
    ev->ts_us = tg_clock_wall_us();
    if (ts && !parse_time(json_string_value(ts), &ev->ts_us)) {
        tg_admin_resp_error(r, 400, "ts must be an RFC3339 time (or Unix seconds) as a string",
                            "ts");
        return false;
    }
    return true;
}

static void post_event(const struct tg_admin_control_ctx *c, const struct tg_http_msg *m,
                       const char *body, size_t len, struct tg_admin_resp *r)
{
    const struct tg_config *cfg = tg_gateway_config(c->gw);
    if (tg_admin_authorize(cfg, m, r) != 0)
        return;
    json_t *obj = tg_admin_body_object(m, body, len, false, r);
    if (!obj)
        return;
    struct tg_store_event ev = {0};
    char *labels = NULL, actor[160];
    if (read_event(obj, &ev, &labels, r)) {
        tg_admin_actor(c, cfg, m, actor, sizeof actor);
        char *detail = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        const struct tg_store_audit audit = {.ts_us = tg_clock_wall_us(), .actor = actor,
                                             .action = "POST /api/v1/events",
                                             .target = "events", .new_json = detail};
        int64_t id = 0;
        struct tg_errbuf eb = {0};
        if (tg_store_events_append(tg_runtime_store(c->rt), &ev, &audit, &id, &eb) != 0) {
            tg_admin_resp_error(r, 500, eb.msg, NULL);
        } else {
            char ts[32];
            tg_admin_resp_json(r, 201,
                               json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "type",
                                         ev.type, "ts",
                                         tg_incident_time(ev.ts_us, ts, sizeof ts)));
        }
        free(detail);
    }
    free(labels);
    json_decref(obj);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *json_or_null(const char *s)
{
    json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static int on_event(void *ctx, const struct tg_event *e)
{
    char ts[32];
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)e->id, "ts",
                          tg_incident_time(e->ts_us, ts, sizeof ts), "type", e->type, "source",
                          e->source);
    if (!o)
        return -ENOMEM;
    if (e->audit_id) {
        json_object_set_new(o, "audit_id", json_integer(e->audit_id));
        json_object_set_new(o, "actor", str_or_null(e->actor));
        json_object_set_new(o, "action", str_or_null(e->action));
        json_object_set_new(o, "target", str_or_null(e->target));
        json_object_set_new(o, "old", json_or_null(e->old_json));
        json_object_set_new(o, "new", json_or_null(e->new_json));
    } else {
        json_object_set_new(o, "service", str_or_null(e->service));
        json_object_set_new(o, "version", str_or_null(e->version));
        json_object_set_new(o, "text", str_or_null(e->text));
        json_object_set_new(o, "labels", e->labels_json ? json_or_null(e->labels_json)
                                                        : json_object());
    }
    return json_array_append_new(ctx, o) ? -ENOMEM : 0;
}

static void get_events(const struct tg_admin_control_ctx *c, const struct tg_http_msg *m,
                       struct tg_admin_resp *r)
{
    char since[64], type[80];
    struct tg_events_filter f = {0};
    uint64_t limit;
    int rc = tg_admin_query_get(m->query, "since", since, sizeof since);
    if (rc == TG_EPARSE || (rc == 0 && !parse_time(since, &f.since_us))) {
        tg_admin_resp_error(r, 400, "since must be an RFC3339 time or Unix seconds", "since");
        return;
    }
    rc = tg_admin_query_get(m->query, "type", type, sizeof type);
    if (rc == TG_EPARSE || (rc == 0 && !type_ok(type))) {
        tg_admin_resp_error(r, 400, "type must be 1 to 64 of [a-z0-9_.-]", "type");
        return;
    }
    f.type = rc == 0 ? type : NULL;
    if (!tg_admin_query_uint(m->query, "limit", TG_EVENTS_LIST_DEFAULT, TG_EVENTS_LIST_MAX,
                             &limit) ||
        limit == 0) {
        tg_admin_resp_error(r, 400, "limit must be an integer from 1 to 1000", "limit");
        return;
    }
    f.limit = (unsigned)limit;
    json_t *arr = json_array();
    struct tg_errbuf eb = {0};
    if (!arr || tg_events_query(tg_runtime_store(c->rt), &f, on_event, arr, &eb) != 0) {
        json_decref(arr);
        tg_admin_resp_error(r, 500, eb.msg[0] ? eb.msg : "out of memory", NULL);
        return;
    }
    tg_admin_resp_json(r, 200, json_pack("{s:o}", "events", arr));
}

bool tg_admin_events(const struct tg_admin_control_ctx *c, const struct tg_http_msg *req,
                     const char *body, size_t body_len, struct tg_admin_resp *r)
{
    static const char path[] = "/api/v1/events";
    if (req->path.len != sizeof path - 1 || memcmp(req->path.p, path, sizeof path - 1) != 0)
        return false;
    if (!c->rt)
        tg_admin_resp_error(r, 503, "no store", NULL);
    else if (req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD)
        get_events(c, req, r);
    else if (req->method == TG_HTTP_POST)
        post_event(c, req, body, body_len, r);
    else
        tg_admin_resp_error(r, 405, "method not allowed", NULL);
    return true;
}
