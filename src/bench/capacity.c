/* SPDX-License-Identifier: MIT */
/* Capacity-search decisions (see capacity_int.h). Doubling finds a bracket in
 * log2(capacity / start) steps; bisection then halves it per step, so a search from 100 rps
 * to a 5 % answer near 4,000 rps takes about 11 steps. */
#include "bench/capacity_int.h"

#include <math.h>
#include <string.h>

#define MIN_RATE 1.0 /* below one request per second there is nothing left to measure */

void tg_bench__search_init(struct tg_bench_search *s, double start, double max_rate,
                           double precision, uint32_t max_steps)
{
    memset(s, 0, sizeof *s);
    s->start = start;
    s->max_rate = max_rate;
    s->precision = precision;
    s->max_steps = max_steps < TG_BENCH_STEPS_MAX ? max_steps : TG_BENCH_STEPS_MAX;
}

/* Rates are offered as round numbers: whole requests per second from 10 up. */
static double round_rate(double r)
{
    return r >= 10 ? floor(r + 0.5) : floor(r * 10 + 0.5) / 10;
}

double tg_bench__search_next(const struct tg_bench_search *s)
{
    if (s->n == 0)
        return s->start;
    if (s->n >= s->max_steps)
        return 0;
    if (s->hi == 0) { /* everything passed so far: double, up to the ceiling */
        if (s->lo >= s->max_rate)
            return 0;
        double next = round_rate(s->lo * 2);
        return next > s->max_rate ? s->max_rate : next;
    }
    if (s->lo == 0) { /* even the lowest rate failed: halve until one passes */
        double next = round_rate(s->hi / 2);
        return next < MIN_RATE || next >= s->hi ? 0 : next;
    }
    if (s->hi - s->lo <= s->precision * s->lo)
        return 0;
    double mid = round_rate((s->lo + s->hi) / 2);
    return mid <= s->lo || mid >= s->hi ? 0 : mid;
}

void tg_bench__search_add(struct tg_bench_search *s, const struct tg_bench_step *st)
{
    if (s->n >= TG_BENCH_STEPS_MAX)
        return;
    s->steps[s->n++] = *st;
    if (st->ok) {
        if (st->rate > s->lo)
            s->lo = st->rate;
    } else if (s->hi == 0 || st->rate < s->hi) {
        s->hi = st->rate;
    }
}

void tg_bench__search_conclude(const struct tg_bench_search *s, struct tg_bench_capacity *c)
{
    memset(c, 0, sizeof *c);
    c->best = c->knee = -1;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->steps[i].ok && s->steps[i].rate == s->lo && s->lo > 0)
            c->best = (int)i;
    c->found = c->best >= 0;
    c->max_rps = c->found ? s->lo : 0;
    if (s->n == 0)
        return;

    /* Baseline: p95 at the lowest rate offered. */
    int low = 0;
    for (uint32_t i = 1; i < s->n; i++)
        if (s->steps[i].rate < s->steps[low].rate)
            low = (int)i;
    double base = (double)s->steps[low].p95_us;
    double limit = base * TG_BENCH_KNEE_FACTOR;
    if (limit < base + 1000)
        limit = base + 1000;
    /* The knee is the highest rate tested whose p95 stayed within the limit (so it is only
     * as fine as the steps that happened to run there), and it was seen if a higher rate
     * went past it. A step past the limit below one within it is not where latency
     * climbs: a service that queues at some rate queues at every rate above it, so that
     * step caught a stall of the machine (tens of ms when other work shares the cores). */
    for (uint32_t i = 0; i < s->n; i++) {
        const struct tg_bench_step *st = &s->steps[i];
        if ((double)st->p95_us <= limit && (c->knee < 0 || st->rate > s->steps[c->knee].rate))
            c->knee = (int)i;
    }
    for (uint32_t i = 0; i < s->n && c->knee >= 0; i++)
        if (s->steps[i].rate > s->steps[c->knee].rate)
            c->knee_seen = true;
    if (c->knee >= 0) {
        const struct tg_bench_step *k = &s->steps[c->knee];
        c->knee_rps = k->rate;
        /* Little's law with the achieved rate: what actually flowed through there. */
        double flow = k->achieved_rps > 0 ? k->achieved_rps : k->rate;
        c->little = flow * k->mean_us / 1e6;
    }
    if (!c->found)
        return;
    c->rate_limit_rps = floor(c->max_rps * TG_BENCH_RATE_LIMIT_SHARE);
    if (c->rate_limit_rps < 1)
        c->rate_limit_rps = 1;
    c->parallel = c->max_rps * s->steps[low].mean_us / 1e6;
    double cl = ceil(c->parallel - 1e-9);
    c->concurrency_limit = cl < 1 ? 1 : (uint32_t)cl;
}
