/* SPDX-License-Identifier: MIT */
/* Inside the PostgreSQL collector: one libpq connection driven on the control loop
 * (postgres_conn.c), shared by the scrape (postgres.c) and the admin API's queries
 * (postgres_api.c), each of which owns its own session so that a slow diagnostic query
 * never delays a scrape and a scrape's deadline never drops a diagnostic.
 *
 * A session runs queued queries one at a time, in order, on a connection it makes on
 * demand with libpq's non-blocking calls and keeps between queries; any error drops the
 * connection (the next query makes a new one). Removing a query that is on the wire
 * drops the connection too: with no blocking PQcancel on the control thread, closing the
 * socket is the only way to stop waiting for a server that hangs (the server notices
 * the closed socket at its next write and ends the backend). */
#ifndef TG_COLLECT_POSTGRES_INT_H
#define TG_COLLECT_POSTGRES_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "collect/postgres.h"
#include "collect/target.h"
#include "config/config.h"
#include "core/loop.h"

/* Called once per query: `res` (borrowed for the call) or `why` (one line without any
 * secret) when the query or the connection failed. */
typedef void tg_cpg__done_fn(void *arg, const struct tg_cpg_result *res, const char *why);

#define TG_CPG_MAX_PARAMS 4

/* A query, embedded by its owner and valid until its callback runs or it is removed. */
struct tg_cpg__query {
    struct tg_cpg__query *next;
    const char *sql; /* borrowed until done */
    int nparams;
    const char *params[TG_CPG_MAX_PARAMS]; /* text parameters $1..$n, borrowed */
    tg_cpg__done_fn *done;
    void *arg;
};

enum tg_cpg__state {
    TG_CPG_DOWN = 0,   /* no connection */
    TG_CPG_CONNECTING, /* PQconnectPoll in progress */
    TG_CPG_IDLE,       /* connected, nothing on the wire */
    TG_CPG_BUSY,       /* the head query is on the wire */
};

/* Connection parameters: libpq keywords and values (NULL-terminated), the DSN expanded
 * in place of "dbname"; `secret` is the password (or ""), scrubbed from every message. */
#define TG_CPG_MAX_KW 8
struct tg_cpg__params {
    const char *kw[TG_CPG_MAX_KW + 1];
    const char *val[TG_CPG_MAX_KW + 1];
    const char *secret;
};

struct tg_cpg__sess {
    struct tg_loop *loop;
    const struct tg_cpg__params *params; /* borrowed from the owner */
    void *conn;                          /* PGconn * */
    struct tg_io io;
    short want; /* POLLIN or POLLOUT while connecting */
    bool flushing;
    enum tg_cpg__state state;
    struct tg_cpg__query *head, *tail;
    struct tg_cpg_result *acc; /* the head query's result so far */
    char err[256];             /* the head query's error so far */
    bool dispatching;          /* in a query's callback */
    char server[128];          /* host:port of the last connection ("" before) */
    unsigned long long connects, errors;
};

void tg_cpg__sess_init(struct tg_cpg__sess *s, struct tg_loop *loop,
                       const struct tg_cpg__params *p);
/* Drops the connection; queued queries are removed without their callbacks. */
void tg_cpg__sess_deinit(struct tg_cpg__sess *s);
/* Queues `q` (connecting first if needed). Its callback may run before this returns
 * only when the connection cannot even be started (out of memory). */
void tg_cpg__sess_submit(struct tg_cpg__sess *s, struct tg_cpg__query *q);
/* Removes `q` without its callback; when it was on the wire the connection is dropped
 * and the queries behind it go on over a new one. */
void tg_cpg__sess_remove(struct tg_cpg__sess *s, struct tg_cpg__query *q);
/* Fails every queued query with `why` (their callbacks run) and drops the connection. */
void tg_cpg__sess_fail_all(struct tg_cpg__sess *s, const char *why);

/* Copies `msg` (a libpq message) into `dst`: its first line, with `secret` (when not
 * empty) replaced by "***" wherever it appears. */
void tg_cpg__clean_msg(char *dst, size_t cap, const char *msg, const char *secret);

/* The rows of a finished libpq result (a PGresult), copied; NULL when out of memory. */
struct tg_cpg_result *tg_cpg__result_from(const void *pgresult);

/* ---- the target (postgres.c, postgres_api.c) ---------------------------------------- */

struct tg_csnap;

struct tg_cpg {
    struct tg_loop *loop;
    struct tg_cfg_postgres cfg;
    char name[128];     /* the instance label */
    char password[256]; /* read at creation; never logged */
    struct tg_cpg__params params;
    struct tg_cpg__sess scrape, diag;
    /* The collection in flight: its snapshot, callback and step. */
    struct tg_csnap *out;
    tg_ctarget_done_fn *done;
    void *done_arg;
    bool running;
    unsigned step;
    char limit[16]; /* statements_limit as the text parameter of the statements query */
    struct tg_cpg__query q;
    bool statements;      /* pg_stat_statements answered in this collection */
    bool statements_said; /* its absence was logged (once per state change) */
    /* done() runs from this timer (due at once), never from inside libpq's callbacks. */
    struct tg_timer finish;
    int finish_rc;
    char finish_why[256];
};

/* Fails every diagnostic in flight (the target goes away). */
void tg_cpg__diag_fail_all(struct tg_cpg *pg, const char *why);

#endif
