/* SPDX-License-Identifier: MIT */
/* The protection chain; see chain.h. Order: feature switch (the cheapest, and a shed
 * feature should not spend anyone's rate-limit budget), rate limits (every rule whose
 * prefix matches takes its token, as stacked middlewares do), the concurrency limit, the
 * cache lookup (a hit needs no breaker ticket: the upstream is not asked), then the
 * breaker, whose ticket is the one thing the outcome report needs. A request that waited
 * for its concurrency slot comes back after the limit (tg_protect_resume): it has had
 * its feature and rate-limit decisions, and the cache and breaker are asked only now,
 * when it may go on. */
#include "protect/chain.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protect/features.h"

struct rule {
    struct tg_protect_rule r;
    char *prefix, *message;
    size_t prefix_len;
};

struct tg_protect_chain {
    struct tg_features *features;
    struct rule *rules;
    size_t nrules;
    bool need_ip; /* a rule keys by client address */
    struct tg_clientip_cidr *trusted;
    size_t ntrusted;
    struct tg_breaker **ubrk, **rbrk;
    struct tg_conclimit **ulim;
    struct tg_conclimit_params lp;
    struct tg_retry **uret;
    struct tg_retry_params rp;
    char **unames;
    size_t nupstreams, nroutes;
    struct tg_cache *cache;
    struct tg_protect_cache_rule *crules; /* globs owned */
    size_t ncrules;
    int64_t fallback_us;
};

static void *dup_array(const void *p, size_t n, size_t size)
{
    void *d = calloc(n ? n : 1, size);
    if (d && n && p) /* a NULL array is n NULL entries */
        memcpy(d, p, n * size);
    return d;
}

int tg_protect_chain_new(const struct tg_protect_params *p, struct tg_protect_chain **out)
{
    struct tg_protect_chain *ch = calloc(1, sizeof *ch);
    if (!ch)
        return -ENOMEM;
    int rc = tg_features_new(p->features_disabled, p->nfeatures_disabled, p->features_declared,
                             p->nfeatures_declared, &ch->features);
    ch->rules = calloc(p->nrules ? p->nrules : 1, sizeof *ch->rules);
    ch->trusted = dup_array(p->trusted, p->ntrusted, sizeof *p->trusted);
    ch->ubrk = dup_array(p->upstream_breakers, p->nupstreams, sizeof *ch->ubrk);
    ch->rbrk = dup_array(p->route_breakers, p->nroutes, sizeof *ch->rbrk);
    ch->unames = calloc(p->nupstreams ? p->nupstreams : 1, sizeof *ch->unames);
    ch->ulim = p->upstream_limits ? dup_array(p->upstream_limits, p->nupstreams, sizeof *ch->ulim)
                                  : calloc(p->nupstreams ? p->nupstreams : 1, sizeof *ch->ulim);
    ch->lp = p->limit_params;
    ch->uret = p->upstream_retries
                   ? dup_array(p->upstream_retries, p->nupstreams, sizeof *ch->uret)
                   : calloc(p->nupstreams ? p->nupstreams : 1, sizeof *ch->uret);
    ch->rp = p->retry_params;
    ch->cache = p->cache;
    ch->fallback_us = p->fallback_max_age_us;
    ch->crules = calloc(p->ncache_rules ? p->ncache_rules : 1, sizeof *ch->crules);
    ch->ntrusted = p->ntrusted;
    ch->nupstreams = p->nupstreams;
    ch->nroutes = p->nroutes;
    bool ok = rc == 0 && ch->rules && ch->trusted && ch->ubrk && ch->rbrk && ch->unames &&
              ch->ulim && ch->uret && ch->crules;
    for (size_t i = 0; ok && i < p->ncache_rules; i++) {
        ch->crules[i].ttl_us = p->cache_rules[i].ttl_us;
        ok = (ch->crules[i].path_glob = strdup(p->cache_rules[i].path_glob)) != NULL;
        ch->ncrules += ok;
    }
    for (size_t i = 0; ok && i < p->nupstreams; i++)
        ok = (ch->unames[i] = strdup(p->upstream_names ? p->upstream_names[i] : "")) != NULL;
    for (size_t i = 0; ok && i < p->nrules; i++) {
        struct rule *r = &ch->rules[ch->nrules];
        r->r = p->rules[i];
        r->prefix = strdup(p->rules[i].prefix ? p->rules[i].prefix : "");
        r->message = strdup(p->rules[i].message ? p->rules[i].message : "rate limit exceeded");
        ok = r->prefix && r->message;
        ch->nrules++;
        if (ok) {
            r->prefix_len = strlen(r->prefix);
            ch->need_ip |= r->r.scope == TG_RATELIMIT_CLIENT_IP;
        }
    }
    if (!ok) {
        tg_protect_chain_free(ch);
        return -ENOMEM;
    }
    *out = ch;
    return 0;
}

void tg_protect_chain_free(struct tg_protect_chain *ch)
{
    if (!ch)
        return;
    tg_features_free(ch->features);
    for (size_t i = 0; i < ch->nrules; i++) {
        free(ch->rules[i].prefix);
        free(ch->rules[i].message);
    }
    for (size_t i = 0; ch->unames && i < ch->nupstreams; i++)
        free(ch->unames[i]);
    free(ch->unames);
    for (size_t i = 0; i < ch->ncrules; i++)
        free((char *)ch->crules[i].path_glob);
    free(ch->crules);
    free(ch->rules);
    free(ch->trusted);
    free(ch->ubrk);
    free(ch->rbrk);
    free(ch->ulim);
    free(ch->uret);
    free(ch);
}

/* Appends `s` as the inside of a JSON string. */
static size_t json_text(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", c);
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    return o;
}

/* Whole seconds for Retry-After, rounded up, except that the few milliseconds the
 * protections' clocks are rounded to do not add a second. */
static int64_t ceil_s(int64_t us)
{
    int64_t s = (us + 990000) / 1000000;
    return s < 1 ? 1 : s;
}

static void reject(struct tg_protect_verdict *v, enum tg_protect_cause cause, int status)
{
    v->kind = TG_PROTECT_REJECT;
    v->cause = cause;
    v->status = status;
}

static void set_body(struct tg_protect_verdict *v, int n)
{
    v->body_len = n < 0 ? 0 : (size_t)n < sizeof v->body ? (size_t)n : sizeof v->body - 1;
}

static bool rate_limit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                       struct tg_protect_verdict *v)
{
    struct tg_ratelimit_key key;
    bool have_ip = false;
    for (size_t i = 0; i < ch->nrules; i++) {
        const struct rule *r = &ch->rules[i];
        if (f->path_len < r->prefix_len || memcmp(f->path, r->prefix, r->prefix_len) != 0)
            continue;
        if (r->r.scope == TG_RATELIMIT_CLIENT_IP && !have_ip) {
            tg_clientip_resolve(f->peer, f->xff, f->nxff, ch->trusted, ch->ntrusted, key.ip);
            have_ip = true;
        }
        key.route = f->route < 0 ? 0 : (uint32_t)f->route + 1;
        struct tg_ratelimit_verdict rv;
        if (tg_ratelimit_take(r->r.rl, f->now_us, &key, &rv))
            continue;
        static const enum tg_protect_cause by_scope[] = {
            [TG_RATELIMIT_GLOBAL] = TG_PCAUSE_RATE_GLOBAL,
            [TG_RATELIMIT_CLIENT_IP] = TG_PCAUSE_RATE_CLIENT_IP,
            [TG_RATELIMIT_ROUTE] = TG_PCAUSE_RATE_ROUTE,
        };
        reject(v, by_scope[r->r.scope], 429);
        v->rule_prefix = r->prefix;
        if (have_ip)
            memcpy(v->client, key.ip, sizeof v->client);
        else
            memset(v->client, 0, sizeof v->client);
        int h = tg_ratelimit_format_headers(&rv, v->headers, sizeof v->headers - 1);
        v->headers[h > 0 ? h : 0] = '\0';
        char msg[300];
        json_text(msg, sizeof msg, r->message);
        set_body(v, snprintf(v->body, sizeof v->body,
                             "{\"error\":\"%s\",\"status\":429,\"retry_after_s\":%lld}\n", msg,
                             (long long)ceil_s(rv.retry_after_us)));
        return true;
    }
    return false;
}

static void overloaded(struct tg_protect_verdict *v, enum tg_protect_cause cause,
                       enum tg_conclimit_reason why, enum tg_conclimit_tier tier)
{
    reject(v, cause, 503);
    snprintf(v->headers, sizeof v->headers, "Retry-After: 1\r\n");
    set_body(v, snprintf(v->body, sizeof v->body,
                         "{\"error\":\"overloaded\",\"reason\":\"%s\",\"tier\":\"%s\","
                         "\"status\":503}\n",
                         tg_conclimit_reason_name(why), tg_conclimit_tier_name(tier)));
}

/* Takes an in-flight slot of the upstream's limit; false when the request does not go on
 * now: refused (the refusal in `v`), or parked on the facts' queue (QUEUED) when the
 * caller gave one and the tier may wait. */
static bool concurrency(const struct tg_protect_chain *ch, struct tg_conclimit *cl,
                        const struct tg_protect_facts *f, struct tg_protect_verdict *v,
                        struct tg_protect_ticket *t)
{
    enum tg_conclimit_reason why;
    enum tg_conclimit_verdict cv = tg_conclimit_admit(cl, &ch->lp, f->queue, f->waiter, f->tier,
                                                      f->now_us, &why);
    if (cv == TG_CONCLIMIT_ADMIT || cv == TG_CONCLIMIT_ADMIT_SOFT) {
        t->limit = cl;
        return true;
    }
    if (cv == TG_CONCLIMIT_QUEUE) {
        v->kind = TG_PROTECT_QUEUED;
        t->waiting = cl;
        return false;
    }
    overloaded(v, why == TG_CONCLIMIT_R_SHED ? TG_PCAUSE_SHED : TG_PCAUSE_CONCURRENCY, why,
               f->tier);
    return false;
}

void tg_protect_queue_timeout(enum tg_conclimit_tier tier, struct tg_protect_verdict *v)
{
    v->hit.entry = NULL;
    v->waiters = false;
    overloaded(v, TG_PCAUSE_QUEUE_TIMEOUT, TG_CONCLIMIT_R_QUEUE_TIMEOUT, tier);
}

struct tg_conclimit *tg_protect_limit_of(const struct tg_protect_chain *ch, uint32_t upstream)
{
    return upstream < ch->nupstreams ? ch->ulim[upstream] : NULL;
}

const struct tg_conclimit_params *tg_protect_limit_params(const struct tg_protect_chain *ch)
{
    return &ch->lp;
}

struct tg_breaker *tg_protect_breaker_of(const struct tg_protect_chain *ch, int route,
                                         uint32_t upstream)
{
    if (route >= 0 && (size_t)route < ch->nroutes && ch->rbrk[route])
        return ch->rbrk[route];
    return upstream < ch->nupstreams ? ch->ubrk[upstream] : NULL;
}

/* The cache settings of a GET or HEAD of `path`: served from the cache when a rule's glob
 * matches (the first that does), kept for fallback when fallback is on. Paths longer
 * than the copy below match no rule (a glob needs a terminated string). Cost: one
 * fnmatch per rule up to the first match. */
static struct tg_cache_rule cache_rule_of(const struct tg_protect_chain *ch, const char *path,
                                          size_t len)
{
    struct tg_cache_rule r = {.fallback_max_age_us = ch->fallback_us};
    char p[1024];
    if (!ch->ncrules || len >= sizeof p)
        return r;
    memcpy(p, path, len);
    p[len] = '\0';
    for (size_t i = 0; i < ch->ncrules; i++) {
        if (fnmatch(ch->crules[i].path_glob, p, 0) == 0) {
            r.serve = true;
            r.default_ttl_us = ch->crules[i].ttl_us;
            break;
        }
    }
    return r;
}

/* The cache lookup: true when the request is answered (a hit, or only-if-cached with
 * nothing to give). On a miss the ticket says whether to offer the response. */
static bool cache_lookup(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                         struct tg_protect_verdict *v, struct tg_protect_ticket *t)
{
    t->cache = ch->cache;
    if (!f->cache_req)
        return false;
    t->cache_rule = cache_rule_of(ch, f->path, f->path_len);
    if (!t->cache_rule.serve && !t->cache_rule.fallback_max_age_us)
        return false;
    enum tg_cache_verdict cv = tg_cache_lookup(ch->cache, f->cache_req, &t->cache_rule,
                                               f->now_us, &v->hit);
    t->purge_gen = v->hit.purge_gen;
    t->cache_offer = cv == TG_CACHE_MISS;
    if (cv == TG_CACHE_HIT) {
        v->kind = TG_PROTECT_CACHED;
        v->cause = TG_PCAUSE_CACHE_HIT;
    } else if (cv == TG_CACHE_UNSATISFIABLE) {
        /* RFC 9111 §5.2.1.7: only-if-cached with nothing stored is a 504. */
        reject(v, TG_PCAUSE_ONLY_IF_CACHED, 504);
        set_body(v, snprintf(v->body, sizeof v->body,
                             "{\"error\":\"not in cache (only-if-cached)\",\"status\":504}\n"));
    } else {
        return false;
    }
    v->waiters = tg_protect_cancel(t); /* gives back the concurrency slot */
    return true;
}

struct tg_cache_rule tg_protect_cache_rule(const struct tg_protect_chain *ch, const char *path,
                                           size_t len)
{
    return ch->cache ? cache_rule_of(ch, path, len) : (struct tg_cache_rule){0};
}

struct tg_cache *tg_protect_cache(const struct tg_protect_chain *ch)
{
    return ch->cache;
}

bool tg_protect_fallback(const struct tg_protect_ticket *t, const struct tg_cache_req *rq,
                         int64_t now_us, struct tg_cache_hit *hit)
{
    if (!t->cache || !rq || t->cache_rule.fallback_max_age_us <= 0)
        return false;
    return tg_cache_lookup_stale(t->cache, rq, &t->cache_rule, now_us, hit);
}

static void reset(struct tg_protect_verdict *v, struct tg_protect_ticket *t)
{
    v->hit.entry = NULL;
    v->waiters = false;
    t->cache = NULL;
    t->cache_rule = (struct tg_cache_rule){0};
    t->purge_gen = 0;
    t->cache_offer = false;
    v->kind = TG_PROTECT_ALLOW;
    v->cause = TG_PCAUSE_NONE;
    v->headers[0] = '\0';
    v->body_len = 0;
    t->breaker = NULL;
    t->breaker_ticket = 0;
    t->limit = NULL;
    t->waiting = NULL;
}

/* The steps after the concurrency limit: the cache lookup, then the breaker. */
static void after_limit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                        struct tg_protect_verdict *v, struct tg_protect_ticket *t)
{
    if (ch->cache && f->feature && cache_lookup(ch, f, v, t))
        return;
    struct tg_breaker *b = tg_protect_breaker_of(ch, f->route, f->upstream);
    if (!b)
        return;
    int64_t retry_us = 0;
    uint32_t ticket = 0;
    if (tg_breaker_admit(b, f->now_us, &ticket, &retry_us)) {
        t->breaker = b;
        t->breaker_ticket = ticket;
        return;
    }
    v->waiters = tg_protect_cancel(t); /* gives back the concurrency slot */
    if (tg_protect_fallback(t, f->cache_req, f->now_us, &v->hit)) {
        v->kind = TG_PROTECT_CACHED;
        v->cause = TG_PCAUSE_CACHE_FALLBACK;
        t->cache_offer = false;
        return;
    }
    reject(v, TG_PCAUSE_BREAKER_OPEN, 503);
    long long s = (long long)ceil_s(retry_us);
    snprintf(v->headers, sizeof v->headers, "Retry-After: %lld\r\n", s);
    char name[160];
    json_text(name, sizeof name, f->upstream < ch->nupstreams ? ch->unames[f->upstream] : "");
    set_body(v, snprintf(v->body, sizeof v->body,
                         "{\"error\":\"circuit breaker open\",\"upstream\":\"%s\",\"status\":503,"
                         "\"retry_after_s\":%lld}\n",
                         name, s));
}

void tg_protect_admit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                      struct tg_protect_verdict *v, struct tg_protect_ticket *t)
{
    reset(v, t);
    if (!tg_features_none(ch->features) && f->feature) {
        const char *off = tg_features_shed(ch->features, f->feature, f->path, f->path_len);
        if (off) {
            reject(v, TG_PCAUSE_FEATURE_DISABLED, 503);
            /* The switch stays off until someone turns it on: a client should come back
             * later, not hammer. */
            snprintf(v->headers, sizeof v->headers, "Retry-After: 60\r\n");
            set_body(v, snprintf(v->body, sizeof v->body,
                                 "{\"error\":\"feature disabled\",\"feature\":\"%s\","
                                 "\"status\":503}\n",
                                 off));
            return;
        }
    }
    if (ch->nrules && f->feature && rate_limit(ch, f, v))
        return;
    struct tg_conclimit *cl = f->upstream < ch->nupstreams ? ch->ulim[f->upstream] : NULL;
    if (cl && f->feature && !concurrency(ch, cl, f, v, t))
        return;
    after_limit(ch, f, v, t);
}

void tg_protect_resume(const struct tg_protect_chain *ch, struct tg_conclimit *cl,
                       const struct tg_protect_facts *f, struct tg_protect_verdict *v,
                       struct tg_protect_ticket *t)
{
    reset(v, t);
    t->limit = cl;
    after_limit(ch, f, v, t);
}

bool tg_protect_observe(struct tg_protect_ticket *t, int64_t now_us, bool failed,
                        int64_t latency_us)
{
    if (t->breaker)
        tg_breaker_observe(t->breaker, now_us, t->breaker_ticket, failed, latency_us);
    bool waiters = t->limit && tg_conclimit_release(t->limit);
    t->breaker = NULL;
    t->limit = NULL;
    return waiters;
}

bool tg_protect_cancel(struct tg_protect_ticket *t)
{
    if (t->breaker)
        tg_breaker_cancel(t->breaker, t->breaker_ticket);
    bool waiters = t->limit && tg_conclimit_release(t->limit);
    t->breaker = NULL;
    t->limit = NULL;
    return waiters;
}

void tg_protect_retry(const struct tg_protect_chain *ch, uint32_t upstream,
                      const struct tg_retry_try *t, int64_t now_us, uint64_t rnd,
                      struct tg_retry_decision *d)
{
    struct tg_retry *r = upstream < ch->nupstreams ? ch->uret[upstream] : NULL;
    if (!r) {
        *d = (struct tg_retry_decision){.verdict = TG_RETRY_DONE};
        return;
    }
    tg_retry_end(r, &ch->rp, t, now_us, rnd, d);
}

struct tg_retry *tg_protect_retry_of(const struct tg_protect_chain *ch, uint32_t upstream)
{
    return upstream < ch->nupstreams ? ch->uret[upstream] : NULL;
}
