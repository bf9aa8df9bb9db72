/* SPDX-License-Identifier: MIT */
/* Protection state by name: objects survive builds with their state, the parameters of
 * the latest build apply, unused ones are reported inactive, and a rate limit whose
 * scope changes is a new object (its keys meant something else). */
#include "protect/state.h"

#include <string.h>

#include "tg_test.h"

struct count {
    int n, active;
    struct tg_breaker *b;
};

static void on_breaker(const char *name, struct tg_breaker *b, bool active, void *vc)
{
    struct count *c = vc;
    (void)name;
    c->n++;
    c->active += active;
    c->b = b;
}

static void on_limit(const char *name, struct tg_ratelimit *rl, bool active, void *vc)
{
    struct count *c = vc;
    (void)name;
    (void)rl;
    c->n++;
    c->active += active;
}

int main(int argc, char **argv)
{
    (void)argc;
    struct tg_protect_state *st = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_protect_state_new(7, &st), 0);
    struct tg_breaker_params bp;
    tg_breaker_params_default(&bp);
    bp.min_calls = 1;
    bp.window = TG_BREAKER_WINDOW_COUNT;
    bp.window_size = 2;
    tg_protect_state_begin(st);
    struct tg_breaker *b = tg_protect_state_breaker(st, "upstream/api", &bp, 0, &eb);
    TG_EXPECT(b != NULL);
    uint32_t ticket;
    int64_t retry;
    TG_EXPECT(tg_breaker_admit(b, 10, &ticket, &retry));
    tg_breaker_observe(b, 20, ticket, true, 5);
    TG_EXPECT(!tg_breaker_admit(b, 30, &ticket, &retry)); /* open */

    /* The next build asks for it again: the same object, still open, new parameters. */
    tg_protect_state_begin(st);
    bp.recovery_us = 1000;
    TG_EXPECT(tg_protect_state_breaker(st, "upstream/api", &bp, 40, &eb) == b);
    TG_EXPECT(!tg_breaker_admit(b, 50, &ticket, &retry));
    struct count c = {0};
    tg_protect_state_foreach_breaker(st, on_breaker, &c);
    TG_EXPECT_EQ(c.n, 1);
    TG_EXPECT_EQ(c.active, 1);

    /* A build without it: kept, inactive. Bad parameters: NULL and a message. */
    tg_protect_state_begin(st);
    bp.failure_threshold = 7;
    TG_EXPECT(tg_protect_state_breaker(st, "upstream/other", &bp, 60, &eb) == NULL);
    TG_EXPECT(eb.msg[0] != '\0');
    memset(&c, 0, sizeof c);
    tg_protect_state_foreach_breaker(st, on_breaker, &c);
    TG_EXPECT_EQ(c.n, 1);
    TG_EXPECT_EQ(c.active, 0);

    /* Rate limits: same name and scope is the same object; a new scope is a new one. */
    struct tg_ratelimit_params rp;
    tg_ratelimit_params_default(&rp);
    struct tg_ratelimit *g1 =
        tg_protect_state_ratelimit(st, "rate_limit", TG_RATELIMIT_GLOBAL, 0, &rp, &eb);
    struct tg_ratelimit *g2 =
        tg_protect_state_ratelimit(st, "rate_limit", TG_RATELIMIT_GLOBAL, 0, &rp, &eb);
    TG_EXPECT(g1 != NULL && g1 == g2);
    struct tg_ratelimit *ip =
        tg_protect_state_ratelimit(st, "rate_limit", TG_RATELIMIT_CLIENT_IP, 1024, &rp, &eb);
    TG_EXPECT(ip != NULL && ip != g1);
    memset(&c, 0, sizeof c);
    tg_protect_state_foreach_ratelimit(st, on_limit, &c);
    TG_EXPECT_EQ(c.n, 1); /* the replaced one is no longer listed */
    TG_EXPECT_EQ(c.active, 1);
    /* An adaptive controller is carried by name, with its limit, and found again. */
    struct tg_adaptive_params ap;
    tg_adaptive_params_init(&ap);
    ap.max_limit = 40;
    TG_EXPECT(tg_protect_state_adaptive_get(st, "upstream/api") == NULL);
    struct tg_adaptive *a1 = tg_protect_state_adaptive(st, "upstream/api", &ap);
    TG_EXPECT(a1 != NULL);
    tg_protect_state_begin(st);
    ap.max_limit = 80; /* new parameters do not make a new controller */
    TG_EXPECT(tg_protect_state_adaptive(st, "upstream/api", &ap) == a1);
    TG_EXPECT(tg_protect_state_adaptive_get(st, "upstream/api") == a1);
    struct tg_adaptive_stats as;
    tg_adaptive_read(a1, &as);
    TG_EXPECT_EQ(as.limit, 40);
    tg_protect_state_free(st);
    tg_protect_state_free(NULL);
    return tg_test_report(argv[0]);
}
