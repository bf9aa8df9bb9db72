/* SPDX-License-Identifier: MIT */
/* `tailguard run`: loads the configuration (file, then flags on top), starts the gateway's
 * workers and, on this (the control) thread, the admin listener and health checks. Signals
 * arrive through a signalfd on the control loop: SIGHUP reloads the file, read on a thread
 * of its own (control/reload.h; a bad file leaves the running configuration in place);
 * SIGTERM/SIGINT drain gracefully: stop accepting, let in-flight requests finish (up to
 * timeouts.drain), then exit 0. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "admin/server.h"
#include "cli/cmd.h"
#include "config/config.h"
#include "control/reload.h"
#include "core/log.h"
#include "proxy/gateway.h"

struct run_opts {
    const char *file;
    const char *listen;
    const char *admin;
    const char *upstreams[64];
    int nupstreams;
    long workers;
};

struct control {
    struct tg_loop *loop;
    struct tg_gateway *gw;
    struct tg_admin *admin;
    struct run_opts opts;
    struct tg_io sigio;
    int sigfd;
    struct tg_timer drain_timer;
    struct tg_timer metrics_timer;
    int64_t drain_deadline_us;
    bool draining;
    struct tg_reload *reload;
    unsigned reload_kept; /* written by the reload thread, read once it has finished */
};

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"listen", required_argument, NULL, 'l'},
        {"admin", required_argument, NULL, 'a'},  {"upstream", required_argument, NULL, 'u'},
        {"workers", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->workers = -1;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->file = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'a':
            o->admin = optarg;
            break;
        case 'u':
            if (o->nupstreams == 64) {
                fprintf(stderr, "tailguard run: at most 64 --upstream flags\n");
                return 2;
            }
            o->upstreams[o->nupstreams++] = optarg;
            break;
        case 'w': {
            char *end;
            o->workers = strtol(optarg, &end, 10);
            if (*end || o->workers < 1 || o->workers > 1024) {
                fprintf(stderr, "tailguard run: --workers must be 1..1024, got '%s'\n", optarg);
                return 2;
            }
            break;
        }
        case 'h':
            printf("usage: tailguard run [-c FILE] [--listen ADDR] [--admin ADDR] "
                   "[--upstream HOST:PORT]... [--workers N]\n");
            return 1;
        default:
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tailguard run: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* Builds the configuration: the file (if any), then the flags on top of it. With
 * `running` (a reload), settings that cannot change without a restart are first put
 * back to their running values (tg_config_keep_restart_only), each one reported through
 * `kept`; then the whole is validated. */
static int load_config(const struct run_opts *o, const struct tg_config *running,
                       tg_config_kept_fn *kept, void *ctx, struct tg_config **out,
                       struct tg_errbuf *eb)
{
    struct tg_config *cfg = NULL;
    int rc;
    if (o->file) {
        rc = tg_config_load_file(o->file, &cfg, eb);
        if (rc)
            return rc;
    } else {
        cfg = tg_config_new_default();
    }
    if (o->listen && (rc = tg_addr_parse(o->listen, &cfg->listen, eb)) != 0)
        goto fail;
    if (o->admin && (rc = tg_addr_parse(o->admin, &cfg->admin_listen, eb)) != 0)
        goto fail;
    for (int i = 0; i < o->nupstreams; i++)
        if ((rc = tg_config_add_upstream_server(cfg, o->upstreams[i], eb)) != 0)
            goto fail;
    if (o->workers > 0)
        cfg->workers = (uint32_t)o->workers;
    if (running)
        tg_config_keep_restart_only(running, cfg, kept, ctx);
    if ((rc = tg_config_validate(cfg, eb)) != 0)
        goto fail;
    *out = cfg;
    return 0;
fail:
    tg_config_free(cfg);
    return rc;
}

/* Every connection is a file descriptor (two while proxied): raise the soft limit to the
 * hard one, as nginx's worker_rlimit_nofile does, and warn when it is still below what
 * max_connections needs. */
static void raise_fd_limit(uint32_t max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_connections * 2 + 64)
        tg_log(TG_LOG_WARN, "admin", "fd-limit-low nofile=%llu max_connections=%u",
               (unsigned long long)rl.rlim_cur, max_connections);
}

static void print_error(const char *what, const struct tg_errbuf *eb)
{
    char buf[512];
    fprintf(stderr, "tailguard %s: %s\n", what, tg_config_format_error(eb, buf, sizeof buf));
}

/* A setting the reloaded file changes but the process cannot: logged, and counted in
 * the reload's result (/metrics tailguard_config_restart_pending). */
static void on_kept(const char *key, const char *running, const char *wanted, const char *why,
                    void *ctx)
{
    unsigned *n = ctx;
    (*n)++;
    tg_log(TG_LOG_WARN, "admin",
           "reload-kept key=%s running=\"%s\" file=\"%s\" reason=\"needs a restart: %s\"", key,
           running, wanted, why);
}

/* On the reload thread: the file and flags, with the restart-only settings put back to
 * the running values. The running configuration cannot change under it: only
 * reload_done, on the control thread, publishes one. */
static int reload_load(void *vctl, struct tg_config **out, struct tg_errbuf *eb)
{
    struct control *ctl = vctl;
    ctl->reload_kept = 0;
    return load_config(&ctl->opts, tg_gateway_config(ctl->gw), on_kept, &ctl->reload_kept, out,
                       eb);
}

/* On the control thread: publishes what reload_load built. */
static void reload_done(void *vctl, int rc, struct tg_config *cfg, const struct tg_errbuf *leb)
{
    struct control *ctl = vctl;
    if (rc != 0) {
        char buf[512];
        tg_log(TG_LOG_ERROR, "admin", "reload-rejected error=\"%s\"",
               tg_config_format_error(leb, buf, sizeof buf));
        tg_admin_reloaded(ctl->admin, false, 0);
        return;
    }
    struct tg_errbuf eb = {0};
    unsigned kept = ctl->reload_kept;
    if (tg_gateway_reload(ctl->gw, cfg, on_kept, &kept, &eb) != 0) {
        tg_log(TG_LOG_ERROR, "admin", "reload-failed error=\"%s\"", eb.msg);
        tg_admin_reloaded(ctl->admin, false, 0);
        return;
    }
    tg_admin_reloaded(ctl->admin, true, kept);
}

static void on_wake(struct tg_loop *loop, void *vctl)
{
    struct control *ctl = vctl;
    (void)loop;
    if (ctl->reload)
        tg_reload_poll(ctl->reload);
}

static void drain_check(struct tg_timer *t);

static void drain_poll(struct control *ctl)
{
    uint64_t open = tg_gateway_open_connections(ctl->gw);
    if (open == 0 || tg_loop_now_us(ctl->loop) >= ctl->drain_deadline_us) {
        if (open)
            tg_log(TG_LOG_WARN, "admin", "drain-timeout open_connections=%llu",
                   (unsigned long long)open);
        tg_loop_stop(ctl->loop);
        return;
    }
    tg_timer_start(ctl->loop, &ctl->drain_timer, tg_loop_now_us(ctl->loop) + 50000, drain_check,
                   ctl);
}

static void drain_check(struct tg_timer *t)
{
    drain_poll(t->data);
}

static void start_drain(struct control *ctl)
{
    if (ctl->draining) {
        tg_loop_stop(ctl->loop); /* second signal: stop now */
        return;
    }
    ctl->draining = true;
    tg_log(TG_LOG_INFO, "admin", "draining");
    tg_admin_set_draining(ctl->admin);
    /* The drain time of the configuration in force, not of the file on disk now. */
    int64_t drain_us = tg_gateway_config(ctl->gw)->drain_timeout_us;
    tg_gateway_drain(ctl->gw);
    ctl->drain_deadline_us = tg_loop_now_us(ctl->loop) + drain_us;
    drain_poll(ctl);
}

/* Once a second, on the second boundary of the monotonic clock: fold the workers' metric
 * shards into the totals and sliding windows the admin API reads. */
static void metrics_tick(struct tg_timer *t)
{
    struct control *ctl = t->data;
    int64_t now = tg_loop_now_us(ctl->loop);
    tg_gateway_metrics_tick(ctl->gw, now / 1000000);
    tg_timer_start(ctl->loop, t, (now / 1000000 + 1) * 1000000, metrics_tick, ctl);
}

static void on_signal(struct tg_io *io, unsigned events)
{
    struct control *ctl = io->data;
    (void)events;
    struct signalfd_siginfo si;
    while (read(ctl->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP)
            tg_reload_request(ctl->reload);
        else
            start_drain(ctl);
    }
}

int tg_cli_run(int argc, char **argv)
{
    struct control ctl = {.sigfd = -1};
    int rc = parse_args(argc, argv, &ctl.opts);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct tg_errbuf eb = {0};
    struct tg_config *cfg;
    if (load_config(&ctl.opts, NULL, NULL, NULL, &cfg, &eb) != 0) {
        print_error("run", &eb);
        return 2;
    }
    struct tg_addr admin_addr = cfg->admin_listen;
    raise_fd_limit(cfg->max_connections);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    /* Blocked before the workers start so every thread inherits the mask and the
     * signals reach only the signalfd. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sigdelset(&set, SIGPIPE);
    int exit_code = 1;
    if (tg_gateway_new(&ctl.gw, cfg, &eb) != 0 || tg_gateway_start(ctl.gw, &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    if ((rc = tg_loop_new(&ctl.loop, on_wake, &ctl)) != 0 ||
        (rc = tg_reload_new(ctl.loop, reload_load, reload_done, &ctl, &ctl.reload)) != 0) {
        fprintf(stderr, "tailguard run: event loop: %s\n", tg_strerror(rc));
        goto out;
    }
    if (tg_admin_new(ctl.loop, &admin_addr, ctl.gw, &ctl.admin, &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    ctl.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (ctl.sigfd == -1 || tg_io_start(ctl.loop, &ctl.sigio, ctl.sigfd, on_signal, &ctl) != 0) {
        fprintf(stderr, "tailguard run: signalfd failed\n");
        goto out;
    }
    tg_gateway_health_attach(ctl.gw, ctl.loop);
    tg_timer_start(ctl.loop, &ctl.metrics_timer,
                   (tg_loop_now_us(ctl.loop) / 1000000 + 1) * 1000000, metrics_tick, &ctl);
    rc = tg_loop_run(ctl.loop);
    exit_code = rc ? 1 : 0;
    tg_log(TG_LOG_INFO, "admin", "stopped");
out:
    if (ctl.sigfd != -1) {
        tg_io_stop(ctl.loop, &ctl.sigio);
        close(ctl.sigfd);
    }
    if (ctl.loop) {
        tg_timer_stop(ctl.loop, &ctl.drain_timer);
        tg_timer_stop(ctl.loop, &ctl.metrics_timer);
    }
    tg_reload_free(ctl.reload); /* before the gateway: a load may still read its config */
    tg_admin_free(ctl.admin);
    tg_gateway_free(ctl.gw);
    tg_loop_free(ctl.loop);
    return exit_code;
}
