/* SPDX-License-Identifier: MIT */
/* GET /federate; see federate.h. Each `match[]` is parsed as Prometheus parses it
 * (tg_promql_parse_selector) and selected from the store over the lookback window; the
 * newest sample of each series is kept, the union of the selections sorted by metric
 * name (then labels) with repeats dropped, and written as the text format with
 * timestamps. Stale markers are left out because the text format cannot carry them,
 * which is what Prometheus does too: a federating server sees a series that went stale
 * for up to its own lookback. */
#include "admin/federate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_params.h"
#include "promql/parse.h"
#include "rules/template.h"
#include "tsdb/tsdb.h"

#define LOOKBACK_MS (5 * 60 * 1000) /* Prometheus's default --query.lookback-delta */
#define TEXT_CTYPE "text/plain; charset=utf-8"

struct entry {
    const struct tg_labels *ls;
    const char *name;
    int64_t t;
    double v;
};

/* The selections (they own the labels the entries point to) and the entries. */
struct fed {
    struct tg_series_set *sets;
    size_t nsets;
    struct entry *e;
    size_t n, cap;
};

static void fed_deinit(struct fed *f)
{
    for (size_t i = 0; i < f->nsets; i++)
        tg_series_set_free(&f->sets[i]);
    free(f->sets);
    free(f->e);
}

static void error_text(struct tg_admin_resp *r, int status, const char *msg)
{
    size_t n = strlen(msg);
    r->status = status;
    r->content_type = TEXT_CTYPE;
    r->extra = "X-Content-Type-Options: nosniff\r\n";
    r->body = malloc(n + 1);
    if (r->body) {
        memcpy(r->body, msg, n);
        r->body[n] = '\n';
        r->body_len = n + 1;
    }
}

/* Adds the newest sample of each series `sel` selects in [now - lookback, now]. */
static int select_one(struct tg_queryable *q, const struct tg_promql_node *sel, int64_t now_ms,
                      struct fed *f, struct tg_errbuf *eb)
{
    const struct tg_promql_vector_sel *vs = &sel->u.vs;
    if (vs->nmatchers == 0) /* "{}": Prometheus's index has no postings for no matchers */
        return 0;
    void *p = realloc(f->sets, (f->nsets + 1) * sizeof *f->sets);
    if (!p)
        return -ENOMEM;
    f->sets = p;
    struct tg_series_set *set = &f->sets[f->nsets];
    int rc = q->select(q->ctx, vs->matchers, vs->nmatchers, now_ms - LOOKBACK_MS, now_ms, set, eb);
    if (rc != 0)
        return rc;
    f->nsets++;
    for (size_t i = 0; i < set->n; i++) {
        const struct tg_series *s = &set->series[i];
        const struct tg_sample *last = &s->samples[s->nsamples - 1];
        const char *name = tg_labels_get(&s->labels, "__name__");
        if (tg_is_stale(last->v) || !*name)
            continue;
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 256;
            if (!(p = realloc(f->e, cap * sizeof *f->e)))
                return -ENOMEM;
            f->e = p;
            f->cap = cap;
        }
        f->e[f->n++] = (struct entry){&s->labels, name, last->t, last->v};
    }
    return 0;
}

/* Every match[] of the query string, selected into `f`. 0, or 400 with `msg` set, or a
 * negative code. The query string is read as Go's form parsing reads it, whose refusal
 * of a malformed %-escape anywhere fails the whole request in Prometheus. */
static int select_all(struct tg_tsdb *db, struct tg_str q, int64_t now_ms, struct fed *f, char *msg,
                      size_t cap)
{
    struct tg_admin_form form = {0};
    int rc = tg_admin_form_parse(&form, q.p, q.len);
    if (rc == 0 && form.bad) {
        snprintf(msg, cap, "error parsing form values: %s", form.err);
        rc = 400;
    }
    struct tg_queryable qa;
    if (db)
        tg_tsdb_queryable(db, &qa);
    for (size_t i = 0; rc == 0 && i < form.n; i++) {
        const struct tg_admin_pval *pv = &form.v[i];
        if (strcmp(pv->name, "match[]") != 0)
            continue;
        struct tg_promql_node *node = NULL;
        struct tg_errbuf eb;
        rc = tg_promql_parse_selector(pv->value, pv->len, &node, &eb);
        if (rc == 0 && db)
            rc = select_one(&qa, node, now_ms, f, &eb);
        tg_promql_node_free(node);
        if (rc == TG_EPARSE) {
            snprintf(msg, cap, "%s", eb.msg);
            rc = 400;
        }
    }
    tg_admin_form_deinit(&form);
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : tg_labels_cmp(x->ls, y->ls);
}

static void put_escaped(FILE *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", o);
        else if (*s == '"')
            fputs("\\\"", o);
        else if (*s == '\n')
            fputs("\\n", o);
        else
            fputc(*s, o);
    }
}

/* One sample line: the labels as stored without __name__, then instance="" when the
 * series has no instance (Prometheus appends its external labels after the series' own,
 * and always counts `instance` among them). */
static void put_sample(FILE *o, const struct entry *e)
{
    bool has_instance = false;
    char sep = '{';
    fputs(e->name, o);
    for (uint32_t i = 0; i < e->ls->n; i++) {
        const struct tg_label *l = &e->ls->v[i];
        if (strcmp(l->name, "__name__") == 0)
            continue;
        has_instance |= strcmp(l->name, "instance") == 0;
        fprintf(o, "%c%s=\"", sep, l->name);
        put_escaped(o, l->value);
        fputc('"', o);
        sep = ',';
    }
    if (!has_instance)
        fprintf(o, "%cinstance=\"\"", sep);
    char num[48];
    fprintf(o, "} %s %lld\n", tg_template_go_float(e->v, num, sizeof num), (long long)e->t);
}

static int write_text(struct fed *f, struct tg_admin_resp *r)
{
    char *body = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&body, &len);
    if (!o)
        return -ENOMEM;
    if (f->n)
        qsort(f->e, f->n, sizeof *f->e, entry_cmp);
    const struct entry *prev = NULL;
    for (size_t i = 0; i < f->n; i++) {
        const struct entry *e = &f->e[i];
        if (prev && tg_labels_cmp(prev->ls, e->ls) == 0) /* selected by two match[] */
            continue;
        if (!prev || strcmp(prev->name, e->name) != 0)
            fprintf(o, "# TYPE %s untyped\n", e->name);
        put_sample(o, e);
        prev = e;
    }
    if (fclose(o) != 0) {
        free(body);
        return -ENOMEM;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = body;
    r->body_len = len;
    return 0;
}

void tg_admin_federate(struct tg_tsdb *db, struct tg_str query, int64_t now_ms,
                       struct tg_admin_resp *r)
{
    struct fed f = {0};
    char msg[TG_ERRBUF_MSG + 64];
    int rc = select_all(db, query, now_ms, &f, msg, sizeof msg);
    if (rc == 400)
        error_text(r, 400, msg);
    else if (rc != 0 || write_text(&f, r) != 0)
        error_text(r, 500, rc == 0 || rc == -ENOMEM ? "out of memory" : "tsdb: corrupt chunk");
    fed_deinit(&f);
}
