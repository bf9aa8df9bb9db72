/* SPDX-License-Identifier: MIT */
/* `tailguard bench` from argv to exit code: parse the options, build the requests, check
 * the target answers TCP before any thread starts (an unreachable target is a usage error,
 * exit 2, not a run full of connect errors), then run the load or the capacity search and
 * report. SIGINT and SIGTERM are blocked here, before any thread exists, so every thread
 * inherits the mask and the coordinator alone receives them (sigtimedwait in run.c): a
 * stopped run still prints what it measured. */
#include "bench/bench.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench/args_int.h"
#include "bench/report_int.h"
#include "bench/request_int.h"
#include "bench/run_int.h"
#include "bench/scenario_int.h"
#include "bench/search_int.h"
#include "bench/stages_int.h"
#include "bench/url_int.h"

#define PROBE_TIMEOUT_MS 3000
#define FD_RESERVE 64 /* descriptors kept for the process itself */

/* Everything a run needs, allocated once and released in one place. */
struct ctx {
    struct tg_bench_opts o;
    struct tg_bench_reqspec *specs;
    uint32_t nspecs;
    char *scenario_text;
    char *bodies[TG_BENCH_REQS_MAX];
    uint32_t nbodies;
    struct tg_bench_reqset reqs;
    struct tg_bench_url base;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_str[80];
    uint32_t threads;
};

static void ctx_deinit(struct ctx *c)
{
    tg_bench__reqset_deinit(&c->reqs);
    for (uint32_t i = 0; i < c->nbodies; i++)
        free(c->bodies[i]);
    free(c->scenario_text);
    free(c->specs);
}

/* Loads a body file, relative to `dir` (the scenario's folder) unless absolute. */
static int load_body(struct ctx *c, struct tg_bench_reqspec *s, const char *dir,
                     struct tg_errbuf *eb)
{
    char path[4096];
    if (dir && s->body_file[0] != '/')
        snprintf(path, sizeof path, "%s/%s", dir, s->body_file);
    else
        snprintf(path, sizeof path, "%s", s->body_file);
    char *text;
    size_t len;
    int rc = tg_bench__load_file(path, &text, &len, eb);
    if (rc < 0)
        return rc;
    c->bodies[c->nbodies++] = text;
    s->body = text;
    s->body_len = len;
    return 0;
}

static int build_specs(struct ctx *c, struct tg_errbuf *eb)
{
    struct tg_bench_opts *o = &c->o;
    c->specs = calloc(TG_BENCH_REQS_MAX, sizeof *c->specs);
    if (!c->specs)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    int rc = tg_bench__parse_url(o->urls[0], &c->base, eb);
    if (rc < 0)
        return rc;
    if (o->scenario) {
        size_t len;
        if ((rc = tg_bench__load_file(o->scenario, &c->scenario_text, &len, eb)) < 0)
            return rc;
        if ((rc = tg_bench__parse_scenario(c->scenario_text, c->specs, TG_BENCH_REQS_MAX,
                                           &c->nspecs, eb)) < 0)
            return rc;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", o->scenario);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            strcpy(dir, ".");
        for (uint32_t i = 0; i < c->nspecs; i++) {
            struct tg_bench_reqspec *s = &c->specs[i];
            if ((rc = tg_bench__resolve_target(s, &c->base, eb)) < 0)
                return rc;
            if (s->body_file && (rc = load_body(c, s, dir, eb)) < 0)
                return rc;
        }
    } else {
        for (uint32_t i = 0; i < o->nurls; i++) {
            struct tg_bench_reqspec *s = &c->specs[c->nspecs++];
            s->method = o->method ? o->method : (o->body || o->body_file) ? "POST" : "GET";
            s->target = o->urls[i];
            s->weight = 1;
            s->body = o->body;
            s->body_len = o->body ? strlen(o->body) : 0;
            if ((rc = tg_bench__parse_url(o->urls[i], &s->url, eb)) < 0)
                return rc;
        }
        if (o->body_file) {
            c->specs[0].body_file = o->body_file;
            if ((rc = load_body(c, &c->specs[0], NULL, eb)) < 0)
                return rc;
            for (uint32_t i = 1; i < c->nspecs; i++) {
                c->specs[i].body = c->specs[0].body;
                c->specs[i].body_len = c->specs[0].body_len;
            }
        }
    }
    for (uint32_t i = 0; i < c->nspecs; i++)
        if (!tg_bench__same_origin(&c->specs[i].url, &c->base))
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "'%s': every URL of a run must have the same "
                                 "host and port as '%s'",
                                 c->specs[i].target, o->urls[0]);
    return tg_bench__reqset_build(&c->reqs, c->specs, c->nspecs, o->headers, o->nheaders,
                                  o->keepalive, eb);
}

/* Threads: the CPUs, at most 4 (one thread drives about 100k requests/s on loopback, and
 * the system under test usually shares the machine), never more than connections. */
static uint32_t pick_threads(const struct tg_bench_opts *o)
{
    uint32_t t = o->threads;
    if (!t) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n < 1 ? 1 : n > 4 ? 4 : (uint32_t)n;
    }
    return t > o->conns ? o->conns : t;
}

/* Raises the descriptor limit to its hard maximum and checks the connections fit. */
static int check_fds(const struct tg_bench_opts *o, struct tg_errbuf *eb)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)o->conns + FD_RESERVE > rl.rlim_cur)
        return tg_errbuf_set(eb, TG_EPARSE,
                             "-c %u needs more file descriptors than the limit "
                             "allows (%llu; raise it with ulimit -n)",
                             o->conns, (unsigned long long)rl.rlim_cur);
    return 0;
}

static int prepare(struct ctx *c, struct tg_errbuf *eb)
{
    int rc = build_specs(c, eb);
    if (rc < 0)
        return rc;
    if ((rc = check_fds(&c->o, eb)) < 0)
        return rc;
    c->threads = pick_threads(&c->o);
    if ((rc = tg_bench__resolve(&c->base, &c->addr, &c->addrlen, eb)) < 0)
        return rc;
    tg_bench__addr_str(&c->addr, c->addr_str, sizeof c->addr_str);
    int64_t t = c->o.timeout_us / 1000;
    rc = tg_bench__probe(&c->addr, c->addrlen, t < PROBE_TIMEOUT_MS ? (int)t : PROBE_TIMEOUT_MS);
    if (rc < 0)
        return tg_errbuf_set(eb, rc, "cannot connect to %s (%s): %s", c->addr_str, c->o.urls[0],
                             tg_strerror(rc));
    return 0;
}

static void base_cfg(const struct ctx *c, struct tg_bench_run_cfg *cfg)
{
    const struct tg_bench_opts *o = &c->o;
    memset(cfg, 0, sizeof *cfg);
    struct tg_bench_plan *p = &cfg->plan;
    p->model = o->model;
    p->keepalive = o->keepalive;
    p->max_conns = o->conns;
    p->timeout_us = o->timeout_us;
    p->reqs = &c->reqs;
    p->addr = c->addr;
    p->addrlen = c->addrlen;
    p->nthreads = c->threads;
    p->max_requests = o->requests;
    if (o->stages_set) {
        p->load = o->stages;
    } else {
        tg_bench__profile_constant(&p->load, o->model == TG_BENCH_OPEN ? o->rate : o->conns,
                                   o->duration_us);
    }
    p->send_us = p->load.total_us;
    cfg->conds = o->thresholds;
    cfg->nconds = o->nthresholds;
    cfg->progress = !o->quiet && isatty(STDOUT_FILENO);
    /* The cap covers sending, then the drain of what is still in flight. */
    cfg->cap_us = o->max_duration_us;
}

static int run_plain(struct ctx *c, struct tg_errbuf *eb)
{
    const struct tg_bench_opts *o = &c->o;
    struct tg_bench_run_cfg cfg;
    base_cfg(c, &cfg);
    struct tg_bench_run_result *res = calloc(1, sizeof *res);
    if (!res || !(res->total = malloc(sizeof *res->total))) {
        free(res);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    int rc = tg_bench__run(&cfg, res, eb);
    if (rc < 0)
        goto out;
    struct tg_bench_verdict verdicts[TG_BENCH_THRESHOLDS_MAX];
    bool ok = tg_bench__judge(o->thresholds, o->nthresholds, res, verdicts);
    /* Offered rate: the planned requests over the time the schedule spreads them. With -n
     * the schedule ends at request n, usually long before the duration cap. */
    double planned = 0;
    int64_t span = cfg.plan.send_us;
    if (o->model == TG_BENCH_OPEN) {
        planned = tg_bench__profile_count(&cfg.plan.load, cfg.plan.send_us);
        if (o->requests && planned > (double)o->requests) {
            planned = (double)o->requests;
            struct tg_bench_cursor cur;
            tg_bench__cursor_init(&cfg.plan.load, &cur);
            int64_t t = tg_bench__profile_time_of(&cfg.plan.load, planned, &cur);
            if (t != INT64_MAX && t > 0)
                span = t;
        }
    }
    struct tg_bench_report r = {
        .o = o,
        .urls = o->urls,
        .nurls = o->nurls,
        .addr = c->addr_str,
        .nreqs = c->nspecs,
        .threads = c->threads,
        .conns = o->conns,
        .send_us = cfg.plan.send_us,
        .offered_rps = planned > 0 ? planned * 1e6 / (double)span : 0,
        .total = res->total,
        .elapsed_us = res->elapsed_us,
        .res = res,
        .verdicts = verdicts,
    };
    if (o->json)
        tg_bench__report_json(stdout, &r);
    else
        tg_bench__report_text(stdout, &r);
    fflush(stdout);
    rc = ok ? 0 : 1;
out:
    free(res->total);
    free(res);
    return rc;
}

static int run_capacity(struct ctx *c, struct tg_errbuf *eb)
{
    const struct tg_bench_opts *o = &c->o;
    struct tg_bench_run_cfg cfg;
    base_cfg(c, &cfg);
    cfg.conds = NULL;
    cfg.nconds = 0;
    struct tg_bench_search_out *out = calloc(1, sizeof *out);
    if (!out || !(out->shown = malloc(sizeof *out->shown))) {
        free(out);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    tg_bench__stats_init(out->shown);
    int rc = tg_bench__find_capacity(o, &cfg, o->json ? NULL : stdout, o->urls[0], out, eb);
    if (rc < 0)
        goto done;
    struct tg_bench_verdict none[1];
    const struct tg_bench_capacity *cap = &out->cap;
    struct tg_bench_report r = {
        .o = o,
        .urls = o->urls,
        .nurls = o->nurls,
        .addr = c->addr_str,
        .nreqs = c->nspecs,
        .threads = c->threads,
        .conns = o->conns,
        .send_us = o->step_us,
        .offered_rps = cap->found      ? cap->max_rps
                       : out->search.n ? out->search.steps[out->search.n - 1].rate
                                       : 0,
        .total = out->shown,
        .elapsed_us = out->shown_elapsed_us,
        .verdicts = none,
        .search = &out->search,
        .cap = cap,
        .search_interrupted = out->interrupted,
    };
    if (o->json)
        tg_bench__report_json(stdout, &r);
    else
        tg_bench__report_text(stdout, &r);
    fflush(stdout);
    rc = cap->found ? 0 : 1;
done:
    free(out->shown);
    free(out);
    return rc;
}

int tg_bench_cmd(int argc, char **argv)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (!c) {
        fputs("tailguard bench: out of memory\n", stderr);
        return 2;
    }
    struct tg_errbuf eb = {0};
    int exit_code = 2;
    int rc = tg_bench__parse_args(argc, argv, &c->o, &eb);
    if (rc == 1) {
        tg_bench__usage(stdout);
        exit_code = 0;
        goto out;
    }
    if (rc < 0)
        goto fail;
    /* Sends use MSG_NOSIGNAL; this covers anything else that writes to a closed socket. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (prepare(c, &eb) < 0)
        goto fail;
    rc = c->o.find_capacity ? run_capacity(c, &eb) : run_plain(c, &eb);
    if (rc < 0)
        goto fail;
    exit_code = rc;
    goto out;
fail:
    fprintf(stderr, "tailguard bench: %s\n", eb.msg);
out:
    ctx_deinit(c);
    free(c);
    return exit_code;
}
