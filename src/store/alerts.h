/* SPDX-License-Identifier: MIT */
/* The alert history: one row each time an alert instance starts firing and each time it
 * resolves, with its labels and annotations (JSON objects), its value and its times, for
 * `GET /api/v1/alerts/history`. The rule engine's control-thread glue appends the
 * transitions of one evaluation in one transaction (one fsync) after the evaluation, not
 * while an API request waits. Retention: each append drops the rows beyond
 * TG_STORE_ALERTS_MAX_ROWS and those older than TG_STORE_ALERTS_MAX_AGE_MS before the
 * newest row's time; the rows dropped are counted (tg_store_stats). */
#ifndef TG_STORE_ALERTS_H
#define TG_STORE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "store/store.h"

#define TG_STORE_ALERTS_MAX_ROWS 100000
#define TG_STORE_ALERTS_MAX_AGE_MS (90LL * 86400 * 1000)
#define TG_STORE_ALERTS_LIST_DEFAULT 100
#define TG_STORE_ALERTS_LIST_MAX 1000

struct tg_store_alert {
    int64_t id;    /* set by the store; ignored on append */
    int64_t ts_ms; /* the transition's evaluation time */
    const char *alertname;
    const char *state;            /* "firing" or "resolved" */
    const char *labels_json;      /* a JSON object */
    const char *annotations_json; /* a JSON object */
    double value;                 /* NaN is stored as NULL and read back as NaN */
    int64_t active_at_ms, fired_at_ms;
    int64_t resolved_at_ms; /* 0 on a firing row */
};

/* Appends `n` rows in one transaction, then applies the retention. 0, -EINVAL (a row
 * without a name, state or JSON) or TG_ESTORE; nothing is written on error. */
int tg_store_alerts_append(struct tg_store *s, const struct tg_store_alert *rows, size_t n,
                           struct tg_errbuf *eb);

struct tg_store_alerts_filter {
    const char *alertname; /* NULL: any */
    int64_t since_ms;      /* rows with ts_ms >= since_ms */
    unsigned limit;        /* 0: TG_STORE_ALERTS_LIST_DEFAULT; at most _MAX */
};

/* Called per row, newest first; strings valid during the call. Non-zero stops. */
typedef int tg_store_alert_fn(void *ctx, const struct tg_store_alert *row);

int tg_store_alerts_list(struct tg_store *s, const struct tg_store_alerts_filter *f,
                         tg_store_alert_fn *cb, void *ctx, struct tg_errbuf *eb);

#endif
