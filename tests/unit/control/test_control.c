/* SPDX-License-Identifier: MIT */
/* Unit tests for src/control/control.c: the control thread's wiring, on a real loop with
 * a gateway that is built but not started (no sockets). Signals are raised at this very
 * thread, which tg_control_new has made block them, so they reach only its signalfd:
 * SIGHUP must run the hooks' load on the reload thread and report its outcome through
 * `reloaded`; SIGTERM must call `draining` and, with no connection open, end the run.
 * Tasks run on their period's boundaries, each in its own period slot, and a run longer
 * than the period is counted as an overrun with the ticks it missed skipped. Bounded:
 * a 10 s guard timer stops the loop if the signals go astray. */
#include "control/control.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/clock.h"
#include "proxy/gateway.h"
#include "tg_test.h"

#define PERIOD_US 20000

struct probe {
    struct tg_control *ctl;
    int loads, reloads, reload_ok, drains;
    int runs;
    int64_t slot[16];
    bool guard_fired;
};

static int load(void *ctx, const struct tg_config *running, tg_config_kept_fn *kept, void *kept_ctx,
                struct tg_config **out, struct tg_errbuf *eb)
{
    struct probe *p = ctx;
    (void)kept;
    (void)kept_ctx;
    (void)out;
    p->loads += running != NULL;
    return tg_errbuf_set(eb, -EINVAL, "refused by the test");
}

static void reloaded(void *ctx, bool ok, uint32_t restart_pending)
{
    struct probe *p = ctx;
    p->reloads++;
    p->reload_ok += ok;
    TG_EXPECT_EQ(restart_pending, 0);
    raise(SIGTERM); /* the reload is done: now drain */
}

static void draining(void *ctx)
{
    struct probe *p = ctx;
    p->drains++;
}

/* Run 1 takes three periods; run 3 asks for a reload. */
static void task(void *ctx, int64_t now_us)
{
    struct probe *p = ctx;
    if (p->runs < 16)
        p->slot[p->runs] = now_us / PERIOD_US;
    p->runs++;
    if (p->runs == 1) {
        struct timespec ts = {0, 3 * PERIOD_US * 1000};
        nanosleep(&ts, NULL);
    }
    if (p->runs == 3)
        raise(SIGHUP);
}

static void guard(struct tg_timer *t)
{
    struct probe *p = t->data;
    p->guard_fired = true;
    tg_loop_stop(tg_control_loop(p->ctl));
}

struct seen {
    int n;
    const char *names[4];
    struct tg_control_task_info probe;
};

static void on_task(const struct tg_control_task_info *t, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 4)
        s->names[s->n] = t->name;
    s->n++;
    if (strcmp(t->name, "probe") == 0)
        s->probe = *t;
}

static void test_signals_and_tasks(void)
{
    struct tg_errbuf eb = {0};
    struct tg_gateway *gw = NULL;
    TG_EXPECT_EQ(tg_gateway_new(&gw, tg_config_new_default(), &eb), 0);
    struct probe p = {0};
    const struct tg_control_hooks hooks = {
        .load = load, .reloaded = reloaded, .draining = draining, .ctx = &p};
    TG_EXPECT_EQ(tg_control_new(&p.ctl, gw, &hooks, &eb), 0);
    TG_EXPECT_EQ(tg_control_every(p.ctl, "zero", 0, task, &p), -EINVAL);
    TG_EXPECT_EQ(tg_control_every(p.ctl, "probe", PERIOD_US, task, &p), 0);
    struct tg_loop *loop = tg_control_loop(p.ctl);
    struct tg_timer guard_timer = {0};
    tg_timer_start(loop, &guard_timer, tg_clock_mono_us() + 10000000, guard, &p);

    TG_EXPECT_EQ(tg_control_run(p.ctl), 0);
    tg_timer_stop(loop, &guard_timer);
    TG_EXPECT(!p.guard_fired);
    TG_EXPECT_EQ(p.loads, 1);
    TG_EXPECT_EQ(p.reloads, 1);
    TG_EXPECT_EQ(p.reload_ok, 0);
    TG_EXPECT_EQ(p.drains, 1);
    TG_EXPECT_GE(p.runs, 3);
    for (int i = 1; i < p.runs && i < 16; i++)
        TG_EXPECT_GT(p.slot[i], p.slot[i - 1]);
    /* After the slow run, the next one waits for the first boundary after it ended. */
    TG_EXPECT_GE(p.slot[1], p.slot[0] + 3);

    struct seen s = {0};
    tg_control_foreach_task(p.ctl, on_task, &s);
    TG_EXPECT_EQ(s.n, 2);
    TG_EXPECT_STREQ(s.names[0], "metrics");
    TG_EXPECT_STREQ(s.names[1], "probe");
    TG_EXPECT_EQ(s.probe.period_us, PERIOD_US);
    TG_EXPECT_EQ(s.probe.stats.runs, (uint64_t)p.runs);
    TG_EXPECT_GE(s.probe.stats.overruns, 1);
    TG_EXPECT_GE(s.probe.stats.skipped, 2);
    TG_EXPECT_GE(s.probe.stats.worst_us, 3 * PERIOD_US);

    tg_control_close(p.ctl);
    tg_gateway_free(gw);
    tg_control_free(p.ctl);
}

int main(int argc, char **argv)
{
    (void)argc;
    test_signals_and_tasks();
    return tg_test_report(argv[0]);
}
