/* SPDX-License-Identifier: MIT */
/* Histograms and families to flat samples; see flatten.h. */
#include "metrics/flatten.h"

#include <stdio.h>
#include <string.h>

static void on_family(void *ctx, const struct tg_mfamily *fam)
{
    struct tg_mflatten *f = ctx;
    size_t n = strlen(fam->name);
    f->name[0] = '\0';
    if (n > TG_EXPO_NAME_MAX) {
        f->bad = true; /* its series are skipped: a cut name would be another metric */
        return;
    }
    memcpy(f->name, fam->name, n + 1);
    snprintf(f->help, sizeof f->help, "%s", fam->help);
    snprintf(f->unit, sizeof f->unit, "%s", fam->unit ? fam->unit : "");
    f->fam = (struct tg_mfamily){f->name, f->help, fam->unit ? f->unit : NULL, fam->type};
}

static void on_value(void *ctx, const struct tg_mlabels *l, double v)
{
    struct tg_mflatten *f = ctx;
    if (f->name[0])
        f->fn(f->ctx, &f->fam, f->name, l, v);
}

static void on_hist(void *ctx, const struct tg_mlabels *l, const struct tg_mhist *h)
{
    struct tg_mflatten *f = ctx;
    if (!f->name[0])
        return;
    if (l->n > TG_MLABELS_MAX) {
        f->bad = true;
        return;
    }
    const char *names[TG_MLABELS_MAX + 1], *values[TG_MLABELS_MAX + 1];
    memcpy(names, l->names, l->n * sizeof *names);
    memcpy(values, l->values, l->n * sizeof *values);
    names[l->n] = "le";
    struct tg_mlabels with_le = {names, values, l->n + 1};
    char sample[TG_EXPO_NAME_MAX + 16], le[40];
    snprintf(sample, sizeof sample, "%s_bucket", f->name);
    for (size_t i = 0; i <= h->n; i++) {
        if (i < h->n)
            le[tg_expo_number(le, sizeof le, h->le[i])] = '\0';
        values[l->n] = i < h->n ? le : "+Inf";
        f->fn(f->ctx, &f->fam, sample, &with_le, i < h->n ? (double)h->cum[i] : (double)h->count);
    }
    snprintf(sample, sizeof sample, "%s_sum", f->name);
    f->fn(f->ctx, &f->fam, sample, l, h->sum);
    snprintf(sample, sizeof sample, "%s_count", f->name);
    f->fn(f->ctx, &f->fam, sample, l, (double)h->count);
}

struct tg_mvisitor tg_mflatten_visitor(struct tg_mflatten *f, tg_mflat_fn *fn, void *ctx)
{
    *f = (struct tg_mflatten){.fn = fn, .ctx = ctx};
    return (struct tg_mvisitor){on_family, on_value, on_hist, NULL, f};
}
