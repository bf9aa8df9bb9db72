/* SPDX-License-Identifier: MIT */
/* The Prometheus HTTP API's parameters, read exactly as Prometheus 2.42 reads them, since
 * clients (Grafana, promtool, scripts) send what it accepts: form values from the query
 * string and an application/x-www-form-urlencoded body, times as a unix float or RFC3339
 * (with Go's quirks: a one-digit hour, at most 9 fractional digits, offsets up to 24:60),
 * durations as float seconds or a Prometheus duration ("1h30m"). Times are kept as Go
 * keeps them (seconds and nanoseconds) because Prometheus derives its millisecond times
 * with Go's wrapping int64 arithmetic, and the API's answers at the edges (a time of NaN,
 * year 0) follow from that. Pure functions, no I/O: unit-tested and fuzzed. Used by
 * promapi.c on the control thread. */
#ifndef TG_ADMIN_PROMAPI_PARAMS_H
#define TG_ADMIN_PROMAPI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A point in time as Go's time.Unix(sec, nsec) holds it: 0 <= nsec < 1e9. */
struct tg_admin_ptime {
    int64_t sec;
    int64_t nsec;
};

/* Parses `s` (`len` bytes) as Prometheus's parseTime does: a Go float (decimal, hex with
 * a 'p' exponent, inf, nan, '_' between digits) as unix seconds rounded to the
 * millisecond, else RFC3339 with optional fraction. false when neither. */
bool tg_admin_ptime_parse(const char *s, size_t len, struct tg_admin_ptime *out);

/* The time the query engine evaluates at: milliseconds from Go's UnixNano (which wraps
 * outside the years 1678..2262, as Prometheus's does). */
int64_t tg_admin_ptime_engine_ms(struct tg_admin_ptime t);

/* The time the series and labels endpoints select with (Go's timestamp.FromTime). */
int64_t tg_admin_ptime_ms(struct tg_admin_ptime t);

/* end - start in nanoseconds, saturated to the int64 range (Go's Time.Sub). */
int64_t tg_admin_ptime_sub_ns(struct tg_admin_ptime end, struct tg_admin_ptime start);

/* end before start. */
bool tg_admin_ptime_before(struct tg_admin_ptime end, struct tg_admin_ptime start);

/* The defaults of series/labels when start or end is absent: Prometheus's minTime and
 * maxTime, and their RFC3339 spellings that clients send back. */
struct tg_admin_ptime tg_admin_ptime_min(void);
struct tg_admin_ptime tg_admin_ptime_max(void);

/* Wall-clock microseconds as a time. */
struct tg_admin_ptime tg_admin_ptime_from_wall_us(int64_t us);

enum tg_admin_pdur_err {
    TG_ADMIN_PDUR_OK = 0,
    TG_ADMIN_PDUR_SYNTAX,   /* cannot parse "x" to a valid duration */
    TG_ADMIN_PDUR_OVERFLOW, /* ... It overflows int64 (float seconds only) */
};

/* Parses a duration as Prometheus's API does: float seconds (truncated to nanoseconds,
 * may be 0 or negative), else a Prometheus duration ("1y2w3d4h5m6s7ms", units in that
 * order, each at most once). */
enum tg_admin_pdur_err tg_admin_pdur_parse(const char *s, size_t len, int64_t *ns);

/* Writes `s` (`len` bytes) quoted as Go's %q does, NUL-terminated, truncated to fit `cap`
 * (> 0). Returns the length written. */
size_t tg_admin_goquote(const char *s, size_t len, char *out, size_t cap);

/* One decoded form value. Values may hold NUL bytes (a %00): use `len`. */
struct tg_admin_pval {
    char *name;
    char *value;
    size_t name_len, len;
};

/* The form values of one request, query string and body together. */
struct tg_admin_form {
    struct tg_admin_pval *v;
    size_t n, cap;
    bool bad;     /* a pair was dropped: a bad %-escape or a ';' */
    char err[96]; /* Go's message for the first dropped pair */
};

/* Appends the pairs of `s` (`len` bytes of a query string or form body) as Go's
 * url.ParseQuery does: '&' separates pairs, '+' is a space, a pair with a malformed
 * escape or a ';' is dropped (and noted in `bad`/`err`). 0, or -ENOMEM. */
int tg_admin_form_parse(struct tg_admin_form *f, const char *s, size_t len);

/* The first value of `name`, or NULL (Go's FormValue returns "" then). */
const struct tg_admin_pval *tg_admin_form_get(const struct tg_admin_form *f, const char *name);

void tg_admin_form_deinit(struct tg_admin_form *f); /* accepts a zeroed form */

#endif
