/* SPDX-License-Identifier: MIT */
/* The post-incident report's sections, written once for both formats through the
 * document writer (report_out.c): summary, impact, the latency chart, alerts, diagnosis,
 * timeline, actions and their verdicts, then the sections the runbooks require before an
 * incident may close (root cause, lessons learned, prevention measures, the five
 * follow-ups, the 20-item checklist, communications; seed-inventory.md §d.3). The
 * incident object's shape is the one GET /api/v1/incidents/<id> answers; any member
 * may be missing or of the wrong type, and then shows as "not filled in". The required
 * sections are in report_post.c. */
#include "diagnose/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/report_int.h"

typedef struct tg_report__out out_t;

/* A number with `dec` decimals and a unit, "no data" when not finite. */
static void num_cell(out_t *o, double v, int dec, const char *unit)
{
    tg_report__cell_begin(o);
    if (isfinite(v))
        tg_report__textf(o, "%.*f%s", dec, v, unit);
    else
        tg_report__text(o, "no data");
    tg_report__cell_end(o);
}

static void json_cell(out_t *o, const json_t *v)
{
    tg_report__cell_begin(o);
    if (v && !json_is_null(v))
        tg_report__json_text(o, v);
    else
        tg_report__not_filled(o);
    tg_report__cell_end(o);
}

static void kv_begin(out_t *o)
{
    static const char *const heads[] = {"field", "value"};
    tg_report__table_begin(o, heads, 2);
}

static void kv_row(out_t *o, const char *key, const char *value)
{
    tg_report__row_begin(o);
    tg_report__cell(o, key);
    tg_report__cell(o, value);
    tg_report__row_end(o);
}

static void kv_json(out_t *o, const json_t *obj, const char *key, const char *label)
{
    tg_report__row_begin(o);
    tg_report__cell(o, label);
    json_cell(o, json_object_get(obj, key));
    tg_report__row_end(o);
}

/* The incident's end (resolution, else closing) in ms; false while it is open. */
static bool ended_at(const json_t *inc, int64_t *ms)
{
    return tg_report__time(inc, "resolved_at", ms) || tg_report__time(inc, "closed_at", ms);
}

static void duration_text(const struct tg_report_input *in, char *buf, size_t cap)
{
    int64_t a, b;
    if (!tg_report__time(in->incident, "opened_at", &a)) {
        snprintf(buf, cap, "unknown");
        return;
    }
    char d[48];
    if (ended_at(in->incident, &b)) {
        tg_report__duration(b - a, d, sizeof d);
        snprintf(buf, cap, "%s", d);
    } else {
        tg_report__duration(in->now_ms - a, d, sizeof d);
        snprintf(buf, cap, "%s so far (still open)", d);
    }
}

static void summary(out_t *o, const struct tg_report_input *in)
{
    const json_t *inc = in->incident;
    const char *title = tg_report__str(inc, "title");
    char h[64];
    json_t *id = json_object_get(inc, "id");
    if (json_is_integer(id))
        snprintf(h, sizeof h, "Incident %lld: ", (long long)json_integer_value(id));
    else
        snprintf(h, sizeof h, "Incident: ");
    tg_report__raw(o, o->html ? "<h1>" : "# ");
    tg_report__text(o, h);
    tg_report__text(o, title ? title : "untitled");
    tg_report__raw(o, o->html ? "</h1>\n" : "\n\n");
    tg_report__heading(o, 2, "Summary");
    kv_begin(o);
    kv_json(o, inc, "status", "Status");
    kv_json(o, inc, "severity", "Severity");
    kv_json(o, inc, "opened_at", "Opened");
    kv_json(o, inc, "opened_by", "Opened by");
    kv_json(o, inc, "resolved_at", "Resolved");
    kv_json(o, inc, "closed_at", "Closed");
    char d[96];
    duration_text(in, d, sizeof d);
    kv_row(o, "Duration", d);
    kv_json(o, inc, "escalation_level", "Escalation level");
    kv_json(o, inc, "ack_deadline", "Acknowledge by");
    tg_report__table_end(o);
}

/* "GET /api/products, POST /api/orders" from a list of {endpoint, method}. */
static void endpoints_text(out_t *o, const json_t *list)
{
    size_t i;
    json_t *e;
    bool any = false;
    json_array_foreach(list, i, e) {
        const char *ep = tg_report__str(e, "endpoint"), *m = tg_report__str(e, "method");
        if (!ep)
            continue;
        if (any)
            tg_report__text(o, ", ");
        if (m) {
            tg_report__text(o, m);
            tg_report__text(o, " ");
        }
        tg_report__text(o, ep);
        any = true;
    }
    if (!any)
        tg_report__not_filled(o);
}

static void impact(out_t *o, const struct tg_report_input *in)
{
    const json_t *inc = in->incident, *imp = json_object_get(inc, "impact");
    tg_report__heading(o, 2, "Impact");
    kv_begin(o);
    tg_report__row_begin(o);
    tg_report__cell(o, "Affected endpoints");
    tg_report__cell_begin(o);
    const json_t *eps = json_object_get(inc, "affected_endpoints");
    if (json_array_size(eps) == 0)
        eps = json_object_get(json_object_get(inc, "diagnosis"), "affected");
    endpoints_text(o, eps);
    tg_report__cell_end(o);
    tg_report__row_end(o);
    char d[96];
    duration_text(in, d, sizeof d);
    kv_row(o, "Duration", d);
    /* The store's totals are measured; the incident's own impact, when it has one, is
     * what someone wrote down, so it comes second. */
    double req = isfinite(in->requests) ? in->requests : tg_report__num(imp, "requests");
    double err = isfinite(in->errors) ? in->errors : tg_report__num(imp, "errors");
    const char *scope = in->all_endpoints ? " (all endpoints)" : "";
    tg_report__row_begin(o);
    tg_report__cell(o, "Requests during the incident");
    num_cell(o, req, 0, scope);
    tg_report__row_end(o);
    tg_report__row_begin(o);
    tg_report__cell(o, "Errors (5xx) during the incident");
    num_cell(o, err, 0, scope);
    tg_report__row_end(o);
    tg_report__row_begin(o);
    tg_report__cell(o, "Error rate");
    num_cell(o, req > 0 && isfinite(err) ? 100 * err / req : NAN, 2, " %");
    tg_report__row_end(o);
    tg_report__table_end(o);
}

static void alerts(out_t *o, const json_t *inc)
{
    static const char *const heads[] = {"alert", "labels", "state", "fired", "resolved"};
    const json_t *list = json_object_get(inc, "alerts");
    tg_report__heading(o, 2, "Alerts");
    if (json_array_size(list) == 0) {
        tg_report__para(o, NULL);
        return;
    }
    tg_report__table_begin(o, heads, 5);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(a, "alertname"));
        tg_report__cell_begin(o);
        const char *k;
        json_t *v;
        bool first = true;
        json_object_foreach(json_object_get(a, "labels"), k, v) {
            tg_report__textf(o, "%s", first ? "" : ", ");
            tg_report__text(o, k);
            tg_report__text(o, "=");
            tg_report__json_text(o, v);
            first = false;
        }
        tg_report__cell_end(o);
        tg_report__cell(o, tg_report__str(a, "state"));
        tg_report__cell(o, tg_report__str(a, "fired_at"));
        tg_report__cell(o, tg_report__str(a, "resolved_at"));
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

static void diag_affected(out_t *o, const json_t *list)
{
    static const char *const heads[] = {"endpoint", "method", "p95", "target", "baseline p95",
                                        "rps", "error rate"};
    if (json_array_size(list) == 0)
        return;
    tg_report__heading(o, 3, "Affected endpoints");
    tg_report__table_begin(o, heads, 7);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(a, "endpoint"));
        tg_report__cell(o, tg_report__str(a, "method"));
        num_cell(o, tg_report__num(a, "p95_ms"), 1, " ms");
        num_cell(o, tg_report__num(a, "target_ms"), 1, " ms");
        num_cell(o, tg_report__num(a, "baseline_p95_ms"), 1, " ms");
        num_cell(o, tg_report__num(a, "rps"), 2, "");
        num_cell(o, 100 * tg_report__num(a, "error_rate"), 2, " %");
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

/* Writes the strings of array `v` joined by "; " (or `v` itself when not an array). */
static void joined(out_t *o, const json_t *v)
{
    if (!json_is_array(v)) {
        tg_report__json_text(o, v);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (i)
            tg_report__text(o, "; ");
        tg_report__json_text(o, e);
    }
}

static void diag_causes(out_t *o, const json_t *list)
{
    static const char *const heads[] = {"cause", "confidence", "evidence"};
    tg_report__heading(o, 3, "Causes");
    if (json_array_size(list) == 0) {
        tg_report__para(o, "none found");
        return;
    }
    tg_report__table_begin(o, heads, 3);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(c, "cause"));
        num_cell(o, tg_report__num(c, "confidence"), 2, "");
        tg_report__cell_begin(o);
        joined(o, json_object_get(c, "evidence"));
        tg_report__cell_end(o);
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

static void diag_correlations(out_t *o, const json_t *list)
{
    static const char *const heads[] = {"kind", "evidence", "details"};
    tg_report__heading(o, 3, "Correlations");
    if (json_array_size(list) == 0) {
        tg_report__para(o, "none found");
        return;
    }
    tg_report__table_begin(o, heads, 3);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(c, "kind"));
        tg_report__cell(o, tg_report__str(c, "evidence"));
        /* The kind's own members (rates, the event, the server) without the two above. */
        json_t *rest = json_is_object(c) ? json_deep_copy(c) : NULL;
        if (json_is_object(c) && !rest)
            o->failed = true;
        json_object_del(rest, "kind");
        json_object_del(rest, "evidence");
        json_cell(o, json_object_size(rest) ? rest : NULL);
        json_decref(rest);
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

static void diag_checks(out_t *o, const json_t *list)
{
    tg_report__heading(o, 3, "Checks");
    if (json_array_size(list) == 0) {
        tg_report__para(o, "none");
        return;
    }
    tg_report__list_begin(o, true);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        tg_report__item_begin(o, (int)i + 1);
        tg_report__json_text(o, c);
        tg_report__item_end(o);
    }
    tg_report__list_end(o, true);
}

static void diag_mitigations(out_t *o, const json_t *list)
{
    static const char *const heads[] = {"op", "request", "body", "why"};
    if (json_array_size(list) == 0)
        return;
    tg_report__heading(o, 3, "Suggested mitigations");
    tg_report__table_begin(o, heads, 4);
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(m, "op"));
        tg_report__cell_begin(o);
        tg_report__json_text(o, json_object_get(m, "method"));
        tg_report__text(o, " ");
        tg_report__json_text(o, json_object_get(m, "path"));
        tg_report__cell_end(o);
        json_cell(o, json_object_get(m, "body"));
        tg_report__cell(o, tg_report__str(m, "why"));
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

static void diagnosis(out_t *o, const json_t *inc)
{
    const json_t *d = json_object_get(inc, "diagnosis");
    tg_report__heading(o, 2, "Diagnosis");
    if (!json_is_object(d)) {
        tg_report__para(o, NULL);
        return;
    }
    kv_begin(o);
    kv_json(o, d, "degraded", "Degraded");
    kv_json(o, d, "severity", "Severity");
    kv_json(o, d, "scope", "Scope");
    kv_json(o, d, "pattern", "Pattern");
    kv_json(o, d, "onset", "Onset");
    kv_json(o, d, "categories", "Categories");
    kv_json(o, d, "window_s", "Window (s)");
    tg_report__table_end(o);
    diag_affected(o, json_object_get(d, "affected"));
    diag_causes(o, json_object_get(d, "causes"));
    diag_correlations(o, json_object_get(d, "correlations"));
    diag_checks(o, json_object_get(d, "checks"));
    diag_mitigations(o, json_object_get(d, "suggested_mitigations"));
}

static void stats_row(out_t *o, const struct tg_report_input *in, const char *name, int which)
{
    double mn = NAN, md = NAN, mx = NAN;
    int n = tg_report__stats(in, which, &mn, &md, &mx);
    if (n < 0)
        o->failed = true;
    tg_report__row_begin(o);
    tg_report__cell(o, name);
    num_cell(o, mn, 1, " ms");
    num_cell(o, md, 1, " ms");
    num_cell(o, mx, 1, " ms");
    num_cell(o, n > 0 ? n : 0, 0, "");
    tg_report__row_end(o);
}

static void chart(out_t *o, const struct tg_report_input *in)
{
    tg_report__heading(o, 2, "Latency");
    if (o->html) {
        tg_report__raw(o, "<figure>\n");
        tg_report__svg(o, in);
        tg_report__raw(o, "<figcaption>");
    } else {
        tg_report__para_begin(o);
        tg_report__text(o, "The chart of this window, with alert and action markers, is in "
                           "the HTML report (?format=html).");
        tg_report__para_end(o);
    }
    tg_report__para_begin(o);
    if (in->all_endpoints)
        tg_report__text(o, "p95 and p99 over every endpoint");
    else
        tg_report__text(o, "p95 and p99 over the affected endpoints");
    if (isfinite(in->target_ms))
        tg_report__textf(o, "; target %.10g ms", in->target_ms);
    tg_report__textf(o, "; %zu points.", in->npoints);
    tg_report__para_end(o);
    if (o->html)
        tg_report__raw(o, "</figcaption></figure>\n");
    static const char *const heads[] = {"series", "min", "median", "max", "points"};
    tg_report__table_begin(o, heads, 5);
    stats_row(o, in, "p95", 0);
    stats_row(o, in, "p99", 1);
    tg_report__table_end(o);
}

static void timeline(out_t *o, const json_t *inc)
{
    static const char *const heads[] = {"time", "kind", "text", "data"};
    const json_t *list = json_object_get(inc, "timeline");
    tg_report__heading(o, 2, "Timeline");
    if (json_array_size(list) == 0) {
        tg_report__para(o, NULL);
        return;
    }
    tg_report__table_begin(o, heads, 4);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(e, "ts"));
        tg_report__cell(o, tg_report__str(e, "kind"));
        tg_report__cell(o, tg_report__str(e, "text"));
        const json_t *data = json_object_get(e, "data");
        tg_report__cell_begin(o);
        if (data && !json_is_null(data))
            tg_report__json_text(o, data);
        else
            tg_report__text(o, "-");
        tg_report__cell_end(o);
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

static void actions(out_t *o, const json_t *inc)
{
    static const char *const heads[] = {"time", "by", "op", "request", "body", "verdict",
                                        "undone"};
    const json_t *list = json_object_get(inc, "actions_taken");
    tg_report__heading(o, 2, "Actions and verdicts");
    if (json_array_size(list) == 0) {
        tg_report__para(o, NULL);
        return;
    }
    tg_report__table_begin(o, heads, 7);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(a, "ts"));
        tg_report__cell(o, tg_report__str(a, "by"));
        tg_report__cell(o, tg_report__str(a, "op"));
        tg_report__cell_begin(o);
        tg_report__json_text(o, json_object_get(a, "method"));
        tg_report__text(o, " ");
        tg_report__json_text(o, json_object_get(a, "path"));
        tg_report__cell_end(o);
        json_cell(o, json_object_get(a, "body"));
        const char *verdict = tg_report__str(a, "verdict");
        tg_report__cell(o, verdict ? verdict : "not yet judged");
        const char *undone = tg_report__str(a, "undone_at");
        tg_report__cell(o, undone ? undone : "no");
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

/* The page around the sections: one file with its style inline, no script, and a
 * Content-Security-Policy that forbids any script or outside fetch, so that a string
 * that escaped escaping still could not run or load anything. */
static const char HTML_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<style>\n"
    "body{font-family:sans-serif;margin:2em auto;max-width:1040px;color:#1f2328;"
    "line-height:1.45}\n"
    "table{border-collapse:collapse;margin:0.5em 0 1em;width:100%}\n"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;"
    "white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "th{background:#f6f8fa}\n"
    "p,li,h1{white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "em.nf{color:#9a6700}\n"
    "figure{margin:0}svg{max-width:100%;height:auto;border:1px solid #d0d7de}\n"
    "footer{color:#57606a;font-size:0.9em;margin-top:2em}\n"
    "</style>\n";

static void render(out_t *o, const struct tg_report_input *in)
{
    if (o->html) {
        tg_report__raw(o, HTML_HEAD);
        tg_report__raw(o, "<title>");
        const json_t *id = json_object_get(in->incident, "id");
        if (json_is_integer(id))
            tg_report__textf(o, "Incident %lld: ", (long long)json_integer_value(id));
        const char *title = tg_report__str(in->incident, "title");
        tg_report__text(o, title ? title : "untitled");
        tg_report__raw(o, "</title>\n</head>\n<body>\n");
    }
    summary(o, in);
    impact(o, in);
    chart(o, in);
    alerts(o, in->incident);
    diagnosis(o, in->incident);
    timeline(o, in->incident);
    actions(o, in->incident);
    tg_report__required(o, in->incident);
    char when[32];
    tg_report__iso(in->now_ms, when, sizeof when);
    if (o->html)
        tg_report__rawf(o, "<footer>Report made at %s by tailguard.</footer>\n"
                           "</body>\n</html>\n", when);
    else
        tg_report__rawf(o, "\n---\nReport made at %s by tailguard.\n", when);
}

/* Renders into a memory stream. Its buffer grows as needed; a failed allocation sets
 * the stream's error flag, which is checked once at the end instead of at each write. */
static char *render_to_string(const struct tg_report_input *in, bool html)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    out_t o = {.f = f, .html = html};
    render(&o, in);
    bool bad = ferror(f) || o.failed;
    if (fclose(f) != 0 || bad) {
        free(buf);
        errno = ENOMEM;
        return NULL;
    }
    return buf;
}

char *tg_report_markdown(const struct tg_report_input *in)
{
    return render_to_string(in, false);
}

char *tg_report_html(const struct tg_report_input *in)
{
    return render_to_string(in, true);
}
