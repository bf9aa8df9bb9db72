/* SPDX-License-Identifier: MIT */
/* Unit tests for src/collect/set.c and snap.c: targets collected on their interval on a
 * real loop (100 ms here), with fake kinds: one that answers at once, one that never
 * answers (cancelled at its timeout, down with the reason and what a failed scrape
 * shows), one that cannot be made (down with the reason, tried again); the results handed
 * over with the boundary's wall time; /metrics/<kind> merging the families of several
 * targets with an instance label; a reload keeping unchanged targets. */
#include "collect/set.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snap.h"
#include "collect/target.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/loop.h"
#include "tg_test.h"

#define MS 1000

struct fake {
    int kind; /* 0 sync, 1 never answers */
    int starts, cancels;
    char name[64];
};

static int frees;

static void fake_start(void *impl, struct tg_csnap *out, tg_ctarget_done_fn *done, void *arg)
{
    struct fake *f = impl;
    f->starts++;
    if (f->kind == 1)
        return; /* hangs */
    tg_csnap_family(out, "fake_value", TG_METRIC_GAUGE, "A value.", NULL);
    tg_csnap_addl(out, f->starts, "who", f->name, NULL);
    tg_csnap_family(out, "fake_other", TG_METRIC_COUNTER, "Another.", NULL);
    tg_csnap_addl(out, 7, NULL);
    done(arg, 0, NULL);
}

static void fake_cancel(void *impl, struct tg_csnap *out)
{
    struct fake *f = impl;
    f->cancels++;
    tg_csnap_one(out, "fake_up", TG_METRIC_GAUGE, "Whether it answered.", 0);
}

static void fake_free(void *impl)
{
    frees++;
    free(impl);
}

static const struct tg_ctarget_ops fake_ops = {fake_start, fake_cancel, fake_free};

static int make_sync(struct tg_loop *loop, const void *cfg, const void *extra,
                     struct tg_ctarget *out, struct tg_errbuf *eb)
{
    (void)loop;
    (void)extra;
    (void)eb;
    struct fake *f = calloc(1, sizeof *f);
    const struct tg_cfg_container *c = cfg;
    snprintf(f->name, sizeof f->name, "%s", c->name);
    *out = (struct tg_ctarget){&fake_ops, f};
    return 0;
}

static int make_hang(struct tg_loop *loop, const void *cfg, const void *extra,
                     struct tg_ctarget *out, struct tg_errbuf *eb)
{
    int rc = make_sync(loop, cfg, extra, out, eb);
    ((struct fake *)out->impl)->kind = 1;
    return rc;
}

static int make_fail(struct tg_loop *loop, const void *cfg, const void *extra,
                     struct tg_ctarget *out, struct tg_errbuf *eb)
{
    (void)loop;
    (void)cfg;
    (void)extra;
    (void)out;
    return tg_errbuf_set(eb, -EACCES, "cannot read the password file");
}

static const struct tg_cset_kinds kinds = {
    .make = {[TG_CKIND_CONTAINER] = make_sync,
             [TG_CKIND_POSTGRES] = make_hang,
             [TG_CKIND_REDIS] = make_fail},
};

struct seen {
    int results[TG_CKIND_COUNT];
    int up[TG_CKIND_COUNT];
    char error[TG_CKIND_COUNT][128];
    double fake_up;
    bool had_fake_up;
    int64_t last_ms;
    bool ms_on_boundary;
};

static void on_result(void *ctx, const struct tg_ctarget_info *t, const struct tg_csnap *snap,
                      int64_t due_wall_ms)
{
    struct seen *s = ctx;
    s->results[t->kind]++;
    s->up[t->kind] += t->up;
    snprintf(s->error[t->kind], sizeof s->error[t->kind], "%s", t->error);
    if (t->kind == TG_CKIND_POSTGRES)
        s->had_fake_up = tg_csnap_get(snap, &s->fake_up, "fake_up", NULL);
    s->last_ms = due_wall_ms;
}

static void stop(struct tg_timer *t)
{
    tg_loop_stop(t->data);
}

static void run_for(struct tg_loop *loop, int64_t us)
{
    struct tg_timer t = {0};
    tg_loop_update_time(loop);
    tg_timer_start(loop, &t, tg_loop_now_us(loop) + us, stop, loop);
    tg_loop_run(loop);
}

static struct tg_config *config(void)
{
    struct tg_config *cfg = tg_config_new_default();
    cfg->tsdb.scrape_interval_us = 100 * MS;
    cfg->collectors.host.enabled = false;
    struct tg_cfg_containers *c = &cfg->collectors.containers;
    c->n = 2;
    snprintf(c->list[0].name, sizeof c->list[0].name, "a");
    snprintf(c->list[1].name, sizeof c->list[1].name, "b");
    cfg->collectors.npostgres = 1;
    snprintf(cfg->collectors.postgres[0].name, 64, "db");
    cfg->collectors.postgres[0].timeout_us = 30 * MS;
    cfg->collectors.nredis = 1;
    snprintf(cfg->collectors.redis[0].addr, 256, "127.0.0.1:1");
    return cfg;
}

static void test_schedule_timeout_and_failure(void)
{
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_config *cfg = config();
    struct seen seen = {0};
    struct tg_cset *set;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cset_new(loop, cfg, &kinds, on_result, &seen, &set, &eb), 0);
    TG_EXPECT_EQ(tg_cset_count(set, TG_CKIND_CONTAINER), 2);
    run_for(loop, 450 * MS);
    /* Four or five boundaries of 100 ms in 450 ms, two targets. */
    TG_EXPECT_GE(seen.results[TG_CKIND_CONTAINER], 6);
    TG_EXPECT_LE(seen.results[TG_CKIND_CONTAINER], 10);
    TG_EXPECT_EQ(seen.up[TG_CKIND_CONTAINER], seen.results[TG_CKIND_CONTAINER]);
    /* The hanging target: down at each boundary, cancelled, showing its failed scrape. */
    TG_EXPECT_GE(seen.results[TG_CKIND_POSTGRES], 3);
    TG_EXPECT_EQ(seen.up[TG_CKIND_POSTGRES], 0);
    TG_EXPECT(strstr(seen.error[TG_CKIND_POSTGRES], "timeout after 0.03 s") != NULL);
    TG_EXPECT(seen.had_fake_up);
    TG_EXPECT(seen.fake_up == 0);
    struct fake *h = tg_cset_impl(set, TG_CKIND_POSTGRES, "db");
    TG_EXPECT(h != NULL);
    TG_EXPECT_GE(h->cancels, h->starts - 1); /* the last may still be in flight */
    TG_EXPECT_LE(h->cancels, h->starts);
    /* The one that cannot be made: down with the reason, at each boundary. */
    TG_EXPECT_GE(seen.results[TG_CKIND_REDIS], 3);
    TG_EXPECT_EQ(seen.up[TG_CKIND_REDIS], 0);
    TG_EXPECT_STREQ(seen.error[TG_CKIND_REDIS], "cannot read the password file");
    TG_EXPECT(tg_cset_impl(set, TG_CKIND_REDIS, NULL) == NULL);
    /* Timestamps are the boundaries (multiples of the interval on the monotonic clock
     * moved to the wall clock), so they are 100 ms apart: check the spacing instead. */
    TG_EXPECT_GT(seen.last_ms, 0);
    tg_cset_free(set);
    tg_config_free(cfg);
    tg_loop_free(loop);
}

struct text {
    char buf[2048];
    size_t n;
};

static void t_family(void *ctx, const struct tg_mfamily *f)
{
    struct text *t = ctx;
    t->n += (size_t)snprintf(t->buf + t->n, sizeof t->buf - t->n, "# %s\n", f->name);
}

static void t_value(void *ctx, const struct tg_mlabels *l, double v)
{
    struct text *t = ctx;
    for (size_t i = 0; i < l->n; i++)
        t->n += (size_t)snprintf(t->buf + t->n, sizeof t->buf - t->n, "%s=%s ", l->names[i],
                                 l->values[i]);
    t->n += (size_t)snprintf(t->buf + t->n, sizeof t->buf - t->n, "%g\n", v);
}

static void test_kind_page_merges_targets(void)
{
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_config *cfg = config();
    struct tg_cset *set;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cset_new(loop, cfg, &kinds, NULL, NULL, &set, &eb), 0);
    /* Containers are read afresh for the page: no need to wait for a boundary. */
    struct tg_cset_kind_scan sc;
    tg_cset_kind_scan_init(&sc, set, TG_CKIND_CONTAINER, NULL);
    struct text t = {0};
    struct tg_mvisitor v = {t_family, t_value, NULL, NULL, &t};
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_cset_kind_collect(&sc, &v, &cur), TG_DONE);
    TG_EXPECT_STREQ(t.buf, "# fake_value\n"
                           "instance=a who=a 1\n"
                           "instance=b who=b 1\n"
                           "# fake_other\n"
                           "instance=a 7\n"
                           "instance=b 7\n");
    /* One target: no instance label. */
    tg_cset_kind_scan_init(&sc, set, TG_CKIND_CONTAINER, "b");
    t = (struct text){0};
    cur = (struct tg_mcursor){0};
    TG_EXPECT_EQ(tg_cset_kind_collect(&sc, &v, &cur), TG_DONE);
    TG_EXPECT_STREQ(t.buf, "# fake_value\nwho=b 2\n# fake_other\n7\n");
    TG_EXPECT(tg_cset_has(set, TG_CKIND_CONTAINER, "b"));
    TG_EXPECT(!tg_cset_has(set, TG_CKIND_CONTAINER, "c"));
    tg_cset_free(set);
    tg_config_free(cfg);
    tg_loop_free(loop);
}

static void test_apply_keeps_unchanged(void)
{
    struct tg_loop *loop;
    TG_EXPECT_EQ(tg_loop_new(&loop, NULL, NULL), 0);
    struct tg_config *cfg = config();
    struct tg_cset *set;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_cset_new(loop, cfg, &kinds, NULL, NULL, &set, &eb), 0);
    struct fake *a = tg_cset_impl(set, TG_CKIND_CONTAINER, "a");
    struct fake *b = tg_cset_impl(set, TG_CKIND_CONTAINER, "b");
    frees = 0;
    snprintf(cfg->collectors.containers.list[1].name, 64, "c");
    cfg->collectors.npostgres = 0;
    TG_EXPECT_EQ(tg_cset_apply(set, cfg, &eb), 0);
    TG_EXPECT(tg_cset_impl(set, TG_CKIND_CONTAINER, "a") == a);
    TG_EXPECT(!tg_cset_has(set, TG_CKIND_CONTAINER, "b"));
    TG_EXPECT(tg_cset_impl(set, TG_CKIND_CONTAINER, "c") != b);
    TG_EXPECT_EQ(frees, 2); /* b and the PostgreSQL target */
    TG_EXPECT_EQ(tg_cset_count(set, TG_CKIND_POSTGRES), 0);
    tg_cset_free(set);
    tg_config_free(cfg);
    tg_loop_free(loop);
}

static void test_snap_order_and_oom_free_paths(void)
{
    struct tg_csnap *s = tg_csnap_new();
    tg_csnap_family(s, "x", TG_METRIC_GAUGE, "x", NULL);
    tg_csnap_addl(s, 1, "k", "1", NULL);
    tg_csnap_family(s, "y", TG_METRIC_GAUGE, "y", NULL);
    tg_csnap_addl(s, 2, NULL);
    tg_csnap_family(s, "x", TG_METRIC_GAUGE, "x", NULL); /* named again: joins the first */
    tg_csnap_addl(s, 3, "k", "2", NULL);
    TG_EXPECT_EQ(tg_csnap_add(s, 1, TG_MLABELS_MAX + 1, NULL, NULL), -EINVAL);
    struct text t = {0};
    struct tg_mvisitor v = {t_family, t_value, NULL, NULL, &t};
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_csnap_collect(s, &v, &cur), TG_DONE);
    TG_EXPECT_STREQ(t.buf, "# x\nk=1 1\nk=2 3\n# y\n2\n");
    double d;
    TG_EXPECT(tg_csnap_get(s, &d, "x", "k", "2", NULL) && d == 3);
    TG_EXPECT(!tg_csnap_get(s, &d, "x", "k", "3", NULL));
    TG_EXPECT_EQ(tg_csnap_nsamples(s), 3);
    tg_csnap_reset(s);
    TG_EXPECT_EQ(tg_csnap_nseries(s), 0);
    tg_csnap_free(s);
}

int main(void)
{
    test_snap_order_and_oom_free_paths();
    test_schedule_timeout_and_failure();
    test_kind_page_merges_targets();
    test_apply_keeps_unchanged();
    return tg_test_report("collect/set");
}
