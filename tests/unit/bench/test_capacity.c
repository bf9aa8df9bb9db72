/* SPDX-License-Identifier: MIT */
/* Unit tests for src/bench/capacity.c with a simulated system: a service with a known
 * capacity (steps pass below it), one that fails at every rate, one that never fails, a
 * noisy one; the step sequence (doubling, then bisection, rounding), the answer's
 * precision, and the knee, Little's law and suggested settings. */
#include "bench/capacity_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tg_test.h"

/* A queue with `servers` servers of `service_ms` each: below capacity the latency is the
 * service time; above it the queue grows over the step and p95 climbs. */
struct sim {
    double servers, service_ms, step_s;
};

static struct tg_bench_step simulate(const struct sim *m, double rate, double slo_ms)
{
    struct tg_bench_step st = {.rate = rate};
    double cap = m->servers * 1000 / m->service_ms;
    double lat_ms = m->service_ms;
    if (rate > cap) /* backlog grows at (rate - cap)/s; p95 sits near the end of the step */
        lat_ms += (rate - cap) / cap * m->step_s * 0.95 * 1000;
    st.achieved_rps = rate < cap ? rate : cap;
    st.p50_us = st.p95_us = st.p99_us = (int64_t)(lat_ms * 1000);
    st.mean_us = lat_ms * 1000;
    st.requests = (uint64_t)(rate * m->step_s);
    st.ok = lat_ms < slo_ms;
    return st;
}

static int search(const struct sim *m, double start, double max_rate, double precision,
                  double slo_ms, struct tg_bench_search *s, struct tg_bench_capacity *c)
{
    tg_bench__search_init(s, start, max_rate, precision, 40);
    int steps = 0;
    double r;
    while ((r = tg_bench__search_next(s)) > 0) {
        struct tg_bench_step st = simulate(m, r, slo_ms);
        tg_bench__search_add(s, &st);
        if (++steps > 64)
            break;
    }
    tg_bench__search_conclude(s, c);
    return steps;
}

static void test_known_capacity(void)
{
    struct tg_bench_search s;
    struct tg_bench_capacity c;
    struct sim m = {.servers = 4, .service_ms = 10, .step_s = 5}; /* 400 rps */
    int steps = search(&m, 100, 1e6, 0.05, 100, &s, &c);
    TG_EXPECT(c.found);
    /* The answer is the highest passing rate, within 5 % below the true limit. The SLO
     * (100 ms) tolerates a little overload: (r - 400) / 400 * 5 * 0.95 s + 10 ms < 100 ms
     * up to r = 407.6. */
    TG_EXPECT(c.max_rps <= 407.6);
    TG_EXPECT(c.max_rps >= 400 * 0.95);
    /* 100, 200, 400 pass; 800 fails; then bisection. */
    TG_EXPECT(s.steps[0].rate == 100 && s.steps[1].rate == 200 && s.steps[2].rate == 400);
    TG_EXPECT(s.steps[3].rate == 800 && !s.steps[3].ok);
    TG_EXPECT(s.steps[4].rate == 600);
    TG_EXPECT_LE(steps, 10);
    /* Knee and suggestions. */
    TG_EXPECT(c.knee_seen);
    TG_EXPECT(fabs(c.knee_rps - c.max_rps) < 1e-9); /* latency is flat up to capacity */
    TG_EXPECT(fabs(c.little - c.knee_rps * 0.010) < 0.05);
    TG_EXPECT(fabs(c.parallel - c.max_rps * 0.010) < 1e-9);
    TG_EXPECT_EQ(c.concurrency_limit, (uint32_t)ceil(c.max_rps * 0.010 - 1e-9));
    TG_EXPECT_GE(c.concurrency_limit, 4);
    TG_EXPECT_LE(c.concurrency_limit, 5);
    TG_EXPECT(c.rate_limit_rps == floor(c.max_rps * 0.9));

    /* Other capacities and starting points all land within the precision. */
    double caps[] = {37, 1000, 4200, 123456};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        struct sim mm = {.servers = caps[i] / 100, .service_ms = 10, .step_s = 5};
        for (double start = 10; start <= 10000; start *= 10) {
            search(&mm, start, 1e6, 0.02, 20, &s, &c);
            double err = fabs(c.max_rps - caps[i]) / caps[i];
            if (!c.found || err > 0.03)
                fprintf(stderr, "cap %g start %g: found %g\n", caps[i], start, c.max_rps);
            TG_EXPECT(c.found && err <= 0.03);
        }
    }
}

static void test_edges(void)
{
    struct tg_bench_search s;
    struct tg_bench_capacity c;
    /* Failing everywhere: halves down to 1 rps, then gives up. */
    struct sim dead = {.servers = 0.0001, .service_ms = 10, .step_s = 5};
    int steps = search(&dead, 100, 1e6, 0.05, 100, &s, &c);
    TG_EXPECT(!c.found);
    TG_EXPECT_EQ(c.best, -1);
    TG_EXPECT(s.steps[1].rate == 50);
    TG_EXPECT(s.steps[steps - 1].rate >= 1);
    TG_EXPECT_LE(steps, 9);
    TG_EXPECT_EQ(c.concurrency_limit, 0); /* no answer, no suggestion */
    /* Never failing: stops at the ceiling, and says no knee was seen. */
    struct sim fast = {.servers = 1e6, .service_ms = 1, .step_s = 5};
    search(&fast, 100, 3000, 0.05, 100, &s, &c);
    TG_EXPECT(c.found);
    TG_EXPECT(c.max_rps == 3000);
    TG_EXPECT(!c.knee_seen);
    TG_EXPECT(c.knee_rps == 3000);
    TG_EXPECT(s.steps[s.n - 1].rate == 3000);
    /* The step budget is honoured. */
    tg_bench__search_init(&s, 100, 1e6, 0.0001, 3);
    for (int i = 0; i < 3; i++) {
        struct tg_bench_step st = simulate(&fast, tg_bench__search_next(&s), 100);
        tg_bench__search_add(&s, &st);
    }
    TG_EXPECT(tg_bench__search_next(&s) == 0);
    /* Rates are round numbers. */
    tg_bench__search_init(&s, 3, 1e6, 0.001, 40);
    struct tg_bench_step a = {.rate = 3, .ok = true}, b = {.rate = 6.3, .ok = false};
    tg_bench__search_add(&s, &a);
    tg_bench__search_add(&s, &b);
    TG_EXPECT(tg_bench__search_next(&s) == 4.7); /* one decimal below 10 rps */
    tg_bench__search_init(&s, 101, 1e6, 0.001, 40);
    a.rate = 101;
    b.rate = 202;
    tg_bench__search_add(&s, &a);
    tg_bench__search_add(&s, &b);
    TG_EXPECT(tg_bench__search_next(&s) == 152);
}

static void test_knee(void)
{
    /* Latency climbs gradually before the SLO breaks: the knee is below the answer. */
    struct tg_bench_search s;
    tg_bench__search_init(&s, 100, 1e6, 0.05, 40);
    double rates[] = {100, 200, 400, 800, 600};
    double p95[] = {20, 21, 25, 400, 90};
    double mean[] = {15, 16, 18, 300, 60};
    for (int i = 0; i < 5; i++) {
        struct tg_bench_step st = {.rate = rates[i],
                                   .achieved_rps = rates[i],
                                   .p95_us = (int64_t)(p95[i] * 1000),
                                   .mean_us = mean[i] * 1000,
                                   .ok = p95[i] < 100};
        tg_bench__search_add(&s, &st);
    }
    struct tg_bench_capacity c;
    tg_bench__search_conclude(&s, &c);
    TG_EXPECT(c.found && c.max_rps == 600);
    TG_EXPECT(c.knee_seen);
    TG_EXPECT(c.knee_rps == 400); /* 600's p95 (90 ms) is over 1.5 x 20 ms */
    TG_EXPECT(fabs(c.little - 400 * 0.018) < 1e-9);
    /* 600 rps x 15 ms unloaded mean = 9 requests served in parallel. */
    TG_EXPECT(fabs(c.parallel - 9) < 1e-9);
    TG_EXPECT_EQ(c.concurrency_limit, 9);
    TG_EXPECT(c.rate_limit_rps == 540);
}

/* A step over the limit below steps within it is a stall of the machine, not the knee:
 * measured beside two busy loops, 180 rps had p95 23.5 ms against 12.3 ms at 90 rps while
 * 360 rps was clean (12.3 ms), and the knee came out at 90. */
static void test_knee_ignores_a_stall(void)
{
    struct tg_bench_search s;
    double rates[] = {90, 180, 360, 720, 540, 450, 405, 428, 417};
    double p95[] = {12.3, 23.5, 12.3, 394, 210, 130, 47, 119, 110};
    struct tg_bench_capacity c;
    tg_bench__search_init(&s, 90, 1e6, 0.03, 40);
    for (int i = 0; i < 9; i++) {
        struct tg_bench_step st = {.rate = rates[i],
                                   .achieved_rps = rates[i],
                                   .p95_us = (int64_t)(p95[i] * 1000),
                                   .mean_us = p95[i] * 1000,
                                   .ok = p95[i] < 100};
        tg_bench__search_add(&s, &st);
    }
    tg_bench__search_conclude(&s, &c);
    TG_EXPECT(c.found && c.max_rps == 405);
    TG_EXPECT(c.knee_seen);
    TG_EXPECT(c.knee_rps == 360);
    TG_EXPECT(fabs(c.little - 360 * 0.0123) < 1e-9);
    /* Latency that climbs and stays up still puts the knee where it starts. */
    p95[2] = 30;
    tg_bench__search_init(&s, 90, 1e6, 0.03, 40);
    for (int i = 0; i < 9; i++) {
        struct tg_bench_step st = {.rate = rates[i], .p95_us = (int64_t)(p95[i] * 1000)};
        tg_bench__search_add(&s, &st);
    }
    tg_bench__search_conclude(&s, &c);
    TG_EXPECT(c.knee_seen && c.knee_rps == 90);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_known_capacity();
    test_edges();
    test_knee();
    test_knee_ignores_a_stall();
    return tg_test_report(argv[0]);
}
