/* SPDX-License-Identifier: MIT */
/* The notifier: alerts from the rule engine go to Alertmanagers (their v2 API,
 * `POST /api/v2/alerts` with a JSON array of at most `max_batch` alerts, as Prometheus
 * 2.42 sends them) and to plain webhooks (the payload Alertmanager 0.25 sends its webhook
 * receivers, version "4", one message per alertname, so receivers written for
 * Alertmanager work unchanged). Shapes: prometheus-compat.md §e.
 *
 * Each target has a bounded queue of alerts (queue_capacity; when full the oldest alert
 * is dropped and counted, as Prometheus does) and at most one request in flight. A
 * request that fails (no connection, timeout, a status other than 2xx) is retried with
 * exponential backoff (backoff_base × 2^n) up to `retries` times, then its alerts are
 * dropped and counted: the rule engine re-sends firing alerts every resend interval
 * anyway, so nothing is lost for long. Runs on the control thread's loop, over the
 * control plane's HTTP client. */
#ifndef TG_RULES_NOTIFY_H
#define TG_RULES_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "http/client.h"
#include "tsdb/query.h"

/* One alert instance as it is sent. */
struct tg_notify_alert {
    struct tg_labels labels;      /* sorted by name (alertname among them) */
    struct tg_labels annotations; /* sorted by name, expanded */
    int64_t starts_at_ms;         /* when it started firing */
    int64_t ends_at_ms;           /* while firing: when it lapses unless re-sent; once
                                   * resolved: the resolution time */
    bool resolved;
    const char *generator_url;    /* "" when none */
};

enum tg_notify_kind {
    TG_NOTIFY_ALERTMANAGER = 0, /* POST <url>/api/v2/alerts */
    TG_NOTIFY_WEBHOOK,          /* POST <url>, Alertmanager's webhook payload */
};

struct tg_notify_opts {
    uint32_t queue_capacity; /* alerts waiting per target; 10000 */
    uint32_t max_batch;      /* alerts per request; 64 */
    int64_t timeout_us;      /* per request; 10 s */
    uint32_t retries;        /* tries after the first; 3 */
    int64_t backoff_base_us; /* wait before the first retry; 1 s */
    const char *external_url; /* the webhook payload's externalURL; "" */
};

void tg_notify_opts_init(struct tg_notify_opts *o);

struct tg_notifier;

/* A notifier on `loop` with no targets. -ENOMEM or 0. */
int tg_notifier_new(struct tg_loop *loop, const struct tg_notify_opts *o,
                    struct tg_notifier **out);

/* Stops every request in flight and frees, dropping what is queued. Accepts NULL. */
void tg_notifier_free(struct tg_notifier *n);

/* Adds a target. `url` is "http://HOST:PORT[/PREFIX]": for an Alertmanager the API path
 * is appended to it. 0, or TG_EPARSE with `eb` naming what is wrong. */
int tg_notifier_add(struct tg_notifier *n, enum tg_notify_kind kind, const char *url,
                    struct tg_errbuf *eb);

/* Queues `nalerts` alerts for every target (copied) and starts sending. */
void tg_notifier_send(struct tg_notifier *n, const struct tg_notify_alert *alerts,
                      size_t nalerts);

struct tg_notify_target_stats {
    const char *url;     /* as given */
    enum tg_notify_kind kind;
    uint64_t sent;       /* alerts delivered (a 2xx answer) */
    uint64_t errors;     /* requests that failed (each try) */
    uint64_t dropped;    /* alerts given up: queue full, or retries spent */
    uint32_t queued;     /* alerts waiting now */
    int64_t last_duration_us; /* of the last request that got an answer, -1 before any */
};

/* Calls `fn` once per target. */
void tg_notifier_foreach(const struct tg_notifier *n,
                         void (*fn)(const struct tg_notify_target_stats *st, void *ctx),
                         void *ctx);

/* ---- The payloads, pure functions (exposed for tests). Each returns a malloc'd,
 * NUL-terminated JSON text, NULL when out of memory. */

/* Alertmanager v2: the array body of `POST /api/v2/alerts`; times in RFC 3339 with
 * exactly three fractional digits and Z. */
char *tg_notify_am_body(const struct tg_notify_alert *a, size_t n);

/* The webhook message for alerts of one alertname: status "resolved" only when every
 * alert is; endsAt "0001-01-01T00:00:00Z" while firing; times with Go's trimmed
 * fractional digits; fingerprint and groupKey as Alertmanager computes them. */
char *tg_notify_webhook_body(const struct tg_notify_alert *a, size_t n, const char *receiver,
                             const char *external_url);

/* Alertmanager's fingerprint of a label set: FNV-1a 64 over name, 0xff, value, 0xff. */
uint64_t tg_notify_fingerprint(const struct tg_labels *ls);

/* Writes `ms` (Unix ms) as RFC 3339 UTC into buf: three fractional digits ("go" false)
 * or Go's form with trailing zeros trimmed ("go" true). Returns buf. */
char *tg_notify_time(int64_t ms, bool go, char buf[40]);

#endif
