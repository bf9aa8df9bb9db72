/* SPDX-License-Identifier: MIT */
/* The conformance runner's store: a flat list of series searched linearly, which is all
 * a test file of a few dozen series needs. select() returns slices of the stored arrays. */
#include "memstore.h"

#include <stdlib.h>
#include <string.h>

struct mseries {
    struct tg_labels labels; /* owned copies */
    struct tg_sample *s;
    size_t n, cap;
};

struct memstore {
    struct mseries *v;
    size_t n, cap;
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

struct memstore *memstore_new(void)
{
    return xcalloc(1, sizeof(struct memstore));
}

void memstore_clear(struct memstore *m)
{
    for (size_t i = 0; i < m->n; i++) {
        for (uint32_t j = 0; j < m->v[i].labels.n; j++) {
            free((char *)m->v[i].labels.v[j].name);
            free((char *)m->v[i].labels.v[j].value);
        }
        free((struct tg_label *)m->v[i].labels.v);
        free(m->v[i].s);
    }
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

void memstore_free(struct memstore *m)
{
    if (!m)
        return;
    memstore_clear(m);
    free(m);
}

void memstore_add(struct memstore *m, const struct tg_labels *ls, int64_t t, double v)
{
    struct mseries *se = NULL;
    for (size_t i = 0; i < m->n && !se; i++)
        if (tg_labels_cmp(&m->v[i].labels, ls) == 0)
            se = &m->v[i];
    if (!se) {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 16;
            m->v = realloc(m->v, m->cap * sizeof *m->v);
            if (!m->v)
                abort();
        }
        se = &m->v[m->n++];
        memset(se, 0, sizeof *se);
        struct tg_label *l = xcalloc(ls->n, sizeof *l);
        for (uint32_t j = 0; j < ls->n; j++) {
            l[j].name = strdup(ls->v[j].name);
            l[j].value = strdup(ls->v[j].value);
        }
        se->labels.v = l;
        se->labels.n = ls->n;
    }
    size_t i = se->n;
    while (i > 0 && se->s[i - 1].t > t)
        i--;
    if (i > 0 && se->s[i - 1].t == t) {
        se->s[i - 1].v = v;
        return;
    }
    if (se->n == se->cap) {
        se->cap = se->cap ? se->cap * 2 : 64;
        se->s = realloc(se->s, se->cap * sizeof *se->s);
        if (!se->s)
            abort();
    }
    memmove(&se->s[i + 1], &se->s[i], (se->n - i) * sizeof *se->s);
    se->s[i].t = t;
    se->s[i].v = v;
    se->n++;
}

static bool matches(const struct mseries *se, const struct tg_matcher *ms, size_t nms)
{
    for (size_t i = 0; i < nms; i++)
        if (!tg_matcher_matches(&ms[i], tg_labels_get(&se->labels, ms[i].name)))
            return false;
    return true;
}

static int cmp_series(const void *a, const void *b)
{
    return tg_labels_cmp(&((const struct tg_series *)a)->labels,
                         &((const struct tg_series *)b)->labels);
}

static int ms_select(void *ctx, const struct tg_matcher *ms, size_t nms, int64_t mint,
                     int64_t maxt, struct tg_series_set *out, struct tg_errbuf *eb)
{
    struct memstore *m = ctx;
    (void)eb;
    memset(out, 0, sizeof *out);
    out->series = xcalloc(m->n, sizeof *out->series);
    for (size_t i = 0; i < m->n; i++) {
        const struct mseries *se = &m->v[i];
        if (!matches(se, ms, nms))
            continue;
        size_t lo = 0, hi;
        while (lo < se->n && se->s[lo].t < mint)
            lo++;
        for (hi = lo; hi < se->n && se->s[hi].t <= maxt;)
            hi++;
        if (hi == lo)
            continue;
        struct tg_series *o = &out->series[out->n++];
        o->labels = se->labels;
        o->samples = &se->s[lo];
        o->nsamples = (uint32_t)(hi - lo);
    }
    qsort(out->series, out->n, sizeof *out->series, cmp_series);
    return 0;
}

static int ms_label_names(void *ctx, const struct tg_matcher *ms, size_t nms, int64_t mint,
                          int64_t maxt, char ***out, size_t *n, struct tg_errbuf *eb)
{
    (void)ctx, (void)ms, (void)nms, (void)mint, (void)maxt, (void)eb;
    *out = NULL;
    *n = 0;
    return 0;
}

static int ms_label_values(void *ctx, const char *name, const struct tg_matcher *ms, size_t nms,
                           int64_t mint, int64_t maxt, char ***out, size_t *n,
                           struct tg_errbuf *eb)
{
    (void)ctx, (void)name, (void)ms, (void)nms, (void)mint, (void)maxt, (void)eb;
    *out = NULL;
    *n = 0;
    return 0;
}

struct tg_queryable memstore_queryable(struct memstore *m)
{
    struct tg_queryable q = {m, ms_select, ms_label_names, ms_label_values};
    return q;
}
