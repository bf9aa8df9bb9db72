/* SPDX-License-Identifier: MIT */
/* A visitor (collect.h) that turns families and series into flat samples, as a
 * Prometheus server sees a scrape of /metrics: one sample name, one label set and one
 * value per sample. A counter or gauge series is one sample; a histogram series is one
 * `<name>_bucket` sample per bound with an `le` label (spelled as /metrics spells it,
 * tg_expo_number, the last one "+Inf") appended to its labels, then `<name>_sum` and
 * `<name>_count`. For the store's scrape: it adds the scrape's timestamp and its own
 * labels (job, instance) to what it is given. Never pauses. */
#ifndef TG_METRICS_FLATTEN_H
#define TG_METRICS_FLATTEN_H

#include "metrics/collect.h"
#include "metrics/expo.h"

/* One sample: `name` is the sample's name (the family's, or with a histogram suffix);
 * `fam` the family it belongs to (its metadata); all borrowed for the call. */
typedef void tg_mflat_fn(void *ctx, const struct tg_mfamily *fam, const char *name,
                         const struct tg_mlabels *l, double v);

struct tg_mflatten {
    tg_mflat_fn *fn;
    void *ctx;
    /* the current family, copied: a collector's strings live only during each call */
    struct tg_mfamily fam;
    char name[TG_EXPO_NAME_MAX + 1];
    char help[256];
    char unit[32];
    bool bad; /* a family name too long, or a series with too many labels, was skipped */
};

/* The visitor calling `fn(ctx, ...)` per sample; `f` is borrowed and holds its state. */
struct tg_mvisitor tg_mflatten_visitor(struct tg_mflatten *f, tg_mflat_fn *fn, void *ctx);

#endif
