/* SPDX-License-Identifier: MIT */
/* The pure part of `tailguard top`: what the screen shows, built from the admin API's
 * JSON answers, and turned into lines of text for a given width. No terminal, no socket,
 * no clock: cli/top.c fetches and draws, this file decides. Every parser takes the bytes
 * of one answer as they came, refuses anything that is not the documented shape with
 * TG_EPARSE and a message in `eb`, and leaves its output as it was on failure, so a bad
 * answer is an error line and the last good data stays on the screen.
 *
 * Text that comes from the gateway (endpoint names are request paths, alert labels are
 * anything a rule file says) is made printable ASCII on the way in: a control character
 * in a name must not drive the terminal. */
#ifndef TG_CLI_TOP_MODEL_H
#define TG_CLI_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define TG_TOP_NAME_MAX 128 /* as proxy/endpoints.h cuts endpoint names */
#define TG_TOP_SPARK_MAX 32 /* points of a sparkline */

/* The table's columns, in screen order; the sparkline is not a sort key. */
enum tg_top_col {
    TG_TOP_COL_ENDPOINT = 0,
    TG_TOP_COL_METHOD,
    TG_TOP_COL_RPS,
    TG_TOP_COL_P50,
    TG_TOP_COL_P95,
    TG_TOP_COL_P99,
    TG_TOP_COL_ERR,
    TG_TOP_COL_ACTIVE,
    TG_TOP_COLS
};

/* One (endpoint, method) of endpoints/stats. */
struct tg_top_row {
    char endpoint[TG_TOP_NAME_MAX];
    char method[16];
    double rps, p50_ms, p95_ms, p99_ms, err_ratio;
    long long requests;
    long long active;               /* in flight now for the endpoint, every method */
    double spark[TG_TOP_SPARK_MAX]; /* p95 in ms, oldest first; NaN where no data */
    int spark_n;
};

struct tg_top_table {
    struct tg_top_row *rows;
    size_t n, cap;
};

/* A pending or firing alert, one line at the top of the screen. */
struct tg_top_alert {
    char name[64];
    char state[8];                    /* "firing" or "pending" */
    char severity[16];                /* the `severity` label, "" without one */
    char where[TG_TOP_NAME_MAX + 16]; /* endpoint=... (or the summary annotation) */
    char since[32];                   /* activeAt as the API wrote it */
};

/* An incident that is not over: open or mitigated. */
struct tg_top_incident {
    long long id;
    char title[96];
    char status[12];
    char severity[8]; /* "SEV-1".."SEV-3", "" when null */
    char opened_at[32];
};

/* One slow request of the selected endpoint (monitoring/traces). */
struct tg_top_trace {
    double duration_ms;
    int status;
    char time[32];
    char cause[32];
    char path[96];
    double phase_ms[5]; /* queue, connect, upstream_first_byte, upstream_total, transfer;
                         * NaN when the phase did not happen */
};

/* Growable arrays of the three kinds above. */
struct tg_top_alerts {
    struct tg_top_alert *v;
    size_t n, cap;
};
struct tg_top_incidents {
    struct tg_top_incident *v;
    size_t n, cap;
};
struct tg_top_traces {
    struct tg_top_trace *v;
    size_t n, cap;
};

/* Frees the arrays' memory and empties them; each accepts a zeroed struct. */
void tg_top_table_deinit(struct tg_top_table *t);
void tg_top_alerts_deinit(struct tg_top_alerts *a);
void tg_top_incidents_deinit(struct tg_top_incidents *a);
void tg_top_traces_deinit(struct tg_top_traces *a);

/* ------------------------------------------------------------------ parsing */

/* Replaces `t`'s rows with those of an endpoints/stats answer (`json`, `len` bytes, not
 * NUL-terminated). 0, TG_EPARSE, or -ENOMEM; `t` is unchanged on failure. */
int tg_top_parse_stats(struct tg_top_table *t, const char *json, size_t len, struct tg_errbuf *eb);

/* Sets each row's `active` from a requests/active answer's `by_endpoint` (0 for an
 * endpoint not listed). 0 or TG_EPARSE (rows unchanged). */
int tg_top_parse_active(struct tg_top_table *t, const char *json, size_t len, struct tg_errbuf *eb);

/* Sets each row's sparkline from a query_range answer whose series carry `endpoint` and
 * `method` labels and seconds as values (kept as ms; the newest TG_TOP_SPARK_MAX points).
 * Rows without a series get none. 0 or TG_EPARSE (rows unchanged). */
int tg_top_parse_spark(struct tg_top_table *t, const char *json, size_t len, struct tg_errbuf *eb);

/* Replaces `a` with an /api/v1/alerts answer's alerts, most severe first: firing before
 * pending, then severity critical, warning, info, anything else; then the oldest. */
int tg_top_parse_alerts(struct tg_top_alerts *a, const char *json, size_t len,
                        struct tg_errbuf *eb);

/* Appends an /api/v1/incidents answer's incidents to `a` (called once per status asked
 * for); tg_top_incidents_sort orders them most severe first (SEV-1 first, open before
 * mitigated, newest first). */
int tg_top_parse_incidents(struct tg_top_incidents *a, const char *json, size_t len,
                           struct tg_errbuf *eb);
void tg_top_incidents_sort(struct tg_top_incidents *a);

/* Replaces `a` with the traces of a monitoring/traces answer that are of `endpoint` and
 * `method`, in the answer's order (slowest first), at most `max`. */
int tg_top_parse_traces(struct tg_top_traces *a, const char *endpoint, const char *method,
                        size_t max, const char *json, size_t len, struct tg_errbuf *eb);

/* ------------------------------------------------------------------ the view */

/* The column's heading ("P95") and its natural order: names ascending, figures largest
 * first (what an operator looks for is the worst). */
const char *tg_top_col_name(enum tg_top_col c);
bool tg_top_col_desc(enum tg_top_col c);

/* Sorts the rows by `col`, descending when `desc`; ties by endpoint, then method, so the
 * order is the same on every refresh. */
void tg_top_sort(struct tg_top_table *t, enum tg_top_col col, bool desc);

/* Whether `r` passes the filter `f` ("" passes everything). A filter with `*`, `?` or `[`
 * is a glob (fnmatch) over the endpoint name; any other is a substring of the endpoint or
 * the method. Both ignore case. */
bool tg_top_match(const struct tg_top_row *r, const char *f);

/* Writes the newest `width` points of v[0..n) as a sparkline into out[0..cap) (NUL-
 * terminated, `width` columns: leading spaces when there are fewer points). Heights go
 * from 0 to the largest point, so a flat line of 800 ms reads as tall, not as noise; a
 * NaN point is a space. `utf8`: the eight blocks U+2581..U+2588; else ASCII "_.-=*#".
 * Returns the bytes written (0 when `cap` is too small for `width` columns). */
size_t tg_top_sparkline(const double *v, int n, int width, bool utf8, char *out, size_t cap);

/* Which columns fit a `width`-column screen and how wide each is. Columns are dropped
 * in this order as the screen narrows: sparkline, P50, METHOD, ACTIVE, P99, ERR%, RPS;
 * the sort column is never dropped; ENDPOINT takes what is left (at least a few
 * columns; a long name is cut at its start, where names share a prefix). */
struct tg_top_layout {
    int width; /* the columns the lines take: at most the width asked for */
    int name_w;
    bool show[TG_TOP_COLS];
    int spark_w; /* 0: no sparkline */
};
void tg_top_layout(int width, const struct tg_top_table *t, enum tg_top_col sort,
                   struct tg_top_layout *l);

/* The table's heading line, with the sort column marked (v descending, ^ ascending),
 * and one row's line; both exactly `l->width` columns (sparkline blocks are 3 bytes, 1
 * column). Return the bytes written; `cap` of 8 * width + 1 is always enough. */
size_t tg_top_format_header(const struct tg_top_layout *l, enum tg_top_col sort, bool desc,
                            char *out, size_t cap);
size_t tg_top_format_row(const struct tg_top_layout *l, const struct tg_top_row *r, bool utf8,
                         char *out, size_t cap);

/* One line for an alert, an incident and a trace, cut to `width` columns. */
size_t tg_top_format_alert(const struct tg_top_alert *a, int width, char *out, size_t cap);
size_t tg_top_format_incident(const struct tg_top_incident *i, int width, char *out, size_t cap);
size_t tg_top_format_trace_header(int width, char *out, size_t cap);
size_t tg_top_format_trace(const struct tg_top_trace *t, int width, char *out, size_t cap);

/* Where things go on a `height`-line screen: line 0 the header, then a message line when
 * `message`, then up to a few alert and incident lines (alerts first; fewer on a short
 * screen, the table keeps at least three rows when it can), the table's heading, its
 * rows, and the keys on the last line. Fields are line numbers, or counts of lines. */
struct tg_top_vlayout {
    int message_y; /* -1: none */
    int alerts_y, alert_lines;
    int incidents_y, incident_lines;
    int table_y; /* the heading; rows from table_y + 1 */
    int rows;
    int footer_y; /* -1 when the screen is too short for it */
};
void tg_top_vlayout(int height, size_t alerts, size_t incidents, bool message,
                    struct tg_top_vlayout *v);

#endif
