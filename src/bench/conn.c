/* SPDX-License-Identifier: MIT */
/* The load generator's connection state machine (see conn_int.h). Only this file reads
 * or writes the sockets. Every finished request, answered or failed, is recorded here
 * exactly once, in finish(). */
#include "bench/conn_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/worker_int.h"
#include "core/clock.h"

enum parse_result { PARSE_MORE = 0, PARSE_DONE, PARSE_BAD };

static void on_io(struct tg_io *io, unsigned events);

static void reap(struct tg_defer *d)
{
    struct tg_bench_worker *w = d->data;
    while (w->zombies) {
        struct tg_bench_conn *c = w->zombies;
        w->zombies = c->next;
        c->state = TG_BENCH_CS_FREE;
        c->next = w->free_list;
        w->free_list = c;
    }
}

void tg_bench__conn_close(struct tg_bench_conn *c)
{
    struct tg_bench_worker *w = c->w;
    if (c->state == TG_BENCH_CS_FREE || c->state == TG_BENCH_CS_ZOMBIE)
        return;
    if (c->req) {
        w->nbusy--;
        if (c->retire)
            w->nretire--;
    }
    tg_io_stop(w->loop, &c->io);
    close(c->io.fd);
    tg_buf_release(&c->in, &w->pool);
    c->req = NULL;
    c->retire = false;
    w->nopen--;
    c->state = TG_BENCH_CS_ZOMBIE;
    c->next = w->zombies;
    w->zombies = c;
    tg_loop_defer(w->loop, &w->reap, reap, w);
}

int tg_bench__conn_open(struct tg_bench_worker *w, struct tg_bench_conn *c)
{
    const struct tg_bench_plan *p = w->plan;
    int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    int one = 1;
    /* Requests are written whole; Nagle would only hold back a body's tail. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&p->addr, p->addrlen) == -1 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    int rc = tg_io_start(w->loop, &c->io, fd, on_io, c);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *c = (struct tg_bench_conn){.io = c->io, .w = w, .state = TG_BENCH_CS_CONNECTING};
    w->nopen++;
    unsigned s = tg_hist_phaser_enter(&w->ph);
    w->side[s]->connects++;
    tg_hist_phaser_exit(&w->ph, s);
    return 0;
}

/* Records the request in flight on `c` as answered (`kind` < 0) or failed with `kind`. */
static void finish(struct tg_bench_conn *c, int kind, int64_t now)
{
    struct tg_bench_worker *w = c->w;
    unsigned s = tg_hist_phaser_enter(&w->ph);
    struct tg_bench_stats *st = w->side[s];
    st->requests++;
    st->bytes_out += c->sent;
    st->bytes_in += c->rx_bytes;
    st->late += c->late;
    if (kind < 0) {
        st->responses++;
        st->status[c->status >= 100 && c->status < TG_BENCH_STATUS_MAX ? c->status : 0]++;
        if (c->status >= 400)
            st->errors[TG_BENCH_E_HTTP]++;
        /* Corrected: from the intended time, or from the actual start if the pacer sent it
         * early. Uncorrected (open model only): from the actual start. */
        int64_t from = c->intended_us < c->start_us ? c->intended_us : c->start_us;
        tg_hist_record(&st->lat, now - from);
        if (w->plan->model == TG_BENCH_OPEN)
            tg_hist_record(&st->lat_unc, now - c->start_us);
    } else {
        st->errors[kind]++;
    }
    tg_hist_phaser_exit(&w->ph, s);
}

void tg_bench__conn_fail(struct tg_bench_conn *c, enum tg_bench_err kind, int64_t now_us)
{
    bool connecting = c->state == TG_BENCH_CS_CONNECTING;
    if (c->req)
        finish(c, (int)kind, now_us);
    struct tg_bench_worker *w = c->w;
    tg_bench__conn_close(c);
    tg_bench__worker_on_closed(w, now_us, connecting);
}

static void send_request(struct tg_bench_conn *c)
{
    const struct tg_bench_req *r = c->req;
    while (c->sent < r->len) {
        ssize_t n = send(c->io.fd, r->bytes + c->sent, r->len - c->sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (uint32_t)n;
            /* A partial send means the socket buffer is full: the next WRITE edge says
             * when to go on, so trying again now would only earn an EAGAIN. */
            if (c->sent < r->len) {
                c->state = TG_BENCH_CS_SENDING;
                return;
            }
            break;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN) {
            c->state = TG_BENCH_CS_SENDING;
            return;
        }
        tg_bench__conn_fail(c, TG_BENCH_E_RESET, tg_clock_mono_us());
        return;
    }
    c->state = TG_BENCH_CS_WAITING;
}

void tg_bench__conn_start(struct tg_bench_conn *c, const struct tg_bench_req *r,
                          int64_t intended_us, int64_t now_us)
{
    struct tg_bench_worker *w = c->w;
    c->req = r;
    c->sent = 0;
    c->rx_bytes = 0;
    c->intended_us = intended_us;
    c->start_us = now_us;
    c->late = now_us - intended_us > TG_BENCH_LATE_US;
    c->head_done = false;
    w->nbusy++;
    if (c->state == TG_BENCH_CS_IDLE)
        send_request(c);
}

/* Parses what the buffer holds: the head (skipping 1xx interim responses), then the body,
 * consuming body bytes as they come so the buffer only ever holds a partial head. */
static enum parse_result parse(struct tg_bench_conn *c)
{
    struct tg_bench_worker *w = c->w;
    struct tg_buf *b = &c->in;
    for (;;) {
        if (!c->head_done) {
            static const struct tg_http_limits lim = {.max_head_bytes = TG_BENCH_BLOCK_BYTES};
            int r = tg_http1_parse_response(b->data + b->head, tg_buf_len(b), &lim, c->req->method,
                                            &w->msg, NULL);
            if (r == TG_AGAIN)
                return PARSE_MORE;
            if (r < 0)
                return PARSE_BAD;
            tg_buf_consume(b, (uint32_t)r);
            c->status = w->msg.status;
            if (c->status < 200 && c->status != 101)
                continue;
            c->head_done = true;
            c->keepalive = (w->msg.flags & TG_HTTP_F_KEEPALIVE) != 0;
            c->body = w->msg.body;
            c->body_left = w->msg.content_length;
            c->chunked = (struct tg_http_chunked){0};
        }
        switch (c->body) {
        case TG_HTTP_BODY_NONE:
            return PARSE_DONE;
        case TG_HTTP_BODY_LENGTH: {
            uint64_t take = tg_buf_len(b) < c->body_left ? tg_buf_len(b) : c->body_left;
            tg_buf_consume(b, (uint32_t)take);
            c->body_left -= take;
            return c->body_left == 0 ? PARSE_DONE : PARSE_MORE;
        }
        case TG_HTTP_BODY_CHUNKED: {
            bool done = false;
            long r = tg_http1_chunked_scan(&c->chunked, b->data + b->head, tg_buf_len(b), &done);
            if (r < 0)
                return PARSE_BAD;
            tg_buf_consume(b, (uint32_t)r);
            return done ? PARSE_DONE : PARSE_MORE;
        }
        case TG_HTTP_BODY_EOF:
            tg_buf_consume(b, tg_buf_len(b));
            return PARSE_MORE;
        }
        return PARSE_BAD;
    }
}

static void complete(struct tg_bench_conn *c, int64_t now)
{
    struct tg_bench_worker *w = c->w;
    finish(c, -1, now);
    /* A server may answer before it read the whole request (e.g. 413 to a big body): the
     * rest was never sent, so the connection is out of step and cannot be reused. */
    bool reusable = w->plan->keepalive && c->keepalive && !c->peer_closed && !c->retire &&
                    c->sent == c->req->len;
    tg_buf_release(&c->in, &w->pool);
    if (!reusable) {
        tg_bench__conn_close(c);
        tg_bench__worker_on_closed(w, now, false);
        return;
    }
    c->req = NULL;
    w->nbusy--;
    c->state = TG_BENCH_CS_IDLE;
    tg_bench__worker_on_reusable(w, c, now);
}

static void read_response(struct tg_bench_conn *c, bool hup)
{
    struct tg_bench_worker *w = c->w;
    struct tg_buf *b = &c->in;
    for (;;) {
        if (!tg_buf_reserve(b, &w->pool)) {
            tg_bench__conn_fail(c, TG_BENCH_E_RESET, tg_clock_mono_us());
            return;
        }
        if (tg_buf_space(b) == 0)
            tg_buf_compact(b);
        uint32_t space = tg_buf_space(b);
        if (space == 0) { /* a head larger than the whole block */
            tg_bench__conn_fail(c, TG_BENCH_E_BAD_RESPONSE, tg_clock_mono_us());
            return;
        }
        ssize_t n = recv(c->io.fd, b->data + b->tail, space, 0);
        if (n > 0) {
            b->tail += (uint32_t)n;
            c->rx_bytes += (uint64_t)n;
            enum parse_result r = parse(c);
            if (r == PARSE_BAD || (r == PARSE_DONE && tg_buf_len(b) != 0)) {
                /* Bytes after a complete response cannot be ours: no pipelining here. */
                tg_bench__conn_fail(c, TG_BENCH_E_BAD_RESPONSE, tg_clock_mono_us());
                return;
            }
            if (r == PARSE_DONE) {
                complete(c, tg_clock_mono_us());
                return;
            }
            /* A short read drained the socket; a later byte raises a new edge. With the
             * peer's FIN already reported, no edge will come: read on to EOF. */
            if ((uint32_t)n < space && !hup) {
                tg_buf_release_if_empty(b, &w->pool);
                return;
            }
            continue;
        }
        if (n == 0) {
            c->peer_closed = true;
            if (c->head_done && c->body == TG_HTTP_BODY_EOF)
                complete(c, tg_clock_mono_us());
            else
                tg_bench__conn_fail(c, TG_BENCH_E_RESET, tg_clock_mono_us());
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            tg_buf_release_if_empty(b, &w->pool);
            return;
        }
        tg_bench__conn_fail(c, TG_BENCH_E_RESET, tg_clock_mono_us());
        return;
    }
}

static void on_io(struct tg_io *io, unsigned events)
{
    struct tg_bench_conn *c = io->data;
    bool hup = (events & TG_IO_HUP) != 0;
    if (hup && c->req)
        c->peer_closed = true; /* whatever it still answers, the connection is done */
    switch (c->state) {
    case TG_BENCH_CS_CONNECTING:
        if (events & (TG_IO_ERR | TG_IO_HUP)) {
            tg_bench__conn_fail(c, TG_BENCH_E_CONNECT, tg_clock_mono_us());
            return;
        }
        if (!(events & TG_IO_WRITE))
            return;
        c->state = TG_BENCH_CS_IDLE;
        if (!c->req) {
            tg_bench__worker_on_reusable(c->w, c, tg_clock_mono_us());
            return;
        }
        send_request(c);
        return;
    case TG_BENCH_CS_SENDING:
        if (events & (TG_IO_WRITE | TG_IO_ERR))
            send_request(c);
        /* A server may answer (e.g. 413) before reading the whole body. */
        if (c->state == TG_BENCH_CS_SENDING && (events & TG_IO_READ))
            read_response(c, hup);
        return;
    case TG_BENCH_CS_WAITING:
        if (events & TG_IO_READ)
            read_response(c, hup);
        return;
    case TG_BENCH_CS_IDLE:
        /* The server closed an idle keep-alive connection (or sent bytes nobody asked
         * for): not an error, just a connection to replace when needed. */
        if (events & (TG_IO_READ | TG_IO_HUP | TG_IO_ERR)) {
            struct tg_bench_worker *w = c->w;
            if (w->idle_list == c)
                w->idle_list = c->next;
            else
                for (struct tg_bench_conn *p = w->idle_list; p; p = p->next)
                    if (p->next == c) {
                        p->next = c->next;
                        break;
                    }
            tg_bench__conn_close(c);
            tg_bench__worker_on_closed(w, tg_clock_mono_us(), false);
        }
        return;
    case TG_BENCH_CS_FREE:
    case TG_BENCH_CS_ZOMBIE:
        return;
    }
}
