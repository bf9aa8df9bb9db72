/* SPDX-License-Identifier: MIT */
/* The Redis collector target; see redis.h. The connection: made on first need (a scrape
 * or a diagnostic), AUTH and CONFIG GET databases queued first (the number of databases
 * cannot change while the server runs, so it is asked once per connection), then the
 * scrape's commands, all pipelined. hiredis answers each command's callback in order,
 * and with a NULL reply when the connection ends first (its error string then says
 * why); every callback below copes with both. A failed AUTH drops the connection, so
 * the commands queued behind it fail with its reason.
 *
 * Lifetime: the target is freed either at once, or, when hiredis still holds the
 * connection (free called from inside one of its callbacks), when hiredis lets go of it
 * (on_gone), after the last callback ran. */
#include "collect/redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/kinds.h"
#include "collect/redis_int.h"
#include "collect/secret.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/loop.h"

#define WHY_MAX 160
#define DEFAULT_NDB 16 /* the exporter's fallback when CONFIG GET is refused */
#define REQ_TIMEOUT_US 5000000

struct scrape {
    bool active;
    struct tg_csnap *out;
    tg_ctarget_done_fn *done;
    void *arg;
    int pending; /* replies still to come */
};

struct tg_credis {
    struct tg_loop *loop;
    struct tg_cfg_redis cfg;
    char password[256]; /* read when made; wiped when freed */
    bool has_password;
    redisAsyncContext *ac;  /* NULL: not connected */
    char conn_err[WHY_MAX]; /* why this connection is being dropped */
    uint32_t ndb;           /* 0 until CONFIG GET databases answered */
    bool closing;
    struct scrape sc;
};

enum req_kind {
    REQ_SLOWLOG = 0,
    REQ_INFO,
};

struct tg_credis_req {
    struct tg_credis *t;
    enum req_kind kind;
    tg_credis_slowlog_fn *slowlog_cb;
    tg_credis_info_fn *info_cb;
    void *arg;
    bool answered;
    struct tg_timer timer;
};

const char *tg_credis_instance(const struct tg_credis *t)
{
    return t->cfg.name[0] ? t->cfg.name : t->cfg.addr;
}

/* ---- the connection ------------------------------------------------------------- */

/* Why the connection a NULL reply came from ended. */
static const char *why_gone(const struct tg_credis *t, const redisAsyncContext *ac)
{
    if (t->conn_err[0])
        return t->conn_err;
    if (ac && ac->errstr && ac->errstr[0])
        return ac->errstr;
    return t->closing ? "the collector was removed" : "connection closed";
}

static void on_gone(void *arg)
{
    struct tg_credis *t = arg;
    t->ac = NULL;
    if (t->closing) {
        explicit_bzero(t->password, sizeof t->password);
        free(t);
    }
}

/* Drops the connection with `why` as the reason its pending commands fail. From inside
 * a hiredis callback the release happens when the callback returns. */
static void drop(struct tg_credis *t, const char *why)
{
    if (!t->ac)
        return;
    if (!t->conn_err[0])
        snprintf(t->conn_err, sizeof t->conn_err, "%s", why);
    redisAsyncFree(t->ac);
}

static void on_auth(redisAsyncContext *ac, void *r, void *arg)
{
    struct tg_credis *t = arg;
    const redisReply *reply = r;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        char why[WHY_MAX];
        snprintf(why, sizeof why, "AUTH failed: %.*s", (int)reply->len, reply->str);
        drop(t, why);
    }
}

static void on_databases(redisAsyncContext *ac, void *r, void *arg)
{
    struct tg_credis *t = arg;
    const redisReply *reply = r;
    (void)ac;
    /* ["databases", "16"]; CONFIG may be renamed or denied by an ACL: then the default.
     * No reply (the connection ended first): asked again on the next one. */
    if (!reply)
        return;
    t->ndb = DEFAULT_NDB;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        long n = strtol(reply->element[1]->str, NULL, 10);
        if (n > 0 && n <= 1024)
            t->ndb = (uint32_t)n;
    }
}

/* host:port, [v6]:port, or /unix/path. */
static redisAsyncContext *connect_to(const char *addr, struct tg_errbuf *eb)
{
    if (addr[0] == '/')
        return redisAsyncConnectUnix(addr);
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        tg_errbuf_set(eb, TG_ECONFIG, "redis address %s has no port", addr);
        return NULL;
    }
    size_t hlen = (size_t)(colon - addr);
    const char *h = addr;
    if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']')
        h++, hlen -= 2;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= sizeof host || *end || port <= 0 || port > 65535) {
        tg_errbuf_set(eb, TG_ECONFIG, "redis address %s is not host:port", addr);
        return NULL;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return redisAsyncConnect(host, (int)port);
}

/* The connection, made (and its first commands queued) if there is none. */
static int ensure_conn(struct tg_credis *t, struct tg_errbuf *eb)
{
    if (t->ac)
        return 0;
    redisAsyncContext *ac = connect_to(t->cfg.addr, eb);
    if (!ac)
        return eb->code ? eb->code : tg_errbuf_set(eb, -ENOMEM, "out of memory");
    if (ac->err) {
        int rc = tg_errbuf_set(eb, -ECONNREFUSED, "%s", ac->errstr);
        redisAsyncFree(ac);
        return rc;
    }
    int rc = tg_credis__attach(t->loop, ac, on_gone, t);
    if (rc < 0) {
        redisAsyncFree(ac);
        return tg_errbuf_set(eb, rc, "cannot watch the connection: %s", tg_strerror(rc));
    }
    t->ac = ac;
    t->conn_err[0] = '\0';
    if (t->has_password) {
        const char *argv[3] = {"AUTH", t->cfg.username, t->password};
        size_t lens[3] = {4, strlen(t->cfg.username), strlen(t->password)};
        int n = t->cfg.username[0] ? 3 : 2;
        if (n == 2)
            argv[1] = t->password, lens[1] = lens[2];
        redisAsyncCommandArgv(ac, on_auth, t, n, argv, lens);
    }
    if (!t->ndb)
        redisAsyncCommand(ac, on_databases, t, "CONFIG GET databases");
    return 0;
}

/* ---- the scrape ----------------------------------------------------------------- */

static void scrape_fail(struct tg_credis *t, const char *why)
{
    if (!t->sc.active)
        return;
    t->sc.active = false;
    tg_csnap_reset(t->sc.out);
    tg_csnap_one(t->sc.out, "redis_up", TG_METRIC_GAUGE, "Information about the Redis instance", 0);
    /* A connection that answered nonsense or an error is not trusted for the next. */
    drop(t, why);
    t->sc.done(t->sc.arg, -EIO, why);
}

static void scrape_step(struct tg_credis *t)
{
    if (!t->sc.active || --t->sc.pending > 0)
        return;
    t->sc.active = false;
    tg_csnap_one(t->sc.out, "redis_up", TG_METRIC_GAUGE, "Information about the Redis instance", 1);
    if (tg_csnap_oom(t->sc.out)) {
        tg_csnap_reset(t->sc.out);
        tg_csnap_one(t->sc.out, "redis_up", TG_METRIC_GAUGE, "Information about the Redis instance",
                     0);
        t->sc.done(t->sc.arg, -ENOMEM, "out of memory");
        return;
    }
    t->sc.done(t->sc.arg, 0, NULL);
}

static void on_maxmemory(redisAsyncContext *ac, void *r, void *arg)
{
    struct tg_credis *t = arg;
    const redisReply *reply = r;
    if (!t->sc.active)
        return;
    if (!reply) {
        scrape_fail(t, why_gone(t, ac));
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_STRING)
        tg_csnap_one(t->sc.out, "redis_memory_max_bytes", TG_METRIC_GAUGE, "INFO field maxmemory",
                     strtod(reply->element[1]->str, NULL));
    scrape_step(t);
}

static void on_info(redisAsyncContext *ac, void *r, void *arg)
{
    struct tg_credis *t = arg;
    const redisReply *reply = r;
    if (!t->sc.active)
        return;
    if (!reply || reply->type != REDIS_REPLY_STRING) {
        char why[WHY_MAX];
        if (reply && reply->type == REDIS_REPLY_ERROR)
            snprintf(why, sizeof why, "INFO failed: %.*s", (int)reply->len, reply->str);
        scrape_fail(t, reply ? (reply->type == REDIS_REPLY_ERROR ? why : "INFO: not a string")
                             : why_gone(t, ac));
        return;
    }
    struct tg_credis_summary sum;
    int rc = tg_credis_info_parse(reply->str, reply->len, t->ndb ? t->ndb : DEFAULT_NDB,
                                  tg_clock_wall_us() / 1000000, t->sc.out, &sum);
    if (rc < 0) {
        scrape_fail(t, rc == -ENOMEM ? "out of memory" : "INFO: not INFO text");
        return;
    }
    if (!sum.has_maxmemory &&
        redisAsyncCommand(ac, on_maxmemory, t, "CONFIG GET maxmemory") == REDIS_OK)
        t->sc.pending++;
    scrape_step(t);
}

static void on_slowlog_len(redisAsyncContext *ac, void *r, void *arg)
{
    struct tg_credis *t = arg;
    const redisReply *reply = r;
    if (!t->sc.active)
        return;
    if (!reply) {
        scrape_fail(t, why_gone(t, ac));
        return;
    }
    /* An error (SLOWLOG renamed or denied) leaves the family out, as the exporter does. */
    if (reply->type == REDIS_REPLY_INTEGER)
        tg_csnap_one(t->sc.out, "redis_slowlog_length", TG_METRIC_GAUGE, "Total slowlog",
                     (double)reply->integer);
    scrape_step(t);
}

static void start(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg)
{
    struct tg_credis *t = impl;
    t->sc = (struct scrape){.active = true, .out = out, .done = done, .arg = arg, .pending = 2};
    struct tg_errbuf eb = {0};
    if (ensure_conn(t, &eb) < 0 || redisAsyncCommand(t->ac, on_info, t, "INFO ALL") != REDIS_OK ||
        redisAsyncCommand(t->ac, on_slowlog_len, t, "SLOWLOG LEN") != REDIS_OK) {
        /* A context already failing (FREEING) refuses commands: its callbacks that were
         * queued still run, and see the scrape over. */
        scrape_fail(t, eb.msg[0] ? eb.msg : why_gone(t, t->ac));
    }
}

static void cancel(void *impl, struct tg_csnap *out)
{
    struct tg_credis *t = impl;
    t->sc.active = false;
    tg_csnap_one(out, "redis_up", TG_METRIC_GAUGE, "Information about the Redis instance", 0);
    drop(t, "the scrape timed out");
}

static void target_free(void *impl)
{
    struct tg_credis *t = impl;
    if (!t)
        return;
    t->closing = true;
    t->sc.active = false;
    if (t->ac) {
        drop(t, "the collector was removed");
        return; /* on_gone frees it */
    }
    explicit_bzero(t->password, sizeof t->password);
    free(t);
}

static const struct tg_ctarget_ops ops = {start, cancel, target_free};

/* ---- the diagnostics ------------------------------------------------------------ */

static void req_answer(struct tg_credis_req *q, int rc, const char *why,
                       const struct tg_credis_slowentry *e, size_t n,
                       const struct tg_credis_summary *s)
{
    if (q->answered)
        return;
    q->answered = true;
    tg_timer_stop(q->t->loop, &q->timer);
    if (q->kind == REQ_SLOWLOG)
        q->slowlog_cb(q->arg, rc, why, e, n);
    else
        q->info_cb(q->arg, rc, why, s);
}

static void on_req_timeout(struct tg_timer *tm)
{
    struct tg_credis_req *q = tm->data;
    char why[64];
    snprintf(why, sizeof why, "no answer from Redis within %.3g s",
             (double)(q->t->cfg.timeout_us > 0 ? q->t->cfg.timeout_us : REQ_TIMEOUT_US) / 1e6);
    /* The request stays queued on the connection until it ends or answers. */
    req_answer(q, -ETIMEDOUT, why, NULL, 0, NULL);
}

static struct tg_credis_str str_of(const redisReply *r)
{
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        return (struct tg_credis_str){r->str, r->len};
    return (struct tg_credis_str){"", 0};
}

/* [id, timestamp, duration_us, [args...], client addr, client name] per entry. */
static bool slowlog_entries(const redisReply *r, struct tg_credis_slowentry *e,
                            struct tg_credis_str *args)
{
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *x = r->element[i];
        if (x->type != REDIS_REPLY_ARRAY || x->elements < 4 ||
            x->element[0]->type != REDIS_REPLY_INTEGER ||
            x->element[1]->type != REDIS_REPLY_INTEGER ||
            x->element[2]->type != REDIS_REPLY_INTEGER || x->element[3]->type != REDIS_REPLY_ARRAY)
            return false;
        const redisReply *a = x->element[3];
        e[i] = (struct tg_credis_slowentry){
            .id = x->element[0]->integer,
            .timestamp_s = x->element[1]->integer,
            .duration_us = x->element[2]->integer,
            .args = args,
            .nargs = a->elements,
            .client_addr = str_of(x->elements > 4 ? x->element[4] : NULL),
            .client_name = str_of(x->elements > 5 ? x->element[5] : NULL),
        };
        for (size_t j = 0; j < a->elements; j++)
            *args++ = str_of(a->element[j]);
    }
    return true;
}

static void answer_slowlog(struct tg_credis_req *q, const redisReply *r)
{
    size_t nargs = 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ARRAY && r->element[i]->elements >= 4)
            nargs += r->element[i]->element[3]->elements;
    struct tg_credis_slowentry *e = calloc(r->elements + 1, sizeof *e);
    struct tg_credis_str *args = calloc(nargs + 1, sizeof *args);
    if (!e || !args)
        req_answer(q, -ENOMEM, "out of memory", NULL, 0, NULL);
    else if (!slowlog_entries(r, e, args))
        req_answer(q, TG_EPARSE, "SLOWLOG GET: unexpected reply", NULL, 0, NULL);
    else
        req_answer(q, 0, NULL, e, r->elements, NULL);
    free(e);
    free(args);
}

static void on_req_reply(redisAsyncContext *ac, void *r, void *arg)
{
    struct tg_credis_req *q = arg;
    const redisReply *reply = r;
    char why[WHY_MAX];
    if (!reply) {
        req_answer(q, -ECONNRESET, why_gone(q->t, ac), NULL, 0, NULL);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "%s", reply->str);
        req_answer(q, -EIO, why, NULL, 0, NULL);
    } else if (q->kind == REQ_SLOWLOG && reply->type == REDIS_REPLY_ARRAY) {
        answer_slowlog(q, reply);
    } else if (q->kind == REQ_INFO && reply->type == REDIS_REPLY_STRING) {
        struct tg_credis_summary s;
        if (tg_credis_info_parse(reply->str, reply->len, 0, 0, NULL, &s) == 0)
            req_answer(q, 0, NULL, NULL, 0, &s);
        else
            req_answer(q, TG_EPARSE, "INFO: not INFO text", NULL, 0, NULL);
    } else {
        req_answer(q, TG_EPARSE, "unexpected reply", NULL, 0, NULL);
    }
    tg_timer_stop(q->t->loop, &q->timer);
    free(q);
}

static int req_send(struct tg_credis *t, struct tg_credis_req *q, int argc, const char **argv,
                    struct tg_credis_req **out, struct tg_errbuf *eb)
{
    int rc = ensure_conn(t, eb);
    if (rc < 0) {
        free(q);
        return rc;
    }
    if (redisAsyncCommandArgv(t->ac, on_req_reply, q, argc, argv, NULL) != REDIS_OK) {
        free(q);
        return tg_errbuf_set(eb, -ECONNRESET, "%s", why_gone(t, t->ac));
    }
    int64_t tmo = t->cfg.timeout_us > 0 ? t->cfg.timeout_us : REQ_TIMEOUT_US;
    tg_timer_start(t->loop, &q->timer, tg_loop_now_us(t->loop) + tmo, on_req_timeout, q);
    *out = q;
    return 0;
}

int tg_credis_slowlog(struct tg_credis *t, uint32_t limit, tg_credis_slowlog_fn *cb, void *arg,
                      struct tg_credis_req **out, struct tg_errbuf *eb)
{
    struct tg_credis_req *q = calloc(1, sizeof *q);
    if (!q)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    *q = (struct tg_credis_req){.t = t, .kind = REQ_SLOWLOG, .slowlog_cb = cb, .arg = arg};
    char n[16];
    snprintf(n, sizeof n, "%u", limit);
    const char *argv[] = {"SLOWLOG", "GET", n};
    return req_send(t, q, 3, argv, out, eb);
}

int tg_credis_info(struct tg_credis *t, tg_credis_info_fn *cb, void *arg,
                   struct tg_credis_req **out, struct tg_errbuf *eb)
{
    struct tg_credis_req *q = calloc(1, sizeof *q);
    if (!q)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    *q = (struct tg_credis_req){.t = t, .kind = REQ_INFO, .info_cb = cb, .arg = arg};
    const char *argv[] = {"INFO"};
    return req_send(t, q, 1, argv, out, eb);
}

void tg_credis_req_cancel(struct tg_credis_req *r)
{
    r->answered = true;
    tg_timer_stop(r->t->loop, &r->timer);
}

/* ---- making a target ------------------------------------------------------------ */

int tg_credis_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                   struct tg_errbuf *eb)
{
    (void)extra;
    struct tg_credis *t = calloc(1, sizeof *t);
    if (!t)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    t->loop = loop;
    t->cfg = *(const struct tg_cfg_redis *)cfg;
    int rc =
        tg_csecret_read(&t->cfg.password, t->password, sizeof t->password, &t->has_password, eb);
    if (rc < 0) {
        explicit_bzero(t->password, sizeof t->password);
        free(t);
        return rc;
    }
    *out = (struct tg_ctarget){&ops, t};
    return 0;
}
