/* SPDX-License-Identifier: MIT */
/* Collection snapshots; see snap.h. Strings and histogram arrays live in an arena of
 * blocks; families and series are two growing arrays (series point at their family by
 * index), and the describe order (families in first-named order, each family's series
 * in added order) is computed once per fill, on the first describe after a change. */
#include "collect/snap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define BLOCK_BYTES 16384

struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(max_align_t) char data[];
};

struct fam {
    struct tg_mfamily f;
};

struct series {
    uint32_t fam;
    uint32_t nlabels;
    const char **names, **values; /* in the arena */
    double v;
    struct tg_mhist *hist; /* in the arena; NULL for counters and gauges */
};

struct tg_csnap {
    struct block *blocks, *cur;
    struct fam *fams;
    uint32_t nfams, capfams;
    struct series *series;
    uint32_t nseries, capseries;
    uint32_t *order;     /* series indexes grouped by family */
    uint32_t *fam_start; /* nfams + 1 offsets into order, then per-family fill counts */
    uint32_t caporder, capstart;
    bool order_ok;
    int32_t current; /* family index, -1 = none */
    size_t samples;
    bool oom;
};

struct tg_csnap *tg_csnap_new(void)
{
    struct tg_csnap *s = calloc(1, sizeof *s);
    if (s)
        s->current = -1;
    return s;
}

void tg_csnap_free(struct tg_csnap *s)
{
    if (!s)
        return;
    for (struct block *b = s->blocks, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(s->fams);
    free(s->series);
    free(s->order);
    free(s->fam_start);
    free(s);
}

void tg_csnap_reset(struct tg_csnap *s)
{
    for (struct block *b = s->blocks; b; b = b->next)
        b->used = 0;
    s->cur = s->blocks;
    s->nfams = s->nseries = 0;
    s->order_ok = false;
    s->current = -1;
    s->samples = 0;
    s->oom = false;
}

static void *arena(struct tg_csnap *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    while (s->cur && s->cur->used + n > s->cur->cap)
        s->cur = s->cur->next;
    if (!s->cur) {
        size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
        struct block *b = malloc(sizeof *b + cap);
        if (!b) {
            s->oom = true;
            return NULL;
        }
        b->used = 0;
        b->cap = cap;
        /* New blocks go at the end so the walk above reuses the older ones first. */
        b->next = NULL;
        struct block **pp = &s->blocks;
        while (*pp)
            pp = &(*pp)->next;
        *pp = b;
        s->cur = b;
    }
    void *p = s->cur->data + s->cur->used;
    s->cur->used += n;
    return p;
}

static const char *dup(struct tg_csnap *s, const char *str)
{
    if (!str)
        return NULL;
    size_t n = strlen(str) + 1;
    char *p = arena(s, n);
    if (p)
        memcpy(p, str, n);
    return p;
}

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return true;
    uint32_t c = *cap ? *cap * 2 : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

int tg_csnap_family(struct tg_csnap *s, const char *name, enum tg_metric_type type,
                    const char *help, const char *unit)
{
    if (s->oom)
        return -ENOMEM;
    /* Most collectors name each family once, in order: check the current one first. */
    if (s->current >= 0 && strcmp(s->fams[s->current].f.name, name) == 0)
        return 0;
    for (uint32_t i = 0; i < s->nfams; i++)
        if (strcmp(s->fams[i].f.name, name) == 0) {
            s->current = (int32_t)i;
            return 0;
        }
    if (!grow((void **)&s->fams, &s->capfams, s->nfams + 1, sizeof *s->fams)) {
        s->oom = true;
        return -ENOMEM;
    }
    struct tg_mfamily f = {dup(s, name), dup(s, help ? help : ""), dup(s, unit), type};
    if (s->oom)
        return -ENOMEM;
    s->fams[s->nfams].f = f;
    s->current = (int32_t)s->nfams++;
    s->order_ok = false;
    return 0;
}

static struct series *new_series(struct tg_csnap *s, size_t n, const char *const *names,
                                 const char *const *values)
{
    if (s->oom)
        return NULL;
    if (s->current < 0 || n > TG_MLABELS_MAX)
        return NULL;
    if (!grow((void **)&s->series, &s->capseries, s->nseries + 1, sizeof *s->series)) {
        s->oom = true;
        return NULL;
    }
    struct series *x = &s->series[s->nseries];
    *x = (struct series){.fam = (uint32_t)s->current, .nlabels = (uint32_t)n};
    if (n) {
        x->names = arena(s, n * sizeof *x->names);
        x->values = arena(s, n * sizeof *x->values);
        if (s->oom)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            x->names[i] = dup(s, names[i]);
            x->values[i] = dup(s, values[i] ? values[i] : "");
        }
        if (s->oom)
            return NULL;
    }
    s->nseries++;
    s->order_ok = false;
    return x;
}

int tg_csnap_add(struct tg_csnap *s, double v, size_t n, const char *const *names,
                 const char *const *values)
{
    if (!s->oom &&
        (s->current < 0 || n > TG_MLABELS_MAX || s->fams[s->current].f.type == TG_METRIC_HISTOGRAM))
        return -EINVAL;
    struct series *x = new_series(s, n, names, values);
    if (!x)
        return -ENOMEM;
    x->v = v;
    s->samples++;
    return 0;
}

int tg_csnap_addl(struct tg_csnap *s, double v, ...)
{
    const char *names[TG_MLABELS_MAX + 1], *values[TG_MLABELS_MAX + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, v);
    for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
        const char *val = va_arg(ap, const char *);
        if (n <= TG_MLABELS_MAX) {
            names[n] = k;
            values[n] = val;
        }
        n++;
    }
    va_end(ap);
    return tg_csnap_add(s, v, n, names, values);
}

int tg_csnap_add_hist(struct tg_csnap *s, const struct tg_mlabels *l, const struct tg_mhist *h)
{
    if (!s->oom && (s->current < 0 || l->n > TG_MLABELS_MAX ||
                    s->fams[s->current].f.type != TG_METRIC_HISTOGRAM))
        return -EINVAL;
    struct series *x = new_series(s, l->n, l->names, l->values);
    if (!x)
        return -ENOMEM;
    struct tg_mhist *c = arena(s, sizeof *c);
    double *le = arena(s, h->n * sizeof *le + 1);
    uint64_t *cum = arena(s, h->n * sizeof *cum + 1);
    if (s->oom) {
        s->nseries--;
        return -ENOMEM;
    }
    memcpy(le, h->le, h->n * sizeof *le);
    memcpy(cum, h->cum, h->n * sizeof *cum);
    *c = (struct tg_mhist){le, cum, h->n, h->count, h->sum};
    x->hist = c;
    s->samples += h->n + 3;
    return 0;
}

int tg_csnap_one(struct tg_csnap *s, const char *name, enum tg_metric_type type, const char *help,
                 double v)
{
    int rc = tg_csnap_family(s, name, type, help, NULL);
    return rc ? rc : tg_csnap_add(s, v, 0, NULL, NULL);
}

bool tg_csnap_oom(const struct tg_csnap *s)
{
    return s->oom;
}

size_t tg_csnap_nseries(const struct tg_csnap *s)
{
    return s->nseries;
}

size_t tg_csnap_nsamples(const struct tg_csnap *s)
{
    return s->samples;
}

/* Counting sort of the series by family, stable, into arrays kept across fills (a
 * target described at every collection allocates nothing once they have grown). */
static bool build_order(struct tg_csnap *s)
{
    if (s->order_ok)
        return true;
    if (!grow((void **)&s->order, &s->caporder, s->nseries + 1, sizeof *s->order) ||
        !grow((void **)&s->fam_start, &s->capstart, 2 * (s->nfams + 2), sizeof *s->fam_start))
        return false;
    uint32_t *start = s->fam_start, *fill = s->fam_start + s->nfams + 2;
    memset(start, 0, 2 * ((size_t)s->nfams + 2) * sizeof *start);
    for (uint32_t i = 0; i < s->nseries; i++)
        start[s->series[i].fam + 1]++;
    for (uint32_t f = 0; f < s->nfams; f++)
        start[f + 1] += start[f];
    for (uint32_t i = 0; i < s->nseries; i++) {
        uint32_t f = s->series[i].fam;
        s->order[start[f] + fill[f]++] = i;
    }
    s->order_ok = true;
    return true;
}

static void describe(const struct tg_mvisitor *v, const struct series *x)
{
    struct tg_mlabels l = {x->names, x->values, x->nlabels};
    if (x->hist)
        v->hist(v->ctx, &l, x->hist);
    else
        v->value(v->ctx, &l, x->v);
}

/* step = family index, item = series index within it. */
int tg_csnap_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    struct tg_csnap *s = data;
    if (!build_order(s))
        return TG_DONE; /* out of memory: nothing to show rather than a wrong order */
    for (; cur->step < s->nfams; tg_mcursor_next(cur)) {
        uint32_t a = s->fam_start[cur->step], b = s->fam_start[cur->step + 1];
        if (a == b)
            continue; /* a family named but left empty is not shown */
        for (; a + cur->item < b; cur->item++) {
            if (tg_mvisit_full(v))
                return TG_AGAIN;
            tg_mcursor_family(cur, v, &s->fams[cur->step].f);
            describe(v, &s->series[s->order[a + cur->item]]);
        }
    }
    return TG_DONE;
}

size_t tg_csnap_nfamilies(const struct tg_csnap *s)
{
    return s->nfams;
}

const struct tg_mfamily *tg_csnap_family_at(const struct tg_csnap *s, size_t fi)
{
    return &s->fams[fi].f;
}

int tg_csnap_family_index(const struct tg_csnap *s, const char *name)
{
    for (uint32_t i = 0; i < s->nfams; i++)
        if (strcmp(s->fams[i].f.name, name) == 0)
            return (int)i;
    return -1;
}

int tg_csnap_describe(struct tg_csnap *s, size_t fi, uint32_t *item, const struct tg_mvisitor *v,
                      const char *extra_name, const char *extra_value)
{
    if (!build_order(s))
        return TG_DONE;
    uint32_t a = s->fam_start[fi], b = s->fam_start[fi + 1];
    for (; a + *item < b; (*item)++) {
        if (tg_mvisit_full(v))
            return TG_AGAIN;
        const struct series *x = &s->series[s->order[a + *item]];
        if (!extra_name || x->nlabels >= TG_MLABELS_MAX) {
            describe(v, x);
            continue;
        }
        const char *names[TG_MLABELS_MAX], *values[TG_MLABELS_MAX];
        names[0] = extra_name;
        values[0] = extra_value;
        for (uint32_t j = 0; j < x->nlabels; j++) {
            names[j + 1] = x->names[j];
            values[j + 1] = x->values[j];
        }
        struct tg_mlabels l = {names, values, x->nlabels + 1};
        if (x->hist)
            v->hist(v->ctx, &l, x->hist);
        else
            v->value(v->ctx, &l, x->v);
    }
    return TG_DONE;
}

bool tg_csnap_get(const struct tg_csnap *s, double *out, const char *name, ...)
{
    const char *want[2 * TG_MLABELS_MAX];
    size_t nw = 0;
    va_list ap;
    va_start(ap, name);
    for (const char *k; nw + 1 < 2 * TG_MLABELS_MAX && (k = va_arg(ap, const char *)) != NULL;) {
        want[nw++] = k;
        want[nw++] = va_arg(ap, const char *);
    }
    va_end(ap);
    for (uint32_t i = 0; i < s->nseries; i++) {
        const struct series *x = &s->series[i];
        if (x->hist || strcmp(s->fams[x->fam].f.name, name) != 0)
            continue;
        bool all = true;
        for (size_t w = 0; all && w < nw; w += 2) {
            bool found = false;
            for (uint32_t j = 0; !found && j < x->nlabels; j++)
                found = strcmp(x->names[j], want[w]) == 0 && strcmp(x->values[j], want[w + 1]) == 0;
            all = found;
        }
        if (all) {
            *out = x->v;
            return true;
        }
    }
    return false;
}
