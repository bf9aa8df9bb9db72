/* SPDX-License-Identifier: MIT */
/* The runbooks' PostgreSQL diagnostics as JSON; see database.h. Each request picks a
 * PostgreSQL target (?instance=, default the first configured), validates its
 * parameters (400 naming the one that is wrong), runs its query on the target's
 * diagnostic connection (collect/postgres.h) and answers from the query's callback
 * (async.h). A server that is down, refuses or does not answer within the target's
 * timeout gives a 503 with the reason; nothing here ever waits on the control loop.
 *
 * The hook POST /api/v1/system/db/terminate-long-queries needs the admin token, lists
 * (dry_run) or ends (pg_terminate_backend) the active queries older than older_than_s,
 * never tailguard's own sessions, and writes an audit row either way, even when the
 * client has gone before the answer. */
#include "admin/database.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/async.h"
#include "admin/control_api.h"
#include "admin/database_int.h"
#include "collect/postgres.h"
#include "collect/set.h"
#include "core/log.h"
#include "http/url.h"
#include "proxy/gateway.h"

#define MON "/api/v1/monitoring/database/"
#define HOOK "/api/v1/system/db/terminate-long-queries"

enum what {
    W_SLOW = 0,
    W_CONNECTIONS,
    W_LOCKS,
    W_INDEX,
    W_TERMINATE,
};

/* ---- pure parts (database_int.h) ------------------------------------------------- */

static json_t *cell_json(const char *v, char type)
{
    if (!v)
        return json_null();
    char *end;
    switch (type) {
    case 'i': {
        long long n = strtoll(v, &end, 10);
        return end != v && !*end ? json_integer(n) : json_null();
    }
    case 'n': {
        double d = strtod(v, &end);
        return end != v && !*end && isfinite(d) ? json_real(d) : json_null();
    }
    case 'b':
        return json_boolean(v[0] == 't');
    default:
        return json_string(v);
    }
}

json_t *tg_admin__db_rows(const struct tg_cpg_result *r, const char *types)
{
    json_t *arr = json_array();
    int nc = tg_cpg_result_ncols(r);
    for (int row = 0; row < tg_cpg_result_nrows(r); row++) {
        json_t *o = json_object();
        for (int c = 0; c < nc && types[c]; c++)
            json_object_set_new(o, tg_cpg_result_name(r, c),
                                cell_json(tg_cpg_result_get(r, row, c), types[c]));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The query parameter `name` decoded into dst (NUL-terminated); false when absent.
 * -1 when it is malformed or too long. */
static int param(struct tg_str query, const char *name, char *dst, size_t cap)
{
    struct tg_str v;
    if (!tg_http_query_param(query, name, &v))
        return 0;
    long n = tg_http_url_decode(dst, cap - 1, v);
    if (n < 0 || memchr(dst, '\0', (size_t)n))
        return -1;
    dst[n] = '\0';
    return 1;
}

/* A number parameter within [lo, hi] written back as text; `def` when absent. */
static bool num_param(struct tg_str query, const char *name, double lo, double hi, const char *def,
                      bool integer, char *out, size_t cap, struct tg_admin_resp *r)
{
    char buf[64];
    int got = param(query, name, buf, sizeof buf);
    if (got == 0) {
        snprintf(out, cap, "%s", def);
        return true;
    }
    char *end = NULL;
    double d = got > 0 ? strtod(buf, &end) : NAN;
    if (got < 0 || end == buf || *end || !(d >= lo && d <= hi) || (integer && d != floor(d))) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be %s from %g to %g", name,
                 integer ? "an integer" : "a number", lo, hi);
        tg_admin_resp_error(r, 400, msg, name);
        return false;
    }
    snprintf(out, cap, integer ? "%.0f" : "%.17g", d);
    return true;
}

bool tg_admin__db_slow_params(struct tg_str query, char min_mean_ms[32], char limit[16],
                              struct tg_admin_resp *r)
{
    return num_param(query, "min_mean_ms", 0, 1e9, "100", false, min_mean_ms, 32, r) &&
           num_param(query, "limit", 1, 1000, "20", true, limit, 16, r);
}

bool tg_admin__db_index_params(struct tg_str query, char schema[64], char limit[16],
                               struct tg_admin_resp *r)
{
    int got = param(query, "schema", schema, 64);
    if (got == 0)
        snprintf(schema, 64, "public");
    size_t n = got > 0 ? strlen(schema) : 0;
    if (got < 0 || (got > 0 && (n == 0 || strspn(schema, "abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789_$") != n))) {
        tg_admin_resp_error(r, 400, "schema must be a schema name (letters, digits, _ and $)",
                            "schema");
        return false;
    }
    return num_param(query, "limit", 1, 1000, "50", true, limit, 16, r);
}

bool tg_admin__db_terminate_body(json_t *body, double *older_than_s, bool *dry_run,
                                 struct tg_admin_resp *r)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (strcmp(k, "older_than_s") != 0 && strcmp(k, "dry_run") != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown field \"%.60s\" (allowed: older_than_s, dry_run)",
                     k);
            tg_admin_resp_error(r, 400, msg, k);
            return false;
        }
    }
    json_t *o = json_object_get(body, "older_than_s");
    if (!json_is_number(o) || !(json_number_value(o) >= 1) || json_number_value(o) > 31536000) {
        tg_admin_resp_error(r, 400, "older_than_s must be a number of seconds from 1 to 31536000",
                            "older_than_s");
        return false;
    }
    json_t *d = json_object_get(body, "dry_run");
    if (d && !json_is_boolean(d)) {
        tg_admin_resp_error(r, 400, "dry_run must be true or false", "dry_run");
        return false;
    }
    *older_than_s = json_number_value(o);
    *dry_run = d && json_is_true(d);
    return true;
}

json_t *tg_admin__db_connections(const struct tg_cpg_result *r)
{
    json_t *by = tg_admin__db_rows(r, "sin");
    long long total = 0, max = 0;
    for (int row = 0; row < tg_cpg_result_nrows(r); row++) {
        const char *n = tg_cpg_result_get(r, row, 1), *m = tg_cpg_result_get(r, row, 3);
        total += n ? atoll(n) : 0;
        if (m)
            max = atoll(m);
    }
    json_t *o = json_pack("{s:o,s:I,s:I}", "by_state", by, "total", (json_int_t)total,
                          "max_connections", (json_int_t)max);
    json_object_set_new(o, "usage_ratio",
                        max > 0 ? json_real((double)total / (double)max) : json_null());
    return o;
}

/* ---- requests ---------------------------------------------------------------------- */

struct pending {
    struct tg_hconn *c; /* NULL once the client has gone */
    struct tg_cpg *pg;
    struct tg_cpg_req *req; /* in flight, or NULL */
    enum what what;
    json_t *out; /* the answer so far (locks: the waiting list) */
    /* The hook's audit. */
    struct tg_admin_control_ctx cc;
    char peer[64], actor[96];
    double older_than_s;
    bool dry_run;
};

static void pending_free(struct pending *p)
{
    json_decref(p->out);
    free(p);
}

static void answer(struct pending *p, struct tg_admin_resp *r)
{
    if (p->c)
        tg_admin_async_respond(p->c, r);
    tg_admin_resp_free(r);
}

static void on_gone(void *vp)
{
    struct pending *p = vp;
    p->c = NULL;
    /* The hook finishes and audits what it did; a read-only question is dropped. */
    if (p->what == W_TERMINATE)
        return;
    if (p->req)
        tg_cpg_req_cancel(p->req);
    pending_free(p);
}

static void on_rows(void *arg, const struct tg_cpg_result *res, const char *why);

static bool run(struct pending *p, enum tg_cpg_diag which, const char *const *params)
{
    int rc = tg_cpg_diag(p->pg, which, params, tg_cpg_timeout_us(p->pg), on_rows, p, &p->req);
    return rc == 0;
}

/* The JSON text of the audit row: what was asked and what was found or ended (queries
 * cut to 200 bytes: the row is a record, not a copy of pg_stat_activity). */
static char *audit_detail(const struct pending *p, const struct tg_cpg_result *res)
{
    json_t *list = json_array();
    int qcol = tg_cpg_result_col(res, "query");
    for (int row = 0; row < tg_cpg_result_nrows(res); row++) {
        const char *q = tg_cpg_result_get(res, row, qcol);
        char cut[201];
        snprintf(cut, sizeof cut, "%s", q ? q : "");
        json_array_append_new(
            list,
            json_pack("{s:o,s:o,s:s,s:o}", "pid", cell_json(tg_cpg_result_get(res, row, 0), 'i'),
                      "duration_s", cell_json(tg_cpg_result_get(res, row, 1), 'n'), "query", cut,
                      "terminated", cell_json(tg_cpg_result_get(res, row, 5), 'b')));
    }
    json_t *d = json_pack("{s:s,s:f,s:b,s:o}", "instance", tg_cpg_name(p->pg), "older_than_s",
                          p->older_than_s, "dry_run", p->dry_run, "queries", list);
    char *s = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return s;
}

static void terminate_done(struct pending *p, const struct tg_cpg_result *res,
                           struct tg_admin_resp *r)
{
    json_t *list = tg_admin__db_rows(res, "insssb");
    size_t ended = 0;
    for (int row = 0; row < tg_cpg_result_nrows(res); row++) {
        const char *t = tg_cpg_result_get(res, row, 5);
        ended += t && t[0] == 't';
    }
    char *detail = audit_detail(p, res);
    int rc = 0;
    if (p->cc.rt)
        rc = tg_admin_audit_action(&p->cc, p->actor, "POST " HOOK, "postgres", detail, r);
    tg_log(TG_LOG_INFO, "admin",
           "db-terminate-long-queries actor=%s instance=%s dry_run=%d found=%d terminated=%zu",
           p->actor, tg_cpg_name(p->pg), p->dry_run, tg_cpg_result_nrows(res), ended);
    free(detail);
    if (rc != 0) {
        json_decref(list);
        return;
    }
    tg_admin_resp_json(r, 200,
                       json_pack("{s:s,s:f,s:b,s:o,s:I}", "instance", tg_cpg_name(p->pg),
                                 "older_than_s", p->older_than_s, "dry_run", p->dry_run, "queries",
                                 list, "terminated", (json_int_t)ended));
}

static void on_rows(void *arg, const struct tg_cpg_result *res, const char *why)
{
    struct pending *p = arg;
    p->req = NULL;
    struct tg_admin_resp r = {0};
    if (!res) {
        json_t *e = json_pack("{s:s,s:s,s:n}", "error", why ? why : "query failed", "instance",
                              tg_cpg_name(p->pg), "field");
        tg_admin_resp_json(&r, 503, e);
        answer(p, &r);
        pending_free(p);
        return;
    }
    const char *name = tg_cpg_name(p->pg);
    switch (p->what) {
    case W_SLOW:
        tg_admin_resp_json(
            &r, 200,
            json_pack("{s:s,s:o}", "instance", name, "queries", tg_admin__db_rows(res, "sinnn")));
        break;
    case W_CONNECTIONS: {
        json_t *o = tg_admin__db_connections(res);
        json_object_set_new(o, "instance", json_string(name));
        tg_admin_resp_json(&r, 200, o);
        break;
    }
    case W_LOCKS:
        if (!p->out) { /* the waiting locks; the counts by mode come next */
            p->out = tg_admin__db_rows(res, "issssnsiss");
            if (run(p, TG_CPG_DIAG_LOCKS_BY_MODE, NULL))
                return;
            tg_admin_resp_error(&r, 500, "out of memory", NULL);
            break;
        }
        tg_admin_resp_json(&r, 200,
                           json_pack("{s:s,s:O,s:o}", "instance", name, "waiting", p->out,
                                     "by_mode", tg_admin__db_rows(res, "sii")));
        break;
    case W_INDEX:
        tg_admin_resp_json(&r, 200,
                           json_pack("{s:s,s:o}", "instance", name, "candidates",
                                     tg_admin__db_rows(res, "sssnn")));
        break;
    case W_TERMINATE:
        terminate_done(p, res, &r);
        break;
    }
    answer(p, &r);
    pending_free(p);
}

/* ---- dispatch ---------------------------------------------------------------------- */

static void respond_now(struct tg_hconn *c, struct tg_admin_resp *r)
{
    tg_admin_async_respond(c, r);
    tg_admin_resp_free(r);
}

static int route(const struct tg_http_msg *m)
{
    static const struct {
        const char *path;
        enum what w;
    } paths[] = {
        {MON "slow-queries", W_SLOW}, {MON "connections", W_CONNECTIONS},
        {MON "locks", W_LOCKS},       {MON "index-candidates", W_INDEX},
        {HOOK, W_TERMINATE},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (m->path.len == strlen(paths[i].path) &&
            memcmp(m->path.p, paths[i].path, m->path.len) == 0)
            return (int)paths[i].w;
    return -1;
}

/* The target ?instance= names, or the first; NULL with the 404 filled. */
static struct tg_cpg *target(const struct tg_admin_coll_ctx *x, const struct tg_http_msg *m,
                             struct tg_admin_resp *r)
{
    char inst[128];
    int got = param(m->query, "instance", inst, sizeof inst);
    if (got < 0) {
        tg_admin_resp_error(r, 400, "instance is malformed", "instance");
        return NULL;
    }
    struct tg_cpg *pg = x->set ? tg_cset_impl(x->set, TG_CKIND_POSTGRES, got ? inst : NULL) : NULL;
    if (!pg)
        tg_admin_resp_error(r, 404,
                            got ? "no PostgreSQL collector has this instance name"
                                : "no PostgreSQL collector is configured (collectors.postgres)",
                            got ? "instance" : NULL);
    return pg;
}

/* Validates what `w` needs; false with the 4xx filled. */
static bool prepare(const struct tg_admin_coll_ctx *x, const struct tg_http_msg *m,
                    const char *body, size_t blen, struct pending *p, char params[2][64],
                    struct tg_admin_resp *r)
{
    switch (p->what) {
    case W_SLOW:
        return tg_admin__db_slow_params(m->query, params[0], params[1], r);
    case W_INDEX:
        return tg_admin__db_index_params(m->query, params[0], params[1], r);
    case W_TERMINATE: {
        const struct tg_config *cfg = tg_gateway_config(x->gw);
        if (tg_admin_authorize(cfg, m, r) != 0)
            return false;
        json_t *b = tg_admin_body_object(m, body, blen, false, r);
        bool ok = b && tg_admin__db_terminate_body(b, &p->older_than_s, &p->dry_run, r);
        json_decref(b);
        if (!ok)
            return false;
        snprintf(p->peer, sizeof p->peer, "%s", x->peer ? x->peer : "?");
        p->cc = (struct tg_admin_control_ctx){x->gw, x->rt, p->peer, NULL};
        tg_admin_actor(&p->cc, cfg, m, p->actor, sizeof p->actor);
        snprintf(params[0], 64, "%.3f", p->older_than_s);
        return true;
    }
    default:
        return true;
    }
}

bool tg_admin_database(const struct tg_admin_coll_ctx *x, struct tg_hconn *c,
                       const struct tg_http_msg *m, const char *body, size_t blen)
{
    int w = route(m);
    if (w < 0)
        return false;
    struct tg_admin_resp r = {0};
    bool want_post = w == W_TERMINATE;
    bool is_get = m->method == TG_HTTP_GET || m->method == TG_HTTP_HEAD;
    if (want_post ? m->method != TG_HTTP_POST : !is_get) {
        tg_admin_resp_error(&r, 405, want_post ? "use POST" : "use GET", NULL);
        respond_now(c, &r);
        return true;
    }
    struct tg_cpg *pg = target(x, m, &r);
    struct pending *p = pg ? calloc(1, sizeof *p) : NULL;
    char params[2][64] = {{0}};
    if (pg && !p)
        tg_admin_resp_error(&r, 500, "out of memory", NULL);
    if (!p) {
        respond_now(c, &r);
        return true;
    }
    *p = (struct pending){.c = c, .pg = pg, .what = (enum what)w};
    if (!prepare(x, m, body, blen, p, params, &r)) {
        pending_free(p);
        respond_now(c, &r);
        return true;
    }
    static const enum tg_cpg_diag first[] = {
        [W_SLOW] = TG_CPG_DIAG_SLOW_QUERIES,      [W_CONNECTIONS] = TG_CPG_DIAG_CONNECTIONS,
        [W_LOCKS] = TG_CPG_DIAG_LOCKS_WAITING,    [W_INDEX] = TG_CPG_DIAG_INDEX_CANDIDATES,
        [W_TERMINATE] = TG_CPG_DIAG_LONG_QUERIES,
    };
    enum tg_cpg_diag d = first[w];
    if (w == W_TERMINATE && !p->dry_run)
        d = TG_CPG_DIAG_TERMINATE_LONG_QUERIES;
    /* Held first: the callback may answer before tg_cpg_diag returns. */
    tg_admin_async_hold(c, on_gone, p);
    const char *const pv[2] = {params[0], params[1]};
    if (!run(p, d, pv)) {
        tg_admin_resp_error(&r, 500, "out of memory", NULL);
        respond_now(c, &r);
        pending_free(p);
    }
    return true;
}
