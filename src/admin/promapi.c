/* SPDX-License-Identifier: MIT */
/* The Prometheus HTTP API: dispatch, the envelope, and the query endpoints (query,
 * query_range, format_query); see promapi.h. The metadata endpoints are in
 * promapi_meta.c. Validation follows Prometheus 2.42's order step by step (web/api/v1),
 * since which error a client sees for a request with two faults is part of the
 * interface: query checks time, then timeout, then the expression; query_range checks
 * start, end, their order, step, the point limit, timeout, then the expression. */
#include "admin/promapi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_int.h"
#include "control/scrape.h"
#include "core/clock.h"
#include "promql/eval.h"
#include "promql/parse.h"
#include "tsdb/tsdb.h"

/* ------------------------------------------------------------------ envelope */

static int status_of(const char *type)
{
    if (strcmp(type, TG_ADMIN__BAD_DATA) == 0)
        return 400;
    if (strcmp(type, TG_ADMIN__EXEC) == 0)
        return 422;
    if (strcmp(type, TG_ADMIN__TIMEOUT) == 0 || strcmp(type, TG_ADMIN__UNAVAILABLE) == 0)
        return 503;
    return 500;
}

static void respond(struct tg_admin__preq *r, int status, struct tg_admin_jw *body)
{
    struct tg_admin_resp *resp = r->resp;
    free(resp->body);
    resp->content_type = "application/json";
    if (body->oom) {
        tg_admin_jw_free(body);
        resp->status = 500;
        resp->body = strdup("{\"status\":\"error\",\"errorType\":\"internal\","
                            "\"error\":\"out of memory\"}");
    } else {
        resp->status = status;
        resp->body = body->p;
        body->p = NULL;
    }
    resp->body_len = resp->body ? strlen(resp->body) : 0;
}

void tg_admin__papi_error(struct tg_admin__preq *r, const char *type, const char *fmt, ...)
{
    char msg[TG_ERRBUF_MSG + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct tg_admin_jw w = {0};
    tg_admin_jw_lit(&w, "{\"status\":\"error\",\"errorType\":");
    tg_admin_jw_cstr(&w, type);
    tg_admin_jw_lit(&w, ",\"error\":");
    tg_admin_jw_cstr(&w, msg);
    tg_admin_jw_lit(&w, "}");
    respond(r, status_of(type), &w);
}

void tg_admin__papi_ok(struct tg_admin__preq *r)
{
    struct tg_admin_jw w = {0};
    tg_admin_jw_lit(&w, "{\"status\":\"success\",\"data\":");
    tg_admin_jw_raw(&w, r->w.p ? r->w.p : "null", r->w.p ? r->w.n : 4);
    tg_admin_jw_lit(&w, "}");
    w.oom |= r->w.oom;
    respond(r, 200, &w);
}

const char *tg_admin__papi_fv(const struct tg_admin__preq *r, const char *name, size_t *len)
{
    const struct tg_admin_pval *v = tg_admin_form_get(&r->form, name);
    *len = v ? v->len : 0;
    return v ? v->value : "";
}

bool tg_admin__papi_store(struct tg_admin__preq *r, struct tg_queryable *q)
{
    if (!r->c->scrape) {
        tg_admin__papi_error(r, TG_ADMIN__UNAVAILABLE, "the time-series store is not running");
        return false;
    }
    tg_tsdb_queryable(tg_scrape_tsdb(r->c->scrape), q);
    return true;
}

bool tg_admin__papi_time(struct tg_admin__preq *r, const char *name, struct tg_admin_ptime def,
                         struct tg_admin_ptime *out)
{
    size_t n;
    const char *s = tg_admin__papi_fv(r, name, &n);
    if (n == 0) {
        *out = def;
        return true;
    }
    if (tg_admin_ptime_parse(s, n, out))
        return true;
    char q[160];
    tg_admin_goquote(s, n, q, sizeof q);
    tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                         "invalid parameter \"%s\": Invalid time value for '%s': cannot parse %s "
                         "to a valid timestamp",
                         name, name, q);
    return false;
}

void tg_admin__papi_labels(struct tg_admin_jw *w, const struct tg_labels *ls)
{
    tg_admin_jw_lit(w, "{");
    for (uint32_t i = 0; i < ls->n; i++) {
        if (i)
            tg_admin_jw_lit(w, ",");
        tg_admin_jw_cstr(w, ls->v[i].name);
        tg_admin_jw_lit(w, ":");
        tg_admin_jw_cstr(w, ls->v[i].value);
    }
    tg_admin_jw_lit(w, "}");
}

/* ------------------------------------------------------------------ parameters */

/* A required time (query_range's start and end): no default, a shorter message. */
static bool req_time(struct tg_admin__preq *r, const char *name, struct tg_admin_ptime *out)
{
    size_t n;
    const char *s = tg_admin__papi_fv(r, name, &n);
    if (tg_admin_ptime_parse(s, n, out))
        return true;
    char q[160];
    tg_admin_goquote(s, n, q, sizeof q);
    tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                         "invalid parameter \"%s\": cannot parse %s to a valid timestamp", name, q);
    return false;
}

static bool duration(struct tg_admin__preq *r, const char *name, const char *s, size_t n,
                     int64_t *ns)
{
    enum tg_admin_pdur_err e = tg_admin_pdur_parse(s, n, ns);
    if (e == TG_ADMIN_PDUR_OK)
        return true;
    char q[160];
    tg_admin_goquote(s, n, q, sizeof q);
    tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                         "invalid parameter \"%s\": cannot parse %s to a valid duration%s", name, q,
                         e == TG_ADMIN_PDUR_OVERFLOW ? ". It overflows int64" : "");
    return false;
}

/* The evaluation's deadline from `timeout` (optional) and the server's cap. *expired
 * when the timeout leaves no time at all. */
static bool deadline(struct tg_admin__preq *r, int64_t *deadline_us, bool *expired)
{
    size_t n;
    const char *s = tg_admin__papi_fv(r, "timeout", &n);
    int64_t cap_us = r->c->timeout_us > 0 ? r->c->timeout_us : TG_ADMIN_PROMAPI_TIMEOUT_US;
    int64_t us = cap_us;
    *expired = false;
    if (n) {
        int64_t ns;
        if (!duration(r, "timeout", s, n, &ns))
            return false;
        if (ns <= 0)
            *expired = true;
        else if (ns / 1000 < cap_us)
            us = ns / 1000 ? ns / 1000 : 1;
    }
    *deadline_us = tg_clock_mono_us() + us;
    return true;
}

/* ------------------------------------------------------------------ results */

static void write_points(struct tg_admin_jw *w, const struct tg_sample *s, size_t n)
{
    tg_admin_jw_lit(w, "[");
    for (size_t i = 0; i < n; i++) {
        tg_admin_jw_lit(w, i ? ",[" : "[");
        tg_admin_jw_ts(w, s[i].t);
        tg_admin_jw_lit(w, ",");
        tg_admin_jw_value(w, s[i].v);
        tg_admin_jw_lit(w, "]");
    }
    tg_admin_jw_lit(w, "]");
}

/* {"resultType":...,"result":...} for a value evaluated at `t_ms`. */
static void write_result(struct tg_admin_jw *w, const struct tg_promql_value *v, int64_t t_ms)
{
    tg_admin_jw_lit(w, "{\"resultType\":");
    switch (v->type) {
    case TG_PROMQL_VSCALAR:
    case TG_PROMQL_VSTRING: {
        /* Prometheus writes these two with encoding/json, not with its sample writer:
         * the time as a float64 (1.5, not 1.500) and a scalar always in 'f' form. */
        char b[400];
        tg_admin_jw_lit(w, v->type == TG_PROMQL_VSCALAR ? "\"scalar\",\"result\":["
                                                        : "\"string\",\"result\":[");
        tg_admin_jw_num(w, (double)t_ms / 1000);
        tg_admin_jw_lit(w, ",");
        if (v->type == TG_PROMQL_VSCALAR) {
            size_t n = tg_admin_fmt_float(v->scalar, 'f', b, sizeof b);
            tg_admin_jw_lit(w, "\"");
            tg_admin_jw_raw(w, b, n);
            tg_admin_jw_lit(w, "\"");
        } else {
            tg_admin_jw_cstr(w, v->str ? v->str : "");
        }
        tg_admin_jw_lit(w, "]");
        break;
    }
    case TG_PROMQL_VMATRIX:
        tg_admin_jw_lit(w, "\"matrix\",\"result\":[");
        for (size_t i = 0; i < v->mat.n; i++) {
            tg_admin_jw_lit(w, i ? ",{\"metric\":" : "{\"metric\":");
            tg_admin__papi_labels(w, &v->mat.v[i].labels);
            tg_admin_jw_lit(w, ",\"values\":");
            write_points(w, v->mat.v[i].s, v->mat.v[i].n);
            tg_admin_jw_lit(w, "}");
        }
        tg_admin_jw_lit(w, "]");
        break;
    default:
        tg_admin_jw_lit(w, "\"vector\",\"result\":[");
        for (size_t i = 0; i < v->vec.n; i++) {
            tg_admin_jw_lit(w, i ? ",{\"metric\":" : "{\"metric\":");
            tg_admin__papi_labels(w, &v->vec.v[i].labels);
            tg_admin_jw_lit(w, ",\"value\":[");
            tg_admin_jw_ts(w, t_ms);
            tg_admin_jw_lit(w, ",");
            tg_admin_jw_value(w, v->vec.v[i].v);
            tg_admin_jw_lit(w, "]}");
        }
        tg_admin_jw_lit(w, "]");
        break;
    }
    tg_admin_jw_lit(w, "}");
}

/* An evaluation error as Prometheus types it. */
static void eval_error(struct tg_admin__preq *r, int rc, const struct tg_errbuf *eb)
{
    if (rc == -ETIMEDOUT)
        tg_admin__papi_error(r, TG_ADMIN__TIMEOUT, "%s", eb->msg);
    else if (rc == TG_EPARSE)
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "%s", eb->msg);
    else if (rc == TG_EEXEC || rc == TG_ELIMIT)
        tg_admin__papi_error(r, TG_ADMIN__EXEC, "%s", eb->msg);
    else
        tg_admin__papi_error(r, TG_ADMIN__INTERNAL, "%s", eb->msg[0] ? eb->msg : tg_strerror(rc));
}

/* ------------------------------------------------------------------ endpoints */

static void query(struct tg_admin__preq *r)
{
    struct tg_admin_ptime t;
    int64_t dl;
    bool expired;
    if (!tg_admin__papi_time(r, "time", tg_admin_ptime_from_wall_us(tg_clock_wall_us()), &t) ||
        !deadline(r, &dl, &expired))
        return;
    size_t qn;
    const char *qs = tg_admin__papi_fv(r, "query", &qn);
    struct tg_errbuf eb = {0};
    struct tg_promql_node *expr = NULL;
    if (tg_promql_parse(qs, qn, &expr, &eb) != 0) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "invalid parameter \"query\": %s", eb.msg);
        return;
    }
    struct tg_queryable q;
    if (expired) {
        tg_admin__papi_error(r, TG_ADMIN__TIMEOUT, "query timed out in query queue");
    } else if (tg_admin__papi_store(r, &q)) {
        int64_t t_ms = tg_admin_ptime_engine_ms(t);
        struct tg_promql_opts o = {.deadline_us = dl};
        struct tg_promql_result res = {0};
        int rc = tg_promql_eval_instant(&q, expr, t_ms, &o, &res, &eb);
        if (rc == 0) {
            write_result(&r->w, &res.value, t_ms);
            tg_admin__papi_ok(r);
        } else {
            eval_error(r, rc, &eb);
        }
        tg_promql_result_free(&res);
    }
    tg_promql_node_free(expr);
}

/* Steps past the 11,000-point limit, checked as Prometheus does: whole intervals of the
 * nanosecond difference, before the query is parsed. */
static bool range_params(struct tg_admin__preq *r, struct tg_admin_ptime *start,
                         struct tg_admin_ptime *end, int64_t *step_ns)
{
    if (!req_time(r, "start", start) || !req_time(r, "end", end))
        return false;
    if (tg_admin_ptime_before(*end, *start)) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                             "invalid parameter \"end\": end timestamp "
                             "must not be before start time");
        return false;
    }
    size_t n;
    const char *s = tg_admin__papi_fv(r, "step", &n);
    if (!duration(r, "step", s, n, step_ns))
        return false;
    if (*step_ns <= 0) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                             "invalid parameter \"step\": zero or negative query resolution step "
                             "widths are not accepted. Try a positive integer");
        return false;
    }
    if (tg_admin_ptime_sub_ns(*end, *start) / *step_ns > TG_PROMQL_MAX_POINTS) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                             "exceeded maximum resolution of 11,000 points per timeseries. Try "
                             "decreasing the query resolution (?step=XX)");
        return false;
    }
    return true;
}

static void query_range(struct tg_admin__preq *r)
{
    struct tg_admin_ptime start, end;
    int64_t step_ns, dl;
    bool expired;
    if (!range_params(r, &start, &end, &step_ns) || !deadline(r, &dl, &expired))
        return;
    size_t qn;
    const char *qs = tg_admin__papi_fv(r, "query", &qn);
    struct tg_errbuf eb = {0};
    struct tg_promql_node *expr = NULL;
    if (tg_promql_parse(qs, qn, &expr, &eb) != 0) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "%s", eb.msg);
        return;
    }
    struct tg_queryable q;
    int64_t step_ms = step_ns / 1000000;
    if (expr->type != TG_PROMQL_TYPE_SCALAR && expr->type != TG_PROMQL_TYPE_VECTOR) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                             "invalid expression type \"%s\" for range query, must be Scalar or "
                             "instant Vector",
                             tg_promql_type_name(expr->type));
    } else if (expired) {
        tg_admin__papi_error(r, TG_ADMIN__TIMEOUT, "query timed out in query queue");
    } else if (step_ms == 0) {
        /* What Prometheus 2.42 answers for a step under a millisecond. */
        tg_admin__papi_error(r, TG_ADMIN__EXEC,
                             "unexpected error: runtime error: integer divide by zero");
    } else if (tg_admin__papi_store(r, &q)) {
        struct tg_promql_opts o = {.deadline_us = dl};
        struct tg_promql_result res = {0};
        int rc = tg_promql_eval_range(&q, expr, tg_admin_ptime_engine_ms(start),
                                      tg_admin_ptime_engine_ms(end), step_ms, &o, &res, &eb);
        if (rc == 0) {
            write_result(&r->w, &res.value, 0);
            tg_admin__papi_ok(r);
        } else {
            eval_error(r, rc, &eb);
        }
        tg_promql_result_free(&res);
    }
    tg_promql_node_free(expr);
}

static void format_query(struct tg_admin__preq *r)
{
    size_t qn;
    const char *qs = tg_admin__papi_fv(r, "query", &qn);
    struct tg_errbuf eb = {0};
    struct tg_promql_node *expr = NULL;
    if (tg_promql_parse(qs, qn, &expr, &eb) != 0) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "invalid parameter \"query\": %s", eb.msg);
        return;
    }
    char *s = tg_promql_to_string(expr);
    if (s) {
        tg_admin_jw_cstr(&r->w, s);
        tg_admin__papi_ok(r);
    } else {
        tg_admin__papi_error(r, TG_ADMIN__INTERNAL, "out of memory");
    }
    free(s);
    tg_promql_node_free(expr);
}

/* ------------------------------------------------------------------ dispatch */

/* Go's ParseForm: an application/x-www-form-urlencoded body of a POST first, then the
 * query string, so the body's value of a parameter wins. */
static int read_form(struct tg_admin__preq *r, const char *body, size_t body_len)
{
    const struct tg_http_msg *m = r->m;
    int i = tg_http1_find_header(m, "content-type");
    if (m->method == TG_HTTP_POST && body && i >= 0) {
        struct tg_str ct = m->headers[i].value;
        const char *semi = memchr(ct.p, ';', ct.len);
        size_t n = semi ? (size_t)(semi - ct.p) : ct.len;
        while (n && (ct.p[n - 1] == ' ' || ct.p[n - 1] == '\t'))
            n--;
        if (tg_str_ieq((struct tg_str){ct.p, n}, "application/x-www-form-urlencoded")) {
            int rc = tg_admin_form_parse(&r->form, body, body_len);
            if (rc < 0)
                return rc;
        }
    }
    return tg_admin_form_parse(&r->form, m->query.p, m->query.len);
}

enum methods {
    GET = 1,
    POST = 2,
};

struct route {
    const char *path;
    unsigned methods;
    void (*fn)(struct tg_admin__preq *r);
};

static const struct route routes[] = {
    {"/api/v1/query", GET | POST, query},
    {"/api/v1/query_range", GET | POST, query_range},
    {"/api/v1/format_query", GET | POST, format_query},
    {"/api/v1/series", GET | POST, tg_admin__papi_series},
    {"/api/v1/labels", GET | POST, tg_admin__papi_labels_ep},
    {"/api/v1/metadata", GET, tg_admin__papi_metadata},
    {"/api/v1/targets", GET, tg_admin__papi_targets},
    {"/api/v1/query_exemplars", GET | POST, tg_admin__papi_exemplars},
};

static bool path_is(struct tg_str p, const char *s)
{
    return p.len == strlen(s) && memcmp(p.p, s, p.len) == 0;
}

static bool starts_with(struct tg_str p, const char *s)
{
    return p.len >= strlen(s) && memcmp(p.p, s, strlen(s)) == 0;
}

/* Finds the handler of `p`: a fixed route, /api/v1/label/<name>/values or
 * /api/v1/status/<what>. */
static bool route_of(struct tg_str p, const struct route **rt, struct tg_str *arg)
{
    static const struct route label = {"label", GET, NULL}, status = {"status", GET, NULL};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (path_is(p, routes[i].path)) {
            *rt = &routes[i];
            return true;
        }
    static const char lp[] = "/api/v1/label/", lv[] = "/values", sp[] = "/api/v1/status/";
    if (starts_with(p, lp) && p.len > sizeof lp - 1 + sizeof lv - 1 &&
        memcmp(p.p + p.len - (sizeof lv - 1), lv, sizeof lv - 1) == 0) {
        *arg = (struct tg_str){p.p + sizeof lp - 1, p.len - (sizeof lp - 1) - (sizeof lv - 1)};
        if (memchr(arg->p, '/', arg->len))
            return false;
        *rt = &label;
        return true;
    }
    if (starts_with(p, sp)) {
        *arg = (struct tg_str){p.p + sizeof sp - 1, p.len - (sizeof sp - 1)};
        static const char *const known[] = {"buildinfo", "runtimeinfo", "flags", "tsdb"};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (path_is(*arg, known[i])) {
                *rt = &status;
                return true;
            }
    }
    return false;
}

static void method_not_allowed(struct tg_admin_resp *resp, unsigned methods)
{
    resp->status = 405;
    resp->content_type = "text/plain; charset=utf-8";
    resp->extra = methods & POST ? "Allow: GET, OPTIONS, POST\r\n" : "Allow: GET, OPTIONS\r\n";
    free(resp->body);
    resp->body = strdup("Method Not Allowed\n");
    resp->body_len = resp->body ? strlen(resp->body) : 0;
}

bool tg_admin_promapi(const struct tg_admin_promapi_ctx *c, const struct tg_http_msg *req,
                      const char *body, size_t body_len, struct tg_admin_resp *resp)
{
    const struct route *rt = NULL;
    struct tg_str arg = {0};
    if (!route_of(req->path, &rt, &arg))
        return false;
    if (req->method == TG_HTTP_OPTIONS) { /* CORS preflight, as Prometheus answers it */
        resp->status = 204;
        return true;
    }
    unsigned m = req->method == TG_HTTP_GET || req->method == TG_HTTP_HEAD ? GET
                 : req->method == TG_HTTP_POST                             ? POST
                                                                           : 0;
    if (!(rt->methods & m)) {
        method_not_allowed(resp, rt->methods);
        return true;
    }
    struct tg_admin__preq r = {.c = c, .m = req, .resp = resp};
    if (read_form(&r, body, body_len) < 0)
        tg_admin__papi_error(&r, TG_ADMIN__INTERNAL, "out of memory");
    else if (rt->fn)
        rt->fn(&r);
    else if (strcmp(rt->path, "label") == 0)
        tg_admin__papi_label_values(&r, arg.p, arg.len);
    else
        tg_admin__papi_status(&r, arg.p, arg.len);
    tg_admin_form_deinit(&r.form);
    tg_admin_jw_free(&r.w);
    return true;
}
