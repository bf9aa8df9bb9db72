/* SPDX-License-Identifier: MIT */
/* The runbooks' PostgreSQL diagnostics (postgres.h): their SQL, and each request's
 * life on the target's diagnostic session (postgres_int.h) with its own deadline. A
 * request ends exactly once: with its rows, with the session's error, at its deadline
 * (the query is abandoned and the connection dropped), or silently when its client has
 * gone away (tg_cpg_req_cancel). */
#include "collect/postgres.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/postgres_int.h"

/* Active client sessions other than tailguard's own (its connections all say
 * application_name=tailguard, and pg_backend_pid() is this very session), running
 * their current statement for longer than $1 seconds. query_start is the runbooks'
 * measure ("now() - query_start > interval '5 minutes'"). */
#define LONG_QUERIES_FROM                                                                          \
    " FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'"            \
    " AND pid <> pg_backend_pid() AND coalesce(application_name, '') <> 'tailguard'"               \
    " AND query_start < now() - make_interval(secs => $1::float8)"

static const char *const sql[TG_CPG_DIAG_COUNT] = {
    [TG_CPG_DIAG_SLOW_QUERIES] = "SELECT query, calls, round(mean_exec_time::numeric, 2) AS avg_ms,"
                                 " round(max_exec_time::numeric, 2) AS max_ms,"
                                 " round(total_exec_time::numeric, 2) AS total_ms"
                                 " FROM pg_stat_statements WHERE mean_exec_time > $1::float8"
                                 " ORDER BY mean_exec_time DESC LIMIT $2::int",
    [TG_CPG_DIAG_CONNECTIONS] =
        "SELECT state, count(*) AS connections,"
        " greatest(extract(epoch FROM max(now() - state_change)), 0)::float8 AS max_duration_s,"
        " current_setting('max_connections')::int AS max_connections"
        " FROM pg_stat_activity WHERE backend_type = 'client backend'"
        " GROUP BY state ORDER BY 2 DESC, 1",
    [TG_CPG_DIAG_LOCKS_WAITING] =
        "SELECT a.pid, a.usename, l.mode, l.locktype, l.relation::regclass::text AS relation,"
        " extract(epoch FROM now() - coalesce(a.state_change, a.query_start))::float8"
        " AS waiting_s, a.query, b.pid AS blocking_pid, b.usename AS blocking_usename,"
        " b.query AS blocking_query"
        " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " CROSS JOIN LATERAL unnest(pg_blocking_pids(l.pid)) AS bp(pid)"
        " JOIN pg_stat_activity b ON b.pid = bp.pid"
        " WHERE NOT l.granted ORDER BY waiting_s DESC, a.pid, b.pid",
    [TG_CPG_DIAG_LOCKS_BY_MODE] =
        "SELECT mode, count(*) FILTER (WHERE granted) AS granted,"
        " count(*) FILTER (WHERE NOT granted) AS waiting FROM pg_locks GROUP BY mode ORDER BY mode",
    [TG_CPG_DIAG_INDEX_CANDIDATES] =
        "SELECT schemaname, tablename, attname, n_distinct, correlation FROM pg_stats"
        " WHERE schemaname = $1 AND n_distinct > 100 AND correlation < 0.1"
        " ORDER BY n_distinct DESC LIMIT $2::int",
    [TG_CPG_DIAG_LONG_QUERIES] =
        "SELECT pid, extract(epoch FROM now() - query_start)::float8 AS duration_s, query,"
        " usename, datname, false AS terminated" LONG_QUERIES_FROM " ORDER BY duration_s DESC",
    [TG_CPG_DIAG_TERMINATE_LONG_QUERIES] =
        "SELECT pid, extract(epoch FROM now() - query_start)::float8 AS duration_s, query,"
        " usename, datname, pg_terminate_backend(pid) AS terminated" LONG_QUERIES_FROM
        " ORDER BY duration_s DESC",
};

static const int nparams[TG_CPG_DIAG_COUNT] = {
    [TG_CPG_DIAG_SLOW_QUERIES] = 2,
    [TG_CPG_DIAG_INDEX_CANDIDATES] = 2,
    [TG_CPG_DIAG_LONG_QUERIES] = 1,
    [TG_CPG_DIAG_TERMINATE_LONG_QUERIES] = 1,
};

struct tg_cpg_req {
    struct tg_cpg__query q; /* first: the session hands it back */
    struct tg_cpg *pg;
    struct tg_timer deadline;
    int64_t timeout_us;
    tg_cpg_req_fn *cb;
    void *arg;
    char params[TG_CPG_MAX_PARAMS][128];
};

static void req_free(struct tg_cpg_req *r)
{
    tg_timer_stop(r->pg->loop, &r->deadline);
    free(r);
}

static void on_rows(void *arg, const struct tg_cpg_result *res, const char *why)
{
    struct tg_cpg_req *r = arg;
    tg_cpg_req_fn *cb = r->cb;
    void *cbarg = r->arg;
    req_free(r);
    cb(cbarg, res, why);
}

static void on_deadline(struct tg_timer *t)
{
    struct tg_cpg_req *r = t->data;
    char why[96];
    snprintf(why, sizeof why, "PostgreSQL did not answer within %lld ms",
             (long long)(r->timeout_us / 1000));
    tg_cpg__sess_remove(&r->pg->diag, &r->q);
    on_rows(r, NULL, why);
}

int tg_cpg_diag(struct tg_cpg *pg, enum tg_cpg_diag which, const char *const *params,
                int64_t timeout_us, tg_cpg_req_fn *cb, void *arg, struct tg_cpg_req **out)
{
    if ((unsigned)which >= TG_CPG_DIAG_COUNT)
        return -EINVAL;
    struct tg_cpg_req *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    *r = (struct tg_cpg_req){.pg = pg, .timeout_us = timeout_us, .cb = cb, .arg = arg};
    r->q = (struct tg_cpg__query){
        .sql = sql[which], .nparams = nparams[which], .done = on_rows, .arg = r};
    for (int i = 0; i < nparams[which]; i++) {
        if (!params || !params[i] || strlen(params[i]) >= sizeof r->params[i]) {
            free(r);
            return -EINVAL;
        }
        snprintf(r->params[i], sizeof r->params[i], "%s", params[i]);
        r->q.params[i] = r->params[i];
    }
    *out = r;
    tg_timer_start(pg->loop, &r->deadline, tg_loop_now_us(pg->loop) + timeout_us, on_deadline, r);
    /* An error here (no memory to start connecting) reaches the callback; the caller
     * has `*out` already and the callback is its one way to hear the end. */
    tg_cpg__sess_submit(&pg->diag, &r->q);
    return 0;
}

void tg_cpg_req_cancel(struct tg_cpg_req *r)
{
    tg_cpg__sess_remove(&r->pg->diag, &r->q);
    req_free(r);
}

void tg_cpg__diag_fail_all(struct tg_cpg *pg, const char *why)
{
    tg_cpg__sess_fail_all(&pg->diag, why);
}
