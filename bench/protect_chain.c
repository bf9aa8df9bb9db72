/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the whole admission seam as the proxy calls it (protect/chain.h):
 * nanoseconds per tg_protect_admit + tg_protect_observe for a request that meets every
 * protection and triggers none (a disabled feature it does not match, a global rate
 * limit, a per-client rule over 64k clients, a concurrency limit, a breaker), against
 * the same call with nothing configured. One thread; synthetic time; CPU time of the
 * thread; median of 7 runs. Not part of the test suite (bench/micro.sh builds it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protect/chain.h"
#include "protect/state.h"

#define RUNS 7
#define OPS 2000000

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double run(const struct tg_protect_chain *ch, int64_t *now)
{
    double ns[RUNS];
    uint8_t peer[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0};
    const char *path = "/api/products";
    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = cpu_ns();
        for (int i = 0; i < OPS; i++) {
            peer[14] = (uint8_t)(i >> 8);
            peer[15] = (uint8_t)i;
            struct tg_protect_facts f = {
                .now_us = (*now)++,
                .route = 0,
                .upstream = 0,
                .feature = "",
                .path = path,
                .path_len = 13,
                .peer = peer,
                .tier = TG_CONCLIMIT_STANDARD,
            };
            struct tg_protect_verdict v;
            struct tg_protect_ticket t;
            tg_protect_admit(ch, &f, &v, &t);
            if (v.kind != TG_PROTECT_ALLOW)
                abort(); /* nothing may trigger: the figure is the cost of being on */
            tg_protect_observe(&t, *now, false, 1000);
        }
        ns[r] = (double)(cpu_ns() - t0) / OPS;
    }
    qsort(ns, RUNS, sizeof ns[0], cmp);
    return ns[RUNS / 2];
}

int main(void)
{
    struct tg_protect_state *st;
    struct tg_errbuf eb = {0};
    if (tg_protect_state_new(1, &st) != 0)
        return 1;
    struct tg_ratelimit_params g, ip;
    tg_ratelimit_params_default(&g);
    g.limit = 100000000;
    g.period_us = 1000000;
    g.burst = 100000000;
    tg_ratelimit_params_default(&ip);
    ip.algo = TG_RATELIMIT_FIXED_WINDOW;
    ip.limit = 65535;
    ip.period_us = 1000000;
    ip.burst = 1;
    struct tg_breaker_params bp;
    tg_breaker_params_default(&bp);
    struct tg_protect_rule rules[2] = {
        {tg_protect_state_ratelimit(st, "g", TG_RATELIMIT_GLOBAL, 0, &g, &eb),
         TG_RATELIMIT_GLOBAL, "", "x"},
        {tg_protect_state_ratelimit(st, "ip", TG_RATELIMIT_CLIENT_IP, 131072, &ip, &eb),
         TG_RATELIMIT_CLIENT_IP, "/", "x"},
    };
    struct tg_breaker *b = tg_protect_state_breaker(st, "b", &bp, 0, &eb);
    struct tg_conclimit *cl = tg_protect_state_conclimit(st, "c");
    struct tg_retry *rt = tg_protect_state_retry(st, "r");
    if (!rules[0].rl || !rules[1].rl || !b || !cl || !rt) {
        fprintf(stderr, "setup: %s\n", eb.msg);
        return 1;
    }
    const char *disabled[] = {"analytics"};
    const char *names[] = {"api"};
    struct tg_conclimit_params lp;
    tg_conclimit_params_init(&lp);
    lp.hard_limit = 1000000;
    struct tg_retry_params rp;
    tg_retry_params_init(&rp);
    struct tg_protect_params all = {
        .features_disabled = disabled,
        .nfeatures_disabled = 1,
        .rules = rules,
        .nrules = 2,
        .upstream_breakers = &b,
        .nupstreams = 1,
        .upstream_names = names,
        .upstream_limits = &cl,
        .limit_params = lp,
        .upstream_retries = &rt,
        .retry_params = rp,
    };
    struct tg_protect_params none = {.nupstreams = 1, .upstream_names = names};
    struct tg_protect_chain *on, *off;
    if (tg_protect_chain_new(&all, &on) != 0 || tg_protect_chain_new(&none, &off) != 0)
        return 1;
    int64_t now = 1000000;
    double base = run(off, &now), every = run(on, &now);
    printf("protect_chain: admit+observe, nothing configured   %6.1f ns\n", base);
    printf("protect_chain: admit+observe, every protection on  %6.1f ns (feature switch, "
           "global limit, per-client rule over 64k clients, concurrency limit, breaker)\n",
           every);
    tg_protect_chain_free(on);
    tg_protect_chain_free(off);
    tg_protect_state_free(st);
    return 0;
}
