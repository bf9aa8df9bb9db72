/* SPDX-License-Identifier: MIT */
/* The mitigation verdict (verify.h): packs the usable samples of each series, tests the
 * affected p95 and error ratio after against before (Mann-Whitney, each way), checks the
 * control, and decides in verify.h's order, writing the value that decided. */
#include "diagnose/verify.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "diagnose/pattern_stats_int.h"

void tg_verify_params_default(struct tg_verify_params *p)
{
    *p = (struct tg_verify_params){
        .min_samples = 5,
        .settle_samples = 0,
        .max_looks = 5,
        .alpha = 0.05,
        .min_change = 0.2,
        .min_error_change = 0.01,
        .control_share = 0.5,
    };
}

const char *tg_verdict_name(enum tg_verdict v)
{
    switch (v) {
    case TG_VERDICT_HELPED:
        return "helped";
    case TG_VERDICT_NO_EFFECT:
        return "no_effect";
    case TG_VERDICT_WORSE:
        return "worse";
    case TG_VERDICT_INCONCLUSIVE:
        break;
    }
    return "inconclusive";
}

/* One series before and after, packed, with its summary (median for p95, mean for
 * error ratios) and the test each way. */
struct pair {
    double *b, *a;
    size_t nb, na;
    double before, after; /* the summaries; NaN without data */
    double p_up, p_down;  /* one-sided p-values: after higher, after lower */
};

static double mean(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] / (double)n; /* divided first: huge samples cannot overflow the sum */
    return s;
}

/* Packs `before` and `after` (dropping `settle` leading after-samples) into `mem`, which
 * has room for both, and computes the summaries and the tests. */
static void load_pair(struct pair *pr, struct tg_verify_series before,
                      struct tg_verify_series after, size_t settle, bool use_mean, double *mem,
                      double *tmp, struct tg_pattern__ranked *rk)
{
    pr->b = mem;
    pr->nb = tg_pattern__compact(before.v, before.n, pr->b);
    pr->a = pr->b + pr->nb;
    pr->na = after.n > settle ? tg_pattern__compact(after.v + settle, after.n - settle, pr->a) : 0;
    pr->before = use_mean ? mean(pr->b, pr->nb) : tg_pattern__median(pr->b, pr->nb, tmp);
    pr->after = use_mean ? mean(pr->a, pr->na) : tg_pattern__median(pr->a, pr->na, tmp);
    pr->p_up = tg_pattern__mw_greater(pr->b, pr->nb, pr->a, pr->na, rk);
    pr->p_down = tg_pattern__mw_greater(pr->a, pr->na, pr->b, pr->nb, rk);
}

/* +1 when the pair moved up significantly by at least max(rel × before, abs), -1 down,
 * 0 otherwise. */
static int moved(const struct pair *pr, double alpha, double rel, double abs_min)
{
    double need = fmax(rel * pr->before, abs_min);
    if (pr->p_up < alpha && pr->after - pr->before >= need)
        return 1;
    if (pr->p_down < alpha && pr->before - pr->after >= need)
        return -1;
    return 0;
}

/* True when a significant drop took the pair from above `target` to within it. */
static bool into_target(const struct pair *pr, double alpha, double target)
{
    return target > 0 && pr->before > target && pr->after <= target && pr->p_down < alpha;
}

/* True when the control moved `dir` as the affected p95 did, by at least
 * control_share of its relative move. */
static bool control_explains(const struct pair *aff, const struct pair *ctl, int dir,
                             const struct tg_verify_params *p, double alpha)
{
    if (ctl->nb < (size_t)p->min_samples || ctl->na < (size_t)p->min_samples ||
        !(ctl->before > 0) || !(aff->before > 0))
        return false;
    double p_dir = dir > 0 ? ctl->p_up : ctl->p_down;
    double rel_aff = (aff->after - aff->before) / aff->before;
    double rel_ctl = (ctl->after - ctl->before) / ctl->before;
    return p_dir < alpha && rel_ctl * dir > 0 && fabs(rel_ctl) >= p->control_share * fabs(rel_aff);
}

struct judged {
    const struct tg_verify_params *p;
    const struct tg_verify_input *in;
    struct pair lat, err, ctl;
    double alpha;
    bool last;
};

static void say_p95(struct tg_verify_result *out, const struct judged *j, const char *what,
                    double pv)
{
    char tgt[48] = "";
    if (j->in->target_p95_ms > 0)
        snprintf(tgt, sizeof tgt, ", target %.0f ms", j->in->target_p95_ms);
    snprintf(out->reason, sizeof out->reason, "p95 %.0f ms -> %.0f ms%s%s (p=%.2g)", j->lat.before,
             j->lat.after, tgt, what, pv);
    out->p_value = pv;
}

static void say_errors(struct tg_verify_result *out, const struct judged *j, double pv)
{
    char tgt[48] = "";
    if (j->in->target_error_ratio > 0)
        snprintf(tgt, sizeof tgt, ", target %.2f%%", 100 * j->in->target_error_ratio);
    snprintf(out->reason, sizeof out->reason, "error ratio %.2f%% -> %.2f%%%s (p=%.2g)",
             100 * j->err.before, 100 * j->err.after, tgt, pv);
    out->p_value = pv;
}

static void say_control(struct tg_verify_result *out, const struct judged *j, int dir)
{
    snprintf(out->reason, sizeof out->reason,
             "p95 %.0f ms -> %.0f ms, but the control %s as much (%.0f ms -> %.0f ms): "
             "not attributed to the action",
             j->lat.before, j->lat.after, dir > 0 ? "rose" : "fell", j->ctl.before, j->ctl.after);
    out->p_value = dir > 0 ? j->lat.p_up : j->lat.p_down;
}

/* Steps 2 to 4 of verify.h, once both sides have enough p95 samples. */
static void decide(struct judged *j, struct tg_verify_result *out)
{
    const struct tg_verify_params *p = j->p;
    bool errs = j->err.nb >= (size_t)p->min_samples && j->err.na >= (size_t)p->min_samples;
    int lat = moved(&j->lat, j->alpha, p->min_change, 0);
    int err = errs ? moved(&j->err, j->alpha, p->min_change, p->min_error_change) : 0;
    out->final = true;
    if (err > 0) {
        out->verdict = TG_VERDICT_WORSE;
        say_errors(out, j, j->err.p_up);
    } else if (lat > 0 && control_explains(&j->lat, &j->ctl, 1, p, j->alpha)) {
        say_control(out, j, 1);
    } else if (lat > 0) {
        out->verdict = TG_VERDICT_WORSE;
        say_p95(out, j, "", j->lat.p_up);
    } else if (err < 0 || (errs && into_target(&j->err, j->alpha, j->in->target_error_ratio))) {
        out->verdict = TG_VERDICT_HELPED;
        say_errors(out, j, j->err.p_down);
    } else if ((lat < 0 || into_target(&j->lat, j->alpha, j->in->target_p95_ms)) &&
               control_explains(&j->lat, &j->ctl, -1, p, j->alpha)) {
        say_control(out, j, -1);
    } else if (lat < 0 || into_target(&j->lat, j->alpha, j->in->target_p95_ms)) {
        out->verdict = TG_VERDICT_HELPED;
        say_p95(out, j, "", j->lat.p_down);
    } else {
        out->final = j->last;
        out->verdict = j->last ? TG_VERDICT_NO_EFFECT : TG_VERDICT_INCONCLUSIVE;
        say_p95(out, j, j->last ? ", no significant change" : ", no significant change yet",
                fmin(j->lat.p_up, j->lat.p_down));
    }
}

static bool bad_series(struct tg_verify_series s)
{
    return !s.v && s.n;
}

static bool bad_input(const struct tg_verify_input *in)
{
    return bad_series(in->p95_before) || bad_series(in->p95_after) ||
           bad_series(in->errors_before) || bad_series(in->errors_after) ||
           bad_series(in->control_before) || bad_series(in->control_after);
}

static size_t total(struct tg_verify_series b, struct tg_verify_series a)
{
    return b.n + a.n;
}

int tg_verify_judge(const struct tg_verify_params *p, const struct tg_verify_input *in, int look,
                    struct tg_verify_result *out)
{
    if (!in || !out || look < 1 || bad_input(in))
        return -EINVAL;
    struct tg_verify_params defaults;
    if (!p) {
        tg_verify_params_default(&defaults);
        p = &defaults;
    }
    size_t nl = total(in->p95_before, in->p95_after);
    size_t ne = total(in->errors_before, in->errors_after);
    size_t nc = total(in->control_before, in->control_after);
    size_t most = nl > ne ? nl : ne;
    most = most > nc ? most : nc;
    if (most > SIZE_MAX / 64)
        return -ENOMEM;
    /* The packed series, a median scratch, then the rank scratch. */
    double *mem = malloc((nl + ne + nc + most + 1) * sizeof(double) +
                         (most + 1) * sizeof(struct tg_pattern__ranked));
    if (!mem)
        return -ENOMEM;
    double *tmp = mem + nl + ne + nc;
    struct tg_pattern__ranked *rk = (struct tg_pattern__ranked *)(tmp + most + 1);
    size_t settle = p->settle_samples > 0 ? (size_t)p->settle_samples : 0;
    int looks = p->max_looks < 1 ? 1 : p->max_looks;
    struct judged j = {.p = p, .in = in, .alpha = p->alpha / looks, .last = look >= looks};
    load_pair(&j.lat, in->p95_before, in->p95_after, settle, false, mem, tmp, rk);
    load_pair(&j.err, in->errors_before, in->errors_after, settle, true, mem + nl, tmp, rk);
    load_pair(&j.ctl, in->control_before, in->control_after, settle, false, mem + nl + ne, tmp, rk);
    *out = (struct tg_verify_result){.verdict = TG_VERDICT_INCONCLUSIVE,
                                     .p95_before_ms = j.lat.before,
                                     .p95_after_ms = j.lat.after,
                                     .errors_before = j.err.before,
                                     .errors_after = j.err.after,
                                     .p_value = NAN};
    size_t need = p->min_samples > 0 ? (size_t)p->min_samples : 1;
    if (j.lat.nb < need || j.lat.na < need) {
        /* No data is not a pass: before the deadline wait, at it give up. */
        out->final = j.last || j.lat.nb < need;
        snprintf(out->reason, sizeof out->reason,
                 "%s: %zu usable p95 samples before the action and %zu after, %zu needed",
                 j.lat.nb + j.lat.na == 0 ? "no data" : "too few samples", j.lat.nb, j.lat.na,
                 need);
    } else {
        decide(&j, out);
    }
    free(mem);
    return 0;
}
