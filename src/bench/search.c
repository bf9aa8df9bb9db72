/* SPDX-License-Identifier: MIT */
/* The capacity search's runner (see search_int.h); the decisions are in capacity.c. */
#include "bench/search_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/report_int.h"
#include "bench/units_int.h"

#define STEP_GRACE_US (INT64_C(2) * 1000000) /* beyond step + timeout before the hard stop */

struct cut_ctx {
    const struct tg_bench_opts *o;
    double expected; /* requests the step will send */
};

/* True once the step cannot meet the SLO whatever the rest of it does. */
static bool cut(const struct tg_bench_stats *t, void *arg)
{
    const struct cut_ctx *cx = arg;
    uint64_t errors = tg_bench__stats_errors(t);
    for (size_t i = 0; i < cx->o->nslo; i++) {
        const struct tg_bench_cond *c = &cx->o->slo[i];
        bool upper = c->op == TG_BENCH_OP_LT || c->op == TG_BENCH_OP_LE;
        if (!upper)
            continue;
        double bad = -1, allowed = 0;
        switch (c->metric) {
        case TG_BENCH_M_PCT:
            bad = (double)(t->lat.count - tg_hist_count_le(&t->lat, (int64_t)c->bound));
            allowed = (1 - c->pct / 100) * cx->expected + 1;
            break;
        case TG_BENCH_M_MAX:
            bad = (double)tg_hist_max(&t->lat) > c->bound ? 1 : 0;
            allowed = 0.5;
            break;
        case TG_BENCH_M_ERRORS:
            bad = (double)errors;
            allowed = c->percent ? c->bound / 100 * cx->expected + 1 : c->bound;
            break;
        default:
            break;
        }
        if (bad > allowed)
            return true;
    }
    return false;
}

static void judge(const struct tg_bench_opts *o, const struct tg_bench_run_result *res,
                  struct tg_bench_step *st)
{
    const struct tg_bench_stats *t = res->total;
    struct tg_bench_view v = {.lat = &t->lat,
                              .requests = t->requests,
                              .errors = tg_bench__stats_errors(t),
                              .elapsed_us = res->elapsed_us};
    st->requests = t->requests;
    st->errors = v.errors;
    st->late = t->late;
    st->errors_pct = t->requests ? 100.0 * (double)v.errors / (double)t->requests : 0;
    st->achieved_rps =
        res->elapsed_us > 0 ? (double)t->requests * 1e6 / (double)res->elapsed_us : 0;
    static const double p[] = {50, 95, 99};
    int64_t out[3];
    tg_hist_values_at(&t->lat, p, 3, out);
    st->p50_us = out[0];
    st->p95_us = out[1];
    st->p99_us = out[2];
    st->max_us = tg_hist_max(&t->lat);
    st->mean_us = tg_hist_mean(&t->lat);
    st->cut_short = res->cut;
    st->ok = t->requests > 0;
    if (!st->ok)
        snprintf(st->why, sizeof st->why, "no request finished");
    for (size_t i = 0; i < o->nslo && st->ok; i++) {
        double value = tg_bench__cond_value(&o->slo[i], &v);
        if (!tg_bench__cond_holds(&o->slo[i], value)) {
            char val[48];
            tg_bench__fmt_cond_value(&o->slo[i], value, val, sizeof val);
            snprintf(st->why, sizeof st->why, "%.40s (SLO %.80s)", val, o->slo[i].text);
            st->ok = false;
        }
    }
}

int tg_bench__find_capacity(const struct tg_bench_opts *o, const struct tg_bench_run_cfg *base,
                            FILE *text, const char *url, struct tg_bench_search_out *out,
                            struct tg_errbuf *eb)
{
    struct tg_bench_search *s = &out->search;
    tg_bench__search_init(s, o->start_rate, o->max_rate, o->precision, o->max_steps);
    struct tg_bench_run_result *res = calloc(1, sizeof *res);
    struct tg_bench_run_cfg *cfg = malloc(sizeof *cfg);
    if (res)
        res->total = malloc(sizeof *res->total);
    int rc = 0;
    if (!res || !cfg || !res->total) {
        rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
        goto out;
    }
    if (text)
        tg_bench__report_step_header(text, o, url);
    int64_t used = 0;
    bool shown_best = false;
    for (;;) {
        double rate = tg_bench__search_next(s);
        if (rate <= 0 || used + o->step_us > o->max_duration_us)
            break;
        *cfg = *base;
        tg_bench__profile_constant(&cfg->plan.load, rate, o->step_us);
        cfg->plan.send_us = o->step_us;
        cfg->plan.max_requests = 0;
        cfg->cap_us = o->step_us + o->timeout_us + STEP_GRACE_US;
        if (cfg->cap_us > o->max_duration_us - used)
            cfg->cap_us = o->max_duration_us - used;
        struct cut_ctx cx = {.o = o, .expected = rate * (double)o->step_us / 1e6};
        cfg->cut = cut;
        cfg->cut_arg = &cx;
        char label[64], r[32];
        tg_bench__fmt_rate(r, sizeof r, rate);
        snprintf(label, sizeof label, "step %u: %s rps", s->n + 1, r);
        cfg->label = label;
        rc = tg_bench__run(cfg, res, eb);
        if (rc < 0)
            goto out;
        used += res->elapsed_us;
        if (res->interrupted) {
            out->interrupted = true;
            break;
        }
        struct tg_bench_step st = {.rate = rate};
        judge(o, res, &st);
        tg_bench__search_add(s, &st);
        if (text)
            tg_bench__report_step(text, s->n - 1, &st);
        /* Keep the totals of the answer's step (or the latest, while nothing passed). */
        if ((st.ok && rate >= s->lo) || !shown_best) {
            *out->shown = *res->total;
            out->shown_elapsed_us = res->elapsed_us;
            shown_best = st.ok;
        }
    }
    tg_bench__search_conclude(s, &out->cap);
out:
    if (res)
        free(res->total);
    free(res);
    free(cfg);
    return rc;
}
