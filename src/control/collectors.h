/* SPDX-License-Identifier: MIT */
/* The collectors on the control thread: the set of targets the configuration's
 * collectors: section asks for (collect/set.h), run on the control loop, each result
 * put into the time-series store as a Prometheus server scraping that exporter would
 * store it: every sample labelled job=<kind> and instance=<target>, with up,
 * scrape_duration_seconds and scrape_samples_scraped, and stale markers for the series
 * of that target that vanished. Reload applies the section anew. The set's own figures
 * (tailguard_collector_*) are on /metrics. Control thread only. */
#ifndef TG_CONTROL_COLLECTORS_H
#define TG_CONTROL_COLLECTORS_H

#include "config/config.h"
#include "core/err.h"

struct tg_control;
struct tg_cset;
struct tg_tsdb;
struct tg_collectors;

/* Starts the targets of `cfg`; `db` (may be NULL: nothing is stored) is borrowed and
 * must outlive them. 0 or -ENOMEM with `eb` filled. */
int tg_collectors_new(struct tg_control *ctl, struct tg_tsdb *db, const struct tg_config *cfg,
                      struct tg_collectors **out, struct tg_errbuf *eb);
/* Applies a reloaded configuration (unchanged targets keep running). */
int tg_collectors_apply(struct tg_collectors *c, const struct tg_config *cfg, struct tg_errbuf *eb);
/* The targets, for the admin API. Valid until tg_collectors_free. */
struct tg_cset *tg_collectors_set(struct tg_collectors *c);
/* Stops every target and removes the figures from /metrics. Accepts NULL. */
void tg_collectors_free(struct tg_collectors *c);

#endif
