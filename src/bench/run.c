/* SPDX-License-Identifier: MIT */
/* The coordinator of one load run (see run_int.h). It never touches a socket: it only
 * flips the workers' phasers, merges, judges and draws, so its 100 ms ticks cost a few
 * microseconds per worker and never disturb the measurement. */
#include "bench/run_int.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/units_int.h"
#include "core/clock.h"

#define TICK_US 100000
#define SEC_US 1000000
#define START_DELAY_US 10000 /* lets every thread reach its loop before the origin */

/* One second of a sliding window. */
struct sec {
    struct tg_hist lat;
    uint64_t requests, errors;
};

struct coord {
    const struct tg_bench_run_cfg *cfg;
    struct tg_bench_plan plan;
    struct tg_bench_run_result *res;
    struct tg_bench_worker **w;
    uint32_t nw, started;
    struct tg_bench_stats *cur; /* the second in progress */
    struct sec *ring;
    uint32_t ring_len, nsec;
    struct tg_hist *scratch;
    bool stopping;
};

static void control_all(struct coord *co, enum tg_bench_ctl ctl)
{
    for (uint32_t i = 0; i < co->started; i++)
        tg_bench__worker_control(co->w[i], ctl);
    co->stopping = true;
}

static void collect(struct coord *co)
{
    for (uint32_t i = 0; i < co->nw; i++) {
        struct tg_bench_worker *w = co->w[i];
        unsigned s = tg_hist_phaser_flip(&w->ph);
        tg_bench__stats_merge(co->res->total, w->side[s]);
        tg_bench__stats_merge(co->cur, w->side[s]);
        tg_bench__stats_reset(w->side[s]);
    }
}

/* Worse of two values for a condition: higher for upper bounds, lower for lower bounds. */
static double worse(const struct tg_bench_cond *c, double a, double b)
{
    bool upper = c->op == TG_BENCH_OP_LT || c->op == TG_BENCH_OP_LE;
    return upper ? (a > b ? a : b) : (a < b ? a : b);
}

static void note(struct tg_bench_verdict *v, const struct tg_bench_cond *c, double value)
{
    bool ok = tg_bench__cond_holds(c, value);
    if (!v->judged) {
        v->judged = true;
        v->ok = ok;
        v->value = value;
        return;
    }
    if (v->ok && !ok) {
        v->value = value; /* the first failure is the one to report */
        v->ok = false;
    } else if (v->ok) {
        v->value = worse(c, v->value, value);
    }
}

/* Judges condition `i` over the last `secs` seconds of the ring (plus `extra`, the
 * partial second, when not NULL). */
static double window_value(struct coord *co, const struct tg_bench_cond *c, uint32_t secs,
                           const struct tg_bench_stats *extra, int64_t elapsed_us)
{
    struct tg_bench_view v = {.lat = co->scratch, .elapsed_us = elapsed_us};
    tg_hist_reset(co->scratch);
    for (uint32_t k = 0; k < secs && k < co->nsec; k++) {
        const struct sec *s = &co->ring[(co->nsec - 1 - k) % co->ring_len];
        tg_hist_merge(co->scratch, &s->lat);
        v.requests += s->requests;
        v.errors += s->errors;
    }
    if (extra) {
        tg_hist_merge(co->scratch, &extra->lat);
        v.requests += extra->requests;
        v.errors += tg_bench__stats_errors(extra);
    }
    return tg_bench__cond_value(c, &v);
}

static void progress(struct coord *co, int64_t now)
{
    const struct tg_bench_plan *p = &co->plan;
    char when[96], rate[32], p95[32], errs[32];
    int64_t el = now - p->start_us;
    if (p->max_requests && p->send_us >= co->cfg->cap_us) {
        char a[32], b[32];
        tg_bench__fmt_count(a, sizeof a, co->res->total->requests);
        tg_bench__fmt_count(b, sizeof b, p->max_requests);
        snprintf(when, sizeof when, "%s/%s req", a, b);
    } else {
        int64_t left = p->send_us - el;
        snprintf(when, sizeof when, "%llds/%llds, %llds left", (long long)(el / SEC_US),
                 (long long)((p->send_us + SEC_US - 1) / SEC_US),
                 (long long)(left > 0 ? (left + SEC_US - 1) / SEC_US : 0));
    }
    tg_bench__fmt_rate(rate, sizeof rate, (double)co->cur->requests);
    tg_bench__fmt_latency(p95, sizeof p95, tg_hist_value_at(&co->cur->lat, 95));
    uint64_t e = tg_bench__stats_errors(co->res->total);
    tg_bench__fmt_count(errs, sizeof errs, e);
    double pct =
        co->res->total->requests ? 100.0 * (double)e / (double)co->res->total->requests : 0.0;
    printf("\r\033[K%s%s%s  %s rps  p95 %s  errors %s (%.2f%%)",
           co->cfg->label ? co->cfg->label : "", co->cfg->label ? "  " : "", when, rate, p95, errs,
           pct);
    fflush(stdout);
}

/* End of a second: roll the window ring, judge live thresholds, draw progress. */
static void second(struct coord *co, int64_t now)
{
    const struct tg_bench_run_cfg *cfg = co->cfg;
    if (co->ring) {
        struct sec *s = &co->ring[co->nsec % co->ring_len];
        s->lat = co->cur->lat;
        s->requests = co->cur->requests;
        s->errors = tg_bench__stats_errors(co->cur);
    }
    co->nsec++;
    for (size_t i = 0; i < cfg->nconds; i++) {
        const struct tg_bench_cond *c = &cfg->conds[i];
        struct tg_bench_verdict *v = &co->res->live[i];
        if (c->window_us) {
            uint32_t secs = (uint32_t)(c->window_us / SEC_US);
            if (co->nsec < secs)
                continue;
            note(v, c, window_value(co, c, secs, NULL, c->window_us));
        } else if (c->abort) {
            struct tg_bench_view view = {.lat = &co->res->total->lat,
                                         .requests = co->res->total->requests,
                                         .errors = tg_bench__stats_errors(co->res->total),
                                         .elapsed_us = now - co->plan.start_us};
            note(v, c, tg_bench__cond_value(c, &view));
        } else {
            continue;
        }
        if (c->abort && !v->ok && !co->stopping) {
            co->res->aborted = true;
            control_all(co, TG_BENCH_CTL_ABORT);
        }
    }
    if (cfg->progress)
        progress(co, now);
    tg_bench__stats_reset(co->cur);
}

/* Windows the run was too short to fill are judged once on everything there is. */
static void final_windows(struct coord *co)
{
    const struct tg_bench_run_cfg *cfg = co->cfg;
    for (size_t i = 0; i < cfg->nconds; i++) {
        const struct tg_bench_cond *c = &cfg->conds[i];
        if (!c->window_us || co->res->live[i].judged)
            continue;
        int64_t el = co->res->elapsed_us > 0 ? co->res->elapsed_us : 1;
        note(&co->res->live[i], c, window_value(co, c, co->nsec, co->cur, el));
    }
}

static int setup(struct coord *co, struct tg_errbuf *eb)
{
    const struct tg_bench_run_cfg *cfg = co->cfg;
    co->cur = malloc(sizeof *co->cur);
    co->scratch = malloc(sizeof *co->scratch);
    co->w = calloc(co->nw, sizeof *co->w);
    if (!co->cur || !co->scratch || !co->w)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    tg_bench__stats_init(co->cur);
    tg_hist_init(co->scratch);
    int64_t longest = 0;
    for (size_t i = 0; i < cfg->nconds; i++)
        if (cfg->conds[i].window_us > longest)
            longest = cfg->conds[i].window_us;
    if (longest) {
        co->ring_len = (uint32_t)(longest / SEC_US);
        co->ring = calloc(co->ring_len, sizeof *co->ring);
        if (!co->ring)
            return tg_errbuf_set(eb, -ENOMEM, "out of memory for the threshold window");
    }
    for (uint32_t i = 0; i < co->nw; i++) {
        int rc = tg_bench__worker_new(&co->w[i], &co->plan, i);
        if (rc < 0)
            return tg_errbuf_set(eb, rc, "cannot set up thread %u: %s", i, tg_strerror(rc));
    }
    return 0;
}

static void teardown(struct coord *co)
{
    for (uint32_t i = 0; i < co->nw && co->w; i++)
        tg_bench__worker_free(co->w[i]);
    free(co->w);
    free(co->cur);
    free(co->scratch);
    free(co->ring);
}

static bool all_done(const struct coord *co)
{
    for (uint32_t i = 0; i < co->started; i++)
        if (!atomic_load(&co->w[i]->done))
            return false;
    return true;
}

int tg_bench__run(const struct tg_bench_run_cfg *cfg, struct tg_bench_run_result *res,
                  struct tg_errbuf *eb)
{
    struct tg_bench_stats *total = res->total;
    memset(res, 0, sizeof *res);
    res->total = total;
    tg_bench__stats_init(total);
    struct coord co = {.cfg = cfg, .plan = cfg->plan, .res = res, .nw = cfg->plan.nthreads};
    int rc = setup(&co, eb);
    if (rc < 0)
        goto out;
    co.plan.start_us = tg_clock_mono_us() + START_DELAY_US;
    for (; co.started < co.nw; co.started++) {
        rc = -pthread_create(&co.w[co.started]->thread, NULL, tg_bench__worker_main,
                             co.w[co.started]);
        if (rc < 0) {
            tg_errbuf_set(eb, rc, "cannot start a thread: %s", tg_strerror(rc));
            control_all(&co, TG_BENCH_CTL_ABORT);
            break;
        }
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int64_t next_tick = co.plan.start_us + TICK_US, next_sec = co.plan.start_us + SEC_US;
    while (!all_done(&co)) {
        int64_t wait = next_tick - tg_clock_mono_us();
        if (wait > 0) {
            struct timespec ts = {.tv_sec = wait / SEC_US, .tv_nsec = (wait % SEC_US) * 1000};
            int sig = sigtimedwait(&set, NULL, &ts);
            if (sig > 0 && !res->interrupted) {
                res->interrupted = true;
                res->signal = sig;
                control_all(&co, TG_BENCH_CTL_ABORT);
            }
            if (sig > 0 || tg_clock_mono_us() < next_tick)
                continue;
        }
        int64_t now = tg_clock_mono_us();
        next_tick += TICK_US;
        collect(&co);
        if (now >= next_sec) {
            second(&co, now);
            next_sec += SEC_US;
        }
        if (!co.stopping && cfg->cut && cfg->cut(res->total, cfg->cut_arg)) {
            res->cut = true;
            co.stopping = true;
            for (uint32_t i = 0; i < co.started; i++)
                tg_bench__worker_control(co.w[i], TG_BENCH_CTL_DRAIN);
        }
        if (now - co.plan.start_us >= cfg->cap_us && !res->capped) {
            res->capped = true;
            control_all(&co, TG_BENCH_CTL_ABORT);
        }
    }
    int64_t last = co.plan.start_us;
    for (uint32_t i = 0; i < co.started; i++) {
        pthread_join(co.w[i]->thread, NULL);
        if (co.w[i]->finish_us > last)
            last = co.w[i]->finish_us;
    }
    collect(&co);
    res->elapsed_us = last - co.plan.start_us;
    final_windows(&co);
    if (cfg->progress) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
    }
out:
    teardown(&co);
    return rc < 0 ? rc : 0;
}

bool tg_bench__judge(const struct tg_bench_cond *conds, size_t n,
                     const struct tg_bench_run_result *res, struct tg_bench_verdict *out)
{
    bool all = true;
    const struct tg_bench_stats *t = res->total;
    struct tg_bench_view v = {.lat = &t->lat,
                              .requests = t->requests,
                              .errors = tg_bench__stats_errors(t),
                              .elapsed_us = res->elapsed_us};
    for (size_t i = 0; i < n; i++) {
        const struct tg_bench_cond *c = &conds[i];
        if (c->window_us) {
            out[i] = res->live[i];
            if (!out[i].judged)
                out[i].ok = true;
        } else {
            double value = tg_bench__cond_value(c, &v);
            out[i] = (struct tg_bench_verdict){
                .judged = true, .value = value, .ok = tg_bench__cond_holds(c, value)};
            /* An abort threshold that failed mid-run stays failed, whatever the end. */
            if (c->abort && res->live[i].judged && !res->live[i].ok)
                out[i] = res->live[i];
        }
        all &= out[i].ok;
    }
    return all;
}
