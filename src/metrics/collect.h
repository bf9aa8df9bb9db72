/* SPDX-License-Identifier: MIT */
/* One way to enumerate series: collectors and visitors.
 *
 * A collector is a function that knows where some figures live (the gateway's request
 * aggregates, its upstream servers, the protections, the process, the control thread's
 * tasks, the store, the admin listener) and describes them to a visitor: first a family
 * (name, help, type, unit), then each of its series, as label names and values with one
 * value (counter, gauge) or a histogram (cumulative buckets with their upper bounds, sum,
 * count). A visitor is whatever consumes them: the text exposition writer of /metrics
 * (expo.h), the flattening adapter a store scrape uses (flatten.h: one label set and one
 * value per sample, histograms expanded to _bucket/_sum/_count as Prometheus scrapes
 * them), a test. Collectors never format text and visitors never know where figures
 * come from, so /metrics and the store's scrape see the same series by construction.
 *
 * Resuming. A visitor may ask to pause (`full`, e.g. the writer's chunk is full); a
 * collector checks tg_mvisit_full between whole items (a series, or a group of series
 * that must stay together such as one histogram or one small family) and then returns
 * TG_AGAIN, having saved where it was in its struct tg_mcursor; it is called again later
 * with the same cursor and carries on. So /metrics streams in bounded memory: the
 * largest buffer is one chunk plus one item. Collectors whose data sits in arrays
 * (request keys) resume at the next index; those that walk a callback list emit each
 * family whole, since those lists are short (servers, breakers, tasks).
 * Consistency: between two calls the data may move on (the control thread merges the
 * worker shards each second), so a scrape that pauses is a sequence of consistent
 * items, not one snapshot; each item (a histogram with its sum and count) is consistent.
 *
 * Families: a collector announces a family once (tg_mcursor_family) before its series,
 * and all its series follow together, as the text format needs. A family may be
 * announced with no series (the writer prints its HELP and TYPE alone); a collector that
 * would rather omit an empty family announces it at its first series.
 *
 * Strings passed to a visitor are borrowed for the duration of the call. Everything here
 * runs on one thread at a time (the control thread); nothing allocates but the list. */
#ifndef TG_METRICS_COLLECT_H
#define TG_METRICS_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tg_metric_type {
    TG_METRIC_COUNTER = 0,
    TG_METRIC_GAUGE,
    TG_METRIC_HISTOGRAM,
};

struct tg_mfamily {
    const char *name; /* a valid metric name; counters end in "_total" */
    const char *help; /* one line, no backslash (it is printed as is) */
    const char *unit; /* NULL, or the unit the name ends in ("seconds", "bytes") */
    enum tg_metric_type type;
};

#define TG_MLABELS_MAX 15 /* labels of one series, `le` not counted */

/* The labels of one series: n (<= TG_MLABELS_MAX) names and n values, in the order they
 * print. Names are valid label names, none of them "le" or starting with "__". */
struct tg_mlabels {
    const char *const *names;
    const char *const *values;
    size_t n;
};

/* A histogram series: `n` finite upper bounds in increasing order with the cumulative
 * count at each (non-decreasing); `count` is the +Inf bucket. */
struct tg_mhist {
    const double *le;
    const uint64_t *cum;
    size_t n;
    uint64_t count;
    double sum;
};

/* A visitor: `family` before each family's series, then `value` (counter, gauge) or
 * `hist` (histogram) per series. `full` may be NULL (never pauses). */
struct tg_mvisitor {
    void (*family)(void *ctx, const struct tg_mfamily *f);
    void (*value)(void *ctx, const struct tg_mlabels *l, double v);
    void (*hist)(void *ctx, const struct tg_mlabels *l, const struct tg_mhist *h);
    bool (*full)(void *ctx);
    void *ctx;
};

static inline bool tg_mvisit_full(const struct tg_mvisitor *v)
{
    return v->full && v->full(v->ctx);
}

/* Where a collector is: `step` (its family, or phase), `item` within it (its meaning is
 * the collector's), and whether the step's family was announced. Zero at the start. */
struct tg_mcursor {
    uint32_t step;
    uint32_t item;
    bool announced;
};

/* Announces `f` unless this step already did. */
static inline void tg_mcursor_family(struct tg_mcursor *c, const struct tg_mvisitor *v,
                                     const struct tg_mfamily *f)
{
    if (!c->announced)
        v->family(v->ctx, f);
    c->announced = true;
}

/* Moves to the next step. */
static inline void tg_mcursor_next(struct tg_mcursor *c)
{
    c->step++;
    c->item = 0;
    c->announced = false;
}

/* A collector: describes its series to `v` from `cur` on. Returns TG_DONE (1) when it
 * has described everything, TG_AGAIN (0) when it stopped because tg_mvisit_full(v).
 * A visitor is never full right after its consumer drained it, so a scan always moves
 * on. `data` is what it was registered with. */
typedef int tg_mcollect_fn(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

/* ---- the list of collectors ------------------------------------------------------- */

#define TG_MCOLLECTORS_MAX 32

struct tg_mcollectors;

int tg_mcollectors_new(struct tg_mcollectors **out);
void tg_mcollectors_free(struct tg_mcollectors *cs);

/* Appends a collector (`name` is static, for logs; `data` borrowed). Collectors are
 * visited in the order they were added. -ENOSPC past TG_MCOLLECTORS_MAX. */
int tg_mcollectors_add(struct tg_mcollectors *cs, const char *name, tg_mcollect_fn *fn, void *data);

/* Removes every collector registered with `data` (its owner is going away). A scan in
 * progress may then skip or repeat a collector; the caller makes sure none is. */
void tg_mcollectors_remove(struct tg_mcollectors *cs, const void *data);

/* A scan over the list: zero it (or tg_mscan_init) to start. */
struct tg_mscan {
    uint32_t index;
    struct tg_mcursor cur;
};

static inline void tg_mscan_init(struct tg_mscan *s)
{
    *s = (struct tg_mscan){0};
}

/* Runs the collectors from where `s` is until all are done (TG_DONE) or the visitor is
 * full (TG_AGAIN; call again to go on). */
int tg_mscan_run(struct tg_mscan *s, const struct tg_mcollectors *cs, const struct tg_mvisitor *v);

#endif
