/* SPDX-License-Identifier: MIT */
/* The incidents' admin paths (see incidents.h); the rules are diagnose/incident.h's. An
 * id is plain decimal digits (at most 18); anything else under /api/v1/incidents/ is a
 * 404, never a parse of what follows. */
#include "admin/incidents.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "admin/incident_report.h"
#include "admin/query.h"
#include "core/clock.h"
#include "diagnose/incidents.h"
#include "proxy/gateway.h"

#define PREFIX "/api/v1/incidents"

static void list(struct tg_incidents *m, const struct tg_http_msg *req, struct tg_admin_resp *r)
{
    static const char *const statuses[] = {"open", "mitigated", "resolved", "closed"};
    char status[16];
    int rc = tg_admin_query_get(req->query, "status", status, sizeof status);
    bool ok = rc == TG_ENOTFOUND;
    for (int i = 0; rc == 0 && i < 4; i++)
        ok = ok || strcmp(status, statuses[i]) == 0;
    if (!ok) {
        tg_admin_resp_error(r, 400, "status must be open, mitigated, resolved or closed",
                            "status");
        return;
    }
    uint64_t limit;
    if (!tg_admin_query_uint(req->query, "limit", 100, 1000, &limit) || limit == 0) {
        tg_admin_resp_error(r, 400, "limit must be an integer from 1 to 1000", "limit");
        return;
    }
    struct tg_errbuf eb = {0};
    json_t *j = tg_incidents_list_json(m, rc == 0 ? status : NULL, (unsigned)limit, &eb);
    if (j)
        tg_admin_resp_json(r, 200, j);
    else
        tg_admin_resp_error(r, 500, eb.msg, NULL);
}

static void create(const struct tg_admin_control_ctx *c, struct tg_incidents *m,
                   const struct tg_http_msg *req, const char *body, size_t len,
                   struct tg_admin_resp *r)
{
    const struct tg_config *cfg = tg_gateway_config(c->gw);
    if (tg_admin_authorize(cfg, req, r) != 0)
        return;
    json_t *o = tg_admin_body_object(req, body, len, false, r);
    if (!o)
        return;
    const char *k, *bad = NULL, *msg = NULL;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "title") != 0 && strcmp(k, "severity") != 0 && strcmp(k, "text") != 0)
            bad = k, msg = "unknown field";
    }
    json_t *title = json_object_get(o, "title"), *sev = json_object_get(o, "severity");
    json_t *text = json_object_get(o, "text");
    if (!bad && (!json_is_string(title) || json_string_length(title) == 0 ||
                 json_string_length(title) > 511))
        bad = "title", msg = "title is required: a string of 1 to 511 bytes";
    if (!bad && sev && !json_is_null(sev) && !json_is_string(sev))
        bad = "severity", msg = "severity must be \"SEV-1\", \"SEV-2\" or \"SEV-3\"";
    const char *s = json_string_value(sev);
    if (!bad && s && strcmp(s, "SEV-1") != 0 && strcmp(s, "SEV-2") != 0 && strcmp(s, "SEV-3") != 0)
        bad = "severity", msg = "severity must be \"SEV-1\", \"SEV-2\" or \"SEV-3\"";
    if (!bad && text && !json_is_null(text) &&
        (!json_is_string(text) || json_string_length(text) > 300))
        bad = "text", msg = "text must be a string of at most 300 bytes";
    if (bad) {
        tg_admin_resp_error(r, 400, msg, bad);
        json_decref(o);
        return;
    }
    char actor[160];
    tg_admin_actor(c, cfg, req, actor, sizeof actor);
    int64_t id = 0;
    struct tg_errbuf eb = {0};
    if (tg_incidents_create(m, tg_clock_wall_us(), json_string_value(title), s,
                            json_string_value(text), actor, &id, &eb) != 0) {
        tg_admin_resp_error(r, 500, eb.msg, NULL);
    } else {
        json_t *j = tg_incidents_get_json(m, id, &eb);
        if (j)
            tg_admin_resp_json(r, 201, j);
        else
            tg_admin_resp_error(r, 500, eb.msg, NULL);
    }
    json_decref(o);
}

static void get_one(struct tg_incidents *m, int64_t id, struct tg_admin_resp *r)
{
    struct tg_errbuf eb = {0};
    json_t *j = tg_incidents_get_json(m, id, &eb);
    if (j)
        tg_admin_resp_json(r, 200, j);
    else if (eb.code == TG_ENOTFOUND)
        tg_admin_resp_error(r, 404, "no such incident", NULL);
    else
        tg_admin_resp_error(r, 500, eb.msg, NULL);
}

static void put_one(const struct tg_admin_control_ctx *c, struct tg_incidents *m, int64_t id,
                    const struct tg_http_msg *req, const char *body, size_t len,
                    struct tg_admin_resp *r)
{
    const struct tg_config *cfg = tg_gateway_config(c->gw);
    if (tg_admin_authorize(cfg, req, r) != 0)
        return;
    json_t *o = tg_admin_body_object(req, body, len, false, r);
    if (!o)
        return;
    char actor[160];
    tg_admin_actor(c, cfg, req, actor, sizeof actor);
    json_t *missing = json_array();
    struct tg_errbuf eb = {0};
    int rc = tg_incidents_put(m, id, tg_clock_wall_us(), o, actor, missing, &eb);
    if (rc == 0)
        get_one(m, id, r);
    else if (rc == TG_ENOTFOUND)
        tg_admin_resp_error(r, 404, "no such incident", NULL);
    else if (rc == TG_EPARSE)
        tg_admin_resp_error(r, 400, eb.msg, eb.file);
    else if (rc == -EBUSY)
        tg_admin_resp_json(r, 409, json_pack("{s:s, s:O}", "error", eb.msg, "missing", missing));
    else
        tg_admin_resp_error(r, 500, eb.msg, NULL);
    json_decref(missing);
    json_decref(o);
}

/* The id of "/<digits>" (nothing after), or 0. */
static int64_t id_of(const char *p, size_t n)
{
    if (n < 2 || p[0] != '/' || n > 19)
        return 0;
    int64_t id = 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        id = id * 10 + (p[i] - '0');
    }
    return id;
}

/* GET .../<id>/report: the post-incident report (admin/incident_report.h). */
static void report(struct tg_incidents *m, int64_t id, const struct tg_queryable *q,
                   const struct tg_http_msg *req, struct tg_admin_resp *r)
{
    struct tg_errbuf eb = {0};
    json_t *inc = tg_incidents_get_json(m, id, &eb);
    if (!inc && eb.code != TG_ENOTFOUND) {
        tg_admin_resp_error(r, 500, eb.msg, NULL);
        return;
    }
    tg_admin_incident_report(inc, q, req->query, tg_clock_wall_us() / 1000, r);
    json_decref(inc);
}

bool tg_admin_incidents(const struct tg_admin_control_ctx *c, struct tg_incidents *m,
                        const struct tg_queryable *q, const struct tg_http_msg *req,
                        const char *body, size_t body_len, struct tg_admin_resp *r)
{
    size_t plen = sizeof PREFIX - 1;
    const char *p = req->path.p;
    size_t n = req->path.len;
    if (n < plen || memcmp(p, PREFIX, plen) != 0 || (n > plen && p[plen] != '/'))
        return false;
    const char *rest = p + plen;
    size_t rn = n - plen;
    const char *slash = rn > 1 ? memchr(rest + 1, '/', rn - 1) : NULL;
    bool get = req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD;
    if (!m) {
        tg_admin_resp_error(r, 503, "incidents are not available (no store)", NULL);
        return true;
    }
    if (slash) {
        static const char sub_report[] = "/report";
        size_t sl = (size_t)(rest + rn - slash);
        int64_t rid = id_of(rest, (size_t)(slash - rest));
        if (sl != sizeof sub_report - 1 || memcmp(slash, sub_report, sl) != 0 || rid <= 0)
            tg_admin_resp_error(r, 404, "not found", NULL);
        else if (!get)
            tg_admin_resp_error(r, 405, "method not allowed", NULL);
        else
            report(m, rid, q, req, r);
        return true;
    }
    if (rn == 0 || (rn == 1 && rest[0] == '/')) {
        if (get)
            list(m, req, r);
        else if (req->method == TG_HTTP_POST)
            create(c, m, req, body, body_len, r);
        else
            tg_admin_resp_error(r, 405, "method not allowed", NULL);
        return true;
    }
    int64_t id = id_of(rest, rn);
    if (id <= 0)
        tg_admin_resp_error(r, 404, "no such incident (ids are positive integers)", NULL);
    else if (get)
        get_one(m, id, r);
    else if (req->method == TG_HTTP_PUT)
        put_one(c, m, id, req, body, body_len, r);
    else
        tg_admin_resp_error(r, 405, "method not allowed", NULL);
    return true;
}
