/* SPDX-License-Identifier: MIT */
/* The collector targets and their schedule; see set.h. Each target has two snapshots:
 * `last` (the latest result, what /metrics/<kind> shows) and `work` (the collection in
 * flight), swapped when a collection ends, and two timers: `tick` at each boundary of
 * its interval and `deadline` while a collection is in flight. */
#include "collect/set.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "collect/target.h"
#include "core/clock.h"
#include "core/log.h"

#define SEC 1000000LL
#define MAX_TIMEOUT_US (10 * SEC)
/* The wall clock is re-read against the monotonic one only when they drift this far
 * apart, so timestamps stay exact multiples of the interval (as control/scrape.c). */
#define REANCHOR_US SEC

static const char *const kind_names[TG_CKIND_COUNT] = {"node", "container", "postgres", "redis",
                                                       "probes"};

const char *tg_ckind_name(enum tg_ckind k)
{
    return (unsigned)k < TG_CKIND_COUNT ? kind_names[k] : "?";
}

int tg_ckind_parse(const char *name, size_t len)
{
    for (int k = 0; k < TG_CKIND_COUNT; k++)
        if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
            return k;
    return -1;
}

const struct tg_cset_kinds tg_cset_default_kinds = {
    .make = {tg_chost_make, tg_ccontainer_make, tg_cpg_make, tg_credis_make, tg_cprobe_make},
};

struct target {
    struct tg_cset *set;
    enum tg_ckind kind;
    /* the settings it was made from, compared on reload */
    void *cfg, *extra;
    size_t cfg_len, extra_len;
    char instance[520];
    char service[64];
    struct tg_ctarget t;
    bool made;
    struct tg_csnap *last, *work;
    struct tg_timer tick, deadline;
    bool running;
    bool scheduled;      /* the running collection is a scheduled one (not a /metrics refresh) */
    int64_t due_us;      /* the boundary the collection in flight (or the last) ran for */
    int64_t next_due_us; /* the tick's next boundary */
    int64_t start_us;
    int64_t interval_us, timeout_us;
    char error[256];
    struct tg_ctarget_info info;
};

struct tg_cset {
    struct tg_loop *loop;
    const struct tg_cset_kinds *kinds;
    tg_cset_result_fn *on_result;
    void *ctx;
    struct target **targets; /* kinds in enum order, configuration order within */
    uint32_t n;
    int64_t wall_minus_mono_us;
};

/* ------------------------------------------------------------------ one target */

static void fill_info(struct target *t)
{
    struct tg_ctarget_info *i = &t->info;
    i->kind = t->kind;
    i->job = tg_ckind_name(t->kind);
    i->instance = t->instance;
    i->service = t->service[0] ? t->service : t->instance;
    i->running = t->running;
    i->error = t->error;
    i->interval_us = t->interval_us;
    i->timeout_us = t->timeout_us;
}

static int64_t wall_ms_of(struct tg_cset *s, int64_t mono_us)
{
    int64_t off = tg_clock_wall_us() - tg_clock_mono_us();
    if (llabs(off - s->wall_minus_mono_us) > REANCHOR_US)
        s->wall_minus_mono_us = off;
    return (mono_us + s->wall_minus_mono_us) / 1000;
}

/* A collection ended: keep its result and hand it over. */
static void finish(struct target *t, bool ok, const char *why, int64_t took_us)
{
    t->running = false;
    tg_timer_stop(t->set->loop, &t->deadline);
    struct tg_csnap *x = t->last;
    t->last = t->work;
    t->work = x;
    if (!t->scheduled) {
        /* A refresh for /metrics/<kind>: only the snapshot changes. */
        fill_info(t);
        return;
    }
    struct tg_ctarget_info *i = &t->info;
    bool was_up = i->up, first = i->collections == 0;
    char was_error[sizeof t->error];
    memcpy(was_error, t->error, sizeof was_error);
    i->up = ok && !tg_csnap_oom(t->last);
    snprintf(t->error, sizeof t->error, "%s",
             ok ? (i->up ? "" : "out of memory") : (why && why[0] ? why : "failed"));
    i->collections++;
    i->failures += !i->up;
    i->last_wall_ms = wall_ms_of(t->set, t->due_us);
    i->last_duration_us = took_us;
    if (i->up)
        i->last_success_wall_ms = i->last_wall_ms;
    i->samples = tg_csnap_nsamples(t->last);
    fill_info(t);
    /* Changes only: a target down for an hour logs once, not at every interval (its
     * failures are counted, and its state is in /health/detailed). */
    if (!i->up && (was_up || first || strcmp(was_error, t->error) != 0))
        tg_log(TG_LOG_WARN, "collect", "target-down job=%s instance=%s error=\"%s\"", i->job,
               t->instance, t->error);
    else if (i->up && !was_up && !first)
        tg_log(TG_LOG_INFO, "collect", "target-up job=%s instance=%s", i->job, t->instance);
    if (t->set->on_result)
        t->set->on_result(t->set->ctx, i, t->last, i->last_wall_ms);
}

static void on_done(void *arg, int rc, const char *why)
{
    struct target *t = arg;
    if (!t->running)
        return; /* a target that breaks its contract must not corrupt the set */
    finish(t, rc == 0, why, tg_clock_mono_us() - t->start_us);
}

static void on_deadline(struct tg_timer *tm)
{
    struct target *t = tm->data;
    if (!t->running)
        return;
    tg_csnap_reset(t->work);
    t->t.ops->cancel(t->t.impl, t->work);
    t->info.timeouts++;
    char why[96];
    snprintf(why, sizeof why, "timeout after %.3g s", (double)t->timeout_us / SEC);
    finish(t, false, why, t->timeout_us);
}

/* Makes the target's collector if it is not made yet (a first try failed: a password
 * file missing, say). */
static bool ensure_made(struct target *t)
{
    if (t->made)
        return true;
    struct tg_errbuf eb = {0};
    int rc = t->set->kinds->make[t->kind]
                 ? t->set->kinds->make[t->kind](t->set->loop, t->cfg, t->extra, &t->t, &eb)
                 : -ENOSYS;
    if (rc != 0) {
        snprintf(t->error, sizeof t->error, "%s", eb.msg[0] ? eb.msg : tg_strerror(rc));
        return false;
    }
    t->made = true;
    return true;
}

static void begin(struct target *t, bool scheduled)
{
    tg_csnap_reset(t->work);
    t->running = true;
    t->scheduled = scheduled;
    t->start_us = tg_clock_mono_us();
    t->info.running = true;
    if (scheduled)
        tg_timer_start(t->set->loop, &t->deadline, t->start_us + t->timeout_us, on_deadline, t);
    t->t.ops->start(t->t.impl, t->work, on_done, t);
}

/* The next boundary of the interval after `after_us`. */
static int64_t next_boundary(const struct target *t, int64_t after_us)
{
    return (after_us / t->interval_us + 1) * t->interval_us;
}

static void on_tick(struct tg_timer *tm)
{
    struct target *t = tm->data;
    int64_t due = t->next_due_us, now = tg_clock_mono_us();
    /* A loop that ran late skips the boundaries it missed rather than bunching them. */
    t->next_due_us = next_boundary(t, now > due ? now : due);
    tg_timer_start(t->set->loop, &t->tick, t->next_due_us, on_tick, t);
    if (t->running)
        return; /* cannot happen with timeout <= interval; never start twice */
    t->due_us = due;
    if (ensure_made(t)) {
        begin(t, true);
        return;
    }
    /* Down without a collection: counted and handed over like a failed one. */
    t->scheduled = true;
    tg_csnap_reset(t->work);
    char why[sizeof t->error];
    snprintf(why, sizeof why, "%s", t->error);
    finish(t, false, why, 0);
}

static void target_free(struct target *t)
{
    if (!t)
        return;
    tg_timer_stop(t->set->loop, &t->tick);
    tg_timer_stop(t->set->loop, &t->deadline);
    if (t->made) {
        if (t->running) {
            tg_csnap_reset(t->work);
            t->t.ops->cancel(t->t.impl, t->work);
        }
        t->t.ops->free(t->t.impl);
    }
    tg_csnap_free(t->last);
    tg_csnap_free(t->work);
    free(t->cfg);
    free(t->extra);
    free(t);
}

static int64_t default_timeout(int64_t interval_us)
{
    return interval_us < MAX_TIMEOUT_US ? interval_us : MAX_TIMEOUT_US;
}

/* A new target of kind `k` from a copy of its settings. */
static struct target *target_new(struct tg_cset *s, enum tg_ckind k, const void *cfg, size_t len,
                                 const void *extra, size_t extra_len, int64_t interval_us,
                                 int64_t timeout_us, const char *instance, const char *service)
{
    struct target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->set = s;
    t->kind = k;
    t->cfg = malloc(len);
    t->extra = extra_len ? malloc(extra_len) : NULL;
    t->last = tg_csnap_new();
    t->work = tg_csnap_new();
    if (!t->cfg || (extra_len && !t->extra) || !t->last || !t->work) {
        tg_csnap_free(t->last);
        tg_csnap_free(t->work);
        free(t->cfg);
        free(t->extra);
        free(t);
        return NULL;
    }
    memcpy(t->cfg, cfg, len);
    if (extra_len)
        memcpy(t->extra, extra, extra_len);
    t->cfg_len = len;
    t->extra_len = extra_len;
    t->interval_us = interval_us;
    t->timeout_us =
        timeout_us > 0 && timeout_us <= interval_us ? timeout_us : default_timeout(interval_us);
    snprintf(t->instance, sizeof t->instance, "%s", instance);
    snprintf(t->service, sizeof t->service, "%s", service ? service : "");
    t->tick.data = t;
    t->deadline.data = t;
    fill_info(t);
    return t;
}

static void target_start(struct target *t)
{
    (void)ensure_made(t);
    t->next_due_us = next_boundary(t, tg_clock_mono_us());
    tg_timer_start(t->set->loop, &t->tick, t->next_due_us, on_tick, t);
}

/* ------------------------------------------------------------------ the list from a config */

struct list {
    struct target **v;
    uint32_t n;
};

static int push(struct list *l, struct target *t)
{
    if (!t)
        return -ENOMEM;
    struct target **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v) {
        target_free(t);
        return -ENOMEM;
    }
    v[l->n++] = t;
    l->v = v;
    return 0;
}

static int64_t interval_of(int64_t own, const struct tg_config *cfg)
{
    return own > 0                            ? own
           : cfg->tsdb.scrape_interval_us > 0 ? cfg->tsdb.scrape_interval_us
                                              : 5 * SEC;
}

/* Every target `cfg` asks for, not started. */
static int build(struct tg_cset *s, const struct tg_config *cfg, struct list *l)
{
    const struct tg_cfg_collectors *c = &cfg->collectors;
    int rc = 0;
    if (c->host.enabled)
        rc = push(l, target_new(s, TG_CKIND_NODE, &c->host, sizeof c->host, NULL, 0,
                                interval_of(c->host.interval_us, cfg), 0, "localhost", NULL));
    /* The containers' shared settings are their `extra`; their own interval too. */
    for (uint32_t i = 0; rc == 0 && i < c->containers.n; i++) {
        const struct tg_cfg_container *x = &c->containers.list[i];
        rc = push(l, target_new(s, TG_CKIND_CONTAINER, x, sizeof *x, &c->containers,
                                sizeof c->containers, interval_of(c->containers.interval_us, cfg),
                                0, x->name, NULL));
    }
    for (uint32_t i = 0; rc == 0 && i < c->npostgres; i++) {
        const struct tg_cfg_postgres *x = &c->postgres[i];
        rc = push(l, target_new(s, TG_CKIND_POSTGRES, x, sizeof *x, NULL, 0,
                                interval_of(x->interval_us, cfg), x->timeout_us,
                                x->name[0] ? x->name : "postgres", NULL));
    }
    for (uint32_t i = 0; rc == 0 && i < c->nredis; i++) {
        const struct tg_cfg_redis *x = &c->redis[i];
        rc = push(l, target_new(s, TG_CKIND_REDIS, x, sizeof *x, NULL, 0,
                                interval_of(x->interval_us, cfg), x->timeout_us,
                                x->name[0] ? x->name : x->addr, NULL));
    }
    for (uint32_t i = 0; rc == 0 && i < c->nprobes; i++) {
        const struct tg_cfg_probe *x = &c->probes[i];
        rc = push(l,
                  target_new(s, TG_CKIND_PROBES, x, sizeof *x, NULL, 0,
                             interval_of(x->interval_us, cfg), x->timeout_us, x->url, x->service));
    }
    return rc;
}

static void list_free(struct list *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        target_free(l->v[i]);
    free(l->v);
}

/* Settings are compared as bytes: every config struct is zeroed before it is filled,
 * strings included. Of the containers' shared settings only the root matters to one. */
static bool same(const struct target *a, const struct target *b)
{
    if (a->kind != b->kind || a->cfg_len != b->cfg_len || a->interval_us != b->interval_us ||
        a->timeout_us != b->timeout_us || memcmp(a->cfg, b->cfg, a->cfg_len) != 0)
        return false;
    if (a->kind != TG_CKIND_CONTAINER)
        return true;
    const struct tg_cfg_containers *x = a->extra, *y = b->extra;
    return strcmp(x->cgroup_root, y->cgroup_root) == 0;
}

int tg_cset_new(struct tg_loop *loop, const struct tg_config *cfg,
                const struct tg_cset_kinds *kinds, tg_cset_result_fn *on_result, void *ctx,
                struct tg_cset **out, struct tg_errbuf *eb)
{
    *out = NULL;
    struct tg_cset *s = calloc(1, sizeof *s);
    if (!s)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    s->loop = loop;
    s->kinds = kinds ? kinds : &tg_cset_default_kinds;
    s->on_result = on_result;
    s->ctx = ctx;
    s->wall_minus_mono_us = tg_clock_wall_us() - tg_clock_mono_us();
    struct list l = {0};
    if (build(s, cfg, &l) != 0) {
        list_free(&l);
        free(s);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    s->targets = l.v;
    s->n = l.n;
    for (uint32_t i = 0; i < s->n; i++)
        target_start(s->targets[i]);
    *out = s;
    return 0;
}

int tg_cset_apply(struct tg_cset *s, const struct tg_config *cfg, struct tg_errbuf *eb)
{
    struct list l = {0};
    if (build(s, cfg, &l) != 0) {
        list_free(&l);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    /* An unchanged target moves into the new list with its state; the rest start. */
    for (uint32_t i = 0; i < l.n; i++) {
        for (uint32_t j = 0; j < s->n; j++) {
            if (s->targets[j] && same(l.v[i], s->targets[j])) {
                target_free(l.v[i]);
                l.v[i] = s->targets[j];
                s->targets[j] = NULL;
                break;
            }
        }
    }
    for (uint32_t j = 0; j < s->n; j++)
        target_free(s->targets[j]);
    free(s->targets);
    s->targets = l.v;
    s->n = l.n;
    for (uint32_t i = 0; i < s->n; i++)
        if (!tg_timer_armed(&s->targets[i]->tick))
            target_start(s->targets[i]);
    return 0;
}

void tg_cset_free(struct tg_cset *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++)
        target_free(s->targets[i]);
    free(s->targets);
    free(s);
}

void tg_cset_foreach(const struct tg_cset *s, tg_cset_info_fn *fn, void *ctx)
{
    for (uint32_t i = 0; s && i < s->n; i++)
        fn(&s->targets[i]->info, ctx);
}

uint32_t tg_cset_count(const struct tg_cset *s, enum tg_ckind k)
{
    uint32_t n = 0;
    for (uint32_t i = 0; s && i < s->n; i++)
        n += s->targets[i]->kind == k;
    return n;
}

static struct target *find(const struct tg_cset *s, enum tg_ckind k, const char *instance)
{
    for (uint32_t i = 0; s && i < s->n; i++) {
        struct target *t = s->targets[i];
        if (t->kind == k &&
            (!instance || strcmp(t->instance, instance) == 0 || strcmp(t->service, instance) == 0))
            return t;
    }
    return NULL;
}

bool tg_cset_has(const struct tg_cset *s, enum tg_ckind k, const char *instance)
{
    return find(s, k, instance) != NULL;
}

void *tg_cset_impl(const struct tg_cset *s, enum tg_ckind k, const char *instance)
{
    struct target *t = find(s, k, instance);
    if (t && !t->made)
        (void)ensure_made(t);
    return t && t->made ? t->t.impl : NULL;
}

/* ------------------------------------------------------------------ /metrics/<kind> */

/* The i-th target of the scan's kind (and instance), or NULL. */
static struct target *nth(const struct tg_cset_kind_scan *sc, uint32_t i)
{
    for (uint32_t j = 0; sc->set && j < sc->set->n; j++) {
        struct target *t = sc->set->targets[j];
        if (t->kind != sc->kind || (sc->instance && strcmp(t->instance, sc->instance) != 0 &&
                                    strcmp(t->service, sc->instance) != 0))
            continue;
        if (i-- == 0)
            return t;
    }
    return NULL;
}

void tg_cset_kind_scan_init(struct tg_cset_kind_scan *sc, struct tg_cset *s, enum tg_ckind k,
                            const char *instance)
{
    *sc = (struct tg_cset_kind_scan){.set = s, .kind = k, .instance = instance};
    /* Host and container figures are read afresh: cheap, synchronous, and what a scraper
     * of node_exporter or cAdvisor expects. */
    if (k != TG_CKIND_NODE && k != TG_CKIND_CONTAINER)
        return;
    for (uint32_t i = 0;; i++) {
        struct target *t = nth(sc, i);
        if (!t)
            break;
        if (!t->running && ensure_made(t)) {
            begin(t, false);
            if (t->running) { /* not synchronous after all: leave it to its deadline */
                tg_csnap_reset(t->work);
                t->t.ops->cancel(t->t.impl, t->work);
                t->running = false;
            }
        }
    }
}

/* Whether a target before `o` already has the family `name` (it was described then). */
static bool seen_before(const struct tg_cset_kind_scan *sc, uint32_t o, const char *name)
{
    for (uint32_t i = 0; i < o; i++) {
        struct target *t = nth(sc, i);
        if (t && tg_csnap_family_index(t->last, name) >= 0)
            return true;
    }
    return false;
}

/* Families in the order the targets first have them; each family's series from every
 * target in turn, labelled with the target's instance when there are several.
 * The scan: target = the origin target, fam = the family in it, and cur->item packs the
 * target being described (high 8 bits) and its series index. */
int tg_cset_kind_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    struct tg_cset_kind_scan *sc = data;
    bool several = nth(sc, 1) != NULL;
    for (struct target *o; (o = nth(sc, sc->target)) != NULL; sc->target++, sc->fam = 0) {
        for (; sc->fam < tg_csnap_nfamilies(o->last);
             sc->fam++, cur->item = 0, cur->announced = false) {
            const struct tg_mfamily *f = tg_csnap_family_at(o->last, sc->fam);
            if (cur->item == 0 && !cur->announced && seen_before(sc, sc->target, f->name))
                continue;
            for (uint32_t j = sc->target + (cur->item >> 24);;
                 j++, cur->item = (j - sc->target) << 24) {
                struct target *t = nth(sc, j);
                if (!t)
                    break;
                int fi = tg_csnap_family_index(t->last, f->name);
                if (fi < 0)
                    continue;
                uint32_t item = cur->item & 0xffffff;
                tg_mcursor_family(cur, v, f);
                int rc = tg_csnap_describe(t->last, (size_t)fi, &item, v,
                                           several ? "instance" : NULL, t->instance);
                cur->item = (cur->item & 0xff000000u) | item;
                if (rc == TG_AGAIN)
                    return TG_AGAIN;
            }
        }
    }
    return TG_DONE;
}

/* ------------------------------------------------------------------ self figures */

struct self_fam {
    const char *name, *help, *unit;
    enum tg_metric_type type;
};

static double self_value(const struct tg_ctarget_info *i, int which)
{
    switch (which) {
    case 0:
        return i->up;
    case 1:
        return (double)i->last_duration_us / 1e6;
    case 2:
        return (double)i->collections;
    case 3:
        return (double)i->failures;
    case 4:
        return (double)i->timeouts;
    case 5:
        return (double)i->samples;
    default:
        return (double)i->last_success_wall_ms / 1e3;
    }
}

int tg_cset_collect_self(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    static const struct self_fam fams[] = {
        {"tailguard_collector_up", "1 when the target's last collection succeeded.", NULL,
         TG_METRIC_GAUGE},
        {"tailguard_collector_duration_seconds", "How long the target's last collection took.",
         "seconds", TG_METRIC_GAUGE},
        {"tailguard_collector_collections_total", "Collections of the target.", NULL,
         TG_METRIC_COUNTER},
        {"tailguard_collector_failures_total", "Collections of the target that failed.", NULL,
         TG_METRIC_COUNTER},
        {"tailguard_collector_timeouts_total",
         "Collections of the target cancelled at their timeout (counted in failures too).", NULL,
         TG_METRIC_COUNTER},
        {"tailguard_collector_samples", "Samples the target's last collection produced.", NULL,
         TG_METRIC_GAUGE},
        {"tailguard_collector_last_success_timestamp_seconds",
         "When the target's last successful collection was due (0: never).", "seconds",
         TG_METRIC_GAUGE},
    };
    const struct tg_cset *s = data;
    if (!s || s->n == 0)
        return TG_DONE;
    /* Not job/instance: in the store these series carry the self-scrape's own. */
    static const char *const names[] = {"collector", "target"};
    for (; cur->step < sizeof fams / sizeof fams[0]; tg_mcursor_next(cur)) {
        if (tg_mvisit_full(v))
            return TG_AGAIN;
        const struct self_fam *f = &fams[cur->step];
        tg_mcursor_family(cur, v, &(struct tg_mfamily){f->name, f->help, f->unit, f->type});
        for (uint32_t i = 0; i < s->n; i++) {
            const struct tg_ctarget_info *in = &s->targets[i]->info;
            const char *values[] = {in->job, in->instance};
            v->value(v->ctx, &(struct tg_mlabels){names, values, 2},
                     self_value(in, (int)cur->step));
        }
    }
    return TG_DONE;
}
