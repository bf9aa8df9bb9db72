/* SPDX-License-Identifier: MIT */
/* GET /metrics: the gateway's families in the Prometheus text exposition format 0.0.4
 * (prometheus-compat.md §a), HELP and TYPE for every family, clean under
 * `promtool check metrics`. */
#ifndef TG_ADMIN_PROM_H
#define TG_ADMIN_PROM_H

#include <stdint.h>

#include "admin/resp.h"

struct tg_gateway;

/* Writes the exposition into `r`. `start_wall_us` is the process start (wall clock). */
void tg_admin_prom_metrics(struct tg_gateway *gw, int64_t start_wall_us, struct tg_admin_resp *r);

#endif
