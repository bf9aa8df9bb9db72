/* SPDX-License-Identifier: MIT */
/* `tailguard run`: loads the configuration (file, then flags on top), starts the gateway's
 * workers, and makes this thread the control thread (control/control.h: signals, reload,
 * drain, health checks, the metrics tick) with the admin listener on its loop. The
 * control thread tells the admin server of reloads and of the drain through the hooks
 * below, since control/ sits below admin/. Exits 0 after a drain. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "admin/server.h"
#include "cli/cmd.h"
#include "config/config.h"
#include "control/control.h"
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

struct run {
    struct run_opts opts; /* read by the reload thread too; never changed after parsing */
    struct tg_gateway *gw;
    struct tg_control *ctl;
    struct tg_admin *admin;
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
        tg_log(TG_LOG_WARN, "cli", "fd-limit-low nofile=%llu max_connections=%u",
               (unsigned long long)rl.rlim_cur, max_connections);
}

static void print_error(const char *what, const struct tg_errbuf *eb)
{
    char buf[512];
    fprintf(stderr, "tailguard %s: %s\n", what, tg_config_format_error(eb, buf, sizeof buf));
}

/* On the reload thread (tg_control_load_fn): the file and the flags again. */
static int reload_load(void *vrun, const struct tg_config *running, tg_config_kept_fn *kept,
                       void *kept_ctx, struct tg_config **out, struct tg_errbuf *eb)
{
    struct run *r = vrun;
    return load_config(&r->opts, running, kept, kept_ctx, out, eb);
}

/* The reload's outcome, for the admin API's /metrics. */
static void reloaded(void *vrun, bool ok, uint32_t restart_pending)
{
    struct run *r = vrun;
    tg_admin_reloaded(r->admin, ok, restart_pending);
}

/* From now on /health answers 503 and admin connections close after their answer. */
static void draining(void *vrun)
{
    struct run *r = vrun;
    tg_admin_set_draining(r->admin);
}

int tg_cli_run(int argc, char **argv)
{
    struct run r = {0};
    int rc = parse_args(argc, argv, &r.opts);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct tg_errbuf eb = {0};
    struct tg_config *cfg;
    if (load_config(&r.opts, NULL, NULL, NULL, &cfg, &eb) != 0) {
        print_error("run", &eb);
        return 2;
    }
    struct tg_addr admin_addr = cfg->admin_listen;
    raise_fd_limit(cfg->max_connections);
    const struct tg_control_hooks hooks = {
        .load = reload_load, .reloaded = reloaded, .draining = draining, .ctx = &r};
    int exit_code = 1;
    /* The control thread first: it blocks the signals that the workers must not get. */
    if (tg_gateway_new(&r.gw, cfg, &eb) != 0 || tg_control_new(&r.ctl, r.gw, &hooks, &eb) != 0 ||
        tg_gateway_start(r.gw, &eb) != 0 ||
        tg_admin_new(tg_control_loop(r.ctl), &admin_addr, r.gw, r.ctl, &r.admin, &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    exit_code = tg_control_run(r.ctl) ? 1 : 0;
out:
    tg_control_close(r.ctl);
    tg_admin_free(r.admin);
    tg_gateway_free(r.gw);
    tg_control_free(r.ctl);
    return exit_code;
}
