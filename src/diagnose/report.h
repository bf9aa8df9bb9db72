/* SPDX-License-Identifier: MIT */
/* The post-incident report: one incident (the JSON object GET /api/v1/incidents/<id>
 * answers) rendered as Markdown or as one self-contained HTML page with an inline SVG
 * latency chart of the incident window, plus the function that gathers the chart's
 * series and the window's request and error totals from the TSDB with PromQL.
 *
 * Rendering is pure: it reads only its input (no clock, no store), so a report made
 * twice from the same input is the same text. Every string taken from the incident is
 * user input and is escaped for where it lands (HTML text and attributes, SVG, Markdown
 * text and table cells). A field that is missing or empty shows as "_not filled in_": a
 * report may be made before the incident is closed. Used by admin/incident_report.c on
 * the control thread; cost is linear in the incident's size and the series' points. */
#ifndef TG_DIAGNOSE_REPORT_H
#define TG_DIAGNOSE_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tsdb/query.h"

/* The chart's point budget: a browser draws 300 points per line without effort, and a
 * 1000-pixel-wide chart cannot show more. */
#define TG_REPORT_MAX_POINTS 300

/* What a missing field shows as, in both formats. */
#define TG_REPORT_NOT_FILLED "_not filled in_"

/* One point of the latency chart; NaN where the window had no data. */
struct tg_report_point {
    int64_t t_ms; /* wall clock, ms since the Unix epoch */
    double p95_ms;
    double p99_ms;
};

struct tg_report_input {
    const json_t *incident;         /* borrowed; the incident object (NULL: empty report) */
    struct tg_report_point *points; /* ascending t_ms; owned when filled by gather */
    size_t npoints;
    int64_t from_ms, to_ms;         /* the chart's window; both 0: the points' own span */
    double target_ms;               /* the p95 target drawn on the chart; NaN: none */
    double requests, errors;        /* totals over the incident's duration; NaN: unknown */
    bool all_endpoints;             /* series and totals cover every endpoint, not only
                                     * the affected ones (none were known) */
    int64_t now_ms;                 /* "now" for an incident still open (its duration) */
};

/* Markdown and HTML renderings of `in`, malloc'd and NUL-terminated, for the caller to
 * free; NULL when out of memory. */
char *tg_report_markdown(const struct tg_report_input *in);
char *tg_report_html(const struct tg_report_input *in);

struct tg_report_opts {
    int max_points;      /* 0: TG_REPORT_MAX_POINTS (one more when both ends fall on a step) */
    int64_t pad_ms;      /* before the opening and after the end; 0: a tenth of the
                          * incident's duration, at least one minute */
    int64_t rate_ms;     /* the rate() window; 0: two steps, at least 20 s (four scrapes
                          * at the default 5 s interval) */
    int64_t deadline_us; /* each query's deadline on tg_clock_mono_us's clock; 0: none */
};

/* Fills `out` for `incident` (borrowed; `out->incident` points at it) from `q`: the p95
 * and p99 of http_request_duration_seconds over the incident window (opened_at, padded,
 * to resolved_at or `now_ms`, padded, never past `now_ms`), for the incident's affected
 * endpoints (affected_endpoints, else its diagnosis's affected list; every endpoint when
 * neither names one, or more than 50), at a step that keeps the chart within
 * max_points; the target is the smallest target_ms of the diagnosis's affected list; the
 * totals are increase(http_requests_total) over the incident's duration, 5xx for the
 * errors. A window without data is not an error: NaN points and totals. Returns 0, or
 * TG_EPARSE when the incident has no readable opened_at, or the query's error, with
 * `eb` set; `out` is then empty. `opts` NULL: defaults. Control thread (the store's). */
int tg_report_gather(const struct tg_queryable *q, const json_t *incident, int64_t now_ms,
                     const struct tg_report_opts *opts, struct tg_report_input *out,
                     struct tg_errbuf *eb);

/* Frees what gather allocated (the points) and zeroes `in`; accepts a zeroed input. */
void tg_report_input_deinit(struct tg_report_input *in);

/* Reads an RFC3339 UTC time ("2026-11-30T16:40:01.250Z", fraction optional, "Z" or
 * "+00:00") into ms since the Unix epoch. false when it is not one. */
bool tg_report_parse_time(const char *s, int64_t *ms);

#endif
