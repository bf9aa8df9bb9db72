/* SPDX-License-Identifier: MIT */
/* The protection chain with explicit times: features before rate limits before the
 * breaker; a refusal carries its status, cause, headers and a JSON body (messages
 * escaped); a rule applies only under its prefix; exempt requests (feature NULL) skip the
 * switches and limits; every admitted request's ticket goes back once. */
#include "protect/chain.h"

#include <string.h>

#include "protect/state.h"
#include "tg_test.h"

static const uint8_t peer[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};

static struct tg_protect_facts facts(int64_t now, const char *path, const char *feature)
{
    struct tg_protect_facts f = {
        .now_us = now,
        .route = 0,
        .upstream = 0,
        .feature = feature,
        .path = path,
        .path_len = strlen(path),
        .peer = peer,
    };
    return f;
}

int main(int argc, char **argv)
{
    (void)argc;
    struct tg_protect_state *st = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_protect_state_new(42, &st), 0);
    tg_protect_state_begin(st);

    struct tg_ratelimit_params rp;
    tg_ratelimit_params_default(&rp);
    rp.algo = TG_RATELIMIT_FIXED_WINDOW;
    rp.limit = 2;
    rp.period_us = 60000000;
    struct tg_ratelimit *rl =
        tg_protect_state_ratelimit(st, "rule/0:/api/", TG_RATELIMIT_CLIENT_IP, 1024, &rp, &eb);
    TG_EXPECT(rl != NULL);
    struct tg_breaker_params bp;
    tg_breaker_params_default(&bp);
    bp.min_calls = 2;
    bp.window = TG_BREAKER_WINDOW_COUNT;
    bp.window_size = 4;
    bp.recovery_us = 5000000;
    struct tg_breaker *b = tg_protect_state_breaker(st, "upstream/api", &bp, 0, &eb);
    TG_EXPECT(b != NULL);
    /* Asking again by name gives the same objects (state carried to the next snapshot). */
    TG_EXPECT(tg_protect_state_breaker(st, "upstream/api", &bp, 0, &eb) == b);

    const char *disabled[] = {"analytics"};
    struct tg_protect_rule rules[] = {
        {rl, TG_RATELIMIT_CLIENT_IP, "/api/", "Too \"many\" requests"},
    };
    struct tg_breaker *ub[] = {b};
    const char *names[] = {"api"};
    struct tg_protect_params p = {
        .features_disabled = disabled,
        .nfeatures_disabled = 1,
        .rules = rules,
        .nrules = 1,
        .upstream_breakers = ub,
        .nupstreams = 1,
        .upstream_names = names,
    };
    struct tg_protect_chain *ch = NULL;
    TG_EXPECT_EQ(tg_protect_chain_new(&p, &ch), 0);

    struct tg_protect_verdict v;
    struct tg_protect_ticket t;
    /* A shed feature wins before the rate limit spends anything. */
    struct tg_protect_facts f = facts(1000, "/api/analytics/x", "");
    tg_protect_admit(ch, &f, &v, &t);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_REJECT);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_FEATURE_DISABLED);
    TG_EXPECT_EQ(v.status, 503);
    TG_EXPECT(strstr(v.headers, "Retry-After: ") != NULL);
    TG_EXPECT(t.breaker == NULL);

    /* Two requests pass the rule (and are admitted by the breaker), the third is 429. */
    for (int i = 0; i < 2; i++) {
        f = facts(2000 + i, "/api/products", "");
        tg_protect_admit(ch, &f, &v, &t);
        TG_EXPECT_EQ(v.kind, TG_PROTECT_ALLOW);
        TG_EXPECT(t.breaker == b);
        tg_protect_observe(&t, 3000 + i, true, 1000);
        TG_EXPECT(t.breaker == NULL); /* reported once */
    }
    f = facts(4000, "/api/products", "");
    tg_protect_admit(ch, &f, &v, &t);
    TG_EXPECT_EQ(v.status, 429);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_RATE_CLIENT_IP);
    TG_EXPECT(strstr(v.body, "Too \\\"many\\\" requests") != NULL);
    TG_EXPECT(strstr(v.headers, "Retry-After: ") != NULL);
    TG_EXPECT(strstr(v.headers, "RateLimit-Limit: 2") != NULL);
    TG_EXPECT(t.breaker == NULL);

    /* Outside the rule's prefix: only the breaker, which two failures opened. */
    f = facts(5000, "/health", "");
    tg_protect_admit(ch, &f, &v, &t);
    TG_EXPECT_EQ(v.status, 503);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_BREAKER_OPEN);
    TG_EXPECT(strstr(v.body, "\"upstream\":\"api\"") != NULL);
    TG_EXPECT(strstr(v.headers, "Retry-After: 5\r\n") != NULL);
    TG_EXPECT(tg_protect_breaker_of(ch, 0, 0) == b);

    /* Exempt requests skip switches and limits (not the breaker of their upstream). */
    f = facts(6000, "/api/analytics/x", NULL);
    tg_protect_admit(ch, &f, &v, &t);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_BREAKER_OPEN);

    /* After recovery a probe is admitted; cancel gives its slot back. */
    f = facts(5000 + 5000000, "/health", "");
    tg_protect_admit(ch, &f, &v, &t);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_ALLOW);
    TG_EXPECT(t.breaker == b);
    tg_protect_cancel(&t);
    TG_EXPECT(t.breaker == NULL);

    tg_protect_chain_free(ch);
    tg_protect_state_free(st);
    return tg_test_report(argv[0]);
}
