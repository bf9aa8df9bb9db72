/* SPDX-License-Identifier: MIT */
/* The process provider: local instances of autoscale.command, one port each. An
 * instance goes STARTING (forked, probed every turn: a TCP connect, or a GET of
 * ready_path answered 2xx) -> READY (in the pool) -> DRAINING (out of the pool, its
 * requests in flight finishing) -> STOPPING (SIGTERM to its process group, SIGKILL after
 * stop_grace) -> reaped. Exits are found by waitpid(WNOHANG) on each turn rather than a
 * SIGCHLD handler: the control thread already turns every 100 ms, and no signal state
 * is shared with the rest of the process. Only pids this file forked are ever signalled,
 * and never after they were reaped (a reaped pid may belong to someone else). Each child
 * leads its own process group, so a command run through the shell is stopped whole, and
 * asks for SIGTERM when the gateway dies (PR_SET_PDEATHSIG), so a crash leaves no
 * instance behind. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "scale/scale_int.h"

/* A server just out of the pool may still be picked by a worker that has not yet moved
 * to the new snapshot; its in-flight count is trusted only after this long. */
#define DRAIN_SETTLE_US 500000
#define MAX_INSTANCES TG_CFG_MAX_SERVERS

enum state {
    ST_STARTING = 0,
    ST_READY,
    ST_DRAINING,
    ST_STOPPING,
};

enum probe_phase {
    PR_IDLE = 0,
    PR_CONNECTING,
    PR_READING,
};

struct inst {
    pid_t pid;
    uint16_t port;
    enum state state;
    int64_t since_us; /* entered the state */
    int64_t killed_us; /* when SIGTERM was sent */
    bool sigkilled;
    struct tg_addr addr;
    int fd; /* readiness probe, -1 = none */
    enum probe_phase phase;
    char buf[64];
    size_t got;
};

struct tg_scale_procs {
    struct inst *v;
    size_t n;
    uint32_t next_port; /* offset into the range where the next search starts */
    uint64_t died;
    tg_scale_event_fn *ev;
    void *ctx;
};

int tg_scale__procs_new(tg_scale_event_fn *ev, void *ctx, struct tg_scale_procs **out)
{
    struct tg_scale_procs *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->v = calloc(MAX_INSTANCES, sizeof *p->v);
    if (!p->v) {
        free(p);
        return -ENOMEM;
    }
    p->ev = ev;
    p->ctx = ctx;
    *out = p;
    return 0;
}

static void probe_close(struct inst *in)
{
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    in->phase = PR_IDLE;
    in->got = 0;
}

static void drop(struct tg_scale_procs *p, size_t i)
{
    probe_close(&p->v[i]);
    memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof *p->v);
    p->n--;
}

static void terminate(struct inst *in, int64_t now_us)
{
    kill(-in->pid, SIGTERM);
    in->state = ST_STOPPING;
    in->killed_us = now_us;
}

void tg_scale__procs_free(struct tg_scale_procs *p, int64_t grace_us)
{
    if (!p)
        return;
    int64_t now = tg_clock_mono_us();
    for (size_t i = 0; i < p->n; i++)
        kill(-p->v[i].pid, SIGTERM);
    int64_t deadline = now + grace_us;
    /* Waited here, at exit: the loop no longer runs. */
    while (p->n) {
        int st;
        pid_t r = waitpid(p->v[p->n - 1].pid, &st, WNOHANG);
        if (r == p->v[p->n - 1].pid || (r == -1 && errno == ECHILD)) {
            tg_log(TG_LOG_INFO, "scale", "instance-stopped addr=%s pid=%d",
                   p->v[p->n - 1].addr.text, (int)p->v[p->n - 1].pid);
            drop(p, p->n - 1);
            continue;
        }
        if (tg_clock_mono_us() >= deadline) {
            kill(-p->v[p->n - 1].pid, SIGKILL);
            waitpid(p->v[p->n - 1].pid, &st, 0);
            drop(p, p->n - 1);
            continue;
        }
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    free(p->v);
    free(p);
}

uint32_t tg_scale__procs_count(const struct tg_scale_procs *p)
{
    uint32_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += p->v[i].state == ST_STARTING || p->v[i].state == ST_READY;
    return n;
}

size_t tg_scale__procs_ready(const struct tg_scale_procs *p, struct tg_addr *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n && k < cap; i++) {
        if (p->v[i].state == ST_READY)
            out[k++] = p->v[i].addr;
    }
    return k;
}

uint64_t tg_scale__procs_died(const struct tg_scale_procs *p)
{
    return p->died;
}

static bool port_taken(const struct tg_scale_procs *p, uint16_t port)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].port == port)
            return true;
    }
    return false;
}

/* "{port}" replaced by `port` everywhere in `cmd`. */
static int expand(const char *cmd, const char *key, const char *value, char *out, size_t cap)
{
    size_t o = 0, kl = strlen(key), vl = strlen(value);
    for (const char *c = cmd; *c;) {
        if (strncmp(c, key, kl) == 0) {
            if (o + vl >= cap)
                return -1;
            memcpy(out + o, value, vl);
            o += vl;
            c += kl;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *c++;
        }
    }
    out[o] = '\0';
    return 0;
}

/* fork + exec of /bin/sh -c `cmd`. Between the two only async-signal-safe calls: the
 * process has other threads, whose locks the child's copy may hold. */
static pid_t spawn(const char *cmd)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* The gateway blocks SIGTERM and friends for its signalfd; the child must not. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int fd = open("/dev/null", O_RDONLY);
        if (fd >= 0)
            dup2(fd, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid > 0)
        setpgid(pid, pid); /* also here: no race with a kill before the child ran */
    errno = err;
    return pid;
}

int tg_scale__procs_start(struct tg_scale_procs *p, const struct tg_cfg_autoscale *a,
                          int64_t now_us, struct tg_errbuf *eb)
{
    uint32_t span = a->port_hi - a->port_lo + 1;
    if (p->n >= MAX_INSTANCES || !a->port_lo)
        return tg_errbuf_set(eb, TG_ELIMIT, "no room for another instance");
    uint16_t port = 0;
    for (uint32_t k = 0; k < span && !port; k++) {
        uint16_t c = (uint16_t)(a->port_lo + (p->next_port + k) % span);
        if (!port_taken(p, c)) {
            port = c;
            /* The next start tries the port after it: a port some other program holds
             * costs one failed start, not one per check. */
            p->next_port = (p->next_port + k + 1) % span;
        }
    }
    if (!port)
        return tg_errbuf_set(eb, TG_ELIMIT, "autoscale.ports: every port of %u-%u is in use",
                             a->port_lo, a->port_hi);
    char ps[8], cmd[sizeof a->command + 64], text[32];
    snprintf(ps, sizeof ps, "%u", port);
    if (expand(a->command, "{port}", ps, cmd, sizeof cmd) != 0)
        return tg_errbuf_set(eb, TG_ELIMIT, "autoscale.command: too long once expanded");
    struct inst in = {.port = port, .state = ST_STARTING, .since_us = now_us, .fd = -1};
    snprintf(text, sizeof text, "127.0.0.1:%u", port);
    if (tg_addr_parse(text, &in.addr, eb) != 0)
        return TG_EPARSE;
    in.pid = spawn(cmd);
    if (in.pid == -1) {
        int err = errno;
        return tg_errbuf_set(eb, -err, "fork: %s", strerror(err));
    }
    p->v[p->n++] = in;
    tg_log(TG_LOG_INFO, "scale", "instance-started addr=%s pid=%d", in.addr.text, (int)in.pid);
    return 0;
}

bool tg_scale__procs_stop_one(struct tg_scale_procs *p, int64_t now_us)
{
    for (int want = ST_STARTING; want <= ST_READY; want++) {
        for (size_t i = p->n; i-- > 0;) {
            struct inst *in = &p->v[i];
            if ((int)in->state != want)
                continue;
            probe_close(in);
            if (in->state == ST_STARTING) {
                terminate(in, now_us);
            } else {
                in->state = ST_DRAINING;
                in->since_us = now_us;
            }
            return true;
        }
    }
    return false;
}

/* One step of the readiness probe: 1 ready, 0 not yet. Never blocks. */
static int probe(struct inst *in, const struct tg_cfg_autoscale *a)
{
    if (in->phase == PR_IDLE) {
        in->fd = socket(in->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (in->fd == -1)
            return 0;
        if (connect(in->fd, (const struct sockaddr *)&in->addr.ss, in->addr.len) == -1) {
            if (errno != EINPROGRESS) {
                probe_close(in);
                return 0;
            }
            in->phase = PR_CONNECTING;
            return 0;
        }
        in->phase = PR_CONNECTING;
    }
    if (in->phase == PR_CONNECTING) {
        struct pollfd pf = {.fd = in->fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&pf, 1, 0) != 1)
            return 0;
        if (getsockopt(in->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err) {
            probe_close(in);
            return 0;
        }
        if (!a->ready_path[0]) {
            probe_close(in);
            return 1;
        }
        char req[400];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                         a->ready_path, in->addr.text);
        if (send(in->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            probe_close(in);
            return 0;
        }
        in->phase = PR_READING;
    }
    ssize_t r = recv(in->fd, in->buf + in->got, sizeof in->buf - 1 - in->got, 0);
    if (r == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r > 0)
        in->got += (size_t)r;
    in->buf[in->got] = '\0';
    unsigned status = 0;
    if (sscanf(in->buf, "HTTP/1.%*1[01] %3u", &status) == 1 && in->got >= 12) {
        probe_close(in);
        return status >= 200 && status < 300;
    }
    if (r <= 0 || in->got == sizeof in->buf - 1)
        probe_close(in);
    return 0;
}

static void event(struct tg_scale_procs *p, const char *what, const struct inst *in,
                  const char *detail)
{
    p->ev(p->ctx, what, in->addr.text, (int)in->pid, detail);
}

/* Reaps instance `i` if it exited. True when it did (it is gone from the list). */
static bool reaped(struct tg_scale_procs *p, size_t i, bool *changed)
{
    struct inst *in = &p->v[i];
    int st;
    pid_t r = waitpid(in->pid, &st, WNOHANG);
    if (r != in->pid && !(r == -1 && errno == ECHILD))
        return false;
    char why[48];
    if (r == in->pid && WIFSIGNALED(st))
        snprintf(why, sizeof why, "signal %d", WTERMSIG(st));
    else if (r == in->pid)
        snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(st));
    else
        snprintf(why, sizeof why, "gone");
    if (in->state == ST_STOPPING) {
        event(p, "stopped", in, why);
    } else {
        /* Nobody asked it to go: out of the pool now, replaced at the next check. */
        if (in->state == ST_READY)
            *changed = true;
        p->died++;
        event(p, in->state == ST_STARTING ? "start-failed" : "died", in, why);
    }
    drop(p, i);
    return true;
}

bool tg_scale__procs_tick(struct tg_scale_procs *p, const struct tg_cfg_autoscale *a,
                          struct tg_gateway *gw, const char *upstream, int64_t now_us)
{
    bool changed = false;
    for (size_t i = p->n; i-- > 0;) {
        if (reaped(p, i, &changed))
            continue;
        struct inst *in = &p->v[i];
        switch (in->state) {
        case ST_STARTING:
            if (probe(in, a)) {
                in->state = ST_READY;
                in->since_us = now_us;
                changed = true;
                event(p, "ready", in, "");
            } else if (now_us - in->since_us > a->ready_timeout_us) {
                probe_close(in);
                p->died++;
                event(p, "start-failed", in, "not ready within autoscale.ready_timeout");
                terminate(in, now_us);
            }
            break;
        case ST_READY:
            break;
        case ST_DRAINING: {
            int64_t age = now_us - in->since_us;
            int busy = tg_gateway_server_inflight(gw, upstream, in->addr.text);
            if (age >= DRAIN_SETTLE_US && (busy == 0 || age >= a->drain_timeout_us)) {
                char d[48];
                snprintf(d, sizeof d, busy ? "drain timeout, %d in flight" : "in flight 0",
                         busy);
                event(p, "drained", in, d);
                terminate(in, now_us);
            }
            break;
        }
        case ST_STOPPING:
            if (!in->sigkilled && now_us - in->killed_us >= a->stop_grace_us) {
                kill(-in->pid, SIGKILL);
                in->sigkilled = true;
                event(p, "killed", in, "still running after autoscale.stop_grace");
            }
            break;
        }
    }
    return changed;
}
