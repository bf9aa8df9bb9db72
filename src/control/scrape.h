/* SPDX-License-Identifier: MIT */
/* The gateway scraping itself into its embedded time-series store (tsdb/tsdb.h), as a
 * Prometheus server scraping the admin listener's /metrics would: every scrape_interval
 * the control thread walks its list of collectors (tg_control_collectors) with the
 * flattening visitor (metrics/flatten.h) and appends one sample per series, labelled
 * job="tailguard" and instance=<admin listen address>, at the tick the scrape was due
 * (not when it ran: regular timestamps cost the store's compression the least), then
 * marks the series that vanished stale and writes up{job,instance} 1. The store is
 * loaded from its file at start and saved every save_interval and at a clean stop.
 * The store and these tasks live on the control thread; everything here is for it. */
#ifndef TG_CONTROL_SCRAPE_H
#define TG_CONTROL_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct tg_control;
struct tg_tsdb;

#define TG_SCRAPE_JOB "tailguard"

struct tg_scrape_opts {
    int64_t interval_us;      /* > 0 */
    int64_t save_interval_us; /* > 0 */
    int64_t retention_us;
    uint64_t max_bytes; /* 0: no cap */
    const char *path;   /* the file, resolved (tg_scrape_resolve_path); "" or ":memory:": none */
    const char *instance; /* the instance label: the admin listener's host:port */
};

struct tg_scrape;

/* Creates the store, loads `o->path` into it, and adds the scrape and save tasks and
 * the store's collector to `ctl`. A damaged file is not fatal: it is logged (the file
 * and what is wrong where), renamed to "<path>.damaged" so the next save does not lose
 * the evidence, and the store starts empty. 0, or -ENOMEM / -EINVAL with `eb` filled. */
int tg_scrape_new(struct tg_control *ctl, const struct tg_scrape_opts *o, struct tg_scrape **out,
                  struct tg_errbuf *eb);

/* Removes the collector and frees the store. The control's tasks must no longer run
 * (tg_control_close first). Accepts NULL. */
void tg_scrape_free(struct tg_scrape *s);

/* The store, for queries (PromQL, the HTTP API, rules). Valid until tg_scrape_free. */
struct tg_tsdb *tg_scrape_tsdb(struct tg_scrape *s);

/* The self-scrape as a Prometheus target, for /api/v1/targets. */
struct tg_scrape_target {
    const char *instance;     /* the instance label; valid until tg_scrape_free */
    int64_t interval_us;
    int64_t last_ms;          /* the last scrape's timestamp (wall ms); 0 before the first */
    int64_t last_duration_us; /* how long the last scrape took */
};

void tg_scrape_target(const struct tg_scrape *s, struct tg_scrape_target *out);

/* Saves the store now (a clean stop); failures are logged and counted. 0 or the error;
 * 0 without a file. */
int tg_scrape_save(struct tg_scrape *s);

/* A store path as the gateway uses it: `p` relative to the directory of `config_file`
 * (NULL: none, then relative to the working directory), absolute, or "" / ":memory:"
 * kept as is. -ENAMETOOLONG when it does not fit `cap`. */
int tg_scrape_resolve_path(const char *config_file, const char *p, char *buf, size_t cap);

/* Appends one scraped sample to `db` as Prometheus stores it: named `name`, labelled
 * job and instance (the target's), then the sample's own labels `l` (may be NULL), of
 * which a job or instance is kept as exported_job / exported_instance. */
struct tg_mlabels;
void tg_scrape_append(struct tg_tsdb *db, const char *job, const char *instance, const char *name,
                      const struct tg_mlabels *l, int64_t t, double v);

/* The scrape's timestamp in ms since the epoch: the period boundary at or before
 * `mono_us` (the tick that was due), moved onto the wall clock by `wall_minus_mono_us`. */
int64_t tg_scrape_tick_ms(int64_t period_us, int64_t mono_us, int64_t wall_minus_mono_us);

#endif
