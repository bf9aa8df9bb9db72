/* SPDX-License-Identifier: MIT */
/* Adaptive concurrency limit (the maths and the reasons are in adaptive.h). Doubles,
 * not fixed point: this runs once a tick per limiter on the control thread, where a
 * clear formula is worth more than the nanoseconds. */
#include "protect/adaptive.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Rule 3's evidence that concurrency does not drive latency: a squeeze cut the limit by
 * at least CUT while the short latency fell by less than RESPONSE. A queueing upstream
 * answers a cut of a third with a latency a third lower (less once near its capacity,
 * but the squeeze starts only above tolerance × baseline, well inside queueing); a tenth
 * leaves room for noise between ticks. */
#define CUT (1.0 / 3.0)
#define RESPONSE 0.10
#define GRADIENT_MIN 0.5

struct tg_adaptive {
    double limit;
    double short_us, base_us; /* 0 until the first tick with enough samples */
    int64_t last_us;
    bool squeezing, accepting;
    double ep_limit, ep_short; /* where the current squeeze began */
    uint64_t decreases, increases, accepts;
};

void tg_adaptive_params_init(struct tg_adaptive_params *p)
{
    *p = (struct tg_adaptive_params){
        .min_limit = 5,
        .max_limit = 1000,
        .tolerance = 1.5,
        .smoothing = 0.2,
        .short_window_us = 1000000,
        .baseline_rise_us = 60000000,
        .min_samples = 20,
    };
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

int tg_adaptive_new(const struct tg_adaptive_params *p, struct tg_adaptive **out)
{
    struct tg_adaptive *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->limit = p->initial_limit ? p->initial_limit : p->max_limit;
    a->limit = clampd(a->limit, p->min_limit, p->max_limit);
    *out = a;
    return 0;
}

void tg_adaptive_free(struct tg_adaptive *a)
{
    free(a);
}

/* Weight of a new value in an average with time constant `tau_us` after `dt_us`. */
static double weight(int64_t dt_us, int64_t tau_us)
{
    return tau_us > 0 ? 1.0 - exp(-(double)dt_us / (double)tau_us) : 1.0;
}

/* Rule 3: the limit holds and the baseline rises, until it reaches short / √tolerance. */
static void accept(struct tg_adaptive *a, const struct tg_adaptive_params *p, int64_t dt_us)
{
    double rise = a->base_us * exp((double)dt_us / (double)p->baseline_rise_us);
    double cap = a->short_us / sqrt(p->tolerance);
    a->accepts++;
    a->accepting = rise < cap;
    a->base_us = rise < cap ? rise : cap;
    if (!a->accepting)
        a->squeezing = false;
}

/* g < 1: cut the limit, unless rule 3 says the cut is not helping. */
static void squeeze(struct tg_adaptive *a, const struct tg_adaptive_params *p, double g,
                    double used, int64_t dt_us)
{
    if (!a->squeezing) {
        a->squeezing = true;
        a->ep_limit = used;
        a->ep_short = a->short_us;
    }
    /* The latency that goes with the concurrency at the squeeze's start is its peak:
     * the short average still climbs for a tick or two after the cut has begun. */
    if (a->short_us > a->ep_short)
        a->ep_short = a->short_us;
    if (used <= a->ep_limit * (1.0 - CUT) && a->short_us >= a->ep_short * (1.0 - RESPONSE)) {
        accept(a, p, dt_us);
        return;
    }
    if (used > p->min_limit)
        a->decreases++;
    a->limit = used * (1.0 - p->smoothing * (1.0 - g));
}

/* Rules 1 and 2 of the baseline, after the short latency took in the tick's value. */
static void follow(struct tg_adaptive *a, const struct tg_adaptive_params *p, bool busy,
                   int64_t dt_us)
{
    if (a->short_us < a->base_us)
        a->base_us = a->short_us;
    else if (!busy && a->short_us <= p->tolerance * a->base_us)
        a->base_us += weight(dt_us, p->baseline_rise_us) * (a->short_us - a->base_us);
}

static void tick(struct tg_adaptive *a, const struct tg_adaptive_params *p, int64_t now_us,
                 const struct tg_adaptive_sample *s)
{
    double x = s->latency_us > 0 ? (double)s->latency_us : 1.0;
    int64_t dt = now_us - a->last_us;
    a->last_us = now_us;
    if (a->short_us <= 0) {
        a->short_us = a->base_us = x; /* the first tick: nothing to compare with yet */
        return;
    }
    a->short_us += weight(dt, p->short_window_us) * (x - a->short_us);
    bool busy = s->peak_inflight >= a->limit / 2;
    follow(a, p, busy, dt);
    double g = clampd(p->tolerance * a->base_us / a->short_us, GRADIENT_MIN, 1.0);
    if (a->accepting) {
        accept(a, p, dt);
    } else if (g < 1.0) {
        double used = s->peak_inflight && s->peak_inflight < a->limit ? s->peak_inflight : a->limit;
        squeeze(a, p, g, used, dt);
    } else {
        a->squeezing = false;
        if (busy && a->limit < p->max_limit) {
            a->limit += p->smoothing * sqrt(a->limit);
            a->increases++;
        }
    }
}

uint32_t tg_adaptive_update(struct tg_adaptive *a, const struct tg_adaptive_params *p,
                            int64_t now_us, const struct tg_adaptive_sample *s)
{
    if (s->count > 0 && s->count >= p->min_samples)
        tick(a, p, now_us, s);
    a->limit = clampd(a->limit, p->min_limit, p->max_limit);
    return (uint32_t)a->limit;
}

void tg_adaptive_read(const struct tg_adaptive *a, struct tg_adaptive_stats *out)
{
    *out = (struct tg_adaptive_stats){
        .limit = (uint32_t)a->limit,
        .short_us = a->short_us,
        .baseline_us = a->base_us,
        .squeezing = a->squeezing,
        .decreases = a->decreases,
        .increases = a->increases,
        .baseline_accepts = a->accepts,
    };
}
