/* SPDX-License-Identifier: MIT */
/* The control thread; see control.h. Signals arrive through a signalfd on the loop: the
 * mask is set before the workers start, so no thread is ever interrupted by them and the
 * handling is ordinary loop code. A reload reads the file on a thread of its own
 * (reload.h) and publishes the result here; a bad file leaves the running configuration in
 * place. A drain stops accepting, lets in-flight requests finish for up to
 * timeouts.drain of the configuration in force, then stops the loop. Each task has its own
 * timer: the loop's timer heap already orders them, and a task's state stays in one
 * place. */
#include "control/control.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control/collect.h"
#include "control/reload.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/process.h"
#include "proxy/collect.h"
#include "proxy/gateway.h"

/* Drain progress is polled: the workers count their connections with relaxed atomics and
 * have no way to signal "none left". 50 ms keeps the exit prompt at a negligible cost. */
#define DRAIN_POLL_US 50000

struct task {
    struct tg_control *ctl;
    struct task *next;
    const char *name;
    int64_t period_us;
    int64_t due_us;
    tg_control_task_fn *fn;
    void *ctx;
    struct tg_timer timer;
    struct tg_control_task_stats stats;
};

struct tg_control {
    struct tg_loop *loop;
    struct tg_gateway *gw;
    struct tg_control_hooks hooks;
    struct tg_io sigio;
    int sigfd;
    struct tg_timer drain_timer;
    int64_t drain_deadline_us;
    bool draining;
    bool closed;
    struct tg_reload *reload;
    unsigned reload_kept; /* written by the reload thread, read once it has finished */
    struct task *tasks, **tasks_tail;
    struct tg_mcollectors *collectors;
    struct tg_process_info process;
};

/* A setting the reloaded file changes but the process cannot: logged, and counted in
 * the reload's result (/metrics tailguard_config_restart_pending). */
static void on_kept(const char *key, const char *running, const char *wanted, const char *why,
                    void *ctx)
{
    unsigned *n = ctx;
    (*n)++;
    tg_log(TG_LOG_WARN, "control",
           "reload-kept key=%s running=\"%s\" file=\"%s\" reason=\"needs a restart: %s\"", key,
           running, wanted, why);
}

/* On the reload thread. The running configuration cannot change under it: only
 * reload_done, on the control thread, publishes one. */
static int reload_load(void *vctl, struct tg_config **out, struct tg_errbuf *eb)
{
    struct tg_control *ctl = vctl;
    ctl->reload_kept = 0;
    return ctl->hooks.load(ctl->hooks.ctx, tg_gateway_config(ctl->gw), on_kept, &ctl->reload_kept,
                           out, eb);
}

static void reloaded(struct tg_control *ctl, bool ok, unsigned kept)
{
    if (ctl->hooks.reloaded)
        ctl->hooks.reloaded(ctl->hooks.ctx, ok, kept);
}

/* On the control thread: publishes what reload_load built. */
static void reload_done(void *vctl, int rc, struct tg_config *cfg, const struct tg_errbuf *leb)
{
    struct tg_control *ctl = vctl;
    if (rc != 0) {
        char buf[512];
        tg_log(TG_LOG_ERROR, "control", "reload-rejected error=\"%s\"",
               tg_config_format_error(leb, buf, sizeof buf));
        reloaded(ctl, false, 0);
        return;
    }
    struct tg_errbuf eb = {0};
    unsigned kept = ctl->reload_kept;
    if (ctl->hooks.build) {
        struct tg_config *built = NULL;
        if (ctl->hooks.build(ctl->hooks.ctx, cfg, tg_gateway_config(ctl->gw), on_kept, &kept,
                             &built, &eb) != 0) {
            char buf[512];
            tg_log(TG_LOG_ERROR, "control", "reload-rejected error=\"%s\"",
                   tg_config_format_error(&eb, buf, sizeof buf));
            reloaded(ctl, false, 0);
            return;
        }
        cfg = built;
    }
    if (tg_gateway_reload(ctl->gw, cfg, on_kept, &kept, &eb) != 0) {
        tg_log(TG_LOG_ERROR, "control", "reload-failed error=\"%s\"", eb.msg);
        reloaded(ctl, false, 0);
        return;
    }
    reloaded(ctl, true, kept);
}

static void on_wake(struct tg_loop *loop, void *vctl)
{
    struct tg_control *ctl = vctl;
    (void)loop;
    if (ctl->reload)
        tg_reload_poll(ctl->reload);
}

static void drain_check(struct tg_timer *t);

static void drain_poll(struct tg_control *ctl)
{
    uint64_t open = tg_gateway_open_connections(ctl->gw);
    if (open == 0 || tg_loop_now_us(ctl->loop) >= ctl->drain_deadline_us) {
        if (open)
            tg_log(TG_LOG_WARN, "control", "drain-timeout open_connections=%llu",
                   (unsigned long long)open);
        tg_loop_stop(ctl->loop);
        return;
    }
    tg_timer_start(ctl->loop, &ctl->drain_timer, tg_loop_now_us(ctl->loop) + DRAIN_POLL_US,
                   drain_check, ctl);
}

static void drain_check(struct tg_timer *t)
{
    drain_poll(t->data);
}

static void start_drain(struct tg_control *ctl)
{
    if (ctl->draining) {
        tg_loop_stop(ctl->loop); /* second signal: stop now */
        return;
    }
    ctl->draining = true;
    tg_log(TG_LOG_INFO, "control", "draining");
    if (ctl->hooks.draining)
        ctl->hooks.draining(ctl->hooks.ctx);
    /* The drain time of the configuration in force, not of the file on disk now. */
    int64_t drain_us = tg_gateway_config(ctl->gw)->drain_timeout_us;
    tg_gateway_drain(ctl->gw);
    ctl->drain_deadline_us = tg_loop_now_us(ctl->loop) + drain_us;
    drain_poll(ctl);
}

static void on_signal(struct tg_io *io, unsigned events)
{
    struct tg_control *ctl = io->data;
    (void)events;
    struct signalfd_siginfo si;
    while (read(ctl->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP)
            tg_reload_request(ctl->reload);
        else
            start_drain(ctl);
    }
}

/* The clock is read afresh around the run rather than taken from the loop: the loop's
 * time is that of the start of the turn, and earlier callbacks of the turn (another task,
 * a /metrics scrape) would count as this task's duration. */
static void task_fire(struct tg_timer *t)
{
    struct task *k = t->data;
    int64_t start = tg_clock_mono_us();
    k->fn(k->ctx, start);
    int64_t end = tg_clock_mono_us();
    k->due_us = tg_control_sched_ran(&k->stats, k->period_us, k->due_us, start, end);
    tg_timer_start(k->ctl->loop, &k->timer, k->due_us, task_fire, k);
}

int tg_control_every(struct tg_control *ctl, const char *name, int64_t period_us,
                     tg_control_task_fn *fn, void *ctx)
{
    if (period_us <= 0)
        return -EINVAL;
    struct task *k = calloc(1, sizeof *k);
    if (!k)
        return -ENOMEM;
    *k = (struct task){.ctl = ctl, .name = name, .period_us = period_us, .fn = fn, .ctx = ctx};
    k->due_us = tg_control_sched_first(period_us, tg_clock_mono_us());
    *ctl->tasks_tail = k;
    ctl->tasks_tail = &k->next;
    tg_timer_start(ctl->loop, &k->timer, k->due_us, task_fire, k);
    return 0;
}

void tg_control_request_reload(struct tg_control *ctl)
{
    if (ctl->reload)
        tg_reload_request(ctl->reload);
}

void tg_control_foreach_task(const struct tg_control *ctl, tg_control_task_info_fn *fn, void *ctx)
{
    for (const struct task *k = ctl->tasks; k; k = k->next) {
        struct tg_control_task_info info = {k->name, k->period_us, k->stats};
        fn(&info, ctx);
    }
}

/* Folds the workers' metric shards into the totals and sliding windows the admin API
 * reads, once a second on the second. */
static void metrics_tick(void *vctl, int64_t now_us)
{
    struct tg_control *ctl = vctl;
    tg_gateway_metrics_tick(ctl->gw, now_us / 1000000);
}

static int open_signals(struct tg_control *ctl)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    /* SIGPIPE stays blocked and unread: a peer that goes away is an EPIPE, not a death. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigdelset(&set, SIGPIPE);
    ctl->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (ctl->sigfd == -1)
        return -errno;
    return tg_io_start(ctl->loop, &ctl->sigio, ctl->sigfd, on_signal, ctl);
}

int tg_control_new(struct tg_control **out, struct tg_gateway *gw,
                   const struct tg_control_hooks *hooks, struct tg_errbuf *eb)
{
    struct tg_control *ctl = calloc(1, sizeof *ctl);
    if (!ctl)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    ctl->gw = gw;
    ctl->hooks = *hooks;
    ctl->sigfd = -1;
    ctl->tasks_tail = &ctl->tasks;
    int rc;
    if ((rc = tg_loop_new(&ctl->loop, on_wake, ctl)) != 0 ||
        (rc = tg_reload_new(ctl->loop, reload_load, reload_done, ctl, &ctl->reload)) != 0) {
        tg_control_free(ctl);
        return tg_errbuf_set(eb, rc, "event loop: %s", tg_strerror(rc));
    }
    if ((rc = open_signals(ctl)) != 0) {
        tg_control_free(ctl);
        return tg_errbuf_set(eb, rc, "signalfd failed: %s", tg_strerror(rc));
    }
    ctl->process.start_wall_us = tg_clock_wall_us();
    if ((rc = tg_control_every(ctl, "metrics", 1000000, metrics_tick, ctl)) != 0 ||
        (rc = tg_mcollectors_new(&ctl->collectors)) != 0 ||
        (rc = tg_gateway_collectors_add(ctl->collectors, gw)) != 0 ||
        (rc = tg_mcollectors_add(ctl->collectors, "process", tg_process_collect,
                                 &ctl->process)) != 0 ||
        (rc = tg_mcollectors_add(ctl->collectors, "control", tg_control_collect_tasks, ctl)) !=
            0) {
        tg_control_free(ctl);
        return tg_errbuf_set(eb, rc, "out of memory");
    }
    *out = ctl;
    return 0;
}

struct tg_loop *tg_control_loop(struct tg_control *ctl)
{
    return ctl->loop;
}

struct tg_mcollectors *tg_control_collectors(const struct tg_control *ctl)
{
    return ctl->collectors;
}

int tg_control_run(struct tg_control *ctl)
{
    tg_gateway_health_attach(ctl->gw, ctl->loop);
    int rc = tg_loop_run(ctl->loop);
    tg_log(TG_LOG_INFO, "control", "stopped");
    return rc;
}

void tg_control_close(struct tg_control *ctl)
{
    if (!ctl || ctl->closed)
        return;
    ctl->closed = true;
    if (ctl->sigfd != -1) {
        tg_io_stop(ctl->loop, &ctl->sigio);
        close(ctl->sigfd);
        ctl->sigfd = -1;
    }
    if (ctl->loop) {
        tg_timer_stop(ctl->loop, &ctl->drain_timer);
        for (struct task *k = ctl->tasks; k; k = k->next)
            tg_timer_stop(ctl->loop, &k->timer);
    }
    tg_reload_free(ctl->reload); /* before the gateway: a load may still read its config */
    ctl->reload = NULL;
}

void tg_control_free(struct tg_control *ctl)
{
    if (!ctl)
        return;
    tg_control_close(ctl);
    for (struct task *k = ctl->tasks, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    tg_mcollectors_free(ctl->collectors);
    tg_loop_free(ctl->loop);
    free(ctl);
}
