/* SPDX-License-Identifier: MIT */
/* PRNG and lognormal latency sampling; see latency.h. xorshift128+ is used instead of
 * rand_r() because it is faster, has a 2^128 period and keeps its whole state in the
 * caller's struct, which is what makes it injectable and thread-private. */
#include "demo/latency.h"

#include <math.h>

/* z-score of the 99th percentile of the standard normal distribution. */
#define Z99 2.3263478740408408

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void tg_demo_rng_seed(struct tg_demo_rng *r, uint64_t seed)
{
    r->s[0] = splitmix64(&seed);
    r->s[1] = splitmix64(&seed);
    /* xorshift128+ must not start from the all-zero state; splitmix64 makes this
     * astronomically unlikely, but the guard costs nothing. */
    if (r->s[0] == 0 && r->s[1] == 0)
        r->s[0] = 1;
}

uint64_t tg_demo_rng_next(struct tg_demo_rng *r)
{
    uint64_t s1 = r->s[0];
    const uint64_t s0 = r->s[1];
    r->s[0] = s0;
    s1 ^= s1 << 23;
    r->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return r->s[1] + s0;
}

double tg_demo_rng_unit(struct tg_demo_rng *r)
{
    return (double)(tg_demo_rng_next(r) >> 11) * 0x1.0p-53;
}

double tg_demo_rng_normal(struct tg_demo_rng *r)
{
    /* 1 - unit is in (0, 1], so the log is finite. */
    double u1 = 1.0 - tg_demo_rng_unit(r);
    double u2 = tg_demo_rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void tg_demo_lognormal_init(struct tg_demo_lognormal *l, double median_ms, double p99_ms,
                            double max_ms)
{
    if (median_ms <= 0)
        median_ms = 0.001;
    if (p99_ms < median_ms)
        p99_ms = median_ms;
    l->mu = log(median_ms);
    l->sigma = log(p99_ms / median_ms) / Z99;
    l->max_ms = max_ms;
}

int64_t tg_demo_lognormal_sample_us(const struct tg_demo_lognormal *l, struct tg_demo_rng *r,
                                    double scale)
{
    if (scale <= 0)
        return 0;
    double ms = exp(l->mu + l->sigma * tg_demo_rng_normal(r));
    if (ms > l->max_ms)
        ms = l->max_ms;
    return (int64_t)(ms * scale * 1000.0);
}
