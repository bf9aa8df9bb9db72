/* SPDX-License-Identifier: MIT */
/* The series registry: metric families (name, help, type, label names) and their series
 * (one value per distinct set of label values), described to visitors as one collector
 * (collect.h) like every other source of series.
 * It holds counters and gauges set by the control thread: the gateway's per-server and
 * process figures at scrape time, and the collectors' (host, PostgreSQL, Redis) later.
 * The request path does not come here: per-request figures live in per-worker shards
 * (shard.h) and are merged on read. Families print in registration order and series in
 * insertion order, so the exposition is stable from one scrape to the next.
 * One thread at a time (the control thread); allocation failure is reported, not fatal. */
#ifndef TG_METRICS_REGISTRY_H
#define TG_METRICS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/collect.h"

#define TG_REG_MAX_LABELS 8

struct tg_registry;
struct tg_family;

int tg_registry_new(struct tg_registry **out);
void tg_registry_free(struct tg_registry *r);

/* Adds a counter or gauge family (strings are copied; a histogram is -EINVAL). `name`
 * must be a valid Prometheus metric name and counters must end in "_total" (checked:
 * -EINVAL); a name registered twice returns the
 * existing family if its type and labels match, else -EEXIST. */
int tg_registry_family(struct tg_registry *r, const char *name, const char *help,
                       enum tg_metric_type type, const char *const *labels, size_t nlabels,
                       struct tg_family **out);

/* Sets (gauge) or adds to (counter; `v` >= 0) the series with label values `values`
 * (as many as the family has labels). Creates the series on first use. 0 or -ENOMEM,
 * -EINVAL for a negative counter increment. */
int tg_family_set(struct tg_family *f, const char *const *values, double v);
int tg_family_add(struct tg_family *f, const char *const *values, double v);

/* The current value of a series, or 0 if it does not exist. */
double tg_family_get(const struct tg_family *f, const char *const *values);

/* Drops every series of the family (for gauges rebuilt from scratch each scrape). */
void tg_family_clear(struct tg_family *f);

/* The registry as a collector (tg_mcollect_fn; `data` is the registry): every family
 * with at least one series, series in insertion order; it pauses between series. */
int tg_registry_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

#endif
