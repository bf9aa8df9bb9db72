/* SPDX-License-Identifier: MIT */
/* Load profiles and the open-model schedule (see stages_int.h). */
#include "bench/stages_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/units_int.h"

int tg_bench__parse_stages(const char *s, struct tg_bench_profile *p, struct tg_errbuf *eb)
{
    memset(p, 0, sizeof *p);
    const char *cur = s;
    for (;;) {
        const char *comma = strchr(cur, ',');
        size_t len = comma ? (size_t)(comma - cur) : strlen(cur);
        char item[64];
        if (len == 0 || len >= sizeof item)
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "--stages: bad stage '%.*s' (expected DURATION:TARGET)", (int)len,
                                 cur);
        memcpy(item, cur, len);
        item[len] = 0;
        char *colon = strchr(item, ':');
        if (!colon)
            return tg_errbuf_set(eb, TG_EPARSE,
                                 "--stages: bad stage '%s' (expected DURATION:TARGET, "
                                 "e.g. 30s:100)",
                                 item);
        *colon = 0;
        char *target = colon + 1;
        size_t tl = strlen(target);
        if (tl > 3 && strcmp(target + tl - 3, "rps") == 0) {
            target[tl - 3] = 0;
            p->rate_suffix = true;
        }
        int64_t us;
        if (tg_bench__parse_duration(item, &us) < 0 || us <= 0)
            return tg_errbuf_set(eb, TG_EPARSE, "--stages: bad duration '%s' (e.g. 30s, 1m)", item);
        char *end;
        double v = strtod(target, &end);
        if (end == target || *end || !(v >= 0) || !isfinite(v) || v > 1e7)
            return tg_errbuf_set(eb, TG_EPARSE, "--stages: bad target '%s' (a number >= 0)",
                                 target);
        if (p->n == TG_BENCH_STAGES_MAX)
            return tg_errbuf_set(eb, TG_EPARSE, "--stages: at most %d stages", TG_BENCH_STAGES_MAX);
        p->s[p->n++] = (struct tg_bench_stage){.dur_us = us, .target = v};
        p->total_us += us;
        if (!comma)
            break;
        cur = comma + 1;
    }
    return 0;
}

void tg_bench__profile_constant(struct tg_bench_profile *p, double value, int64_t dur_us)
{
    memset(p, 0, sizeof *p);
    p->start = value;
    p->n = 1;
    p->s[0] = (struct tg_bench_stage){.dur_us = dur_us, .target = value};
    p->total_us = dur_us;
}

double tg_bench__profile_at(const struct tg_bench_profile *p, int64_t t_us)
{
    if (t_us <= 0 || p->n == 0)
        return p->start;
    double from = p->start;
    int64_t t0 = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        const struct tg_bench_stage *st = &p->s[i];
        if (t_us < t0 + st->dur_us)
            return from + (st->target - from) * (double)(t_us - t0) / (double)st->dur_us;
        from = st->target;
        t0 += st->dur_us;
    }
    return from;
}

double tg_bench__profile_max(const struct tg_bench_profile *p)
{
    double m = p->start;
    for (uint32_t i = 0; i < p->n; i++)
        if (p->s[i].target > m)
            m = p->s[i].target;
    return m;
}

/* Requests in the first `tau` seconds of a stage going from r0 to r1 (req/s) over `d` s. */
static double seg_count(double r0, double r1, double d, double tau)
{
    return r0 * tau + (r1 - r0) * tau * tau / (2 * d);
}

double tg_bench__profile_count(const struct tg_bench_profile *p, int64_t t_us)
{
    double n = 0, from = p->start;
    int64_t t0 = 0;
    for (uint32_t i = 0; i < p->n && t_us > t0; i++) {
        const struct tg_bench_stage *st = &p->s[i];
        double d = (double)st->dur_us / 1e6;
        int64_t upto = t_us < t0 + st->dur_us ? t_us : t0 + st->dur_us;
        n += seg_count(from, st->target, d, (double)(upto - t0) / 1e6);
        from = st->target;
        t0 += st->dur_us;
    }
    return n;
}

void tg_bench__cursor_init(const struct tg_bench_profile *p, struct tg_bench_cursor *c)
{
    *c = (struct tg_bench_cursor){.from = p->start};
}

int64_t tg_bench__profile_time_of(const struct tg_bench_profile *p, double k,
                                  struct tg_bench_cursor *c)
{
    for (; c->seg < p->n; c->seg++) {
        const struct tg_bench_stage *st = &p->s[c->seg];
        double d = (double)st->dur_us / 1e6;
        double r0 = c->from, r1 = st->target;
        double need = k - c->before;
        if (need < seg_count(r0, r1, d, d)) {
            /* Solve r0 τ + a τ² = need, a = (r1 - r0) / 2d, with the cancellation-free form
             * τ = 2 need / (r0 + sqrt(r0² + 4 a need)). */
            double a = (r1 - r0) / (2 * d);
            double disc = r0 * r0 + 4 * a * need;
            double den = r0 + sqrt(disc > 0 ? disc : 0);
            double tau = den > 0 && need > 0 ? 2 * need / den : 0;
            if (tau > d)
                tau = d;
            return c->t0_us + (int64_t)llround(tau * 1e6);
        }
        c->before += seg_count(r0, r1, d, d);
        c->from = r1;
        c->t0_us += st->dur_us;
    }
    return INT64_MAX;
}
