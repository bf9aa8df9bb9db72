/* SPDX-License-Identifier: MIT */
/* GET /federate: the latest sample of every series of the time-series store that one of
 * the `match[]` selectors selects, in the text exposition format with its timestamp, as
 * Prometheus 2.42's own /federate writes it (web/federate.go), so that a Prometheus
 * server can scrape tailguard's history with `honor_labels: true` and keep the samples
 * exactly as tailguard stored them. Control thread (the store's thread). */
#ifndef TG_ADMIN_FEDERATE_H
#define TG_ADMIN_FEDERATE_H

#include <stdint.h>

#include "http/http1.h"
#include "admin/resp.h"

struct tg_tsdb;

/* Answers a GET /federate whose query string is `query`, reading `db` (NULL: an empty
 * store) at `now_ms` (wall clock, ms since the epoch):
 * - 200 `text/plain; version=0.0.4`: for each series matching any selector, the newest
 *   sample in [now - 5m, now] unless it is a staleness marker, families sorted by name,
 *   each with a `# TYPE <name> untyped` line, labels as stored plus `instance=""` when
 *   the series has none (Prometheus adds its external labels, of which `instance` is
 *   always one), the value in Go's shortest form and the time in ms. No `match[]` at
 *   all is an empty 200, as in Prometheus 2.42.
 * - 400 `text/plain` with Prometheus's message for a bad selector ("1:3: parse error:
 *   unexpected \"[\"") or a bad %-escape ("error parsing form values: invalid URL
 *   escape \"%zz\""); 500 when memory runs out.
 * The body is built whole: its size is about 100 bytes a series selected. */
void tg_admin_federate(struct tg_tsdb *db, struct tg_str query, int64_t now_ms,
                       struct tg_admin_resp *r);

#endif
