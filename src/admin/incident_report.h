/* SPDX-License-Identifier: MIT */
/* GET /api/v1/incidents/<id>/report[?format=markdown|html]: the post-incident report
 * (diagnose/report.h) of one incident, with the latency of its window read from the
 * TSDB. The dispatcher finds the incident and calls this; it holds no state. */
#ifndef TG_ADMIN_INCIDENT_REPORT_H
#define TG_ADMIN_INCIDENT_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "admin/resp.h"
#include "http/http1.h"
#include "tsdb/query.h"

/* Answers into `r`: 404 when `incident` is NULL (no such incident), 400 for a format
 * other than markdown (the default) or html, else 200 with the report as
 * text/markdown or text/html (charset utf-8). `incident` is borrowed; `q` (NULL: no
 * store, the chart shows no data) is read for the chart and the totals; `query` is the
 * request's query string; `now_ms` is the wall clock, the end of a window still open.
 * A query that fails leaves the chart without data (logged) rather than the report
 * unavailable. 500 when memory runs out. Control thread (the store's). */
void tg_admin_incident_report(const json_t *incident, const struct tg_queryable *q,
                              struct tg_str query, int64_t now_ms, struct tg_admin_resp *r);

#endif
