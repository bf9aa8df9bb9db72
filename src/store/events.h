/* SPDX-License-Identifier: MIT */
/* Events: the change markers users post (`POST /api/v1/events`: a deploy, a migration,
 * any free type), which the diagnosis correlates a degradation with
 * (diagnose/events.h merges them with the audit log). Appended by the control thread
 * together with the audit row recording the post, in one transaction; listed newest
 * first. Retention as the audit log's: at most TG_STORE_EVENTS_MAX_ROWS rows and nothing
 * older than TG_STORE_EVENTS_MAX_AGE_US before the newest row, dropped rows counted
 * (tg_store_stats). */
#ifndef TG_STORE_EVENTS_H
#define TG_STORE_EVENTS_H

#include <stdint.h>

#include "core/err.h"
#include "store/audit.h"
#include "store/store.h"

#define TG_STORE_EVENTS_MAX_ROWS 100000
#define TG_STORE_EVENTS_MAX_AGE_US (90LL * 86400 * 1000000)
#define TG_STORE_EVENTS_LIST_DEFAULT 100
#define TG_STORE_EVENTS_LIST_MAX 1000

struct tg_store_event {
    int64_t id;        /* set by the store; ignored on append */
    int64_t ts_us;     /* wall clock, µs since the Unix epoch */
    const char *type;  /* required; the caller checks its spelling */
    const char *service, *version, *text; /* NULL when absent */
    const char *labels_json;              /* a JSON object, or NULL */
};

/* Appends `ev` and, when not NULL, the audit row `audit` (as tg_store_audit_append) in
 * one transaction, then applies the retention. Sets *id. 0, -EINVAL (no type), or
 * TG_ESTORE; nothing is written on error. Cost: one fsync. */
int tg_store_events_append(struct tg_store *s, const struct tg_store_event *ev,
                           const struct tg_store_audit *audit, int64_t *id,
                           struct tg_errbuf *eb);

struct tg_store_events_filter {
    int64_t since_us; /* ts_us >= since_us */
    int64_t until_us; /* ts_us <= until_us; 0: no bound */
    const char *type; /* exact; NULL: any */
    unsigned limit;   /* 0: TG_STORE_EVENTS_LIST_DEFAULT; capped at _MAX */
};

/* Called per row, newest first; strings valid during the call. Non-zero stops and is
 * returned. It must not call the same store. */
typedef int tg_store_event_fn(void *ctx, const struct tg_store_event *ev);

int tg_store_events_list(struct tg_store *s, const struct tg_store_events_filter *f,
                         tg_store_event_fn *cb, void *ctx, struct tg_errbuf *eb);

#endif
