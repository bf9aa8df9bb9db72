/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/adaptive.{h,c}, driven by simulated upstreams one tick (1 s)
 * at a time: the limit falls when latency doubles and comes back when it recovers; an
 * upstream slow whatever its load (an hour-long incident) costs a bounded cut, not the
 * floor, and its baseline rises without reaching the degraded latency; an upstream slow
 * because it is overloaded keeps being limited for the whole hour, its baseline staying
 * at the unloaded latency; light load lets the baseline follow the unloaded latency. */
#include "protect/adaptive.h"

#include <math.h>

#include "tg_test.h"

#define TICK_US 1000000
#define L0_US 10000.0

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double noise(double amplitude)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    double u = (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    return 1.0 + amplitude * (2 * u - 1);
}

/* A simulated upstream: `demand` requests want to be in flight; latency is `slow` times
 * the unloaded latency, and grows with concurrency beyond `capacity` (0: never). */
struct sim {
    struct tg_adaptive *a;
    struct tg_adaptive_params p;
    int64_t now_us;
    uint32_t limit, demand, capacity;
    double slow, jitter;
    uint32_t min_seen, max_seen;
};

static void sim_init(struct sim *s, uint32_t demand)
{
    *s = (struct sim){.demand = demand, .slow = 1.0, .now_us = 1000 * (int64_t)TICK_US};
    tg_adaptive_params_init(&s->p);
    TG_EXPECT_EQ(tg_adaptive_new(&s->p, &s->a), 0);
    s->limit = s->p.max_limit;
}

static double sim_latency(const struct sim *s, uint32_t inflight)
{
    double lat = L0_US * s->slow;
    if (s->capacity && inflight > s->capacity)
        lat *= (double)inflight / s->capacity;
    return lat * noise(s->jitter);
}

static void sim_run(struct sim *s, int ticks)
{
    s->min_seen = UINT32_MAX;
    s->max_seen = 0;
    for (int i = 0; i < ticks; i++) {
        uint32_t inflight = s->demand < s->limit ? s->demand : s->limit;
        struct tg_adaptive_sample smp = {
            .count = 1000,
            .latency_us = (int64_t)sim_latency(s, inflight),
            .peak_inflight = inflight,
        };
        s->now_us += TICK_US;
        s->limit = tg_adaptive_update(s->a, &s->p, s->now_us, &smp);
        if (s->limit < s->min_seen)
            s->min_seen = s->limit;
        if (s->limit > s->max_seen)
            s->max_seen = s->limit;
    }
}

static struct tg_adaptive_stats sim_stats(const struct sim *s)
{
    struct tg_adaptive_stats st;
    tg_adaptive_read(s->a, &st);
    return st;
}

/* Latency doubles for a minute: the limit falls within seconds, and is back at the
 * ceiling a few minutes after latency recovers. */
static void test_drops_and_recovers(void)
{
    struct sim s;
    sim_init(&s, 800);
    sim_run(&s, 60);
    TG_EXPECT_EQ(s.limit, 1000); /* healthy: stays at the ceiling */
    s.slow = 2.0;
    sim_run(&s, 10);
    TG_EXPECT_LT(s.limit, 800);
    sim_run(&s, 50);
    TG_EXPECT_LT(s.min_seen, 700);
    s.slow = 1.0;
    sim_run(&s, 600);
    TG_EXPECT_EQ(s.limit, 1000);
    struct tg_adaptive_stats st = sim_stats(&s);
    TG_EXPECT_LT(st.baseline_us, L0_US * 1.01);
    TG_EXPECT_GT(st.decreases, 5);
    TG_EXPECT_GT(st.increases, 5);
    tg_adaptive_free(s.a);
}

/* An hour of a dependency twice as slow whatever the load (with noisy ticks): the limit
 * never comes near the floor, recovers while the incident lasts, and the baseline rises
 * only to the degraded latency over the tolerance. */
static void test_long_incident_slow_dependency(void)
{
    struct sim s;
    sim_init(&s, 800);
    s.jitter = 0.05;
    sim_run(&s, 60);
    s.slow = 2.0;
    sim_run(&s, 600);
    uint32_t first_min = s.min_seen;
    TG_EXPECT_GT(first_min, 400); /* a bounded cut, far from the floor of 5 */
    sim_run(&s, 3000);
    TG_EXPECT_GT(s.min_seen, 400);
    TG_EXPECT_GE(s.limit, 700);
    struct tg_adaptive_stats st = sim_stats(&s);
    TG_EXPECT_GT(st.baseline_us, L0_US * 1.2);                  /* it did rise */
    TG_EXPECT_LT(st.baseline_us, 2 * L0_US / sqrt(1.5) * 1.05); /* not to the degraded 20 ms */
    TG_EXPECT_GT(st.baseline_accepts, 0);
    /* The incident ends: the baseline comes straight back down. */
    s.slow = 1.0;
    sim_run(&s, 30);
    st = sim_stats(&s);
    TG_EXPECT_LT(st.baseline_us, L0_US * 1.1);
    tg_adaptive_free(s.a);
}

/* An hour of overload: 400 requests want to be in flight and latency grows beyond 100.
 * The limit settles near the capacity for the whole hour and the baseline stays at the
 * unloaded latency, instead of drifting up to the overloaded one. */
static void test_long_incident_overload(void)
{
    struct sim s;
    sim_init(&s, 80);
    s.capacity = 100;
    s.jitter = 0.05;
    sim_run(&s, 60);
    s.demand = 400;
    sim_run(&s, 3600);
    TG_EXPECT_GE(s.limit, 60);
    TG_EXPECT_LE(s.limit, 180);
    sim_run(&s, 600);
    TG_EXPECT_GE(s.min_seen, 50);
    TG_EXPECT_LE(s.max_seen, 200);
    struct tg_adaptive_stats st = sim_stats(&s);
    TG_EXPECT_LT(st.baseline_us, L0_US * 1.1);
    TG_EXPECT_EQ(st.baseline_accepts, 0);
    /* The overload ends: the limit grows back to the ceiling. */
    s.demand = 800;
    s.capacity = 0;
    sim_run(&s, 600);
    TG_EXPECT_EQ(s.limit, 1000);
    tg_adaptive_free(s.a);
}

/* Light load (the limit far from reached): the baseline follows the unloaded latency up
 * with its time constant, and a faster upstream is adopted at once; the limit does not
 * move, in use too little to say anything. */
static void test_baseline_follows_light_load(void)
{
    struct sim s;
    sim_init(&s, 50);
    sim_run(&s, 10);
    s.slow = 1.3; /* within tolerance: nothing to cut */
    sim_run(&s, 600);
    struct tg_adaptive_stats st = sim_stats(&s);
    TG_EXPECT_GT(st.baseline_us, 1.3 * L0_US * 0.99);
    TG_EXPECT_EQ(s.limit, 1000);
    TG_EXPECT_EQ(st.increases, 0);
    s.slow = 0.5;
    sim_run(&s, 20);
    st = sim_stats(&s);
    TG_EXPECT_LT(st.baseline_us, 0.5 * L0_US * 1.01);
    tg_adaptive_free(s.a);
}

/* Ticks with too few samples change nothing; new parameters clamp the limit. */
static void test_min_samples_and_new_params(void)
{
    struct tg_adaptive_params p;
    tg_adaptive_params_init(&p);
    p.initial_limit = 200;
    struct tg_adaptive *a;
    TG_EXPECT_EQ(tg_adaptive_new(&p, &a), 0);
    struct tg_adaptive_sample few = {.count = 5, .latency_us = 1000000, .peak_inflight = 200};
    TG_EXPECT_EQ(tg_adaptive_update(a, &p, 1 * TICK_US, &few), 200);
    struct tg_adaptive_stats st;
    tg_adaptive_read(a, &st);
    TG_EXPECT_EQ(st.baseline_us, 0);
    p.max_limit = 100;
    TG_EXPECT_EQ(tg_adaptive_update(a, &p, 2 * TICK_US, &few), 100);
    p.min_limit = 150;
    p.max_limit = 300;
    TG_EXPECT_EQ(tg_adaptive_update(a, &p, 3 * TICK_US, &few), 150);
    tg_adaptive_free(a);
}

int main(void)
{
    test_drops_and_recovers();
    test_long_incident_slow_dependency();
    test_long_incident_overload();
    test_baseline_follows_light_load();
    test_min_samples_and_new_params();
    return tg_test_report("protect/adaptive");
}
