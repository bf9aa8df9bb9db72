/* SPDX-License-Identifier: MIT */
/* /api/v1/rules, /api/v1/alerts, /api/v1/alerts/history and /-/reload; see
 * promapi_rules.h. Objects are built in Prometheus 2.42's field order (jansson keeps
 * insertion order); label objects come from sorted label sets, so their keys are in
 * byte order as Prometheus prints them. */
#include "admin/promapi_rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/control_api.h"
#include "admin/query.h"
#include "control/rules.h"
#include "promql/parse.h"
#include "rules/manager.h"
#include "store/alerts.h"

static json_t *labels_obj(const struct tg_labels *ls)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < ls->n; i++)
        json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value));
    return o;
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct tg_rule_kv *const *)a)->name,
                  (*(const struct tg_rule_kv *const *)b)->name);
}

/* The rule's labels or annotations as written, keys in byte order as Prometheus prints
 * them (the file's order may differ). */
static json_t *kv_obj(const struct tg_rule_kv *kv, size_t n)
{
    json_t *o = json_object();
    const struct tg_rule_kv **v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = &kv[i];
    if (v && n > 1)
        qsort(v, n, sizeof *v, kv_cmp);
    for (size_t i = 0; v && i < n; i++)
        json_object_set_new(o, v[i]->name, json_string(v[i]->value));
    free(v);
    return o;
}

/* Go's RFC3339Nano of a ms time; the zero time for 0. */
static json_t *time_str(int64_t ms)
{
    char buf[40];
    return json_string(ms ? tg_notify_time(ms, true, buf) : "0001-01-01T00:00:00Z");
}

/* Go's strconv.FormatFloat(v, 'e', -1, 64): the shortest digits that read back. */
static json_t *value_str(double v)
{
    char buf[40];
    if (isnan(v))
        return json_string("NaN");
    if (isinf(v))
        return json_string(v > 0 ? "+Inf" : "-Inf");
    for (int p = 0; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return json_string(buf);
}

/* A float64 as Go's encoder writes it: whole numbers without a fraction ("300", not
 * "300.0"). */
static json_t *num(double x)
{
    return x == (double)(json_int_t)x && fabs(x) < 9007199254740992.0 ? json_integer((json_int_t)x)
                                                                      : json_real(x);
}

static json_t *ok(json_t *data)
{
    return json_pack("{s:s,s:o}", "status", "success", "data", data);
}

static void bad_data(struct tg_admin_resp *r, const char *msg)
{
    tg_admin_resp_json(
        r, 400,
        json_pack("{s:s,s:s,s:s}", "status", "error", "errorType", "bad_data", "error", msg));
}

/* ------------------------------------------------------------------ parameters */

static int unhex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes [p, p+n) into out (cap bytes); false when malformed or too long. */
static bool decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = unhex(p[i + 1]), lo = unhex(p[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (k + 1 >= cap)
            return false;
        out[k++] = c;
    }
    out[k] = '\0';
    return true;
}

/* Whether the repeated parameter `name` (e.g. "rule_name[]") is absent, or one of its
 * values equals `want`. */
static bool param_allows(struct tg_str q, const char *name, const char *want)
{
    bool present = false;
    const char *p = q.p, *end = q.p + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        char key[64], val[512];
        if (eq && decode(p, (size_t)(eq - p), key, sizeof key) && strcmp(key, name) == 0) {
            present = true;
            if (decode(eq + 1, (size_t)(stop - eq - 1), val, sizeof val) && strcmp(val, want) == 0)
                return true;
        }
        p = stop + 1;
    }
    return !present;
}

/* ------------------------------------------------------------------ /api/v1/rules */

static json_t *alert_obj(const struct tg_alert_instance *in)
{
    json_t *o = json_object();
    json_object_set_new(o, "labels", labels_obj(&in->labels));
    json_object_set_new(o, "annotations", labels_obj(&in->annotations));
    json_object_set_new(o, "state", json_string(tg_alert_state_name(in->state)));
    json_object_set_new(o, "activeAt", time_str(in->active_at_ms));
    if (in->keep_firing_since_ms)
        json_object_set_new(o, "keepFiringSince", time_str(in->keep_firing_since_ms));
    json_object_set_new(o, "value", value_str(in->value));
    return o;
}

/* Pending and firing instances only: resolved ones are kept for resending, not shown. */
static void add_active(const struct tg_alert_instance *in, void *ctx)
{
    if (in->state != TG_ALERT_INACTIVE)
        json_array_append_new(ctx, alert_obj(in));
}

static json_t *rule_obj(const struct tg_rules_rule_info *ri)
{
    const struct tg_rule *d = ri->def;
    json_t *o = json_object();
    char *query = tg_promql_to_string(d->expr);
    if (d->alert) {
        json_object_set_new(o, "state",
                            json_string(tg_alert_state_name(tg_alert_rule_state(ri->alert))));
        json_object_set_new(o, "name", json_string(d->name));
        json_object_set_new(o, "query", json_string(query ? query : d->expr_text));
        json_object_set_new(o, "duration", num((double)d->for_ms / 1e3));
        json_object_set_new(o, "keepFiringFor", num((double)d->keep_firing_for_ms / 1e3));
        json_object_set_new(o, "labels", kv_obj(d->labels, d->nlabels));
        json_object_set_new(o, "annotations", kv_obj(d->annotations, d->nannotations));
        json_t *alerts = json_array();
        tg_alert_rule_foreach(ri->alert, add_active, alerts);
        json_object_set_new(o, "alerts", alerts);
    } else {
        json_object_set_new(o, "name", json_string(d->name));
        json_object_set_new(o, "query", json_string(query ? query : d->expr_text));
        if (d->nlabels)
            json_object_set_new(o, "labels", kv_obj(d->labels, d->nlabels));
    }
    free(query);
    json_object_set_new(o, "health", json_string(tg_rules_health_name(ri->health)));
    if (ri->last_error[0])
        json_object_set_new(o, "lastError", json_string(ri->last_error));
    json_object_set_new(o, "evaluationTime", json_real((double)ri->duration_us / 1e6));
    json_object_set_new(o, "lastEvaluation", time_str(ri->last_eval_ms));
    json_object_set_new(o, "type", json_string(d->alert ? "alerting" : "recording"));
    return o;
}

static void rules(const struct tg_rules_mgr *m, struct tg_str q, struct tg_admin_resp *r)
{
    char type[16] = "";
    int rc = tg_admin_query_get(q, "type", type, sizeof type);
    bool want_alert = true, want_record = true;
    if (rc == 0 && type[0]) {
        want_alert = strcmp(type, "alert") == 0;
        want_record = strcmp(type, "record") == 0;
        if (!want_alert && !want_record) {
            char msg[96];
            snprintf(msg, sizeof msg, "invalid parameter \"type\": not supported value \"%s\"",
                     type);
            bad_data(r, msg);
            return;
        }
    }
    json_t *groups = json_array();
    for (size_t i = 0; i < tg_rules_mgr_ngroups(m); i++) {
        const struct tg_rules_group *g = tg_rules_mgr_group(m, i);
        if (!param_allows(q, "rule_group[]", tg_rules_group_name(g)) ||
            !param_allows(q, "file[]", tg_rules_group_file(g)))
            continue;
        json_t *list = json_array();
        for (size_t k = 0; k < tg_rules_group_nrules(g); k++) {
            struct tg_rules_rule_info ri;
            tg_rules_group_rule(g, k, &ri);
            if ((ri.def->alert ? want_alert : want_record) &&
                param_allows(q, "rule_name[]", ri.def->name))
                json_array_append_new(list, rule_obj(&ri));
        }
        struct tg_rules_group_stats st;
        tg_rules_group_stats(g, &st);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(tg_rules_group_name(g)));
        json_object_set_new(o, "file", json_string(tg_rules_group_file(g)));
        json_object_set_new(o, "rules", list);
        json_object_set_new(o, "interval", num((double)tg_rules_group_interval_ms(g) / 1e3));
        json_object_set_new(o, "limit", json_integer(tg_rules_group_limit(g)));
        json_object_set_new(o, "evaluationTime", json_real((double)st.last_duration_us / 1e6));
        json_object_set_new(o, "lastEvaluation", time_str(st.last_eval_ms));
        json_array_append_new(groups, o);
    }
    tg_admin_resp_json(r, 200, ok(json_pack("{s:o}", "groups", groups)));
}

static void alerts(const struct tg_rules_mgr *m, struct tg_admin_resp *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < tg_rules_mgr_ngroups(m); i++) {
        const struct tg_rules_group *g = tg_rules_mgr_group(m, i);
        for (size_t k = 0; k < tg_rules_group_nrules(g); k++) {
            struct tg_rules_rule_info ri;
            tg_rules_group_rule(g, k, &ri);
            if (ri.alert)
                tg_alert_rule_foreach(ri.alert, add_active, list);
        }
    }
    tg_admin_resp_json(r, 200, ok(json_pack("{s:o}", "alerts", list)));
}

/* ------------------------------------------------------------------ history */

static int history_row(void *ctx, const struct tg_store_alert *row)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(row->id));
    json_object_set_new(o, "alertname", json_string(row->alertname));
    json_object_set_new(o, "state", json_string(row->state));
    json_t *l = json_loads(row->labels_json, 0, NULL),
           *a = json_loads(row->annotations_json, 0, NULL);
    json_object_set_new(o, "labels", l ? l : json_object());
    json_object_set_new(o, "annotations", a ? a : json_object());
    json_object_set_new(o, "value", value_str(row->value));
    json_object_set_new(o, "time", time_str(row->ts_ms));
    json_object_set_new(o, "activeAt", time_str(row->active_at_ms));
    json_object_set_new(o, "firedAt", time_str(row->fired_at_ms));
    json_object_set_new(o, "resolvedAt",
                        row->resolved_at_ms ? time_str(row->resolved_at_ms) : json_null());
    json_array_append_new(ctx, o);
    return 0;
}

static void history(struct tg_store *store, struct tg_str q, struct tg_admin_resp *r)
{
    char name[256] = "", since[32] = "";
    uint64_t limit = 0;
    int rc = tg_admin_query_get(q, "alertname", name, sizeof name);
    if (rc != 0 && rc != TG_ENOTFOUND) {
        bad_data(r, "invalid parameter \"alertname\"");
        return;
    }
    double since_s = 0;
    if (tg_admin_query_get(q, "since", since, sizeof since) == 0) {
        char *end;
        since_s = strtod(since, &end);
        if (!since[0] || *end || !isfinite(since_s) || since_s < 0) {
            bad_data(r, "invalid parameter \"since\": expected Unix seconds");
            return;
        }
    }
    if (!tg_admin_query_uint(q, "limit", 0, TG_STORE_ALERTS_LIST_MAX, &limit)) {
        bad_data(r, "invalid parameter \"limit\": expected 0 to 1000");
        return;
    }
    json_t *list = json_array();
    struct tg_store_alerts_filter f = {name[0] ? name : NULL, (int64_t)(since_s * 1000),
                                       (unsigned)limit};
    struct tg_errbuf eb = {0};
    if (!store || tg_store_alerts_list(store, &f, history_row, list, &eb) != 0) {
        json_decref(list);
        tg_admin_resp_json(r, 500,
                           json_pack("{s:s,s:s,s:s}", "status", "error", "errorType", "internal",
                                     "error", store ? eb.msg : "no store"));
        return;
    }
    tg_admin_resp_json(r, 200, ok(json_pack("{s:o}", "history", list)));
}

/* ------------------------------------------------------------------ /-/reload */

static void text(struct tg_admin_resp *r, int status, const char *body)
{
    free(r->body);
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->body = strdup(body);
    r->body_len = r->body ? strlen(r->body) : 0;
}

static void reload(struct tg_ruler *ruler, const struct tg_config *cfg,
                   const struct tg_http_msg *req, struct tg_admin_resp *r)
{
    if (tg_admin_authorize(cfg, req, r) != 0)
        return;
    struct tg_errbuf eb = {0};
    if (tg_ruler_reload_all(ruler, cfg, &eb) == 0) {
        text(r, 200, "");
        return;
    }
    char msg[TG_ERRBUF_MSG + 64];
    snprintf(msg, sizeof msg, "failed to reload config: %s\n", eb.msg);
    text(r, 500, msg);
}

bool tg_admin_promapi_rules(struct tg_ruler *ruler, const struct tg_config *cfg,
                            const struct tg_http_msg *req, struct tg_admin_resp *r)
{
    struct tg_str p = req->path;
#define PATH_IS(s) (p.len == sizeof(s) - 1 && memcmp(p.p, s, p.len) == 0)
    bool get = req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD;
    bool is_reload = PATH_IS("/-/reload");
    if (!ruler || !(is_reload || PATH_IS("/api/v1/rules") || PATH_IS("/api/v1/alerts") ||
                    PATH_IS("/api/v1/alerts/history")))
        return false;
    if (is_reload) {
        if (req->method == TG_HTTP_POST || req->method == TG_HTTP_PUT)
            reload(ruler, cfg, req, r);
        else
            text(r, 405, "Only POST or PUT requests allowed\n");
    } else if (!get) {
        text(r, 405, "Method Not Allowed\n");
    } else if (PATH_IS("/api/v1/rules")) {
        rules(tg_ruler_mgr(ruler), req->query, r);
    } else if (PATH_IS("/api/v1/alerts")) {
        alerts(tg_ruler_mgr(ruler), r);
    } else {
        history(tg_ruler_store(ruler), req->query, r);
    }
#undef PATH_IS
    return true;
}
