/* SPDX-License-Identifier: MIT */
/* Helpers shared by the gateway's collectors (collect*.c). */
#ifndef TG_PROXY_COLLECT_INT_H
#define TG_PROXY_COLLECT_INT_H

#include "metrics/collect.h"
#include "metrics/reqstats.h"

/* Describes a fixed-bound histogram (tg_fixed_bounds_us, in seconds) to `v`. */
void tg_proxy__fixed_hist(const struct tg_mvisitor *v, const struct tg_mlabels *l,
                          const struct tg_fixed_hist *h);

/* Describes a family and its one unlabelled value. */
void tg_proxy__one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                   const char *help, double x);

#endif
