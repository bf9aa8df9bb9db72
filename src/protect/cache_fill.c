/* SPDX-License-Identifier: MIT */
/* Receiving a response into the cache: the offer decides with cache_policy.h whether the
 * response may be stored and for how long, takes the memory (evicting if needed) and
 * writes the key, the Vary names and the request's values for them, and the header lines
 * to replay; the payload is appended as it streams to the client; the commit links the
 * entry in (cache.c). The entry is private to the offering worker until then, so nothing
 * here takes a lock except the commit's one stripe lock.
 *
 * One allocation holds the whole entry. With Content-Length it is sized exactly at the
 * offer; without (chunked, or until close) the body part doubles from 4 KiB as it fills,
 * up to the object limit, and the commit gives back what was not used. */
#include "protect/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "protect/cache_int.h"

#define FIRST_BODY_CAP 4096

/* Bytes written to `p` (when not NULL) and counted in `n`: one function for both the
 * sizing pass and the writing pass, so they cannot disagree. */
struct out {
    char *p;
    size_t n;
};

static void put(struct out *o, const void *s, size_t n)
{
    if (o->p && n)
        memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void put_lower(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        put(o, &ch, 1);
    }
}

static void put_key(struct out *o, const struct tg_cache_req *rq)
{
    put(o, rq->path, rq->path_len);
    if (rq->query_len) {
        put(o, "?", 1);
        put(o, rq->query, rq->query_len);
    }
    put(o, "", 1);
}

static void put_vary_names(struct out *o, const struct tg_cache_resp_facts *sf)
{
    for (uint32_t i = 0; i < sf->nvary; i++) {
        put_lower(o, sf->vary[i].p, sf->vary[i].len);
        put(o, "", 1);
    }
}

/* Per Vary name, the request's lines of that field joined by ", " (what cache.c's
 * vary_value_eq compares against), after a 4-byte length. */
static void put_vary_values(struct out *o, const struct tg_cache_resp_facts *sf,
                            const struct tg_cache_req *rq)
{
    for (uint32_t i = 0; i < sf->nvary; i++) {
        size_t at = o->n;
        uint32_t len = TG_CACHE_VARY_ABSENT;
        put(o, &len, 4);
        bool any = false;
        for (uint32_t k = 0; k < rq->nfields; k++) {
            const struct tg_cache_field *f = &rq->fields[k];
            if (!tg_cache__ieq(f->name, f->name_len, sf->vary[i].p, sf->vary[i].len))
                continue;
            if (any)
                put(o, ", ", 2);
            put(o, f->value, f->value_len);
            any = true;
        }
        if (any && o->p) {
            len = (uint32_t)(o->n - at - 4);
            memcpy(o->p + at, &len, 4);
        }
    }
}

/* True if a Connection field of the response lists `name` (RFC 9110 §7.6.1). */
static bool named_by_connection(const struct tg_cache_resp *rs, const char *name, size_t nlen)
{
    for (uint32_t i = 0; i < rs->nfields; i++) {
        const struct tg_cache_field *f = &rs->fields[i];
        if (!tg_cache__ieq(f->name, f->name_len, "connection", 10))
            continue;
        const char *p = f->value, *end = p + f->value_len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                p++;
            const char *s = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
            if (p > s && tg_cache__ieq(s, (size_t)(p - s), name, nlen))
                return true;
        }
    }
    return false;
}

/* Fields a replay must not carry: framing and hop-by-hop ones (the serving connection
 * writes its own), Age and Warning (recomputed per answer by tg_cache_format_age), and
 * the request id of the exchange that filled the entry. */
static bool dropped(const struct tg_cache_resp *rs, const struct tg_cache_field *f,
                    bool has_connection)
{
#define NAME(s)                                                                                    \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
    static const struct {
        const char *name;
        size_t len;
    } names[] = {
        NAME("connection"), NAME("keep-alive"),     NAME("proxy-connection"),
        NAME("te"),         NAME("trailer"),        NAME("transfer-encoding"),
        NAME("upgrade"),    NAME("content-length"), NAME("age"),
        NAME("warning"),    NAME("x-request-id"),
    };
#undef NAME
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (tg_cache__ieq(f->name, f->name_len, names[i].name, names[i].len))
            return true;
    return has_connection && named_by_connection(rs, f->name, f->name_len);
}

static void put_head(struct out *o, const struct tg_cache_resp *rs)
{
    bool has_connection = false;
    for (uint32_t i = 0; i < rs->nfields; i++)
        has_connection |=
            tg_cache__ieq(rs->fields[i].name, rs->fields[i].name_len, "connection", 10);
    for (uint32_t i = 0; i < rs->nfields; i++) {
        const struct tg_cache_field *f = &rs->fields[i];
        if (dropped(rs, f, has_connection))
            continue;
        put(o, f->name, f->name_len);
        put(o, ": ", 2);
        put(o, f->value, f->value_len);
        put(o, "\r\n", 2);
    }
}

static int64_t clamp_us(int64_t v)
{
    return v < 0 ? 0 : v > TG_CACHE_MAX_US ? TG_CACHE_MAX_US : v;
}

/* Times of the entry-to-be, in `t`; DECLINE_LIFETIME if nothing could ever use it: no
 * freshness left on arrival and no stale window (fallback or stale-if-error). */
static enum tg_cache_decline times_of(const struct tg_cache_resp_facts *sf,
                                      const struct tg_cache_resp *rs,
                                      const struct tg_cache_rule *rule, int64_t now_us,
                                      struct tg_cache_entry *t)
{
    int64_t explicit_s = tg_cache_explicit_lifetime_s(sf, rs->wall_s);
    t->lifetime_us =
        explicit_s == TG_CACHE_ABSENT ? TG_CACHE_ABSENT : explicit_s * TG_CACHE_US_PER_S;
    t->default_ttl_ok = tg_cache_status_default_ttl(rs->status);
    t->no_stale = tg_cache_resp_no_stale(sf);
    t->stale_if_error_us = sf->cc.stale_if_error_s == TG_CACHE_ABSENT
                               ? TG_CACHE_ABSENT
                               : sf->cc.stale_if_error_s * TG_CACHE_US_PER_S;
    t->initial_age_us = tg_cache_initial_age_us(sf, rs->sent_us, now_us, rs->wall_s);
    t->stored_us = now_us;
    struct tg_cache_freshness f;
    tg_cache__freshness(t, rule, now_us, &f);
    int64_t horizon = f.lifetime_us; /* an age: past it, nothing can use the entry */
    if (!t->no_stale) {
        int64_t fb = clamp_us(rule->fallback_max_age_us);
        horizon = fb > horizon ? fb : horizon;
        if (t->stale_if_error_us != TG_CACHE_ABSENT &&
            f.lifetime_us + t->stale_if_error_us > horizon)
            horizon = f.lifetime_us + t->stale_if_error_us;
    }
    if (horizon <= t->initial_age_us)
        return TG_CACHE_DECLINE_LIFETIME;
    t->retain_until_us = now_us + (horizon - t->initial_age_us);
    return TG_CACHE_DECLINE_NONE;
}

/* Sizes of the parts (in `t`) and the allocation, or DECLINE_TOO_BIG. */
static enum tg_cache_decline layout(struct tg_cache *c, const struct tg_cache_req *rq,
                                    const struct tg_cache_resp *rs,
                                    const struct tg_cache_resp_facts *sf, struct tg_cache_entry *t,
                                    size_t *alloc)
{
    struct out key = {0}, names = {0}, vals = {0}, head = {0};
    put_key(&key, rq);
    put_vary_names(&names, sf);
    put_vary_values(&vals, sf, rq);
    put_head(&head, rs);
    size_t fixed = sizeof *t + key.n + names.n + vals.n + head.n;
    size_t max = atomic_load_explicit(&c->max_object, memory_order_relaxed);
    if (fixed > max || key.n + names.n + vals.n + head.n > UINT32_MAX)
        return TG_CACHE_DECLINE_TOO_BIG;
    t->key_len = (uint32_t)key.n - 1;
    t->vary_len = (uint32_t)names.n;
    t->vals_len = (uint32_t)vals.n;
    t->head_len = (uint32_t)head.n;
    t->nvary = (uint16_t)sf->nvary;
    t->expect_len = rs->content_length >= 0 ? rs->content_length : TG_CACHE_ABSENT;
    if (t->expect_len != TG_CACHE_ABSENT) {
        if ((uint64_t)t->expect_len > max - fixed)
            return TG_CACHE_DECLINE_TOO_BIG;
        t->body_cap = (size_t)t->expect_len;
    } else
        t->body_cap = max - fixed < FIRST_BODY_CAP ? max - fixed : FIRST_BODY_CAP;
    *alloc = fixed + t->body_cap;
    return TG_CACHE_DECLINE_NONE;
}

static void write_parts(struct tg_cache_entry *e, const struct tg_cache_req *rq,
                        const struct tg_cache_resp *rs, const struct tg_cache_resp_facts *sf)
{
    struct out o = {e->data, 0};
    put_key(&o, rq);
    put_vary_names(&o, sf);
    put_vary_values(&o, sf, rq);
    put_head(&o, rs);
}

static void count_decline(struct tg_cache *c, enum tg_cache_decline d)
{
    atomic_fetch_add_explicit(&c->declined[d], 1, memory_order_relaxed);
}

enum tg_cache_decline tg_cache_offer(struct tg_cache *c, const struct tg_cache_req *rq,
                                     const struct tg_cache_rule *rule,
                                     const struct tg_cache_resp *rs, int64_t now_us,
                                     struct tg_cache_fill *f)
{
    *f = (struct tg_cache_fill){0};
    struct tg_cache_req_facts rf;
    struct tg_cache_resp_facts sf;
    tg_cache_req_facts(rq->fields, rq->nfields, &rf);
    tg_cache_resp_facts(rs->fields, rs->nfields, &sf);
    struct tg_cache_entry t = {0};
    size_t size = 0;
    enum tg_cache_decline d = tg_cache_storable(!rq->head, &rf, rs->status, &sf);
    if (d == TG_CACHE_DECLINE_NONE)
        d = times_of(&sf, rs, rule, now_us, &t);
    if (d == TG_CACHE_DECLINE_NONE)
        d = layout(c, rq, rs, &sf, &t, &size);
    struct tg_cache_entry *e = NULL;
    if (d == TG_CACHE_DECLINE_NONE) {
        if (tg_cache__reserve(c, size) != 0)
            d = TG_CACHE_DECLINE_MEMORY;
        else if (!(e = malloc(size))) {
            tg_cache__unreserve(c, size);
            d = TG_CACHE_DECLINE_MEMORY;
        }
    }
    if (d != TG_CACHE_DECLINE_NONE) {
        count_decline(c, d);
        return d;
    }
    tg_cache__allocated(c, (ptrdiff_t)size);
    memcpy(e, &t, sizeof t);
    e->cost = size;
    e->hash = tg_cache__hash(c, rq->path, rq->path_len, rq->query, rq->query_len);
    e->status = (int16_t)rs->status;
    e->purge_gen = rs->purge_gen ? rs->purge_gen
                                 : atomic_load_explicit(&tg_cache__stripe(c, e->hash)->purge_gen,
                                                        memory_order_relaxed);
    atomic_init(&e->refs, 1);
    write_parts(e, rq, rs, &sf);
    f->entry = e;
    return TG_CACHE_DECLINE_NONE;
}

/* Makes room for `need` body bytes: doubles the body part, within the object limit. */
static int grow(struct tg_cache *c, struct tg_cache_fill *f, size_t need)
{
    struct tg_cache_entry *e = f->entry;
    size_t fixed = e->cost - e->body_cap;
    size_t max = atomic_load_explicit(&c->max_object, memory_order_relaxed);
    if (fixed > max || need > max - fixed)
        return TG_ELIMIT;
    size_t cap = e->body_cap * 2 > need ? e->body_cap * 2 : need;
    if (cap > max - fixed)
        cap = max - fixed;
    size_t delta = cap - e->body_cap;
    if (tg_cache__reserve(c, delta) != 0)
        return -ENOMEM;
    struct tg_cache_entry *n = realloc(e, fixed + cap);
    if (!n) {
        tg_cache__unreserve(c, delta);
        return -ENOMEM;
    }
    tg_cache__allocated(c, (ptrdiff_t)delta);
    n->cost = fixed + cap;
    n->body_cap = cap;
    f->entry = n;
    return 0;
}

int tg_cache_fill_append(struct tg_cache *c, struct tg_cache_fill *f, const void *data, size_t len)
{
    if (f->err || !f->entry)
        return f->err ? f->err : -EINVAL;
    struct tg_cache_entry *e = f->entry;
    if (e->expect_len != TG_CACHE_ABSENT && len > (uint64_t)e->expect_len - e->body_len)
        return f->err = TG_EPARSE; /* more than Content-Length: the framing is broken */
    if (len > e->body_cap - e->body_len) {
        int err = grow(c, f, e->body_len + len);
        if (err) {
            count_decline(c, err == TG_ELIMIT ? TG_CACHE_DECLINE_TOO_BIG : TG_CACHE_DECLINE_MEMORY);
            return f->err = err;
        }
        e = f->entry;
    }
    memcpy(tg_cache__body(e) + e->body_len, data, len);
    e->body_len += len;
    return 0;
}

/* Gives back the unused end of a body that grew by doubling. */
static struct tg_cache_entry *shrink(struct tg_cache *c, struct tg_cache_entry *e)
{
    size_t spare = e->body_cap - e->body_len;
    if (spare == 0)
        return e;
    struct tg_cache_entry *n = realloc(e, e->cost - spare);
    if (!n)
        return e; /* keeps the larger block, counted as it is */
    n->cost -= spare;
    n->body_cap = n->body_len;
    tg_cache__allocated(c, -(ptrdiff_t)spare);
    tg_cache__unreserve(c, spare);
    return n;
}

int tg_cache_fill_commit(struct tg_cache *c, struct tg_cache_fill *f, int64_t now_us)
{
    struct tg_cache_entry *e = f->entry;
    int err = f->err;
    *f = (struct tg_cache_fill){0};
    if (!e)
        return err ? err : -EINVAL;
    if (!err && e->expect_len != TG_CACHE_ABSENT && (int64_t)e->body_len != e->expect_len)
        err = TG_ECLOSED;
    if (err) {
        tg_cache__put(c, e);
        return err;
    }
    e = shrink(c, e);
    e->used_us = now_us;
    struct tg_cache_stripe *s = tg_cache__stripe(c, e->hash);
    struct tg_cache_entry *dead = NULL;
    pthread_mutex_lock(&s->lock);
    /* Checked under the lock that purges take, so a purge either comes before this test
     * (and the entry is refused) or after the link (and removes it). */
    bool purged = e->purge_gen != atomic_load_explicit(&s->purge_gen, memory_order_relaxed);
    if (!purged) {
        tg_cache__link(c, s, e, &dead);
        tg_cache__count(&s->stores, 1);
    }
    pthread_mutex_unlock(&s->lock);
    if (purged) {
        count_decline(c, TG_CACHE_DECLINE_PURGED);
        tg_cache__put(c, e);
        return -ESTALE;
    }
    tg_cache__put_list(c, dead);
    return 0;
}

void tg_cache_fill_abort(struct tg_cache *c, struct tg_cache_fill *f)
{
    if (f->entry)
        tg_cache__put(c, f->entry);
    *f = (struct tg_cache_fill){0};
}
