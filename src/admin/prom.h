/* SPDX-License-Identifier: MIT */
/* GET /metrics: the gateway's families in the Prometheus text exposition format 0.0.4
 * (prometheus-compat.md §a), HELP and TYPE for every family, clean under
 * `promtool check metrics`. */
#ifndef TG_ADMIN_PROM_H
#define TG_ADMIN_PROM_H

#include <stdbool.h>
#include <stdint.h>

#include "admin/resp.h"

struct tg_control;
struct tg_gateway;
struct tg_hsrv_stats;
struct tg_registry;

/* What the last configuration reload did (Prometheus' own config_last_reload_* idea). */
struct tg_admin_reload {
    bool ok;                  /* the last reload was applied (true before any reload) */
    int64_t success_wall_us;  /* when a configuration was last applied (start or reload) */
    uint32_t restart_pending; /* settings the applied file changes that wait for a restart */
};

struct tg_store;
struct tg_text;

/* Writes the exposition into `r`: the request families from the gateway's aggregate,
 * then the counters and gauges kept in `reg` (refreshed here), with the control thread's
 * task figures when `ctl` is not NULL and the store's when `store` is not NULL.
 * `start_wall_us` is the process start (wall clock); `admin` the admin listener's own
 * counters. Control thread. */
void tg_admin_prom_metrics(struct tg_gateway *gw, const struct tg_control *ctl,
                           struct tg_store *store, struct tg_registry *reg, int64_t start_wall_us,
                           const struct tg_admin_reload *rl, const struct tg_hsrv_stats *admin,
                           struct tg_admin_resp *r);

/* The protections' families (prom_protect.c): circuit breakers, rate limiters, cache. */
void tg_admin_prom_protect(struct tg_text *t, struct tg_gateway *gw);

/* The store's families (prom_protect.c): its file and write-ahead log sizes, audit rows,
 * overrides, commits and failed writes. */
void tg_admin_prom_store(struct tg_text *t, struct tg_store *store);

#endif
