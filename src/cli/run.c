/* SPDX-License-Identifier: MIT */
/* `tailguard run`: builds the configuration through the runtime layer (control/runtime.h:
 * the file, the control API's persisted overrides, then these flags), starts the gateway's
 * workers, and makes this thread the control thread (control/control.h: signals, reload,
 * drain, health checks, the metrics tick) with the admin listener on its loop. The
 * control thread tells the admin server of reloads and of the drain through the hooks
 * below, since control/ sits below admin/. Exits 0 after a drain. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "admin/call.h"
#include "admin/server.h"
#include "cli/cmd.h"
#include "config/config.h"
#include "control/autoscale.h"
#include "control/collectors.h"
#include "control/respond.h"
#include "control/control.h"
#include "control/rules.h"
#include "control/runtime.h"
#include "control/scrape.h"
#include "control/watch.h"
#include "core/clock.h"
#include "core/log.h"
#include "diagnose/incidents.h"
#include "proxy/gateway.h"
#include "store/alerts.h"

struct run_opts {
    const char *file;
    const char *listen;
    const char *admin;
    const char *upstreams[64];
    int nupstreams;
    long workers;
    const char *store;
    const char *tsdb;
    const char *flag_keys[4]; /* settings the flags set, for GET /api/v1/system/config */
};

struct run {
    struct run_opts opts; /* read by the reload thread too; never changed after parsing */
    struct tg_gateway *gw;
    struct tg_control *ctl;
    struct tg_admin *admin;
    struct tg_runtime *rt;
    struct tg_watch *watch;
    struct tg_scrape *scrape;
    struct tg_ruler *ruler;
    struct tg_collectors *collectors;
    struct tg_autoscale *autoscale;
    struct tg_incidents *incidents;
    struct tg_respond *respond;
    int64_t started_us; /* monotonic */
};

static int parse_args(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"listen", required_argument, NULL, 'l'},
        {"admin", required_argument, NULL, 'a'},  {"upstream", required_argument, NULL, 'u'},
        {"workers", required_argument, NULL, 'w'}, {"store", required_argument, NULL, 's'},
        {"tsdb", required_argument, NULL, 't'},    {"help", no_argument, NULL, 'h'},
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
        case 's':
            o->store = optarg;
            break;
        case 't':
            o->tsdb = optarg;
            break;
        case 'h':
            printf("usage: tailguard run [-c FILE] [--listen ADDR] [--admin ADDR] "
                   "[--upstream HOST:PORT]... [--workers N] [--store FILE] [--tsdb FILE]\n");
            return 1;
        default:
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tailguard run: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->workers > 0)
        o->flag_keys[0] = "workers";
    return 0;
}

/* The flags, the last layer of every configuration (tg_runtime_flags_fn), and the
 * admin token from the environment when the file gives none. */
static int apply_flags(void *vopts, struct tg_config *cfg, struct tg_errbuf *eb)
{
    const struct run_opts *o = vopts;
    int rc;
    if (o->listen && (rc = tg_addr_parse(o->listen, &cfg->listen, eb)) != 0)
        return rc;
    if (o->admin && (rc = tg_addr_parse(o->admin, &cfg->admin_listen, eb)) != 0)
        return rc;
    for (int i = 0; i < o->nupstreams; i++)
        if ((rc = tg_config_add_upstream_server(cfg, o->upstreams[i], eb)) != 0)
            return rc;
    if (o->workers > 0)
        cfg->workers = (uint32_t)o->workers;
    const char *env = getenv("TAILGUARD_ADMIN_TOKEN");
    if (!cfg->admin_token[0] && env && *env) {
        if (strlen(env) >= sizeof cfg->admin_token)
            return tg_errbuf_set(eb, TG_ECONFIG, "TAILGUARD_ADMIN_TOKEN: longer than %zu bytes",
                                 sizeof cfg->admin_token - 1);
        snprintf(cfg->admin_token, sizeof cfg->admin_token, "%s", env);
    }
    return 0;
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

/* On the reload thread (tg_control_load_fn): the file alone; the overrides and flags
 * are put on it by rebuild, on the control thread. */
static int reload_load(void *vrun, const struct tg_config *running, tg_config_kept_fn *kept,
                       void *kept_ctx, struct tg_config **out, struct tg_errbuf *eb)
{
    struct run *r = vrun;
    (void)running;
    (void)kept;
    (void)kept_ctx;
    return tg_runtime_load_base(r->rt, out, eb);
}

static int rebuild(void *vrun, struct tg_config *loaded, const struct tg_config *running,
                   tg_config_kept_fn *kept, void *kept_ctx, struct tg_config **out,
                   struct tg_errbuf *eb)
{
    struct run *r = vrun;
    return tg_runtime_rebuild(r->rt, loaded, running, kept, kept_ctx, out, eb);
}

static void incidents_opts(const struct tg_config *cfg, struct tg_incidents_opts *o)
{
    *o = (struct tg_incidents_opts){
        .enabled = cfg->incidents.enabled,
        .quiet_period_us = cfg->incidents.quiet_period_us,
        .escalation_l2_us = cfg->incidents.escalation_l2_us,
        .escalation_l3_us = cfg->incidents.escalation_l3_us,
        .ack_deadline_us = cfg->incidents.ack_deadline_us,
    };
}

/* The reload's outcome, for the admin API's /metrics. */
static void reloaded(void *vrun, bool ok, uint32_t restart_pending)
{
    struct run *r = vrun;
    tg_admin_reloaded(r->admin, ok, restart_pending);
    struct tg_errbuf eb = {0};
    /* The rule files are read again with the configuration; a bad one is logged and
     * counted by the ruler, and the rules in force keep running. */
    if (ok && r->ruler)
        (void)tg_ruler_reload(r->ruler, tg_gateway_config(r->gw), &eb);
    if (ok && r->collectors && tg_collectors_apply(r->collectors, tg_gateway_config(r->gw), &eb))
        tg_log(TG_LOG_ERROR, "collect", "reload-failed error=\"%s\"", eb.msg);
    if (ok && r->incidents) {
        struct tg_incidents_opts o;
        incidents_opts(tg_gateway_config(r->gw), &o);
        tg_incidents_configure(r->incidents, &o);
    }
}

/* From now on /health answers 503 and admin connections close after their answer. */
static void draining(void *vrun)
{
    struct run *r = vrun;
    tg_admin_set_draining(r->admin);
}

/* The self-scrape into the time-series store, labelled as a scrape of the admin
 * listener would be. Its settings are read here, at start only. Without a configuration
 * file nothing is saved, as with the store (control/runtime.h); --tsdb is taken as given. */
static int start_scrape(struct run *r, const struct tg_config *cfg, struct tg_errbuf *eb)
{
    char path[512];
    const char *p = r->opts.tsdb ? r->opts.tsdb : r->opts.file ? cfg->tsdb.path : ":memory:";
    if (tg_scrape_resolve_path(r->opts.tsdb ? NULL : r->opts.file, p, path, sizeof path) != 0)
        return tg_errbuf_set(eb, -ENAMETOOLONG, "tsdb.path: too long");
    const struct tg_scrape_opts so = {
        .interval_us = cfg->tsdb.scrape_interval_us,
        .save_interval_us = cfg->tsdb.save_interval_us,
        .retention_us = cfg->tsdb.retention_us,
        .max_bytes = cfg->tsdb.max_bytes,
        .path = path,
        .instance = cfg->admin_listen.text,
    };
    return tg_scrape_new(r->ctl, &so, &r->scrape, eb);
}

/* The playbooks' calls: the admin API's own handlers (admin/call.h). */
static int pb_call(void *ctx, const char *actor, const char *method, const char *path,
                   const json_t *body, json_t **answer, int64_t *audit_id)
{
    return tg_admin_call(ctx, actor, method, path, body, answer, audit_id);
}

static json_t *pb_overrides(void *ctx, const char *prefix)
{
    return tg_admin_overrides_under(ctx, prefix);
}

static int pb_restore(void *ctx, const char *actor, const char *prefix, const json_t *before,
                      json_t **answer, int64_t *audit_id)
{
    return tg_admin_restore(ctx, actor, prefix, before, answer, audit_id);
}

/* The incidents' feeds: alert transitions, the audit log's rows, a tick each second. */
static void on_alert(void *vrun, const struct tg_store_alert *row)
{
    struct run *r = vrun;
    tg_incidents_alert(r->incidents, row->ts_ms * 1000, row->alertname, row->labels_json,
                       strcmp(row->state, "firing") == 0);
}

static void on_audit(void *vrun, int64_t audit_id)
{
    struct run *r = vrun;
    tg_incidents_audit(r->incidents, audit_id);
}

/* An alert firing before a restart that the rule engine, having evaluated every group,
 * does not hold as pending or firing ended while the gateway was down: it is resolved
 * now, so its incident can resolve and close. */
static void on_restored(void *vrun, const char *alertname, const char *labels_json)
{
    struct run *r = vrun;
    /* Within the quiet period after the start, an alert that fires again is the same
     * problem going on: only after it is its silence an end. */
    int64_t since = tg_clock_mono_us() - r->started_us;
    if (since < tg_gateway_config(r->gw)->incidents.quiet_period_us ||
        tg_ruler_alert_active(r->ruler, alertname, labels_json, since / 1000) != 0)
        return;
    tg_log(TG_LOG_INFO, "diagnose", "alert-resolved-after-restart alertname=%s", alertname);
    tg_incidents_alert(r->incidents, tg_clock_wall_us(), alertname, labels_json, false);
}

static void incidents_tick(void *vrun, int64_t now_us)
{
    struct run *r = vrun;
    (void)now_us; /* monotonic; the incidents' times are the store's wall clock */
    if (r->ruler)
        tg_incidents_foreach_restored(r->incidents, on_restored, r);
    tg_incidents_tick(r->incidents, tg_clock_wall_us());
}

static int start_incidents(struct run *r, const struct tg_config *cfg, struct tg_errbuf *eb)
{
    struct tg_incidents_opts o;
    incidents_opts(cfg, &o);
    int rc = tg_incidents_new(tg_runtime_store(r->rt), &o, &r->incidents, eb);
    if (rc)
        return rc;
    tg_store_on_audit(tg_runtime_store(r->rt), on_audit, r);
    tg_ruler_on_alert(r->ruler, on_alert, r);
    tg_admin_set_incidents(r->admin, r->incidents);
    if (tg_control_every(r->ctl, "incidents", 1000000, incidents_tick, r) != 0)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    return 0;
}

/* The rule engine over the store the scrape fills. A rule file that does not load stops
 * the start, with promtool's messages. */
static int start_rules(struct run *r, const struct tg_config *cfg)
{
    struct tg_rule_errors errs = {0};
    struct tg_errbuf eb = {0};
    int rc = tg_ruler_new(r->ctl, tg_scrape_tsdb(r->scrape), tg_runtime_store(r->rt), cfg,
                          &r->ruler, &errs, &eb);
    if (rc == TG_ECONFIG) {
        fprintf(stderr, "tailguard run: rules.files: cannot load the rule files:\n");
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
    } else if (rc) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
    } else {
        tg_admin_set_ruler(r->admin, r->ruler);
    }
    tg_rule_errors_free(&errs);
    return rc;
}

int tg_cli_run(int argc, char **argv)
{
    struct run r = {0};
    int rc = parse_args(argc, argv, &r.opts);
    if (rc)
        return rc == 1 ? 0 : rc;
    struct tg_errbuf eb = {0};
    struct tg_config *cfg;
    const struct tg_runtime_opts ro = {
        .file = r.opts.file,
        .flags = apply_flags,
        .flags_ctx = &r.opts,
        .flag_keys = r.opts.flag_keys,
        .store_path = r.opts.store,
    };
    if (tg_runtime_new(&ro, &r.rt, &cfg, &eb) != 0) {
        print_error("run", &eb);
        return 2;
    }
    struct tg_addr admin_addr = cfg->admin_listen;
    raise_fd_limit(cfg->max_connections);
    const struct tg_control_hooks hooks = {
        .load = reload_load,
        .build = rebuild,
        .reloaded = reloaded,
        .draining = draining,
        .ctx = &r,
    };
    int exit_code = 1;
    /* The control thread first: it blocks the signals that the workers must not get. */
    if (tg_gateway_new(&r.gw, cfg, &eb) != 0 || tg_control_new(&r.ctl, r.gw, &hooks, &eb) != 0 ||
        tg_gateway_start(r.gw, &eb) != 0 ||
        tg_admin_new(tg_control_loop(r.ctl), &admin_addr, r.gw, r.ctl, r.rt, &r.admin,
                     &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    /* Breaker transitions to the log and the audit log, a quarter second apart so an
     * opening is on record about as soon as an operator could notice it. */
    if (tg_watch_new(r.gw, tg_runtime_store(r.rt), &r.watch) != 0 ||
        tg_control_every(r.ctl, "protect-watch", 250000, tg_watch_tick, r.watch) != 0) {
        fprintf(stderr, "tailguard run: out of memory\n");
        goto out;
    }
    if (start_scrape(&r, tg_gateway_config(r.gw), &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    tg_admin_set_scrape(r.admin, r.scrape);
    if (start_rules(&r, tg_gateway_config(r.gw)) != 0)
        goto out;
    if (tg_collectors_new(r.ctl, tg_scrape_tsdb(r.scrape), tg_gateway_config(r.gw), &r.collectors,
                          &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    tg_admin_set_collectors(r.admin, tg_collectors_set(r.collectors));
    r.started_us = tg_clock_mono_us();
    if (start_incidents(&r, tg_gateway_config(r.gw), &eb) != 0) {
        fprintf(stderr, "tailguard run: %s\n", eb.msg);
        goto out;
    }
    /* The runbooks' loop: diagnosis on alerts, playbooks through the admin API's own
     * handlers. */
    struct tg_pb_hooks pb_hooks = {r.admin, pb_call, pb_overrides, pb_restore};
    if (tg_respond_new(r.ctl, r.gw, r.scrape, tg_runtime_store(r.rt), r.incidents, &pb_hooks,
                       &r.respond) != 0) {
        fprintf(stderr, "tailguard run: out of memory\n");
        goto out;
    }
    tg_admin_set_respond(r.admin, r.respond);
    /* Scaling steps are logged, audited and written to the open incidents' timelines. */
    if (tg_autoscale_new(r.ctl, r.gw, r.rt, tg_respond_scale_note, r.respond, &r.autoscale) !=
        0) {
        fprintf(stderr, "tailguard run: out of memory\n");
        goto out;
    }
    tg_admin_set_scaler(r.admin, tg_autoscale_scaler(r.autoscale));
    exit_code = tg_control_run(r.ctl) ? 1 : 0;
    if (exit_code == 0)
        (void)tg_scrape_save(r.scrape); /* a clean stop keeps the history to the last scrape */
out:
    tg_control_close(r.ctl);
    tg_admin_free(r.admin);
    tg_collectors_free(r.collectors); /* after the admin API that reads them */
    tg_autoscale_free(r.autoscale);   /* stops the instances it started */
    tg_respond_free(r.respond);       /* before the incidents it feeds */
    tg_ruler_free(r.ruler); /* before the store it evaluates over */
    if (r.rt)
        tg_store_on_audit(tg_runtime_store(r.rt), NULL, NULL);
    tg_incidents_free(r.incidents); /* after the admin API and the ruler that feed it */
    tg_gateway_free(r.gw);
    tg_scrape_free(r.scrape);
    tg_control_free(r.ctl);
    tg_watch_free(r.watch);
    tg_runtime_free(r.rt);
    return exit_code;
}
