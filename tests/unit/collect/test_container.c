/* SPDX-License-Identifier: MIT */
/* Unit tests for src/collect/container*.c over the fixture trees in fixtures/: a cgroup
 * with every file (each family and its value, the working set, the fail and OOM counts,
 * pressure), one with memory.max and pids.max "max" (0, as cAdvisor) and no quota, one
 * with cpu.stat alone (the memory families left out), a garbage value and a directory
 * without cpu.stat (both fail with the reason), a missing cgroup; resolving by path, pid
 * and process name against a fixture /proc; the hybrid layout's unified root; and the
 * target through tg_ccontainer_make, described in the text exposition. */
#include "collect/container.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "metrics/expo.h"
#include "tg_test.h"

static char fix[200], cg[220], proc[220];

static void paths(void)
{
    char here[512];
    snprintf(here, sizeof here, "%s", __FILE__);
    if ((size_t)snprintf(fix, sizeof fix, "%s/fixtures", dirname(here)) >= sizeof fix)
        fprintf(stderr, "source path too long\n");
    snprintf(cg, sizeof cg, "%s/cgroup", fix);
    snprintf(proc, sizeof proc, "%s/proc", fix);
}

static double get(const struct tg_csnap *s, const char *name, bool *found)
{
    double v = -1;
    *found = tg_csnap_get(s, &v, name, "container", "app", NULL);
    return v;
}

#define EXPECT_VAL(s, name, want)                                                                  \
    do {                                                                                           \
        bool f_;                                                                                   \
        double v_ = get(s, name, &f_);                                                             \
        TG_EXPECT(f_);                                                                             \
        TG_EXPECT_EQ(v_ * 1e6, (want)*1e6);                                                        \
    } while (0)

#define EXPECT_ABSENT(s, name)                                                                     \
    do {                                                                                           \
        bool f_;                                                                                   \
        (void)get(s, name, &f_);                                                                   \
        TG_EXPECT(!f_);                                                                            \
    } while (0)

static void test_full(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_ccontainer_read(cg, "/app.slice/full", "app", 1700000000123, s, &eb), 0);
    double v = 0;
    TG_EXPECT(tg_csnap_get(s, &v, "container_cpu_usage_seconds_total", "cpu", "total", "id",
                           "/app.slice/full", NULL));
    TG_EXPECT_EQ(v * 1e6, 2.5e6);
    EXPECT_VAL(s, "container_cpu_user_seconds_total", 1.5);
    EXPECT_VAL(s, "container_cpu_system_seconds_total", 1.0);
    EXPECT_VAL(s, "container_cpu_cfs_periods_total", 40);
    EXPECT_VAL(s, "container_cpu_cfs_throttled_periods_total", 3);
    EXPECT_VAL(s, "container_cpu_cfs_throttled_seconds_total", 0.25);
    EXPECT_VAL(s, "container_spec_cpu_quota", 50000);
    EXPECT_VAL(s, "container_spec_cpu_period", 100000);
    EXPECT_VAL(s, "container_memory_usage_bytes", 104857600);
    EXPECT_VAL(s, "container_memory_working_set_bytes", 104857600 - 20971520);
    EXPECT_VAL(s, "container_memory_rss", 62914560);
    EXPECT_VAL(s, "container_memory_cache", 31457280);
    EXPECT_VAL(s, "container_memory_mapped_file", 4194304);
    EXPECT_VAL(s, "container_memory_max_usage_bytes", 120000000);
    EXPECT_VAL(s, "container_memory_swap", 0);
    EXPECT_VAL(s, "container_spec_memory_limit_bytes", 268435456);
    EXPECT_VAL(s, "container_memory_failcnt", 7);
    EXPECT_VAL(s, "container_oom_events_total", 1);
    EXPECT_VAL(s, "container_processes", 2);
    EXPECT_VAL(s, "container_threads", 12);
    EXPECT_VAL(s, "container_threads_max", 1000);
    EXPECT_VAL(s, "container_pressure_cpu_waiting_seconds_total", 1.5);
    EXPECT_VAL(s, "container_pressure_cpu_stalled_seconds_total", 0.5);
    EXPECT_VAL(s, "container_pressure_memory_waiting_seconds_total", 2);
    EXPECT_VAL(s, "container_pressure_memory_stalled_seconds_total", 1);
    EXPECT_VAL(s, "container_pressure_io_waiting_seconds_total", 0);
    EXPECT_VAL(s, "container_last_seen", 1700000000.123);
    TG_EXPECT_EQ(tg_csnap_nseries(s), 28);
    tg_csnap_free(s);
}

static void test_unlimited(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_ccontainer_read(cg, "/app.slice/unlimited", "app", 0, s, &eb), 0);
    EXPECT_VAL(s, "container_spec_memory_limit_bytes", 0);
    EXPECT_VAL(s, "container_threads_max", 0);
    EXPECT_VAL(s, "container_spec_cpu_period", 100000);
    EXPECT_ABSENT(s, "container_spec_cpu_quota");
    EXPECT_VAL(s, "container_memory_usage_bytes", 52428800);
    /* inactive_file above usage: the working set stops at zero, never wraps around. */
    EXPECT_VAL(s, "container_memory_working_set_bytes", 0);
    tg_csnap_free(s);
}

static void test_bare(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_ccontainer_read(cg, "/app.slice/bare", "app", 0, s, &eb), 0);
    EXPECT_VAL(s, "container_cpu_usage_seconds_total", 0.0001);
    EXPECT_ABSENT(s, "container_memory_usage_bytes");
    EXPECT_ABSENT(s, "container_spec_memory_limit_bytes");
    EXPECT_ABSENT(s, "container_cpu_cfs_periods_total");
    EXPECT_ABSENT(s, "container_processes");
    EXPECT_ABSENT(s, "container_pressure_cpu_waiting_seconds_total");
    EXPECT_VAL(s, "container_last_seen", 0);
    tg_csnap_free(s);
}

static void test_failures(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_ccontainer_read(cg, "/app.slice/garbage", "app", 0, s, &eb), TG_EPARSE);
    TG_EXPECT(strstr(eb.msg, "memory.current") && strstr(eb.msg, "12ab"));
    tg_csnap_reset(s);
    eb = (struct tg_errbuf){0};
    TG_EXPECT_EQ(tg_ccontainer_read(cg, "/app.slice/nocpu", "app", 0, s, &eb), -ENOENT);
    TG_EXPECT(strstr(eb.msg, "cpu.stat") != NULL);
    tg_csnap_reset(s);
    eb = (struct tg_errbuf){0};
    TG_EXPECT_EQ(tg_ccontainer_read(cg, "/app.slice/gone", "app", 0, s, &eb), -ENOENT);
    TG_EXPECT(strstr(eb.msg, "/app.slice/gone") != NULL);
    tg_csnap_free(s);
}

static void test_resolve(void)
{
    char path[256];
    struct tg_errbuf eb = {0};
    struct tg_cfg_container c = {.name = "x", .cgroup = "app.slice/full"};
    TG_EXPECT_EQ(tg_ccontainer_resolve(proc, &c, path, sizeof path, &eb), 0);
    TG_EXPECT_STREQ(path, "/app.slice/full");
    c = (struct tg_cfg_container){.name = "x", .pid = 57};
    TG_EXPECT_EQ(tg_ccontainer_resolve(proc, &c, path, sizeof path, &eb), 0);
    TG_EXPECT_STREQ(path, "/app.slice/bare");
    /* Two processes of that name: the lowest pid wins. */
    c = (struct tg_cfg_container){.name = "x", .process = "codexos"};
    TG_EXPECT_EQ(tg_ccontainer_resolve(proc, &c, path, sizeof path, &eb), 0);
    TG_EXPECT_STREQ(path, "/app.slice/full");
    c = (struct tg_cfg_container){.name = "x", .process = "nosuch"};
    TG_EXPECT_EQ(tg_ccontainer_resolve(proc, &c, path, sizeof path, &eb), TG_ENOTFOUND);
    TG_EXPECT(strstr(eb.msg, "nosuch") != NULL);
    c = (struct tg_cfg_container){.name = "x", .pid = 12345};
    TG_EXPECT_EQ(tg_ccontainer_resolve(proc, &c, path, sizeof path, &eb), TG_ENOTFOUND);
    TG_EXPECT(strstr(eb.msg, "12345") != NULL);
    /* A cgroup v1-only process has no "0::" line. */
    c = (struct tg_cfg_container){.name = "x", .pid = 99};
    TG_EXPECT_EQ(tg_ccontainer_resolve(proc, &c, path, sizeof path, &eb), TG_ENOTFOUND);
    TG_EXPECT(strstr(eb.msg, "cgroup v2") != NULL);
}

static void test_v2_root(void)
{
    char out[300], want[300], hybrid[240];
    tg_ccontainer_v2_root(cg, out, sizeof out);
    TG_EXPECT_STREQ(out, cg);
    snprintf(hybrid, sizeof hybrid, "%s/hybrid", fix);
    tg_ccontainer_v2_root(hybrid, out, sizeof out);
    snprintf(want, sizeof want, "%s/unified", hybrid);
    TG_EXPECT_STREQ(out, want);
}

static int done_calls, done_rc;
static char done_why[256];

static void on_done(void *arg, int rc, const char *why)
{
    (void)arg;
    done_calls++;
    done_rc = rc;
    snprintf(done_why, sizeof done_why, "%s", why ? why : "");
}

static void collect_once(const struct tg_cfg_container *c, struct tg_csnap *s)
{
    struct tg_cfg_containers all = {.n = 1};
    snprintf(all.cgroup_root, sizeof all.cgroup_root, "%s", cg);
    struct tg_ctarget t;
    struct tg_errbuf eb = {0};
    TG_EXPECT_EQ(tg_ccontainer_make(NULL, c, &all, &t, &eb), 0);
    done_calls = 0;
    t.ops->start(t.impl, s, on_done, NULL);
    TG_EXPECT_EQ(done_calls, 1);
    t.ops->free(t.impl);
}

static void test_target(void)
{
    struct tg_csnap *s = tg_csnap_new();
    struct tg_cfg_container c = {.name = "codexos-backend", .cgroup = "/app.slice/full"};
    collect_once(&c, s);
    TG_EXPECT_EQ(done_rc, 0);
    struct tg_expo e;
    tg_expo_init(&e, 0);
    struct tg_mvisitor v = tg_expo_visitor(&e);
    struct tg_mcursor cur = {0};
    TG_EXPECT_EQ(tg_csnap_collect(s, &v, &cur), TG_DONE);
    TG_EXPECT(!e.oom && e.len > 0);
    e.p[e.len - 1] = '\0';
    TG_EXPECT(strstr(e.p, "# TYPE container_cpu_usage_seconds_total counter\n"
                          "container_cpu_usage_seconds_total{container=\"codexos-backend\","
                          "cpu=\"total\",id=\"/app.slice/full\"} 2.5\n") != NULL);
    TG_EXPECT(strstr(e.p, "container_spec_memory_limit_bytes{container=\"codexos-backend\","
                          "id=\"/app.slice/full\"} 268435456\n") != NULL);
    tg_expo_deinit(&e);

    /* A failure leaves nothing behind, however far the read got. */
    tg_csnap_reset(s);
    c = (struct tg_cfg_container){.name = "b", .cgroup = "/app.slice/garbage"};
    collect_once(&c, s);
    TG_EXPECT_EQ(done_rc, TG_EPARSE);
    TG_EXPECT(strstr(done_why, "memory.current") != NULL);
    TG_EXPECT_EQ(tg_csnap_nseries(s), 0);
    tg_csnap_free(s);
}

int main(void)
{
    paths();
    test_full();
    test_unlimited();
    test_bare();
    test_failures();
    test_resolve();
    test_v2_root();
    test_target();
    return tg_test_report("collect/container");
}
