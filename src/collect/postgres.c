/* SPDX-License-Identifier: MIT */
/* The PostgreSQL collector target (kinds.h's tg_cpg_make): each collection runs a fixed
 * sequence of queries, one at a time, on a connection kept between collections
 * (postgres_conn.c), and turns their rows into postgres_exporter 0.11's families, under
 * its names, types and labels (docs/collectors.md lists them and every deliberate
 * difference): pg_up, pg_stat_database_*, pg_stat_activity_count and _max_tx_duration,
 * pg_locks_count, pg_settings_*, pg_database_size_bytes. Exporter 0.11 has no
 * pg_stat_statements collector, so statements use the names its later stat_statements
 * collector chose (pg_stat_statements_calls_total, _seconds_total, _rows_total with
 * user, datname, queryid), plus the runbooks' own pg_stat_statements_mean_time_ms.
 *
 * The queries follow the exporter's semantics (a row for every database and every
 * state or lock mode it lists, zeros included; SQL NULL as NaN) but are our own. A
 * failed query fails the collection (pg_up 0), except pg_stat_statements, whose absence
 * is an answer: logged once at info and shown as pg_stat_statements_available 0. */
#include "collect/kinds.h"

#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/postgres_int.h"
#include "collect/secret.h"
#include "collect/snap.h"
#include "core/log.h"

/* ---- rows to families ------------------------------------------------------------- */

static double num(const struct tg_cpg_result *r, int row, int col)
{
    const char *v = tg_cpg_result_get(r, row, col);
    if (!v)
        return NAN;
    if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0)
        return v[0] == 't';
    char *end;
    double d = strtod(v, &end);
    return end == v ? NAN : d;
}

static const char *text(const struct tg_cpg_result *r, int row, int col)
{
    const char *v = tg_cpg_result_get(r, row, col);
    return v ? v : "";
}

struct column {
    const char *name; /* the family is pg_stat_database_<name> */
    enum tg_metric_type type;
    const char *help;
};

/* pg_stat_database's columns in the query's order after datid and datname. The
 * exporter declares every one but numbackends a counter, without _total. */
static const struct column db_columns[] = {
    {"numbackends", TG_METRIC_GAUGE, "Backends connected to this database now."},
    {"xact_commit", TG_METRIC_COUNTER, "Transactions committed in this database."},
    {"xact_rollback", TG_METRIC_COUNTER, "Transactions rolled back in this database."},
    {"blks_read", TG_METRIC_COUNTER, "Disk blocks read in this database."},
    {"blks_hit", TG_METRIC_COUNTER, "Disk blocks found in PostgreSQL's buffer cache."},
    {"tup_returned", TG_METRIC_COUNTER, "Rows returned by queries in this database."},
    {"tup_fetched", TG_METRIC_COUNTER, "Rows fetched by queries in this database."},
    {"tup_inserted", TG_METRIC_COUNTER, "Rows inserted by queries in this database."},
    {"tup_updated", TG_METRIC_COUNTER, "Rows updated by queries in this database."},
    {"tup_deleted", TG_METRIC_COUNTER, "Rows deleted by queries in this database."},
    {"conflicts", TG_METRIC_COUNTER, "Queries canceled by conflicts with recovery."},
    {"temp_files", TG_METRIC_COUNTER, "Temporary files created by queries."},
    {"temp_bytes", TG_METRIC_COUNTER, "Bytes written to temporary files by queries."},
    {"deadlocks", TG_METRIC_COUNTER, "Deadlocks detected in this database."},
    {"blk_read_time", TG_METRIC_COUNTER, "Time spent reading data file blocks, in ms."},
    {"blk_write_time", TG_METRIC_COUNTER, "Time spent writing data file blocks, in ms."},
    {"stats_reset", TG_METRIC_COUNTER, "When these statistics were last reset (unix s)."},
};
#define NDB_COLUMNS (sizeof db_columns / sizeof db_columns[0])

static const char sql_database[] =
    "SELECT datid, coalesce(datname, ''), numbackends, xact_commit, xact_rollback, blks_read,"
    " blks_hit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, conflicts,"
    " temp_files, temp_bytes, deadlocks, blk_read_time, blk_write_time,"
    " extract(epoch FROM stats_reset) FROM pg_stat_database";

static int on_database(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    char fam[96];
    for (size_t c = 0; c < NDB_COLUMNS; c++) {
        snprintf(fam, sizeof fam, "pg_stat_database_%s", db_columns[c].name);
        tg_csnap_family(pg->out, fam, db_columns[c].type, db_columns[c].help, NULL);
        for (int row = 0; row < tg_cpg_result_nrows(r); row++)
            tg_csnap_addl(pg->out, num(r, row, (int)c + 2), "datid", text(r, row, 0), "datname",
                          text(r, row, 1), "server", pg->scrape.server, NULL);
    }
    return 0;
}

/* As the exporter: every database times every state it lists, zeros included; the
 * longest transaction of the connections in that state, 0 when none. */
static const char sql_activity[] =
    "SELECT d.datname, s.state, coalesce(a.n, 0), coalesce(a.longest, 0)"
    " FROM pg_database d CROSS JOIN (VALUES ('active'), ('idle'), ('idle in transaction'),"
    " ('idle in transaction (aborted)'), ('fastpath function call'), ('disabled')) AS s(state)"
    " LEFT JOIN (SELECT datname, state, count(*) AS n,"
    " max(extract(epoch FROM now() - xact_start))::float8 AS longest"
    " FROM pg_stat_activity GROUP BY datname, state) a"
    " ON a.datname = d.datname AND a.state = s.state ORDER BY 1, 2";

static int on_activity(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    static const char *const fams[2][2] = {
        {"pg_stat_activity_count", "Connections in this state."},
        {"pg_stat_activity_max_tx_duration",
         "Longest running transaction among connections in this state, in seconds."},
    };
    for (int f = 0; f < 2; f++) {
        tg_csnap_family(pg->out, fams[f][0], TG_METRIC_GAUGE, fams[f][1], NULL);
        for (int row = 0; row < tg_cpg_result_nrows(r); row++)
            tg_csnap_addl(pg->out, num(r, row, 2 + f), "datname", text(r, row, 0), "server",
                          pg->scrape.server, "state", text(r, row, 1), NULL);
    }
    return 0;
}

static const char sql_locks[] =
    "SELECT d.datname, m.mode, coalesce(l.n, 0)"
    " FROM pg_database d CROSS JOIN (VALUES ('accesssharelock'), ('rowsharelock'),"
    " ('rowexclusivelock'), ('shareupdateexclusivelock'), ('sharelock'),"
    " ('sharerowexclusivelock'), ('exclusivelock'), ('accessexclusivelock'),"
    " ('sireadlock')) AS m(mode)"
    " LEFT JOIN (SELECT database, lower(mode) AS mode, count(*) AS n FROM pg_locks"
    " WHERE database IS NOT NULL GROUP BY 1, 2) l ON l.database = d.oid AND l.mode = m.mode"
    " ORDER BY 1, 2";

static int on_locks(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    tg_csnap_family(pg->out, "pg_locks_count", TG_METRIC_GAUGE, "Locks by database and mode.",
                    NULL);
    for (int row = 0; row < tg_cpg_result_nrows(r); row++)
        tg_csnap_addl(pg->out, num(r, row, 2), "datname", text(r, row, 0), "mode", text(r, row, 1),
                      "server", pg->scrape.server, NULL);
    return 0;
}

/* Unitless settings only: the exporter converts units (8kB pages, ms) into bytes and
 * seconds, which these two do not need. */
static const char sql_settings[] =
    "SELECT name, setting, short_desc FROM pg_settings"
    " WHERE name IN ('max_connections', 'superuser_reserved_connections') ORDER BY name";

static int on_settings(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    char fam[96];
    for (int row = 0; row < tg_cpg_result_nrows(r); row++) {
        snprintf(fam, sizeof fam, "pg_settings_%s", text(r, row, 0));
        tg_csnap_family(pg->out, fam, TG_METRIC_GAUGE, text(r, row, 2), NULL);
        tg_csnap_addl(pg->out, num(r, row, 1), "server", pg->scrape.server, NULL);
    }
    return 0;
}

static const char sql_size[] = "SELECT datname, pg_database_size(oid) FROM pg_database";

static int on_size(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    tg_csnap_family(pg->out, "pg_database_size_bytes", TG_METRIC_GAUGE,
                    "Disk space used by the database.", "bytes");
    for (int row = 0; row < tg_cpg_result_nrows(r); row++)
        tg_csnap_addl(pg->out, num(r, row, 1), "datname", text(r, row, 0), "server",
                      pg->scrape.server, NULL);
    return 0;
}

static const char sql_has_statements[] =
    "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'";

static int on_has_statements(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    pg->statements = num(r, 0, 0) > 0;
    return 0;
}

/* The statements with the most execution time ($1 of them), summed over the rows
 * pg_stat_statements may keep per (user, database, query id) so that each label set is
 * one series; the last column is the mean over all of them, weighted by calls (window
 * sums run before the LIMIT). */
static const char sql_statements[] =
    "SELECT pg_get_userbyid(s.userid), d.datname, s.queryid::text, sum(s.calls),"
    " sum(s.total_exec_time) / 1000.0, sum(s.rows),"
    " sum(sum(s.total_exec_time)) OVER () / nullif(sum(sum(s.calls)) OVER (), 0)"
    " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
    " GROUP BY s.userid, d.datname, s.queryid ORDER BY sum(s.total_exec_time) DESC LIMIT $1";

static void statements_absent(struct tg_cpg *pg, const char *why)
{
    if (!pg->statements_said)
        tg_log(TG_LOG_INFO, "collect",
               "pg_stat_statements unavailable, statements not collected target=%s reason=\"%s\"",
               pg->name, why);
    pg->statements_said = true;
    pg->statements = false;
}

static int on_statements(struct tg_cpg *pg, const struct tg_cpg_result *r)
{
    static const struct {
        const char *name, *help;
        int col;
    } fams[] = {
        {"pg_stat_statements_calls_total", "Times the statement was executed.", 3},
        {"pg_stat_statements_seconds_total", "Time spent executing the statement.", 4},
        {"pg_stat_statements_rows_total", "Rows retrieved or affected by the statement.", 5},
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        tg_csnap_family(pg->out, fams[f].name, TG_METRIC_COUNTER, fams[f].help,
                        f == 1 ? "seconds" : NULL);
        for (int row = 0; row < tg_cpg_result_nrows(r); row++)
            tg_csnap_addl(pg->out, num(r, row, fams[f].col), "datname", text(r, row, 1), "queryid",
                          text(r, row, 2), "server", pg->scrape.server, "user", text(r, row, 0),
                          NULL);
    }
    if (tg_cpg_result_nrows(r) > 0) {
        tg_csnap_family(pg->out, "pg_stat_statements_mean_time_ms", TG_METRIC_GAUGE,
                        "Mean execution time of all statements, weighted by calls, in ms.", NULL);
        tg_csnap_addl(pg->out, num(r, 0, 6), "server", pg->scrape.server, NULL);
    }
    if (pg->statements_said)
        tg_log(TG_LOG_INFO, "collect", "pg_stat_statements available target=%s", pg->name);
    pg->statements_said = false;
    return 0;
}

struct step {
    const char *sql;
    bool limit_param; /* $1 = statements_limit */
    int (*rows)(struct tg_cpg *pg, const struct tg_cpg_result *r);
};

enum { STEP_HAS_STATEMENTS = 5, STEP_STATEMENTS = 6 };

static const struct step steps[] = {
    {sql_database, false, on_database},
    {sql_activity, false, on_activity},
    {sql_locks, false, on_locks},
    {sql_settings, false, on_settings},
    {sql_size, false, on_size},
    {sql_has_statements, false, on_has_statements},
    {sql_statements, true, on_statements},
};
#define NSTEPS (sizeof steps / sizeof steps[0])

/* ---- the collection ---------------------------------------------------------------- */

static void failed_scrape(struct tg_cpg *pg)
{
    tg_csnap_reset(pg->out);
    tg_csnap_one(pg->out, "pg_up", TG_METRIC_GAUGE,
                 "Whether the last collection could connect and query the server.", 0);
}

static void finish_cb(struct tg_timer *t)
{
    struct tg_cpg *pg = t->data;
    pg->running = false;
    tg_ctarget_done_fn *done = pg->done;
    pg->done = NULL;
    done(pg->done_arg, pg->finish_rc, pg->finish_rc ? pg->finish_why : NULL);
}

static void end(struct tg_cpg *pg, int rc, const char *why)
{
    pg->finish_rc = rc;
    snprintf(pg->finish_why, sizeof pg->finish_why, "%s", why ? why : "");
    if (rc)
        failed_scrape(pg);
    else if (tg_csnap_oom(pg->out)) {
        pg->finish_rc = -ENOMEM;
        snprintf(pg->finish_why, sizeof pg->finish_why, "out of memory");
        failed_scrape(pg);
    }
    tg_timer_start(pg->loop, &pg->finish, tg_loop_now_us(pg->loop), finish_cb, pg);
}

static void run_step(struct tg_cpg *pg);

static void step_done(void *arg, const struct tg_cpg_result *res, const char *why)
{
    struct tg_cpg *pg = arg;
    if (pg->step == STEP_STATEMENTS && !res) {
        statements_absent(pg, why); /* e.g. not in shared_preload_libraries */
    } else if (!res) {
        end(pg, -EIO, why);
        return;
    } else {
        steps[pg->step].rows(pg, res);
    }
    if (pg->step == STEP_HAS_STATEMENTS && !pg->statements)
        statements_absent(pg, "the extension is not created in this database");
    pg->step++;
    if (pg->step == STEP_HAS_STATEMENTS && !pg->cfg.statements)
        pg->step = NSTEPS; /* statements: false in the configuration */
    if (pg->step == STEP_STATEMENTS && !pg->statements)
        pg->step++;
    run_step(pg);
}

static void run_step(struct tg_cpg *pg)
{
    if (pg->step >= NSTEPS) {
        tg_csnap_family(pg->out, "pg_stat_statements_available", TG_METRIC_GAUGE,
                        "Whether pg_stat_statements could be read (tailguard's own).", NULL);
        tg_csnap_addl(pg->out, pg->statements ? 1 : 0, "server", pg->scrape.server, NULL);
        tg_csnap_one(pg->out, "pg_up", TG_METRIC_GAUGE,
                     "Whether the last collection could connect and query the server.", 1);
        end(pg, 0, NULL);
        return;
    }
    const struct step *st = &steps[pg->step];
    pg->q = (struct tg_cpg__query){.sql = st->sql, .done = step_done, .arg = pg};
    if (st->limit_param) {
        pg->q.nparams = 1;
        pg->q.params[0] = pg->limit;
    }
    tg_cpg__sess_submit(&pg->scrape, &pg->q);
}

static void pg_start(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg)
{
    struct tg_cpg *pg = impl;
    pg->out = out;
    pg->done = done;
    pg->done_arg = arg;
    pg->running = true;
    pg->step = 0;
    pg->statements = false;
    /* Each collection connects anew, as an application's next connection would: a server
     * whose postmaster hangs accepts no connection while the backends it already has
     * still answer, so a kept connection would show pg_up 1 through the outage. It
     * costs the server one backend start per interval. */
    tg_cpg__sess_deinit(&pg->scrape);
    run_step(pg);
}

static void pg_cancel(void *impl, struct tg_csnap *out)
{
    struct tg_cpg *pg = impl;
    tg_timer_stop(pg->loop, &pg->finish);
    tg_cpg__sess_remove(&pg->scrape, &pg->q); /* drops the connection if it is on the wire */
    pg->running = false;
    pg->done = NULL;
    pg->out = out;
    failed_scrape(pg);
}

static void pg_free(void *impl)
{
    struct tg_cpg *pg = impl;
    if (!pg)
        return;
    tg_timer_stop(pg->loop, &pg->finish);
    tg_cpg__diag_fail_all(pg, "the PostgreSQL collector was removed");
    tg_cpg__sess_deinit(&pg->scrape);
    tg_cpg__sess_deinit(&pg->diag);
    memset(pg->password, 0, sizeof pg->password);
    free(pg);
}

static const struct tg_ctarget_ops pg_ops = {pg_start, pg_cancel, pg_free};

/* ---- construction ------------------------------------------------------------------ */

/* "host:port/dbname" of the DSN, libpq's defaults filled in, for the instance label. */
static void default_name(const char *dsn, char *dst, size_t cap)
{
    PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
    const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        const char *v = o->val && o->val[0] ? o->val : NULL;
        if (strcmp(o->keyword, "host") == 0)
            host = v;
        else if (strcmp(o->keyword, "port") == 0)
            port = v;
        else if (strcmp(o->keyword, "dbname") == 0)
            db = v;
        else if (strcmp(o->keyword, "user") == 0)
            user = v;
    }
    snprintf(dst, cap, "%s:%s/%s", host ? host : "localhost", port ? port : "5432",
             db     ? db
             : user ? user
                    : "postgres");
    PQconninfoFree(opts);
}

int tg_cpg_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                struct tg_errbuf *eb)
{
    (void)extra;
    const struct tg_cfg_postgres *c = cfg;
    struct tg_cpg *pg = calloc(1, sizeof *pg);
    if (!pg)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    pg->loop = loop;
    pg->cfg = *c;
    bool has_password;
    int rc = tg_csecret_read(&c->password, pg->password, sizeof pg->password, &has_password, eb);
    if (rc != 0) {
        free(pg);
        return rc;
    }
    if (c->name[0])
        snprintf(pg->name, sizeof pg->name, "%s", c->name);
    else
        default_name(c->dsn, pg->name, sizeof pg->name);
    snprintf(pg->limit, sizeof pg->limit, "%u", c->statements_limit ? c->statements_limit : 100);
    /* Later keywords win over what the DSN (expanded at "dbname") says, so every
     * connection is tailguard's, in UTF-8 (the JSON answers need it). */
    struct tg_cpg__params *p = &pg->params;
    int n = 0;
    p->kw[n] = "dbname", p->val[n++] = pg->cfg.dsn;
    if (pg->password[0])
        p->kw[n] = "password", p->val[n++] = pg->password;
    p->kw[n] = "application_name", p->val[n++] = "tailguard";
    p->kw[n] = "client_encoding", p->val[n++] = "UTF8";
    p->kw[n] = NULL, p->val[n] = NULL;
    p->secret = pg->password;
    tg_cpg__sess_init(&pg->scrape, loop, p);
    tg_cpg__sess_init(&pg->diag, loop, p);
    *out = (struct tg_ctarget){&pg_ops, pg};
    return 0;
}

const char *tg_cpg_name(const struct tg_cpg *pg)
{
    return pg->name;
}

int64_t tg_cpg_timeout_us(const struct tg_cpg *pg)
{
    int64_t t = pg->cfg.timeout_us > 0 ? pg->cfg.timeout_us : 5000000;
    return t > 10000000 ? 10000000 : t;
}
