/* SPDX-License-Identifier: MIT */
/* A libpq session on the control loop; see postgres_int.h. Only libpq's non-blocking
 * calls are used: PQconnectStartParams/PQconnectPoll to connect, PQsendQueryParams and
 * PQflush to send, PQconsumeInput/PQisBusy/PQgetResult to read.
 *
 * The loop is edge-triggered and libpq does not promise to read or write until EAGAIN,
 * so after each step the socket is asked with a zero-timeout poll(2) whether what libpq
 * waits for is already there; only when it is not do we wait for the next edge. That
 * costs one poll per step, which a collector making a few queries every few seconds
 * does not notice, and it is what makes a lost wake-up impossible. libpq may also
 * replace its socket while connecting (another address of the host, an SSL retry), so
 * the registration follows PQsocket after every PQconnectPoll. */
#include "collect/postgres_int.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

void tg_cpg__clean_msg(char *dst, size_t cap, const char *msg, const char *secret)
{
    if (!cap)
        return;
    size_t n = 0;
    size_t slen = secret ? strlen(secret) : 0;
    while (msg && *msg && *msg != '\n' && n + 1 < cap) {
        if (slen && strncmp(msg, secret, slen) == 0) {
            for (const char *m = "***"; *m && n + 1 < cap; m++)
                dst[n++] = *m;
            msg += slen;
            continue;
        }
        dst[n++] = *msg == '\r' || *msg == '\t' ? ' ' : *msg;
        msg++;
    }
    while (n && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

static bool ready_now(int fd, short want)
{
    struct pollfd p = {.fd = fd, .events = want};
    int rc;
    do
        rc = poll(&p, 1, 0);
    while (rc == -1 && errno == EINTR);
    return rc > 0; /* POLLERR/POLLHUP count: libpq then finds out what happened */
}

static void io_cb(struct tg_io *io, unsigned events);
static void send_head(struct tg_cpg__sess *s);

static void drop(struct tg_cpg__sess *s)
{
    tg_io_stop(s->loop, &s->io);
    if (s->conn)
        PQfinish(s->conn);
    s->conn = NULL;
    s->state = TG_CPG_DOWN;
    s->flushing = false;
    tg_cpg_result_free(s->acc);
    s->acc = NULL;
    s->err[0] = '\0';
}

static void conn_error(struct tg_cpg__sess *s, char *dst, size_t cap)
{
    tg_cpg__clean_msg(dst, cap, s->conn ? PQerrorMessage(s->conn) : "out of memory",
                      s->params->secret);
    if (!dst[0])
        snprintf(dst, cap, "connection lost");
}

/* Runs the callback of `q` (already unlinked) with nothing of the session on the stack
 * that the callback could invalidate, except the session itself, which callbacks never
 * free. */
static void finish(struct tg_cpg__sess *s, struct tg_cpg__query *q, const struct tg_cpg_result *res,
                   const char *why)
{
    bool was = s->dispatching;
    s->dispatching = true;
    q->done(q->arg, res, why);
    s->dispatching = was;
}

static struct tg_cpg__query *pop(struct tg_cpg__sess *s)
{
    struct tg_cpg__query *q = s->head;
    if (q) {
        s->head = q->next;
        if (!s->head)
            s->tail = NULL;
        q->next = NULL;
    }
    return q;
}

void tg_cpg__sess_fail_all(struct tg_cpg__sess *s, const char *why)
{
    drop(s);
    struct tg_cpg__query *q;
    while ((q = pop(s)))
        finish(s, q, NULL, why);
}

/* The connection failed: every query queued fails with the reason (the next submit
 * connects again; a collector retries at its next interval, an admin call answers). */
static void fail(struct tg_cpg__sess *s, const char *why)
{
    s->errors++;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", why);
    tg_cpg__sess_fail_all(s, msg);
}

static void track_socket(struct tg_cpg__sess *s)
{
    int fd = PQsocket(s->conn);
    if (s->io.active && s->io.fd == fd)
        return;
    tg_io_stop(s->loop, &s->io);
    if (fd >= 0) {
        int rc = tg_io_start(s->loop, &s->io, fd, io_cb, s);
        if (rc != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "cannot watch the socket: %s", strerror(-rc));
            fail(s, msg);
        }
    }
}

static void connect_step(struct tg_cpg__sess *s)
{
    while (s->state == TG_CPG_CONNECTING && ready_now(PQsocket(s->conn), s->want)) {
        PostgresPollingStatusType st = PQconnectPoll(s->conn);
        if (st == PGRES_POLLING_FAILED) {
            char msg[256];
            conn_error(s, msg, sizeof msg);
            fail(s, msg);
            return;
        }
        track_socket(s);
        if (s->state != TG_CPG_CONNECTING)
            return;
        if (st == PGRES_POLLING_OK) {
            s->state = TG_CPG_IDLE;
            s->connects++;
            snprintf(s->server, sizeof s->server, "%s:%s", PQhost(s->conn) ? PQhost(s->conn) : "",
                     PQport(s->conn) ? PQport(s->conn) : "");
            send_head(s);
            return;
        }
        s->want = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    }
}

static void start_connect(struct tg_cpg__sess *s)
{
    s->conn = PQconnectStartParams(s->params->kw, s->params->val, 1);
    if (!s->conn) {
        fail(s, "out of memory");
        return;
    }
    if (PQstatus(s->conn) == CONNECTION_BAD) {
        char msg[256];
        conn_error(s, msg, sizeof msg);
        fail(s, msg);
        return;
    }
    s->state = TG_CPG_CONNECTING;
    s->want = POLLOUT; /* libpq's rule: act as if PQconnectPoll had asked for writing */
    track_socket(s);
    if (s->state == TG_CPG_CONNECTING)
        connect_step(s);
}

static void query_done(struct tg_cpg__sess *s)
{
    struct tg_cpg__query *q = pop(s);
    struct tg_cpg_result *res = s->acc;
    char why[256];
    snprintf(why, sizeof why, "%s", s->err);
    s->acc = NULL;
    s->err[0] = '\0';
    s->state = TG_CPG_IDLE;
    if (!why[0] && !res)
        snprintf(why, sizeof why, "out of memory");
    if (why[0])
        s->errors++;
    finish(s, q, why[0] ? NULL : res, why[0] ? why : NULL);
    tg_cpg_result_free(res);
}

static void take_result(struct tg_cpg__sess *s, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        tg_cpg_result_free(s->acc);
        s->acc = tg_cpg__result_from(r);
    } else if (!s->err[0]) {
        const char *m = PQresultErrorMessage(r);
        tg_cpg__clean_msg(s->err, sizeof s->err, m && *m ? m : PQresStatus(st), s->params->secret);
        /* "ERROR:  relation ..." reads better without the severity. */
        if (strncmp(s->err, "ERROR:  ", 8) == 0)
            memmove(s->err, s->err + 8, strlen(s->err + 8) + 1);
    }
    PQclear(r);
}

/* Reads what the server sent until the query is complete or nothing more is there. */
static void read_step(struct tg_cpg__sess *s)
{
    for (;;) {
        if (!PQconsumeInput(s->conn)) {
            char msg[256];
            conn_error(s, msg, sizeof msg);
            fail(s, msg);
            return;
        }
        while (!PQisBusy(s->conn)) {
            PGresult *r = PQgetResult(s->conn);
            if (!r) {
                query_done(s);
                return;
            }
            take_result(s, r);
        }
        if (!ready_now(PQsocket(s->conn), POLLIN))
            return;
    }
}

static void busy_step(struct tg_cpg__sess *s)
{
    if (s->flushing) {
        int rc = PQflush(s->conn);
        if (rc == -1) {
            char msg[256];
            conn_error(s, msg, sizeof msg);
            fail(s, msg);
            return;
        }
        s->flushing = rc == 1;
    }
    read_step(s);
}

static void send_head(struct tg_cpg__sess *s)
{
    while (s->state == TG_CPG_IDLE && s->head && !s->dispatching) {
        struct tg_cpg__query *q = s->head;
        if (!PQsendQueryParams(s->conn, q->sql, q->nparams, NULL, q->params, NULL, NULL, 0)) {
            char msg[256];
            conn_error(s, msg, sizeof msg);
            fail(s, msg);
            return;
        }
        s->state = TG_CPG_BUSY;
        s->flushing = true;
        busy_step(s); /* usually sends it all; the answer comes with a later edge */
    }
}

/* An idle connection hears from the server only when it goes away (a restart, an
 * administrator's pg_terminate_backend): drop it now rather than at the next query. */
static void idle_step(struct tg_cpg__sess *s, unsigned events)
{
    if (!PQconsumeInput(s->conn) || (events & TG_IO_ERR)) {
        drop(s);
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(s->conn)))
        PQfreemem(n);
}

static void io_cb(struct tg_io *io, unsigned events)
{
    struct tg_cpg__sess *s = io->data;
    switch (s->state) {
    case TG_CPG_CONNECTING:
        connect_step(s);
        break;
    case TG_CPG_BUSY:
        busy_step(s);
        break;
    case TG_CPG_IDLE:
        idle_step(s, events);
        break;
    case TG_CPG_DOWN:
        break;
    }
    if (s->state == TG_CPG_IDLE)
        send_head(s);
}

void tg_cpg__sess_init(struct tg_cpg__sess *s, struct tg_loop *loop, const struct tg_cpg__params *p)
{
    *s = (struct tg_cpg__sess){.loop = loop, .params = p};
}

void tg_cpg__sess_deinit(struct tg_cpg__sess *s)
{
    drop(s);
    s->head = s->tail = NULL;
}

void tg_cpg__sess_submit(struct tg_cpg__sess *s, struct tg_cpg__query *q)
{
    q->next = NULL;
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    if (s->state == TG_CPG_DOWN)
        start_connect(s);
    else if (s->state == TG_CPG_IDLE)
        send_head(s);
}

void tg_cpg__sess_remove(struct tg_cpg__sess *s, struct tg_cpg__query *q)
{
    struct tg_cpg__query **pp = &s->head, *prev = NULL;
    while (*pp && *pp != q) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    bool on_wire = q == s->head && s->state == TG_CPG_BUSY;
    *pp = q->next;
    if (s->tail == q)
        s->tail = prev;
    q->next = NULL;
    if (on_wire || (s->state == TG_CPG_CONNECTING && !s->head)) {
        /* A connection still being made for nobody is dropped too: it is what a
         * deadline gives up on when the server hangs before it even answers. */
        drop(s);
        if (s->head)
            start_connect(s);
    }
}
