/* SPDX-License-Identifier: MIT */
/* The pure part of `tailguard top` (see top_model.h): the admin API's answers parsed
 * with jansson into rows, alerts, incidents and traces; sorting, filtering, sparklines
 * and the lines of text the screen shows. Parsers build into a fresh array and swap it
 * in only when the whole answer was good, so a truncated answer changes nothing. */
#include "cli/top_model.h"

#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ arrays */

/* Makes room for one more element of `size` bytes in *v (n used, *cap allocated). */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, c * size);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = c;
    return 0;
}

void tg_top_table_deinit(struct tg_top_table *t)
{
    free(t->rows);
    *t = (struct tg_top_table){0};
}

void tg_top_alerts_deinit(struct tg_top_alerts *a)
{
    free(a->v);
    *a = (struct tg_top_alerts){0};
}

void tg_top_incidents_deinit(struct tg_top_incidents *a)
{
    free(a->v);
    *a = (struct tg_top_incidents){0};
}

void tg_top_traces_deinit(struct tg_top_traces *a)
{
    free(a->v);
    *a = (struct tg_top_traces){0};
}

/* ------------------------------------------------------------------ JSON helpers */

/* Copies `s` into out[0..cap) as printable ASCII: anything else becomes '?'. */
static void copy_safe(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[i] = '\0';
}

static json_t *load(const char *json, size_t len, const char *what, struct tg_errbuf *eb)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        tg_errbuf_set(eb, TG_EPARSE, "%s: bad JSON at line %d column %d: %s", what, je.line,
                      je.column, je.text);
    return root;
}

/* The string member `key` of `o` copied safely into out, or false when it is missing or
 * not a string. */
static bool get_str(json_t *o, const char *key, char *out, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return false;
    copy_safe(out, cap, json_string_value(v));
    return true;
}

static bool get_num(json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

/* ------------------------------------------------------------------ stats, active, spark */

static int stats_row(json_t *e, size_t i, struct tg_top_row *r, struct tg_errbuf *eb)
{
    double req = 0;
    memset(r, 0, sizeof *r);
    if (!json_is_object(e) || !get_str(e, "endpoint", r->endpoint, sizeof r->endpoint) ||
        !get_str(e, "method", r->method, sizeof r->method))
        return tg_errbuf_set(eb, TG_EPARSE, "endpoints/stats: row %zu has no endpoint or method",
                             i);
    static const char *const keys[] = {"rps",    "p50_ms",     "p95_ms",
                                       "p99_ms", "error_rate", "requests"};
    double *dst[] = {&r->rps, &r->p50_ms, &r->p95_ms, &r->p99_ms, &r->err_ratio, &req};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!get_num(e, keys[k], dst[k]))
            return tg_errbuf_set(eb, TG_EPARSE, "endpoints/stats: row %zu: %s is not a number", i,
                                 keys[k]);
    r->requests = (long long)req;
    return 0;
}

int tg_top_parse_stats(struct tg_top_table *t, const char *json, size_t len, struct tg_errbuf *eb)
{
    json_t *root = load(json, len, "endpoints/stats", eb);
    if (!root)
        return TG_EPARSE;
    json_t *arr = json_object_get(root, "endpoints");
    struct tg_top_table nt = {0};
    int rc = json_is_array(arr)
                 ? 0
                 : tg_errbuf_set(eb, TG_EPARSE, "endpoints/stats: no \"endpoints\" array");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (rc != 0)
            break;
        rc = grow((void **)&nt.rows, nt.n, &nt.cap, sizeof *nt.rows);
        if (rc == 0)
            rc = stats_row(e, i, &nt.rows[nt.n], eb);
        if (rc == 0)
            nt.n++;
    }
    json_decref(root);
    if (rc != 0) {
        tg_top_table_deinit(&nt);
        return rc;
    }
    tg_top_table_deinit(t);
    *t = nt;
    return 0;
}

int tg_top_parse_active(struct tg_top_table *t, const char *json, size_t len, struct tg_errbuf *eb)
{
    json_t *root = load(json, len, "requests/active", eb);
    if (!root)
        return TG_EPARSE;
    json_t *by = json_object_get(root, "by_endpoint");
    const char *k;
    json_t *v;
    int rc = json_is_object(by)
                 ? 0
                 : tg_errbuf_set(eb, TG_EPARSE, "requests/active: no \"by_endpoint\" object");
    json_object_foreach(by, k, v)
    {
        if (rc == 0 && !json_is_number(v))
            rc = tg_errbuf_set(eb, TG_EPARSE, "requests/active: a count is not a number");
    }
    for (size_t i = 0; rc == 0 && i < t->n; i++) {
        t->rows[i].active = 0;
        json_object_foreach(by, k, v)
        {
            char name[TG_TOP_NAME_MAX];
            copy_safe(name, sizeof name, k);
            if (strcmp(name, t->rows[i].endpoint) == 0)
                t->rows[i].active = (long long)json_number_value(v);
        }
    }
    json_decref(root);
    return rc;
}

/* A Prometheus sample value: a number as a string ("0.25", "NaN", "+Inf"). */
static double prom_value(json_t *pair, bool *ok)
{
    const char *s = json_string_value(json_array_get(pair, 1));
    char *end;
    double v = s ? strtod(s, &end) : NAN;
    *ok = s && *s && *end == '\0' && json_array_size(pair) == 2;
    return v;
}

/* Checks one series of a matrix; fills `pts` (ms, the newest TG_TOP_SPARK_MAX). */
static int spark_series(json_t *s, size_t i, char *ep, char *method, double *pts, int *np,
                        struct tg_errbuf *eb)
{
    json_t *metric = json_object_get(s, "metric"), *values = json_object_get(s, "values");
    if (!json_is_object(metric) || !json_is_array(values))
        return tg_errbuf_set(eb, TG_EPARSE, "query_range: series %zu has no metric or values", i);
    if (!get_str(metric, "endpoint", ep, TG_TOP_NAME_MAX) || !get_str(metric, "method", method, 16))
        ep[0] = method[0] = '\0';
    size_t n = json_array_size(values), from = n > TG_TOP_SPARK_MAX ? n - TG_TOP_SPARK_MAX : 0;
    *np = 0;
    for (size_t k = 0; k < n; k++) {
        bool ok;
        double v = prom_value(json_array_get(values, k), &ok);
        if (!ok)
            return tg_errbuf_set(eb, TG_EPARSE, "query_range: series %zu: a bad sample", i);
        if (k >= from)
            pts[(*np)++] = isfinite(v) ? v * 1000.0 : NAN;
    }
    return 0;
}

int tg_top_parse_spark(struct tg_top_table *t, const char *json, size_t len, struct tg_errbuf *eb)
{
    json_t *root = load(json, len, "query_range", eb);
    if (!root)
        return TG_EPARSE;
    json_t *data = json_object_get(root, "data");
    json_t *result = json_object_get(data, "result");
    const char *st = json_string_value(json_object_get(root, "status"));
    int rc = 0;
    if (st && strcmp(st, "success") != 0)
        rc = tg_errbuf_set(eb, TG_EPARSE, "query_range: %.200s",
                           json_string_value(json_object_get(root, "error"))
                               ? json_string_value(json_object_get(root, "error"))
                               : "error");
    else if (!json_is_array(result))
        rc = tg_errbuf_set(eb, TG_EPARSE, "query_range: no data.result array");
    size_t n = json_array_size(result);
    /* Checked whole before any row changes. */
    struct spark {
        char ep[TG_TOP_NAME_MAX], method[16];
        double pts[TG_TOP_SPARK_MAX];
        int n;
    } *sp = rc == 0 && n ? calloc(n, sizeof *sp) : NULL;
    if (rc == 0 && n && !sp)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = spark_series(json_array_get(result, i), i, sp[i].ep, sp[i].method, sp[i].pts, &sp[i].n,
                          eb);
    for (size_t r = 0; rc == 0 && r < t->n; r++) {
        struct tg_top_row *row = &t->rows[r];
        row->spark_n = 0;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(sp[i].ep, row->endpoint) == 0 && strcmp(sp[i].method, row->method) == 0) {
                memcpy(row->spark, sp[i].pts, sizeof row->spark);
                row->spark_n = sp[i].n;
            }
        }
    }
    free(sp);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ alerts, incidents */

static int rank_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return n;
}

static int alert_cmp(const void *pa, const void *pb)
{
    const struct tg_top_alert *a = pa, *b = pb;
    static const char *const states[] = {"firing", "pending"};
    static const char *const sev[] = {"critical", "warning", "info"};
    int d = rank_of(a->state, states, 2) - rank_of(b->state, states, 2);
    if (!d)
        d = rank_of(a->severity, sev, 3) - rank_of(b->severity, sev, 3);
    if (!d)
        d = strcmp(a->since, b->since);
    return d ? d : strcmp(a->name, b->name);
}

static int alert_one(json_t *e, size_t i, struct tg_top_alert *a, struct tg_errbuf *eb)
{
    json_t *labels = json_object_get(e, "labels"), *ann = json_object_get(e, "annotations");
    memset(a, 0, sizeof *a);
    if (!json_is_object(labels) || !get_str(e, "state", a->state, sizeof a->state))
        return tg_errbuf_set(eb, TG_EPARSE, "alerts: alert %zu has no labels or state", i);
    get_str(labels, "alertname", a->name, sizeof a->name);
    get_str(labels, "severity", a->severity, sizeof a->severity);
    get_str(e, "activeAt", a->since, sizeof a->since);
    char ep[TG_TOP_NAME_MAX];
    if (get_str(labels, "endpoint", ep, sizeof ep))
        snprintf(a->where, sizeof a->where, "endpoint=%s", ep);
    else if (json_is_object(ann))
        get_str(ann, "summary", a->where, sizeof a->where);
    return 0;
}

int tg_top_parse_alerts(struct tg_top_alerts *a, const char *json, size_t len, struct tg_errbuf *eb)
{
    json_t *root = load(json, len, "alerts", eb);
    if (!root)
        return TG_EPARSE;
    json_t *arr = json_object_get(json_object_get(root, "data"), "alerts");
    struct tg_top_alerts na = {0};
    int rc = json_is_array(arr) ? 0 : tg_errbuf_set(eb, TG_EPARSE, "alerts: no data.alerts array");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (rc == 0)
            rc = grow((void **)&na.v, na.n, &na.cap, sizeof *na.v);
        if (rc == 0)
            rc = alert_one(e, i, &na.v[na.n], eb);
        if (rc == 0)
            na.n++;
    }
    json_decref(root);
    if (rc != 0) {
        tg_top_alerts_deinit(&na);
        return rc;
    }
    if (na.n > 1)
        qsort(na.v, na.n, sizeof *na.v, alert_cmp);
    tg_top_alerts_deinit(a);
    *a = na;
    return 0;
}

static int incident_one(json_t *e, size_t i, struct tg_top_incident *in, struct tg_errbuf *eb)
{
    json_t *id = json_object_get(e, "id");
    memset(in, 0, sizeof *in);
    if (!json_is_integer(id) || !get_str(e, "status", in->status, sizeof in->status))
        return tg_errbuf_set(eb, TG_EPARSE, "incidents: incident %zu has no id or status", i);
    in->id = (long long)json_integer_value(id);
    get_str(e, "title", in->title, sizeof in->title);
    get_str(e, "severity", in->severity, sizeof in->severity);
    get_str(e, "opened_at", in->opened_at, sizeof in->opened_at);
    return 0;
}

int tg_top_parse_incidents(struct tg_top_incidents *a, const char *json, size_t len,
                           struct tg_errbuf *eb)
{
    json_t *root = load(json, len, "incidents", eb);
    if (!root)
        return TG_EPARSE;
    json_t *arr = json_object_get(root, "incidents");
    size_t n0 = a->n, i;
    int rc = json_is_array(arr) ? 0 : tg_errbuf_set(eb, TG_EPARSE, "incidents: no array");
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (rc == 0)
            rc = grow((void **)&a->v, a->n, &a->cap, sizeof *a->v);
        if (rc == 0)
            rc = incident_one(e, i, &a->v[a->n], eb);
        if (rc == 0)
            a->n++;
    }
    json_decref(root);
    if (rc != 0)
        a->n = n0;
    return rc;
}

static int incident_cmp(const void *pa, const void *pb)
{
    const struct tg_top_incident *a = pa, *b = pb;
    /* "" (no severity) sorts after SEV-3: '\0' is below '1', so compare inverted. */
    int d = (a->severity[0] ? 0 : 1) - (b->severity[0] ? 0 : 1);
    if (!d)
        d = strcmp(a->severity, b->severity);
    if (!d)
        d = (strcmp(a->status, "open") != 0) - (strcmp(b->status, "open") != 0);
    return d ? d : (a->id < b->id) - (a->id > b->id);
}

void tg_top_incidents_sort(struct tg_top_incidents *a)
{
    if (a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, incident_cmp);
}

/* ------------------------------------------------------------------ traces */

static int trace_one(json_t *e, size_t i, struct tg_top_trace *t, struct tg_errbuf *eb)
{
    json_t *ph = json_object_get(e, "phases_ms"), *st = json_object_get(e, "status");
    memset(t, 0, sizeof *t);
    if (!get_num(e, "duration_ms", &t->duration_ms) || !json_is_integer(st))
        return tg_errbuf_set(eb, TG_EPARSE, "traces: trace %zu has no duration or status", i);
    t->status = (int)json_integer_value(st);
    get_str(e, "time", t->time, sizeof t->time);
    get_str(e, "cause", t->cause, sizeof t->cause);
    get_str(e, "path", t->path, sizeof t->path);
    static const char *const phases[] = {"queue", "connect", "upstream_first_byte",
                                         "upstream_total", "transfer"};
    for (int k = 0; k < 5; k++)
        if (!get_num(ph, phases[k], &t->phase_ms[k]))
            t->phase_ms[k] = NAN;
    return 0;
}

int tg_top_parse_traces(struct tg_top_traces *a, const char *endpoint, const char *method,
                        size_t max, const char *json, size_t len, struct tg_errbuf *eb)
{
    json_t *root = load(json, len, "traces", eb);
    if (!root)
        return TG_EPARSE;
    struct tg_top_traces na = {0};
    int rc = json_is_array(root) ? 0 : tg_errbuf_set(eb, TG_EPARSE, "traces: not an array");
    size_t i;
    json_t *e;
    json_array_foreach(root, i, e)
    {
        char ep[TG_TOP_NAME_MAX], m[16];
        if (rc != 0 || na.n >= max)
            break;
        if (!get_str(e, "endpoint", ep, sizeof ep) || !get_str(e, "method", m, sizeof m)) {
            rc = tg_errbuf_set(eb, TG_EPARSE, "traces: trace %zu has no endpoint or method", i);
            break;
        }
        if (strcmp(ep, endpoint) != 0 || strcmp(m, method) != 0)
            continue;
        rc = grow((void **)&na.v, na.n, &na.cap, sizeof *na.v);
        if (rc == 0)
            rc = trace_one(e, i, &na.v[na.n], eb);
        if (rc == 0)
            na.n++;
    }
    json_decref(root);
    if (rc != 0) {
        tg_top_traces_deinit(&na);
        return rc;
    }
    tg_top_traces_deinit(a);
    *a = na;
    return 0;
}

/* ------------------------------------------------------------------ sort, filter */

static const char *const col_names[TG_TOP_COLS] = {"ENDPOINT", "METHOD", "RPS",  "P50",
                                                   "P95",      "P99",    "ERR%", "ACTIVE"};

const char *tg_top_col_name(enum tg_top_col c)
{
    return (unsigned)c < TG_TOP_COLS ? col_names[c] : "?";
}

bool tg_top_col_desc(enum tg_top_col c)
{
    return c != TG_TOP_COL_ENDPOINT && c != TG_TOP_COL_METHOD;
}

static double col_value(const struct tg_top_row *r, enum tg_top_col c)
{
    switch (c) {
    case TG_TOP_COL_RPS:
        return r->rps;
    case TG_TOP_COL_P50:
        return r->p50_ms;
    case TG_TOP_COL_P95:
        return r->p95_ms;
    case TG_TOP_COL_P99:
        return r->p99_ms;
    case TG_TOP_COL_ERR:
        return r->err_ratio;
    case TG_TOP_COL_ACTIVE:
        return (double)r->active;
    default:
        return 0;
    }
}

struct sort_key {
    enum tg_top_col col;
    bool desc;
};

static int row_cmp(const void *pa, const void *pb, void *arg)
{
    const struct tg_top_row *a = pa, *b = pb;
    const struct sort_key *k = arg;
    int d = 0;
    if (k->col == TG_TOP_COL_ENDPOINT)
        d = strcmp(a->endpoint, b->endpoint);
    else if (k->col == TG_TOP_COL_METHOD)
        d = strcmp(a->method, b->method);
    else {
        double x = col_value(a, k->col), y = col_value(b, k->col);
        d = (x > y) - (x < y);
    }
    if (k->desc)
        d = -d;
    if (!d)
        d = strcmp(a->endpoint, b->endpoint);
    return d ? d : strcmp(a->method, b->method);
}

void tg_top_sort(struct tg_top_table *t, enum tg_top_col col, bool desc)
{
    struct sort_key k = {col, desc};
    if (t->n > 1)
        qsort_r(t->rows, t->n, sizeof *t->rows, row_cmp, &k);
}

bool tg_top_match(const struct tg_top_row *r, const char *f)
{
    if (!f[0])
        return true;
    if (strpbrk(f, "*?["))
        return fnmatch(f, r->endpoint, FNM_CASEFOLD) == 0;
    return strcasestr(r->endpoint, f) || strcasestr(r->method, f);
}

/* ------------------------------------------------------------------ sparklines */

size_t tg_top_sparkline(const double *v, int n, int width, bool utf8, char *out, size_t cap)
{
    static const char ascii[] = "_.-:=+*#";
    static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    if (width < 0 || cap < (size_t)width * 3 + 1) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    int shown = n < width ? n : width, from = n - shown;
    double max = 0;
    for (int i = from; i < n; i++)
        if (isfinite(v[i]) && v[i] > max)
            max = v[i];
    size_t o = 0;
    for (int i = 0; i < width - shown; i++)
        out[o++] = ' ';
    for (int i = from; i < n; i++) {
        if (!isfinite(v[i]) || v[i] < 0) {
            out[o++] = ' ';
            continue;
        }
        int lvl = max > 0 ? (int)lround(v[i] / max * 7.0) : 0;
        lvl = lvl < 0 ? 0 : lvl > 7 ? 7 : lvl;
        if (utf8) {
            memcpy(out + o, blocks[lvl], 3);
            o += 3;
        } else {
            out[o++] = ascii[lvl];
        }
    }
    out[o] = '\0';
    return o;
}

/* ------------------------------------------------------------------ layout, lines */

/* Widths of the figure columns, their leading space included. */
static const int col_w[TG_TOP_COLS] = {0, 8, 8, 9, 9, 9, 7, 7};
#define NAME_MIN 9 /* "ENDPOINT^" */
#define SPARK_MIN 8
#define SPARK_MAX 30

void tg_top_layout(int width, const struct tg_top_table *t, enum tg_top_col sort,
                   struct tg_top_layout *l)
{
    static const enum tg_top_col drop[] = {TG_TOP_COL_P50, TG_TOP_COL_METHOD, TG_TOP_COL_ACTIVE,
                                           TG_TOP_COL_P99, TG_TOP_COL_ERR,    TG_TOP_COL_RPS,
                                           TG_TOP_COL_P95};
    memset(l, 0, sizeof *l);
    l->width = width < 0 ? 0 : width;
    int want = NAME_MIN;
    for (size_t i = 0; t && i < t->n; i++) {
        int n = (int)strlen(t->rows[i].endpoint);
        want = n > want ? n : want;
    }
    want = want > 40 ? 40 : want;
    int fixed = 0;
    for (int c = 1; c < TG_TOP_COLS; c++) {
        l->show[c] = true;
        fixed += col_w[c];
    }
    l->show[TG_TOP_COL_ENDPOINT] = true;
    for (size_t d = 0; l->width - fixed < NAME_MIN && d < sizeof drop / sizeof drop[0]; d++) {
        if (drop[d] == sort)
            continue;
        l->show[drop[d]] = false;
        fixed -= col_w[drop[d]];
    }
    int avail = l->width - fixed;
    if (avail >= want + 1 + SPARK_MIN) {
        l->spark_w = avail - want - 1 > SPARK_MAX ? SPARK_MAX : avail - want - 1;
        avail -= l->spark_w + 1;
    }
    /* The name gets what it needs; room beyond that stays blank at the right. */
    l->name_w = avail > 0 ? avail : 0;
    if (l->spark_w && l->name_w > want) {
        l->width -= l->name_w - want;
        l->name_w = want;
    }
}

/* Cuts `s` to `cols` columns (a sparkline block is 3 bytes and 1 column). */
static size_t cut_cols(char *s, int cols)
{
    size_t i = 0;
    for (int c = 0; s[i] && c < cols; c++)
        i += ((unsigned char)s[i] & 0xE0) == 0xE0 ? 3 : 1;
    s[i] = '\0';
    return i;
}

/* Appends to out at *o, never past `cap`. */
static void put(char *out, size_t cap, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
    if (*o >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (n > 0)
        *o = *o + (size_t)n < cap ? *o + (size_t)n : cap - 1;
}

static void name_cell(char *cell, size_t cap, const char *name, int w)
{
    int len = (int)strlen(name);
    if (len <= w)
        snprintf(cell, cap, "%-*s", w, name);
    else if (w > 0)
        snprintf(cell, cap, "~%s", name + len - (w - 1));
    else
        cell[0] = '\0';
}

size_t tg_top_format_header(const struct tg_top_layout *l, enum tg_top_col sort, bool desc,
                            char *out, size_t cap)
{
    size_t o = 0;
    char cell[TG_TOP_NAME_MAX + 8], name[16];
    if (!cap)
        return 0;
    out[0] = '\0';
    for (int c = 0; c < TG_TOP_COLS; c++) {
        if (!l->show[c])
            continue;
        snprintf(name, sizeof name, "%s%s", col_names[c], c == (int)sort ? (desc ? "v" : "^") : "");
        if (c == TG_TOP_COL_ENDPOINT) {
            snprintf(cell, sizeof cell, "%-*.*s", l->name_w, l->name_w, name);
            put(out, cap, &o, "%s", cell);
        } else if (c == TG_TOP_COL_METHOD) {
            put(out, cap, &o, " %-*s", col_w[c] - 1, name);
        } else {
            put(out, cap, &o, "%*s", col_w[c], name);
        }
    }
    if (l->spark_w)
        put(out, cap, &o, " %-*.*s", l->spark_w, l->spark_w, "P95 (5m)");
    return cut_cols(out, l->width);
}

static void fmt_ms(char *b, size_t cap, double ms)
{
    if (!isfinite(ms))
        snprintf(b, cap, "-");
    else if (ms < 10)
        snprintf(b, cap, "%.1fms", ms);
    else if (ms < 1000)
        snprintf(b, cap, "%.0fms", ms);
    else if (ms < 100000)
        snprintf(b, cap, "%.2fs", ms / 1000);
    else
        snprintf(b, cap, "%.0fs", ms / 1000);
}

static void fmt_cell(char *b, size_t cap, const struct tg_top_row *r, enum tg_top_col c)
{
    double v = col_value(r, c);
    switch (c) {
    case TG_TOP_COL_RPS:
        snprintf(b, cap, v < 10 ? "%.2f" : v < 1000 ? "%.1f" : "%.0f", v);
        break;
    case TG_TOP_COL_ERR:
        v *= 100;
        snprintf(b, cap, v == 0 ? "0%%" : v < 10 ? "%.1f%%" : "%.0f%%", v);
        break;
    case TG_TOP_COL_ACTIVE:
        snprintf(b, cap, "%lld", r->active);
        break;
    default:
        fmt_ms(b, cap, v);
        break;
    }
}

size_t tg_top_format_row(const struct tg_top_layout *l, const struct tg_top_row *r, bool utf8,
                         char *out, size_t cap)
{
    size_t o = 0;
    char cell[TG_TOP_NAME_MAX + 8];
    if (!cap)
        return 0;
    out[0] = '\0';
    for (int c = 0; c < TG_TOP_COLS; c++) {
        if (!l->show[c])
            continue;
        if (c == TG_TOP_COL_ENDPOINT) {
            name_cell(cell, sizeof cell, r->endpoint, l->name_w);
            put(out, cap, &o, "%s", cell);
        } else if (c == TG_TOP_COL_METHOD) {
            put(out, cap, &o, " %-*.*s", col_w[c] - 1, col_w[c] - 1, r->method);
        } else {
            fmt_cell(cell, sizeof cell, r, (enum tg_top_col)c);
            put(out, cap, &o, "%*s", col_w[c], cell);
        }
    }
    if (l->spark_w && o + 1 + (size_t)l->spark_w * 3 + 1 <= cap) {
        out[o++] = ' ';
        o += tg_top_sparkline(r->spark, r->spark_n, l->spark_w, utf8, out + o, cap - o);
    }
    return cut_cols(out, l->width);
}

/* "HH:MM:SS" of an RFC 3339 time ("2026-11-30T19:58:42.284Z"), or it whole. */
static const char *clock_part(const char *iso, char *b, size_t cap)
{
    const char *t = strchr(iso, 'T');
    snprintf(b, cap, "%.8s", t && strlen(t) >= 9 ? t + 1 : iso);
    return b;
}

size_t tg_top_format_alert(const struct tg_top_alert *a, int width, char *out, size_t cap)
{
    char since[16];
    if (!cap)
        return 0;
    snprintf(out, cap, "%-7s %-8s %s  %s  since %s",
             strcmp(a->state, "firing") == 0 ? "FIRING" : "PENDING",
             a->severity[0] ? a->severity : "-", a->name, a->where,
             clock_part(a->since, since, sizeof since));
    return cut_cols(out, width < 0 ? 0 : width);
}

size_t tg_top_format_incident(const struct tg_top_incident *i, int width, char *out, size_t cap)
{
    char at[16];
    if (!cap)
        return 0;
    snprintf(out, cap, "INCIDENT #%lld %s %s opened %s  %s", i->id, i->status,
             i->severity[0] ? i->severity : "-", clock_part(i->opened_at, at, sizeof at), i->title);
    return cut_cols(out, width < 0 ? 0 : width);
}

size_t tg_top_format_trace_header(int width, char *out, size_t cap)
{
    if (!cap)
        return 0;
    snprintf(out, cap, "%10s %6s  %-12s %-14s %8s %8s %8s %8s %8s  %s", "DURATION", "STATUS",
             "TIME (UTC)", "CAUSE", "QUEUE", "CONNECT", "TTFB", "UPSTREAM", "TRANSFER", "PATH");
    return cut_cols(out, width < 0 ? 0 : width);
}

size_t tg_top_format_trace(const struct tg_top_trace *t, int width, char *out, size_t cap)
{
    char ph[5][16], at[16];
    const char *tm = strchr(t->time, 'T');
    snprintf(at, sizeof at, "%.12s", tm ? tm + 1 : t->time);
    for (int k = 0; k < 5; k++) {
        if (isfinite(t->phase_ms[k]))
            snprintf(ph[k], sizeof ph[k], "%.1f", t->phase_ms[k]);
        else
            snprintf(ph[k], sizeof ph[k], "-");
    }
    if (!cap)
        return 0;
    /* Phase order on screen: queue, connect, first byte, upstream total, transfer. */
    snprintf(out, cap, "%8.1fms %6d  %-12s %-14.14s %8s %8s %8s %8s %8s  %s", t->duration_ms,
             t->status, at, t->cause, ph[0], ph[1], ph[2], ph[3], ph[4], t->path);
    return cut_cols(out, width < 0 ? 0 : width);
}

/* ------------------------------------------------------------------ vertical layout */

#define ALERT_LINES_MAX 3
#define INCIDENT_LINES_MAX 2
#define ROWS_KEPT 3

void tg_top_vlayout(int height, size_t alerts, size_t incidents, bool message,
                    struct tg_top_vlayout *v)
{
    memset(v, 0, sizeof *v);
    v->footer_y = height >= 4 ? height - 1 : -1;
    int y = 1;
    v->message_y = -1;
    if (message && height >= 5)
        v->message_y = y++;
    /* Lines left once the header, message, table heading and footer are placed. */
    int left = height - y - 1 - (v->footer_y >= 0 ? 1 : 0);
    int top = left - ROWS_KEPT;
    top = top < 0 ? 0 : top;
    int a = (int)(alerts < ALERT_LINES_MAX ? alerts : ALERT_LINES_MAX);
    int i = (int)(incidents < INCIDENT_LINES_MAX ? incidents : INCIDENT_LINES_MAX);
    v->alert_lines = a < top ? a : top;
    top -= v->alert_lines;
    v->incident_lines = i < top ? i : top;
    v->alerts_y = y;
    y += v->alert_lines;
    v->incidents_y = y;
    y += v->incident_lines;
    v->table_y = y;
    int rows = (v->footer_y >= 0 ? v->footer_y : height) - (y + 1);
    v->rows = rows > 0 ? rows : 0;
}
