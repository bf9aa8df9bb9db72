/* SPDX-License-Identifier: MIT */
/* The Prometheus API's metadata endpoints: series, labels, label values and
 * query_exemplars (always empty: the store keeps no exemplars). Several match[] sets are
 * answered as their union, sorted, as Prometheus merges them. Status, metadata and
 * targets are in promapi_status.c. */
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_int.h"
#include "promql/parse.h"

/* ------------------------------------------------------------------ match[] */

struct msets {
    struct tg_promql_node **v; /* each a TG_PROMQL_VECTOR_SEL */
    size_t n;
};

static void msets_free(struct msets *s)
{
    for (size_t i = 0; i < s->n; i++)
        tg_promql_node_free(s->v[i]);
    free(s->v);
}

static const char empty_msg[] = "match[] must contain at least one non-empty matcher";

/* Parses every match[] as a metric selector. `prefix` is what Prometheus puts before a
 * parse error ("invalid parameter \"match[]\": " for series, nothing for labels). The
 * parser refuses a selector whose matchers all match "" with its own PromQL message;
 * the API's wording for that case replaces it. A valid expression that is not a plain
 * selector is refused with a message of our own: Prometheus's names the first token its
 * selector grammar does not expect, which this parser does not track. */
static bool parse_msets(struct tg_admin__preq *r, const char *prefix, struct msets *out)
{
    memset(out, 0, sizeof *out);
    size_t total = 0;
    for (size_t i = 0; i < r->form.n; i++)
        total += strcmp(r->form.v[i].name, "match[]") == 0;
    if (!total)
        return true;
    if (!(out->v = calloc(total, sizeof *out->v))) {
        tg_admin__papi_error(r, TG_ADMIN__INTERNAL, "out of memory");
        return false;
    }
    for (size_t i = 0; i < r->form.n; i++) {
        const struct tg_admin_pval *pv = &r->form.v[i];
        if (strcmp(pv->name, "match[]") != 0)
            continue;
        struct tg_errbuf eb = {0};
        struct tg_promql_node *n = NULL;
        if (tg_promql_parse(pv->value, pv->len, &n, &eb) != 0) {
            if (strstr(eb.msg, "at least one non-empty matcher"))
                tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "%s%s", prefix, empty_msg);
            else
                tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "%s%s", prefix, eb.msg);
            msets_free(out);
            return false;
        }
        out->v[out->n++] = n;
        const struct tg_promql_vector_sel *vs = &n->u.vs;
        if (n->kind != TG_PROMQL_VECTOR_SEL || vs->offset_ms || vs->at.kind) {
            tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                                 "%s1:1: parse error: expected a metric selector", prefix);
            msets_free(out);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ string lists */

struct strs {
    char **v;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strs_free(struct strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Moves `n` strings of `v` (freeing the array) into `s`. */
static int strs_take(struct strs *s, char **v, size_t n)
{
    char **nv = realloc(s->v, (s->n + n + 1) * sizeof *nv);
    if (!nv) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return -1;
    }
    s->v = nv;
    if (n)
        memcpy(s->v + s->n, v, n * sizeof *v);
    s->n += n;
    free(v);
    return 0;
}

static void strs_write_unique(struct tg_admin_jw *w, struct strs *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_str);
    tg_admin_jw_lit(w, "[");
    for (size_t i = 0, k = 0; i < s->n; i++) {
        if (i && strcmp(s->v[i], s->v[i - 1]) == 0)
            continue;
        if (k++)
            tg_admin_jw_lit(w, ",");
        tg_admin_jw_cstr(w, s->v[i]);
    }
    tg_admin_jw_lit(w, "]");
}

/* ------------------------------------------------------------------ endpoints */

static bool time_range(struct tg_admin__preq *r, int64_t *mint, int64_t *maxt)
{
    struct tg_admin_ptime s, e;
    if (!tg_admin__papi_time(r, "start", tg_admin_ptime_min(), &s) ||
        !tg_admin__papi_time(r, "end", tg_admin_ptime_max(), &e))
        return false;
    *mint = tg_admin_ptime_ms(s);
    *maxt = tg_admin_ptime_ms(e);
    return true;
}

static int cmp_series(const void *a, const void *b)
{
    return tg_labels_cmp(&((const struct tg_series *)a)->labels,
                         &((const struct tg_series *)b)->labels);
}

void tg_admin__papi_series(struct tg_admin__preq *r)
{
    if (r->form.bad) { /* the one endpoint that checks ParseForm's error */
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "error parsing form values: %s", r->form.err);
        return;
    }
    if (!tg_admin_form_get(&r->form, "match[]")) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "no match[] parameter provided");
        return;
    }
    int64_t mint, maxt;
    struct msets ms;
    struct tg_queryable q;
    if (!time_range(r, &mint, &maxt) || !parse_msets(r, "invalid parameter \"match[]\": ", &ms))
        return;
    struct tg_series_set *sets = calloc(ms.n, sizeof *sets);
    size_t total = 0;
    int rc = sets ? 0 : -1;
    struct tg_errbuf eb = {0};
    if (rc == 0 && !tg_admin__papi_store(r, &q))
        goto out;
    for (size_t i = 0; rc == 0 && i < ms.n; i++) {
        const struct tg_promql_vector_sel *vs = &ms.v[i]->u.vs;
        rc = q.select(q.ctx, vs->matchers, vs->nmatchers, mint, maxt, &sets[i], &eb);
        total += rc == 0 ? sets[i].n : 0;
    }
    struct tg_series *all = rc == 0 ? malloc((total ? total : 1) * sizeof *all) : NULL;
    if (!all) {
        tg_admin__papi_error(r, TG_ADMIN__INTERNAL, "%s", eb.msg[0] ? eb.msg : "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < ms.n; i++)
        for (size_t k = 0; k < sets[i].n; k++)
            all[n++] = sets[i].series[k];
    if (ms.n > 1 && n > 1)
        qsort(all, n, sizeof *all, cmp_series);
    tg_admin_jw_lit(&r->w, "[");
    for (size_t i = 0, k = 0; i < n; i++) {
        if (i && tg_labels_cmp(&all[i].labels, &all[i - 1].labels) == 0)
            continue;
        if (k++)
            tg_admin_jw_lit(&r->w, ",");
        tg_admin__papi_labels(&r->w, &all[i].labels);
    }
    tg_admin_jw_lit(&r->w, "]");
    free(all);
    tg_admin__papi_ok(r);
out:
    for (size_t i = 0; sets && i < ms.n; i++)
        tg_series_set_free(&sets[i]);
    free(sets);
    msets_free(&ms);
}

/* Label names (`name` NULL) or the values of label `name`, over every match[] set (or
 * all series). */
static void label_list(struct tg_admin__preq *r, const char *name)
{
    int64_t mint, maxt;
    struct msets ms;
    struct tg_queryable q;
    if (!time_range(r, &mint, &maxt) || !parse_msets(r, "", &ms))
        return;
    struct strs all = {0};
    int rc = 0;
    struct tg_errbuf eb = {0};
    if (!tg_admin__papi_store(r, &q))
        goto out;
    for (size_t i = 0; rc == 0 && i < (ms.n ? ms.n : 1); i++) {
        const struct tg_matcher *m = ms.n ? ms.v[i]->u.vs.matchers : NULL;
        size_t nm = ms.n ? ms.v[i]->u.vs.nmatchers : 0;
        char **v = NULL;
        size_t n = 0;
        rc = name ? q.label_values(q.ctx, name, m, nm, mint, maxt, &v, &n, &eb)
                  : q.label_names(q.ctx, m, nm, mint, maxt, &v, &n, &eb);
        if (rc == 0 && strs_take(&all, v, n) != 0)
            rc = -1;
    }
    if (rc != 0) {
        tg_admin__papi_error(r, TG_ADMIN__EXEC, "%s", eb.msg[0] ? eb.msg : "out of memory");
    } else {
        strs_write_unique(&r->w, &all);
        tg_admin__papi_ok(r);
    }
out:
    strs_free(&all);
    msets_free(&ms);
}

void tg_admin__papi_labels_ep(struct tg_admin__preq *r)
{
    label_list(r, NULL);
}

/* Prometheus's model.LabelNameRE: [a-zA-Z_][a-zA-Z0-9_]*. */
static bool label_name_ok(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && (i == 0 || c < '0' || c > '9'))
            return false;
    }
    return true;
}

void tg_admin__papi_label_values(struct tg_admin__preq *r, const char *name, size_t len)
{
    char buf[256];
    if (!label_name_ok(name, len) || len >= sizeof buf) {
        char q[300];
        tg_admin_goquote(name, len, q, sizeof q);
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "invalid label name: %s", q);
        return;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    label_list(r, buf);
}

void tg_admin__papi_exemplars(struct tg_admin__preq *r)
{
    struct tg_admin_ptime s, e;
    if (!tg_admin__papi_time(r, "start", tg_admin_ptime_min(), &s) ||
        !tg_admin__papi_time(r, "end", tg_admin_ptime_max(), &e))
        return;
    if (tg_admin_ptime_before(e, s)) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA,
                             "end timestamp must not be before start timestamp");
        return;
    }
    size_t qn;
    const char *qs = tg_admin__papi_fv(r, "query", &qn);
    struct tg_errbuf eb = {0};
    struct tg_promql_node *expr = NULL;
    if (tg_promql_parse(qs, qn, &expr, &eb) != 0) {
        tg_admin__papi_error(r, TG_ADMIN__BAD_DATA, "%s", eb.msg);
        return;
    }
    tg_promql_node_free(expr);
    tg_admin_jw_lit(&r->w, "[]");
    tg_admin__papi_ok(r);
}
