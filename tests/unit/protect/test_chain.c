/* SPDX-License-Identifier: MIT */
/* The protection chain with explicit times: features before rate limits before the
 * breaker; a refusal carries its status, cause, headers and a JSON body (messages
 * escaped); a rule applies only under its prefix; exempt requests (feature NULL) skip the
 * switches and limits; every admitted request's ticket goes back once; a request over
 * its concurrency limit waits in a queue and resumes after the limit. */
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

/* A request over the limit parks when the caller offers a queue, and is refused when it
 * does not; a release while someone waits says so; the granted waiter resumes after the
 * limit (the breaker still asked) holding the slot; a waiter that times out gets the 503
 * with cause queue_timeout; a resumed request the breaker refuses gives its slot back and
 * says whether someone waits for it. */
static void test_queue(void)
{
    struct tg_protect_state *st = NULL;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_protect_state_new(7, &st), 0);
    tg_protect_state_begin(st);
    struct tg_conclimit *cl = tg_protect_state_conclimit(st, "upstream/api");
    TG_EXPECT(cl != NULL);
    struct tg_breaker_params bp;
    tg_breaker_params_default(&bp);
    bp.min_calls = 1;
    bp.window = TG_BREAKER_WINDOW_COUNT;
    bp.window_size = 2;
    bp.failure_threshold = 0.5;
    bp.recovery_us = 5000000;
    struct tg_breaker *b = tg_protect_state_breaker(st, "upstream/api", &bp, 0, &eb);
    TG_EXPECT(b != NULL);
    struct tg_conclimit *ul[] = {cl};
    struct tg_breaker *ub[] = {b};
    struct tg_protect_params p = {.upstream_limits = ul, .upstream_breakers = ub, .nupstreams = 1};
    tg_conclimit_params_init(&p.limit_params);
    p.limit_params.hard_limit = 1;
    p.limit_params.queue_max = 2;
    p.limit_params.queue_timeout_us = 100000;
    struct tg_protect_chain *ch = NULL;
    TG_EXPECT_EQ(tg_protect_chain_new(&p, &ch), 0);
    TG_EXPECT(tg_protect_limit_of(ch, 0) == cl);
    TG_EXPECT(tg_protect_limit_of(ch, 1) == NULL);
    TG_EXPECT_EQ(tg_protect_limit_params(ch)->queue_max, 2);

    struct tg_conclimit_queue q;
    tg_conclimit_queue_init(&q);
    struct tg_conclimit_waiter wb, wc;
    struct tg_protect_verdict v;
    struct tg_protect_ticket ta, tb, tc;
    struct tg_protect_facts f = facts(1000, "/x", "");
    f.tier = TG_CONCLIMIT_CRITICAL;
    tg_protect_admit(ch, &f, &v, &ta);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_ALLOW);
    TG_EXPECT(ta.limit == cl);
    /* Over the limit without a queue: refused at once. */
    tg_protect_admit(ch, &f, &v, &tb);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_REJECT);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_CONCURRENCY);
    TG_EXPECT(strstr(v.body, "\"reason\":\"limit\"") != NULL);
    /* With one: parked. */
    f.queue = &q;
    f.waiter = &wb;
    tg_protect_admit(ch, &f, &v, &tb);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_QUEUED);
    TG_EXPECT(tb.waiting == cl && tb.limit == NULL && tb.breaker == NULL);
    TG_EXPECT_EQ(q.n, 1);
    /* The slot comes back while someone waits. */
    TG_EXPECT(tg_protect_observe(&ta, 2000, false, 1000));
    struct tg_conclimit_waiter *out = NULL;
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p.limit_params, &q, 2000, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &wb);
    f.now_us = 2000;
    tg_protect_resume(ch, cl, &f, &v, &tb);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_ALLOW);
    TG_EXPECT(tb.limit == cl && tb.breaker == b && tb.waiting == NULL);
    /* A second waiter, not served in time. */
    f.waiter = &wc;
    tg_protect_admit(ch, &f, &v, &tc);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_QUEUED);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p.limit_params, &q, 50000, &out), TG_CONCLIMIT_POLL_NONE);
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p.limit_params, &q, 102000, &out),
                 TG_CONCLIMIT_POLL_EXPIRED);
    TG_EXPECT(out == &wc);
    tg_protect_queue_timeout(out->tier, &v);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_REJECT);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_QUEUE_TIMEOUT);
    TG_EXPECT_EQ(v.status, 503);
    TG_EXPECT_STREQ(v.headers, "Retry-After: 1\r\n");
    TG_EXPECT(strstr(v.body, "\"reason\":\"queue_timeout\",\"tier\":\"critical\"") != NULL);
    TG_EXPECT_EQ(v.body_len, strlen(v.body));
    /* The resumed request fails: the breaker opens. The next waiter, once granted, is
     * refused by the breaker; its slot goes back, and the verdict says whether anyone
     * waits for it. */
    TG_EXPECT(!tg_protect_observe(&tb, 3000, true, 1000));
    f.waiter = &wb;
    f.now_us = 4000;
    tg_protect_admit(ch, &f, &v, &tb);
    TG_EXPECT_EQ(v.kind, TG_PROTECT_REJECT); /* the slot was free: the breaker refused */
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_BREAKER_OPEN);
    TG_EXPECT(!v.waiters);
    /* A granted waiter refused by the open breaker, while another waits. */
    tg_conclimit_admit(cl, &p.limit_params, NULL, NULL, TG_CONCLIMIT_CRITICAL, 4000, NULL);
    tg_protect_admit(ch, &f, &v, &tb); /* parks wb */
    TG_EXPECT_EQ(v.kind, TG_PROTECT_QUEUED);
    f.waiter = &wc;
    tg_protect_admit(ch, &f, &v, &tc); /* parks wc */
    TG_EXPECT_EQ(v.kind, TG_PROTECT_QUEUED);
    TG_EXPECT(tg_conclimit_release(cl));
    TG_EXPECT_EQ(tg_conclimit_poll(cl, &p.limit_params, &q, 5000, &out), TG_CONCLIMIT_POLL_GRANTED);
    TG_EXPECT(out == &wb);
    tg_protect_resume(ch, cl, &f, &v, &tb);
    TG_EXPECT_EQ(v.cause, TG_PCAUSE_BREAKER_OPEN);
    TG_EXPECT(v.waiters);
    TG_EXPECT(tb.limit == NULL);
    tg_conclimit_cancel(cl, &q, &wc);
    struct tg_conclimit_stats cs;
    tg_conclimit_read(cl, &p.limit_params, &cs);
    TG_EXPECT_EQ(cs.inflight, 0);
    TG_EXPECT_EQ(cs.queued, 0);
    tg_protect_chain_free(ch);
    tg_protect_state_free(st);
}

int main(int argc, char **argv)
{
    test_queue();
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
