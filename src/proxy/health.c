/* SPDX-License-Identifier: MIT */
/* Active health checks, run on the control thread's loop: every `interval` each server
 * of an upstream with `health_check` gets `GET <path>` on a fresh connection; a 2xx or
 * 3xx status within `timeout` is a success. `rise` successes in a row mark a server up,
 * `fall` failures mark it down (HAProxy's rise/fall). Workers read the verdict through
 * the server's `healthy` atomic. Only the status line is parsed: the rest of the reply
 * is not our business. On reload the probe set is rebuilt for the new snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/proxy_int.h"

struct probe {
    struct tg_health *h;
    struct tg_server_rt *rt;
    const struct tg_cfg_upstream *ucfg;
    struct tg_timer timer;
    struct tg_io io;
    int fd;
    bool running;
    int64_t started_us;
    uint32_t sent;
    uint32_t len;
    char req[512];
    uint32_t req_len;
    char buf[256];
};

struct tg_health {
    struct tg_gateway *gw;
    struct tg_loop *loop;
    struct tg_snapshot *snap;
    struct probe *probes;
    uint32_t nprobes;
};

static void probe_timer(struct tg_timer *t);

/* A server the active checks call healthy is not kept out by passive ejection: the
 * ejection guessed from failed requests that the server was gone, and a passing check is
 * better evidence that it is back (Envoy's successful_active_health_check_uneject_host).
 * Without this a restarted server waits out the whole eject_time. Either way, a server
 * that comes back (from down, or from an ejection) starts with a slow start. */
static void readmit(struct probe *p, bool came_up)
{
    int64_t now = tg_loop_now_us(p->h->loop);
    bool ejected = !tg_outlier_usable(p->rt->outlier, p->rt->idx, now);
    if (!ejected && !came_up)
        return;
    tg_outlier_returned(p->rt->outlier, p->rt->idx, now);
    if (ejected)
        tg_log(TG_LOG_INFO, "proxy",
               "server-readmitted upstream=%s server=%s reason=\"health check\"", p->ucfg->name,
               p->rt->cfg->addr.text);
}

static void probe_end(struct probe *p, bool ok, const char *why)
{
    struct tg_loop *loop = p->h->loop;
    if (p->fd != -1) {
        tg_io_stop(loop, &p->io);
        close(p->fd);
        p->fd = -1;
    }
    p->running = false;
    p->rt->hc_last_wall_us = tg_clock_wall_us();
    p->rt->hc_last_latency_us = tg_loop_now_us(loop) - p->started_us;
    p->rt->hc_last_error = ok ? NULL : why;
    const struct tg_cfg_health *hc = &p->ucfg->health;
    int was = atomic_load(&p->rt->healthy);
    if (ok) {
        p->rt->hc_fail_run = 0;
        bool came_up = false;
        if (++p->rt->hc_ok_run >= hc->rise && !was) {
            came_up = true;
            atomic_store(&p->rt->healthy, 1);
            tg_log(TG_LOG_INFO, "proxy", "server-up upstream=%s server=%s", p->ucfg->name,
                   p->rt->cfg->addr.text);
        }
        if (p->rt->hc_ok_run >= hc->rise)
            readmit(p, came_up);
    } else {
        p->rt->hc_ok_run = 0;
        if (++p->rt->hc_fail_run >= hc->fall && was) {
            atomic_store(&p->rt->healthy, 0);
            tg_log(TG_LOG_WARN, "proxy", "server-down upstream=%s server=%s reason=\"%s\"",
                   p->ucfg->name, p->rt->cfg->addr.text, why);
        }
    }
    tg_timer_start(loop, &p->timer, tg_loop_now_us(loop) + hc->interval_us, probe_timer, p);
}

/* Returns 1 for a good status line, 0 for a bad one, -1 if incomplete. */
static int check_status(const char *b, uint32_t n)
{
    const char *eol = memchr(b, '\n', n);
    if (!eol)
        return n >= sizeof((struct probe *)0)->buf - 1 ? 0 : -1;
    if (n < 12 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ')
        return 0;
    return b[9] == '2' || b[9] == '3';
}

static void probe_io(struct tg_io *io, unsigned events)
{
    struct probe *p = io->data;
    if (events & TG_IO_ERR) {
        probe_end(p, false, "connect failed");
        return;
    }
    if ((events & TG_IO_WRITE) && p->sent < p->req_len) {
        ssize_t n = send(p->fd, p->req + p->sent, p->req_len - p->sent, MSG_NOSIGNAL);
        if (n == -1 && errno != EAGAIN && errno != EINTR) {
            probe_end(p, false, "send failed");
            return;
        }
        if (n > 0)
            p->sent += (uint32_t)n;
    }
    if (!(events & TG_IO_READ))
        return;
    for (;;) {
        ssize_t n = recv(p->fd, p->buf + p->len, sizeof p->buf - 1 - p->len, 0);
        if (n > 0) {
            p->len += (uint32_t)n;
            int st = check_status(p->buf, p->len);
            if (st >= 0) {
                probe_end(p, st == 1, "bad status");
                return;
            }
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR))
            return;
        probe_end(p, false, n == 0 ? "closed before status" : "read failed");
        return;
    }
}

static void probe_start(struct probe *p)
{
    struct tg_loop *loop = p->h->loop;
    const struct tg_addr *a = &p->rt->cfg->addr;
    p->len = p->sent = 0;
    p->started_us = tg_loop_now_us(loop);
    p->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd == -1) {
        probe_end(p, false, "socket failed");
        return;
    }
    if ((connect(p->fd, (const struct sockaddr *)&a->ss, a->len) == -1 && errno != EINPROGRESS) ||
        tg_io_start(loop, &p->io, p->fd, probe_io, p) != 0) {
        probe_end(p, false, "connect failed");
        return;
    }
    p->running = true;
    tg_timer_start(loop, &p->timer, tg_loop_now_us(loop) + p->ucfg->health.timeout_us, probe_timer,
                   p);
}

static void probe_timer(struct tg_timer *t)
{
    struct probe *p = t->data;
    if (p->running)
        probe_end(p, false, "timeout");
    else
        probe_start(p);
}

static void probes_clear(struct tg_health *h)
{
    for (uint32_t i = 0; i < h->nprobes; i++) {
        struct probe *p = &h->probes[i];
        tg_timer_stop(h->loop, &p->timer);
        if (p->fd != -1) {
            tg_io_stop(h->loop, &p->io);
            close(p->fd);
        }
    }
    free(h->probes);
    h->probes = NULL;
    h->nprobes = 0;
    tg__snapshot_unref(h->snap);
    h->snap = NULL;
}

static void probes_build(struct tg_health *h)
{
    struct tg_snapshot *s = atomic_load(&h->gw->snap);
    tg__snapshot_ref(s);
    h->snap = s;
    h->probes = calloc(s->nservers_total ? s->nservers_total : 1, sizeof *h->probes);
    if (!h->probes) {
        tg_log(TG_LOG_ERROR, "proxy", "health-checks-disabled err=ENOMEM");
        return;
    }
    int64_t now = tg_loop_now_us(h->loop);
    for (uint32_t u = 0; u < s->cfg->nupstreams; u++) {
        const struct tg_cfg_upstream *uc = &s->cfg->upstreams[u];
        if (!uc->health.enabled)
            continue;
        for (uint32_t i = 0; i < uc->nservers; i++) {
            struct probe *p = &h->probes[h->nprobes++];
            p->h = h;
            p->rt = &s->ups[u].servers[i];
            p->ucfg = uc;
            p->fd = -1;
            p->req_len = (uint32_t)snprintf(p->req, sizeof p->req,
                                            "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
                                            "tailguard-health\r\nConnection: close\r\n\r\n",
                                            uc->health.path, uc->servers[i].addr.text);
            /* Spread the first probes over the interval so they do not all fire at once. */
            int64_t jitter = uc->health.interval_us * i / (uc->nservers + 1) / 4;
            tg_timer_start(h->loop, &p->timer, now + jitter, probe_timer, p);
        }
    }
}

int tg__health_new(struct tg_gateway *gw, struct tg_loop *loop, struct tg_health **out)
{
    struct tg_health *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    h->gw = gw;
    h->loop = loop;
    probes_build(h);
    *out = h;
    return 0;
}

void tg__health_snapshot_changed(struct tg_health *h)
{
    if (!h)
        return;
    probes_clear(h);
    probes_build(h);
}

void tg__health_free(struct tg_health *h)
{
    if (!h)
        return;
    probes_clear(h);
    free(h);
}
