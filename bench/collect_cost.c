/* SPDX-License-Identifier: MIT */
/* What one collection of each kind of collector target costs (src/collect/): CPU time
 * (user + system, every thread of the process, from getrusage) and heap allocations per
 * collection, each kind measured the same way: the kind's constructor (kinds.h) makes
 * one target, a warm-up collection runs, then N collections run back to back on a
 * tg_loop (a target that finishes later is waited for on the loop, as the control
 * thread would), ROUNDS times; the table shows the median round. Allocations are
 * counted by this program's own malloc, calloc, realloc and free, which every library
 * in the process (libpq, hiredis) goes through too. A kind whose constructor is not
 * built yet, or whose server is not given, shows why instead of figures.
 *
 *   collect_cost [N] [ROUNDS] [host] [postgres=DSN] [redis=HOST:PORT]
 *                [probe=http://HOST:PORT/PATH] [container=PID]
 *
 * bench/collectors.sh builds it, starts the servers on loopback and runs it beside
 * node_exporter. Not part of the test suite: timings are noisy on shared machines. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collect/kinds.h"
#include "collect/snap.h"
#include "config/config.h"
#include "core/err.h"
#include "core/loop.h"

/* ---- counting allocator ------------------------------------------------------------ */

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);

static atomic_ulong allocs, alloc_bytes;

void *malloc(size_t n)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&alloc_bytes, n, memory_order_relaxed);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&alloc_bytes, n * m, memory_order_relaxed);
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&alloc_bytes, n, memory_order_relaxed);
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

/* ---- one collection, waited for on the loop ------------------------------------------ */

struct wait {
    struct tg_loop *loop;
    int done, rc;
    char why[160];
};

static void on_done(void *arg, int rc, const char *why)
{
    struct wait *w = arg;
    w->done = 1;
    w->rc = rc;
    snprintf(w->why, sizeof w->why, "%s", why ? why : "");
    tg_loop_stop(w->loop);
}

static int collect(struct tg_loop *loop, struct tg_ctarget *t, struct tg_csnap *s, char *why,
                   size_t cap)
{
    struct wait w = {.loop = loop};
    tg_csnap_reset(s);
    t->ops->start(t->impl, s, on_done, &w);
    if (!w.done)
        tg_loop_run(loop);
    if (w.rc)
        snprintf(why, cap, "%s", w.why);
    return w.done ? w.rc : -ETIMEDOUT;
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_ROUNDS 31

/* One table row: `make` on `cfg` (+ `extra`), N collections ROUNDS times. */
static void row(const char *kind, const char *target, struct tg_loop *loop,
                int (*make)(struct tg_loop *, const void *, const void *, struct tg_ctarget *,
                            struct tg_errbuf *),
                const void *cfg, const void *extra, int n, int rounds)
{
    struct tg_errbuf eb = {0};
    struct tg_ctarget t;
    char why[160] = "";
    if (make(loop, cfg, extra, &t, &eb) != 0) {
        printf("%-10s %-28s %s\n", kind, target, eb.msg);
        return;
    }
    struct tg_csnap *s = tg_csnap_new();
    int rc = collect(loop, &t, s, why, sizeof why); /* warm-up: buffers, connections */
    if (rc) {
        printf("%-10s %-28s collection failed: %s\n", kind, target, why);
        goto out;
    }
    double us[MAX_ROUNDS], al[MAX_ROUNDS], by[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        unsigned long a0 = atomic_load(&allocs), b0 = atomic_load(&alloc_bytes);
        double c0 = cpu_us();
        for (int i = 0; i < n && rc == 0; i++)
            rc = collect(loop, &t, s, why, sizeof why);
        us[r] = (cpu_us() - c0) / n;
        al[r] = (double)(atomic_load(&allocs) - a0) / n;
        by[r] = (double)(atomic_load(&alloc_bytes) - b0) / n;
        if (rc) {
            printf("%-10s %-28s collection failed: %s\n", kind, target, why);
            goto out;
        }
    }
    qsort(us, (size_t)rounds, sizeof *us, cmp_double);
    qsort(al, (size_t)rounds, sizeof *al, cmp_double);
    qsort(by, (size_t)rounds, sizeof *by, cmp_double);
    printf("%-10s %-28s %10.1f %10.1f %12.0f %8zu  (min %.1f, max %.1f us)\n", kind, target,
           us[rounds / 2], al[rounds / 2], by[rounds / 2], tg_csnap_nsamples(s), us[0],
           us[rounds - 1]);
out:
    tg_csnap_free(s);
    t.ops->free(t.impl);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 1)
        n = 1;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 5;
    struct tg_loop *loop;
    if (tg_loop_new(&loop, NULL, NULL) != 0) {
        fprintf(stderr, "collect_cost: no event loop\n");
        return 1;
    }
    printf("%d collections per round, %d rounds, median round\n", n, rounds);
    printf("%-10s %-28s %10s %10s %12s %8s\n", "kind", "target", "cpu_us", "allocs", "alloc_bytes",
           "samples");
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : "";
        if (strcmp(a, "host") == 0) {
            struct tg_cfg_host c = {
                .enabled = true, .procfs = "/proc", .sysfs = "/sys", .rootfs = "/"};
            row("host", "/proc", loop, tg_chost_make, &c, NULL, n, rounds);
        } else if (strncmp(a, "postgres=", 9) == 0) {
            struct tg_cfg_postgres c = {.statements = true, .statements_limit = 100};
            snprintf(c.name, sizeof c.name, "bench");
            snprintf(c.dsn, sizeof c.dsn, "%s", v);
            row("postgres", "bench", loop, tg_cpg_make, &c, NULL, n, rounds);
        } else if (strncmp(a, "redis=", 6) == 0) {
            struct tg_cfg_redis c = {0};
            snprintf(c.name, sizeof c.name, "%s", v);
            snprintf(c.addr, sizeof c.addr, "%s", v);
            row("redis", v, loop, tg_credis_make, &c, NULL, n, rounds);
        } else if (strncmp(a, "probe=", 6) == 0) {
            struct tg_cfg_probe c = {.method = TG_CFG_M_GET};
            snprintf(c.service, sizeof c.service, "bench");
            snprintf(c.url, sizeof c.url, "%s", v);
            row("probe", v, loop, tg_cprobe_make, &c, NULL, n, rounds);
        } else if (strncmp(a, "container=", 10) == 0) {
            static struct tg_cfg_containers all = {.cgroup_root = "/sys/fs/cgroup", .n = 1};
            snprintf(all.list[0].name, sizeof all.list[0].name, "bench");
            all.list[0].pid = atoi(v);
            row("container", v, loop, tg_ccontainer_make, &all.list[0], &all, n, rounds);
        } else {
            fprintf(stderr, "collect_cost: unknown kind %s\n", a);
        }
    }
    tg_loop_free(loop);
    return 0;
}
