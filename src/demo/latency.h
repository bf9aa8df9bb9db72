/* SPDX-License-Identifier: MIT */
/* Randomness and simulated latency for the demo API. Each worker thread owns one
 * struct tg_demo_rng (xorshift128+, seeded through splitmix64), so nothing random is
 * shared or locked; tests seed it with a constant to get reproducible draws. Latencies
 * are lognormal, parameterised the way people describe latency (a median and a p99),
 * because real service times are skewed with a long right tail. All functions are pure
 * apart from advancing the generator they are given. */
#ifndef TG_DEMO_LATENCY_H
#define TG_DEMO_LATENCY_H

#include <stdint.h>

struct tg_demo_rng {
    uint64_t s[2];
};

/* Seeds `r` from `seed` through splitmix64 (any seed, including 0, gives a good state). */
void tg_demo_rng_seed(struct tg_demo_rng *r, uint64_t seed);

/* Next 64 random bits. Cost: a few ns. */
uint64_t tg_demo_rng_next(struct tg_demo_rng *r);

/* Uniform double in [0, 1), 53 bits of precision. */
double tg_demo_rng_unit(struct tg_demo_rng *r);

/* Standard normal draw (Box-Muller; one draw per call, the twin is discarded). */
double tg_demo_rng_normal(struct tg_demo_rng *r);

/* A lognormal distribution fixed by its median and 99th percentile, in milliseconds,
 * with an upper clamp so a freak draw cannot park a request for minutes. */
struct tg_demo_lognormal {
    double mu;    /* ln(median_ms) */
    double sigma; /* ln(p99_ms / median_ms) / z(0.99) */
    double max_ms;
};

/* Fills `l`. `median_ms` > 0; `p99_ms` >= `median_ms` (equal means no spread). */
void tg_demo_lognormal_init(struct tg_demo_lognormal *l, double median_ms, double p99_ms,
                            double max_ms);

/* Draws one latency in microseconds, multiplied by `scale` (0 gives 0 without drawing). */
int64_t tg_demo_lognormal_sample_us(const struct tg_demo_lognormal *l, struct tg_demo_rng *r,
                                    double scale);

#endif
