/* SPDX-License-Identifier: MIT */
/* The PostgreSQL collector target (kinds.h's tg_cpg_make) as the admin API sees it: the
 * runbooks' diagnostic queries (slow statements, connections, locks, index candidates,
 * long-running queries and their termination) run on the target's own connection, kept
 * apart from the scrape's, and answered through a callback on the control loop.
 *
 * Both connections identify themselves as application_name=tailguard, which is how the
 * termination hook recognises, and spares, tailguard's own sessions. The password comes
 * from the configured file or environment variable, is passed to libpq as a connection
 * parameter and is scrubbed from every message this module returns or logs.
 * Everything here runs on the control loop's thread. */
#ifndef TG_COLLECT_POSTGRES_H
#define TG_COLLECT_POSTGRES_H

#include <stdbool.h>
#include <stdint.h>

struct tg_cpg;        /* a target: what tg_cset_impl(set, TG_CKIND_POSTGRES, ..) returns */
struct tg_cpg_req;    /* a diagnostic query in flight */
struct tg_cpg_result; /* rows of text cells, as PostgreSQL printed them */

/* ---- results ---------------------------------------------------------------------- */

int tg_cpg_result_nrows(const struct tg_cpg_result *r);
int tg_cpg_result_ncols(const struct tg_cpg_result *r);
/* The name of column `col` ("" out of range). */
const char *tg_cpg_result_name(const struct tg_cpg_result *r, int col);
/* The column named `name`, or -1. */
int tg_cpg_result_col(const struct tg_cpg_result *r, const char *name);
/* The cell's text, or NULL for SQL NULL (and out of range). */
const char *tg_cpg_result_get(const struct tg_cpg_result *r, int row, int col);

/* A result built by hand (the collector builds them from libpq's; tests build their
 * own): `ncols` column names, then rows of `ncols` cells (NULL = SQL NULL), all copied.
 * NULL / -ENOMEM when out of memory. */
struct tg_cpg_result *tg_cpg_result_new(int ncols, const char *const *names);
int tg_cpg_result_add_row(struct tg_cpg_result *r, const char *const *cells);
void tg_cpg_result_free(struct tg_cpg_result *r); /* accepts NULL */

/* ---- diagnostics ------------------------------------------------------------------ */

enum tg_cpg_diag {
    /* pg_stat_statements, seed 000's columns: query, calls, avg_ms, max_ms, total_ms.
     * $1 min_mean_ms, $2 limit. */
    TG_CPG_DIAG_SLOW_QUERIES = 0,
    /* Client backends by state: state, connections, max_duration_s (since the last
     * state change), max_connections. */
    TG_CPG_DIAG_CONNECTIONS,
    /* Waiting locks and who blocks them: pid, usename, mode, locktype, relation,
     * waiting_s, query, blocking_pid, blocking_usename, blocking_query. */
    TG_CPG_DIAG_LOCKS_WAITING,
    /* Locks held or awaited, by mode: mode, granted, waiting. */
    TG_CPG_DIAG_LOCKS_BY_MODE,
    /* Seed 000's pg_stats query: schemaname, tablename, attname, n_distinct,
     * correlation. $1 schema, $2 limit. */
    TG_CPG_DIAG_INDEX_CANDIDATES,
    /* Active client queries older than $1 seconds, other than tailguard's: pid,
     * duration_s, query, usename, datname, terminated (false). */
    TG_CPG_DIAG_LONG_QUERIES,
    /* The same, each ended with pg_terminate_backend (terminated: its answer). */
    TG_CPG_DIAG_TERMINATE_LONG_QUERIES,
    TG_CPG_DIAG_COUNT,
};

/* Called once with the rows (borrowed for the call), or with `res` NULL and `why`: the
 * server's or libpq's message (first line, no secret), or "timed out after N ms". */
typedef void tg_cpg_req_fn(void *arg, const struct tg_cpg_result *res, const char *why);

/* Runs `which` with text parameters `params` (as many as the query takes) on the
 * target's diagnostic connection, connecting first when needed; gives up after
 * `timeout_us` (the connection is then dropped: nothing waits on a server that hangs).
 * `*out` may be passed to tg_cpg_req_cancel until the callback has run. 0, or -ENOMEM
 * / -EINVAL (then the callback never runs). After 0 the callback may already have run,
 * before this returns, when the connection could not even be started (a bad DSN). */
int tg_cpg_diag(struct tg_cpg *pg, enum tg_cpg_diag which, const char *const *params,
                int64_t timeout_us, tg_cpg_req_fn *cb, void *arg, struct tg_cpg_req **out);
/* The callback will not run (the client went away); the query is abandoned. */
void tg_cpg_req_cancel(struct tg_cpg_req *r);

/* The instance label of the target. */
const char *tg_cpg_name(const struct tg_cpg *pg);
/* The timeout a diagnostic should use: the target's, 5 s when it has none. */
int64_t tg_cpg_timeout_us(const struct tg_cpg *pg);

#endif
