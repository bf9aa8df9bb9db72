/* SPDX-License-Identifier: MIT */
/* The collectors (metrics/collect.h) of what the control thread owns: its periodic tasks
 * (runs, overruns, the last run's duration) and the store (file sizes, audit rows,
 * overrides, commits, failed writes). The list of collectors itself is the control
 * thread's (tg_control_collectors): /metrics and the store's scrape both walk it. */
#ifndef TG_CONTROL_COLLECT_H
#define TG_CONTROL_COLLECT_H

#include "metrics/collect.h"

/* `data` is the struct tg_control. Families with no task are left out. */
int tg_control_collect_tasks(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

/* `data` is the struct tg_store (tg_store_stats may be read from any thread). */
int tg_control_collect_store(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

#endif
