/* SPDX-License-Identifier: MIT */
/* Internal to the playbooks: the samples a verdict reads (playbooks_series.c). */
#ifndef TG_DIAGNOSE_PLAYBOOKS_INT_H
#define TG_DIAGNOSE_PLAYBOOKS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "tsdb/query.h"

/* The affected endpoints' p95 (ms) and error ratio, and the other endpoints' p95 (the
 * control), one point per scrape interval, over the verify window before the action and
 * from the action to now. NULL series: no data of that kind at all. */
struct tg_pb_samples {
    double *p95_before, *p95_after;
    double *err_before, *err_after;
    double *ctl_before, *ctl_after;
    size_t nbefore, nafter;
    int settle_points; /* after-points inside the settle time and the rate window */
    double target_ms;  /* the worst affected endpoint's target */
};

/* 0 or a negative code (the store failed, no affected endpoint in `diag`). `errors`:
 * read the error ratio too (not for actions that refuse requests by design). */
int tg_pb__samples(const struct tg_queryable *q, const struct tg_config *cfg, const json_t *diag,
                   int64_t at_ms, int64_t now_ms, bool errors, struct tg_pb_samples *out);
void tg_pb__samples_free(struct tg_pb_samples *s);

#endif
