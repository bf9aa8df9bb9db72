/* SPDX-License-Identifier: MIT */
/* The degradation-pattern classifier (pattern.h): works on the usable points of the
 * series packed together (gaps dropped, each point keeping its index so onsets and
 * periods stay in steps of the original series), runs the periodic, sudden and gradual
 * tests in their order of precedence, and writes one sentence of evidence. */
#include "diagnose/pattern.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "diagnose/pattern_stats_int.h"

void tg_pattern_params_default(struct tg_pattern_params *p)
{
    *p = (struct tg_pattern_params){
        .min_points = 10,
        .baseline_points = 15,
        .baseline_min_points = 5,
        .sudden_factor = 2,
        .sudden_z = 5,
        .sudden_run = 3,
        .sudden_pre_share = 0.25,
        .sigma_floor = 0.1,
        .abs_floor_ms = 1,
        .cusum_k = 0.5,
        .cusum_h = 5,
        .gradual_rise = 0.5,
        .gradual_max_share = 0.5,
        .episode_points = 2,
        .periodic_episodes = 3,
        .periodic_tolerance = 0.15,
    };
}

const char *tg_pattern_name(enum tg_pattern_kind kind)
{
    switch (kind) {
    case TG_PATTERN_SUDDEN:
        return "sudden";
    case TG_PATTERN_GRADUAL:
        return "gradual";
    case TG_PATTERN_PERIODIC:
        return "periodic";
    case TG_PATTERN_NONE:
        break;
    }
    return "none";
}

/* The usable points and the scratch the tests share. */
struct series {
    const struct tg_pattern_params *p;
    const double *x;  /* usable values, in order */
    const size_t *at; /* index of x[i] in the caller's series */
    size_t n;
    double *s1, *s2; /* scratch, room for n each */
};

/* A baseline: its level and its noise, σ floored (pattern.h) so that a flat noiseless
 * baseline still has a threshold above it. */
struct level {
    double b, sigma, thr; /* thr: the lowest value that counts as up */
};

static struct level level_of(const struct series *s, const double *w, size_t n)
{
    const struct tg_pattern_params *p = s->p;
    struct level l = {.b = tg_pattern__median(w, n, s->s1)};
    l.sigma = TG_PATTERN_MAD_SIGMA * tg_pattern__mad(w, n, l.b, s->s1);
    l.sigma = fmax(l.sigma, fmax(p->sigma_floor * l.b, p->abs_floor_ms));
    /* Up: >= K × b or > b + z × σ, whichever is lower; K × b only counts when it is at
     * least abs_floor_ms above b (a baseline of zeros would make every point up). */
    l.thr = l.b + p->sudden_z * l.sigma;
    if (p->sudden_factor * l.b < l.thr && p->sudden_factor * l.b >= l.b + p->abs_floor_ms)
        l.thr = p->sudden_factor * l.b;
    return l;
}

static int is_up(struct level l, double x)
{
    return x >= l.thr;
}

static double median3(double a, double b, double c)
{
    return fmax(fmin(a, b), fmin(fmax(a, b), c));
}

/* The level now: the median of the last tenth of the points, at least three. */
static double current_level(const struct series *s)
{
    size_t k = s->n / 10 < 3 ? 3 : s->n / 10;
    if (k > s->n)
        k = s->n;
    return tg_pattern__median(s->x + s->n - k, k, s->s2);
}

/* ---- periodic ---- */

struct episodes {
    size_t count;
    size_t last_from, last_to; /* the last episode, as positions in x: [from, to) */
    double period;             /* in steps of the caller's series */
    struct level calm;
};

/* The calm level: the median and MAD of the lower half of the values, which holds the
 * baseline as long as the series is degraded less than half of the time. */
static struct level calm_level(const struct series *s)
{
    for (size_t i = 0; i < s->n; i++)
        s->s2[i] = s->x[i];
    tg_pattern__median_inplace(s->s2, s->n);
    return level_of(s, s->s2, (s->n + 1) / 2);
}

/* Finds the episodes (runs with up points) and stores their starts, as indices of the
 * caller's series, in s2. */
static void find_episodes(const struct series *s, struct episodes *e)
{
    size_t min_len = s->p->episode_points < 1 ? 1 : (size_t)s->p->episode_points;
    e->calm = calm_level(s);
    e->count = 0;
    for (size_t i = 0; i < s->n;) {
        if (!is_up(e->calm, s->x[i])) {
            i++;
            continue;
        }
        /* An episode ends when the series is back near its calm level (below half-way
         * to the threshold), not at the first point under the threshold: a ramp or a
         * noisy plateau crossing the threshold back and forth is one episode, not a
         * run of short ones at a seemingly regular interval. */
        /* x[i] is up and always taken: with a threshold below the baseline (odd
         * parameters) it could be under `back`, and the scan would not move. */
        size_t j = i + 1, up = 1;
        double back = e->calm.b + (e->calm.thr - e->calm.b) / 2;
        for (; j < s->n && s->x[j] > back; j++)
            up += is_up(e->calm, s->x[j]);
        /* An episode already under way at the lookback's first point began before it:
         * its start is unknown, and taking that point for it would put a short
         * distance among the regular ones (a lookback that cuts through a burst would
         * make every periodic series irregular). It is not counted. */
        if (up >= min_len && i > 0) {
            s->s2[e->count++] = (double)s->at[i];
            e->last_from = i;
            e->last_to = j;
        }
        i = j;
    }
}

/* True when the episode starts recur at one period; sets e->period. */
static int regular(const struct series *s, struct episodes *e)
{
    int min_ep = s->p->periodic_episodes < 3 ? 3 : s->p->periodic_episodes;
    if (e->count < (size_t)min_ep)
        return 0;
    size_t nd = e->count - 1;
    for (size_t i = 0; i < nd; i++)
        s->s1[i] = s->s2[i + 1] - s->s2[i];
    e->period = tg_pattern__median_inplace(s->s1, nd);
    double tol = fmax(1, s->p->periodic_tolerance * e->period);
    /* Sorted: the extremes are the first and the last distance. */
    return e->period - s->s1[0] <= tol && s->s1[nd - 1] - e->period <= tol;
}

/* ---- sudden ---- */

struct shift {
    size_t count;
    size_t from, to; /* the last shift, as positions in x: [from, to) */
    struct level base;
};

/* True when the points x[j .. j+run) are all up against `l`, and the (up to three)
 * points before j carry at most sudden_pre_share of the shift (their median against the
 * median of the run): a step is abrupt, even when a rate window spreads it over two or
 * three points, while a ramp crosses the threshold with its previous points already
 * half-way up. */
static int shift_at(const struct series *s, struct level l, size_t j, size_t run)
{
    for (size_t k = j; k < j + run; k++)
        if (!is_up(l, s->x[k]))
            return 0;
    size_t k = j < 3 ? j : 3;
    double before = tg_pattern__median(s->x + j - k, k, s->s2);
    double after = tg_pattern__median(s->x + j, run, s->s2);
    return before - l.b <= s->p->sudden_pre_share * (after - l.b);
}

static void find_shifts(const struct series *s, struct shift *sh)
{
    const struct tg_pattern_params *p = s->p;
    size_t win = p->baseline_points < 1 ? 1 : (size_t)p->baseline_points;
    size_t min_base = p->baseline_min_points < 1 ? 1 : (size_t)p->baseline_min_points;
    size_t run = p->sudden_run < 1 ? 1 : (size_t)p->sudden_run;
    sh->count = 0;
    for (size_t j = min_base; j + run <= s->n;) {
        size_t from = j > win ? j - win : 0;
        struct level l = level_of(s, s->x + from, j - from);
        if (!shift_at(s, l, j, run)) {
            j++;
            continue;
        }
        /* The shift lasts until the series is back under half-way to the threshold of
         * the baseline it left (the same hysteresis as a periodic episode). */
        size_t k = j + run;
        while (k < s->n && s->x[k] > l.b + (l.thr - l.b) / 2)
            k++;
        sh->count++;
        sh->from = j;
        sh->to = k;
        sh->base = l;
        j = k;
    }
}

/* ---- gradual ---- */

struct rise {
    size_t from;
    struct level base;
    double level; /* the current level */
};

/* A CUSUM over the points after the first quarter; the onset is where the run of
 * accumulation that crossed cusum_h began. */
static int cusum(const struct series *s, struct rise *r)
{
    const struct tg_pattern_params *p = s->p;
    size_t w = s->n / 4;
    if (w < (size_t)p->baseline_min_points)
        w = (size_t)p->baseline_min_points;
    if (w < 1 || w >= s->n)
        return 0;
    r->base = level_of(s, s->x, w);
    double sum = 0;
    for (size_t j = w; j < s->n; j++) {
        /* Clamped so that huge values cannot overflow the sum into infinities. */
        double z = fmin(fmax((s->x[j] - r->base.b) / r->base.sigma, -1e6), 1e6);
        double next = fmax(0, sum + z - p->cusum_k);
        if (sum == 0 && next > 0)
            r->from = j;
        sum = next;
        if (sum > p->cusum_h)
            return 1;
    }
    return 0;
}

/* True when no step of the series smoothed by a running median of three, from just
 * before the onset to the end, carries gradual_max_share of the rise or more. */
static int spread_out(const struct series *s, const struct rise *r)
{
    size_t first = r->from > 1 ? r->from - 1 : 1;
    if (s->n < 3 || first + 2 >= s->n - 1)
        return 0;
    double total = r->level - r->base.b, prev = NAN;
    for (size_t j = first; j + 1 < s->n; j++) {
        double m = median3(s->x[j - 1], s->x[j], s->x[j + 1]);
        if (!isnan(prev) && m - prev >= s->p->gradual_max_share * total)
            return 0;
        prev = m;
    }
    return 1;
}

static int find_rise(const struct series *s, struct rise *r)
{
    if (!cusum(s, r))
        return 0;
    r->level = current_level(s);
    if (!(r->level >= (1 + s->p->gradual_rise) * r->base.b &&
          r->level - r->base.b >= s->p->abs_floor_ms))
        return 0;
    return spread_out(s, r);
}

/* ---- evidence ---- */

/* "2026-11-30T16:40:01.250Z", or the raw number when gmtime cannot place it. */
static void fmt_time(char *buf, size_t size, int64_t ms)
{
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    if ((int64_t)t != sec || !gmtime_r(&t, &tm) || tm.tm_year > 8099) {
        snprintf(buf, size, "t=%" PRId64 "ms", ms);
        return;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - sec * 1000));
}

static void fmt_ms(char *buf, size_t size, double v)
{
    snprintf(buf, size, v < 1e6 ? "%.0f ms" : "%.3g ms", v);
}

static void fmt_duration(char *buf, size_t size, int64_t ms)
{
    if (ms % 60000 == 0)
        snprintf(buf, size, "%" PRId64 " min", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(buf, size, "%" PRId64 " s", ms / 1000);
    else
        snprintf(buf, size, "%" PRId64 " ms", ms);
}

/* The evidence sentence, cut at its buffer's size (the values it holds are short). */
static void say(struct tg_pattern *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct tg_pattern *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->evidence, sizeof out->evidence, fmt, ap);
    va_end(ap);
}

static void evidence(struct tg_pattern *out)
{
    char from[32], to[32], at[80], per[32];
    fmt_ms(from, sizeof from, out->baseline_ms);
    fmt_ms(to, sizeof to, out->degraded_ms);
    fmt_time(at, sizeof at, out->onset_ms);
    switch (out->kind) {
    case TG_PATTERN_SUDDEN:
        say(out, "p95 rose from %s to %s at %s", from, to, at);
        break;
    case TG_PATTERN_GRADUAL:
        say(out, "p95 rose gradually from %s to %s since %s", from, to, at);
        break;
    case TG_PATTERN_PERIODIC:
        fmt_duration(per, sizeof per, out->period_ms);
        say(out, "p95 rose from %s to %s in %d episodes, every %s, the last at %s", from, to,
            out->episodes, per, at);
        break;
    case TG_PATTERN_NONE:
        fmt_ms(to, sizeof to, out->current_ms);
        say(out, "no shift, ramp or recurring burst: p95 around %s, now %s", from, to);
        break;
    }
}

/* ---- the classifier ---- */

static void set_onset(struct tg_pattern *out, const struct series *s, size_t pos, int64_t t0_ms,
                      int64_t step_ms)
{
    out->onset_index = (long)s->at[pos];
    out->onset_ms = t0_ms + (int64_t)s->at[pos] * step_ms;
}

static void classify(const struct series *s, int64_t t0_ms, int64_t step_ms, struct tg_pattern *out)
{
    out->current_ms = current_level(s);
    struct episodes e;
    find_episodes(s, &e);
    if (regular(s, &e)) {
        out->kind = TG_PATTERN_PERIODIC;
        set_onset(out, s, e.last_from, t0_ms, step_ms);
        out->period_ms = (int64_t)llround(e.period * (double)step_ms);
        out->phase_ms =
            out->period_ms ? (out->onset_ms % out->period_ms + out->period_ms) % out->period_ms : 0;
        out->episodes = (int)e.count;
        out->baseline_ms = e.calm.b;
        out->degraded_ms = tg_pattern__median(s->x + e.last_from, e.last_to - e.last_from, s->s1);
        return;
    }
    struct shift sh;
    find_shifts(s, &sh);
    if (sh.count) {
        out->kind = TG_PATTERN_SUDDEN;
        set_onset(out, s, sh.from, t0_ms, step_ms);
        out->episodes = (int)sh.count;
        out->baseline_ms = sh.base.b;
        out->degraded_ms = tg_pattern__median(s->x + sh.from, sh.to - sh.from, s->s1);
        return;
    }
    struct rise r = {0};
    if (find_rise(s, &r)) {
        out->kind = TG_PATTERN_GRADUAL;
        set_onset(out, s, r.from, t0_ms, step_ms);
        out->episodes = 1;
        out->baseline_ms = r.base.b;
        out->degraded_ms = r.level;
        return;
    }
    out->baseline_ms = e.calm.b;
}

int tg_pattern_classify(const double *v, size_t n, int64_t t0_ms, int64_t step_ms,
                        const struct tg_pattern_params *p, struct tg_pattern *out)
{
    /* Bounded so that no index × step_ms or t0_ms + that can overflow. */
    if (!out || (!v && n) || step_ms <= 0 || n > SIZE_MAX / 64 ||
        (uint64_t)step_ms > (uint64_t)(INT64_MAX / 4) / (n + 1) || t0_ms > INT64_MAX / 4 ||
        t0_ms < -(INT64_MAX / 4))
        return -EINVAL;
    struct tg_pattern_params defaults;
    if (!p) {
        tg_pattern_params_default(&defaults);
        p = &defaults;
    }
    *out = (struct tg_pattern){.kind = TG_PATTERN_NONE,
                               .onset_index = -1,
                               .baseline_ms = NAN,
                               .degraded_ms = NAN,
                               .current_ms = NAN};
    if (n == 0) {
        say(out, "no data");
        return 0;
    }
    /* One block: the usable values, two scratch arrays, then the indices. */
    double *block = malloc(n * (3 * sizeof(double) + sizeof(size_t)));
    if (!block)
        return -ENOMEM;
    size_t *at = (size_t *)(block + 3 * n);
    struct series s = {.p = p, .x = block, .at = at, .s1 = block + n, .s2 = block + 2 * n};
    for (size_t i = 0; i < n; i++)
        if (tg_pattern__usable(v[i])) {
            block[s.n] = v[i];
            at[s.n++] = i;
        }
    size_t min_points = p->min_points < 3 ? 3 : (size_t)p->min_points;
    if (s.n < min_points) {
        say(out, "too few points: %zu usable of %zu needed", s.n, min_points);
        free(block);
        return 0;
    }
    classify(&s, t0_ms, step_ms, out);
    free(block);
    evidence(out);
    return 0;
}
