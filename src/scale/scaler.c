/* SPDX-License-Identifier: MIT */
/* The autoscaler; see scaler.h. One timer turns every 100 ms: it follows the provider
 * (instances becoming ready, dying, draining; the command running) and, when a check is
 * due and autoscaling is on, reads the signal and asks the decider. `desired` is what the
 * scaler wants; the provider is brought to it at each check and right after a step, not
 * on every turn, so a command that fails at once is retried once a check, not ten times
 * a second. With the process provider the upstream's own servers (file, flags) count as
 * instances and are never stopped: the provider adds and removes only its own. */
#include "scale/scaler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "scale/decide.h"
#include "scale/scale_int.h"

#define TURN_US 100000

struct tg_scaler {
    struct tg_loop *loop;
    struct tg_gateway *gw;
    struct tg_scale_hooks h;
    enum tg_autoscale_provider provider;
    struct tg_scale_procs *procs;
    struct tg_scale_cmd *cmd;
    struct tg_timer timer;
    char upstream[64];
    struct tg_scale_state st;
    uint32_t desired; /* 0 = not known yet */
    int64_t last_check_us;
    int pending_dir; /* command provider: the direction of the run under way, -1 none */
    struct {
        bool valid;
        int64_t wall_us;
        struct tg_scale_decision d;
        bool have_signal;
        double signal_ms;
    } last;
    int64_t last_action_wall_us; /* 0 = none */
    uint64_t actions[2][2];
    uint64_t checks[3];
    struct tg_addr *scratch;
};

/* The settings in force. The pointer is good only until the next publish (which
 * replaces the configuration): read it again after one. */
static const struct tg_cfg_autoscale *settings(const struct tg_scaler *s)
{
    return &tg_gateway_config(s->gw)->autoscale;
}

static const char *upstream_of(const struct tg_config *cfg)
{
    const char *u = cfg->autoscale.upstream;
    return u[0] ? u : cfg->upstreams[cfg->default_upstream].name;
}

static const struct tg_cfg_upstream *pool(const struct tg_scaler *s)
{
    const struct tg_config *cfg = tg_gateway_config(s->gw);
    int i = tg_config_upstream_index(cfg, s->upstream);
    return i < 0 ? NULL : &cfg->upstreams[i];
}

/* Servers in the pool now. */
static uint32_t in_pool(const struct tg_scaler *s)
{
    const struct tg_cfg_upstream *u = pool(s);
    return u ? u->nservers : 0;
}

/* The upstream's own servers, which the process provider does not manage. */
static uint32_t own_servers(const struct tg_scaler *s)
{
    size_t n = tg_scale__procs_ready(s->procs, s->scratch, TG_CFG_MAX_SERVERS);
    uint32_t total = in_pool(s);
    return total > n ? total - (uint32_t)n : 0;
}

static void note(struct tg_scaler *s, const char *text, json_t *data)
{
    char *dj = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    tg_log(TG_LOG_INFO, "scale", "note upstream=%s text=\"%s\" data=%s", s->upstream, text,
           dj ? dj : "null");
    if (s->h.note)
        s->h.note(s->h.ctx, "scale", text, dj);
    free(dj);
}

static void on_event(void *vs, const char *event, const char *addr, int pid, const char *detail)
{
    struct tg_scaler *s = vs;
    bool failed = strcmp(event, "died") == 0 || strcmp(event, "start-failed") == 0 ||
                  strcmp(event, "command-failed") == 0;
    if (strcmp(event, "stopped") == 0 || strcmp(event, "drained") == 0) {
        tg_log(TG_LOG_INFO, "scale", "instance-%s upstream=%s addr=%s pid=%d detail=\"%s\"",
               event, s->upstream, addr, pid, detail);
        return;
    }
    if (s->pending_dir >= 0 && (strcmp(event, "command-done") == 0 || failed) &&
        s->provider == TG_AUTOSCALE_COMMAND) {
        s->actions[s->pending_dir][failed]++;
        s->pending_dir = -1;
    }
    char text[200];
    snprintf(text, sizeof text, "%s %s%s%s%s", event, addr, *addr ? " " : "", *detail ? "(" : "",
             detail);
    if (*detail)
        strcat(text, ")");
    json_t *d = json_pack("{s:s,s:s,s:s,s:i,s:s}", "upstream", s->upstream, "event", event,
                          "address", addr, "pid", pid, "detail", detail);
    if (s->provider == TG_AUTOSCALE_COMMAND && strncmp(event, "command-", 8) == 0) {
        int st;
        const char *tail;
        tg_scale__cmd_last(s->cmd, &st, &tail);
        json_object_set_new(d, "exit_status", json_integer(st));
        json_object_set_new(d, "output_tail", json_string(tail));
    }
    if (failed)
        tg_log(TG_LOG_WARN, "scale", "%s upstream=%s addr=%s pid=%d detail=\"%s\"", event,
               s->upstream, addr, pid, detail);
    note(s, text, d);
}

static void publish(struct tg_scaler *s, bool replace, const struct tg_addr *list, size_t n)
{
    struct tg_errbuf eb = {0};
    if (s->h.publish(s->h.ctx, s->upstream, replace, list, n, &eb) != 0) {
        tg_log(TG_LOG_ERROR, "scale", "publish-failed upstream=%s error=\"%s\"", s->upstream,
               eb.msg);
        note(s, "servers could not be published",
             json_pack("{s:s,s:s}", "upstream", s->upstream, "error", eb.msg));
    }
}

static void publish_procs(struct tg_scaler *s)
{
    size_t n = tg_scale__procs_ready(s->procs, s->scratch, TG_CFG_MAX_SERVERS);
    publish(s, false, s->scratch, n);
}

/* Process provider: starts or stops instances until those wanted run. */
static void reconcile(struct tg_scaler *s, int64_t now_us)
{
    if (s->provider != TG_AUTOSCALE_PROCESS || !s->desired)
        return;
    uint32_t own = own_servers(s);
    uint32_t want = s->desired > own ? s->desired - own : 0;
    uint32_t have = tg_scale__procs_count(s->procs);
    if (have > want) {
        while (have-- > want)
            tg_scale__procs_stop_one(s->procs, now_us);
        publish_procs(s);
    }
    /* Read after the publish above: a publish replaces the configuration. */
    const struct tg_cfg_autoscale *a = settings(s);
    for (; have < want; have++) {
        struct tg_errbuf eb = {0};
        if (!a->command[0] || a->provider != TG_AUTOSCALE_PROCESS) {
            tg_errbuf_set(&eb, TG_ECONFIG, "no process provider configured");
        } else if (tg_scale__procs_start(s->procs, a, now_us, &eb) == 0) {
            continue;
        }
        tg_log(TG_LOG_WARN, "scale", "start-failed upstream=%s error=\"%s\"", s->upstream,
               eb.msg);
        note(s, "an instance could not be started",
             json_pack("{s:s,s:s}", "upstream", s->upstream, "error", eb.msg));
        break;
    }
}

/* Carries out a step to `target`. Returns 0, or -1 when it failed at once. */
static int apply(struct tg_scaler *s, uint32_t target, int64_t now_us, struct tg_errbuf *eb)
{
    int dir = target < s->desired; /* 0 up, 1 down */
    if (s->provider == TG_AUTOSCALE_COMMAND) {
        const struct tg_cfg_autoscale *a = settings(s);
        int rc = a->command[0] && a->provider == TG_AUTOSCALE_COMMAND
                     ? tg_scale__cmd_run(s->cmd, a, target, now_us, eb)
                     : tg_errbuf_set(eb, TG_ECONFIG, "no command provider configured");
        if (rc) {
            s->actions[dir][1]++;
            return -1;
        }
        s->pending_dir = dir;
        s->desired = target;
        return 0;
    }
    s->desired = target;
    uint64_t died = tg_scale__procs_died(s->procs);
    reconcile(s, now_us);
    bool ok = tg_scale__procs_count(s->procs) + own_servers(s) >= target ||
              tg_scale__procs_died(s->procs) == died;
    s->actions[dir][!ok]++;
    return 0;
}

static json_t *decision_json(const struct tg_scaler *s)
{
    if (!s->last.valid)
        return json_null();
    char at[40];
    const struct tg_scale_decision *d = &s->last.d;
    return json_pack("{s:s,s:s,s:o,s:s,s:I,s:b,s:b}", "at",
                     tg_clock_iso(s->last.wall_us, at, sizeof at), "verdict",
                     tg_scale_verdict_name(d->verdict), "signal_ms",
                     s->last.have_signal ? json_real(s->last.signal_ms) : json_null(), "reason",
                     d->reason, "target", (json_int_t)d->target, "step", d->step, "acted",
                     d->act);
}

static void check(struct tg_scaler *s, int64_t now_us)
{
    const struct tg_cfg_autoscale *a = settings(s);
    s->last_check_us = now_us;
    if (s->provider == TG_AUTOSCALE_COMMAND && tg_scale__cmd_busy(s->cmd))
        return; /* the step under way has not shown its effect yet */
    double ms = 0;
    bool have = s->h.signal(s->h.ctx, a->signal, a->window_s, &ms) && isfinite(ms);
    struct tg_scale_params p = {
        .threshold_ms = a->threshold_ms,
        .up_after = a->up_after,
        .down_after = a->down_after,
        .min = a->min,
        .max = a->max,
        .cooldown_us = (int64_t)(a->cooldown_s * 1e6),
        .dry_run = a->dry_run,
    };
    uint32_t current = s->desired;
    struct tg_scale_decision d;
    tg_scale_decide(&p, &s->st, have, ms, current, now_us, &d);
    s->checks[d.verdict]++;
    s->last.valid = true;
    s->last.wall_us = tg_clock_wall_us();
    s->last.d = d;
    s->last.have_signal = have;
    s->last.signal_ms = ms;
    if (d.step) {
        char text[160];
        snprintf(text, sizeof text, "%s%s: %u -> %u instances of %s (%s %.1f ms)",
                 d.act ? "" : "dry run, would ", d.reason, current, d.target, s->upstream,
                 a->signal == TG_AUTOSCALE_P99 ? "p99" : "p95", ms);
        json_t *data = json_pack("{s:s,s:s,s:I,s:I,s:b,s:o,s:I}", "upstream", s->upstream,
                                 "reason", d.reason, "from", (json_int_t)current, "to",
                                 (json_int_t)d.target, "dry_run", !d.act, "signal_ms",
                                 have ? json_real(ms) : json_null(), "threshold_ms",
                                 (json_int_t)a->threshold_ms);
        struct tg_errbuf eb = {0};
        if (d.act && apply(s, d.target, now_us, &eb) != 0) {
            json_object_set_new(data, "error", json_string(eb.msg));
            strncat(text, " failed", sizeof text - strlen(text) - 1);
        }
        if (d.act)
            s->last_action_wall_us = tg_clock_wall_us();
        note(s, text, data);
    }
    reconcile(s, now_us);
}

/* The first time the upstream is known, or when it changed: fresh counters, and the
 * instances there are now are the starting point. */
static void follow_upstream(struct tg_scaler *s)
{
    const char *u = upstream_of(tg_gateway_config(s->gw));
    if (strcmp(u, s->upstream) == 0 && s->desired)
        return;
    snprintf(s->upstream, sizeof s->upstream, "%s", u);
    tg_scale_state_init(&s->st);
    s->desired = in_pool(s);
    if (s->provider == TG_AUTOSCALE_COMMAND && settings(s)->command[0] &&
        settings(s)->provider == TG_AUTOSCALE_COMMAND) {
        struct tg_errbuf eb = {0};
        if (tg_scale__cmd_refresh(s->cmd, settings(s), &eb) < 0)
            tg_log(TG_LOG_WARN, "scale", "servers-unread upstream=%s error=\"%s\"", u, eb.msg);
    }
}

static void turn(struct tg_timer *t)
{
    struct tg_scaler *s = t->data;
    int64_t now = tg_clock_mono_us();
    follow_upstream(s);
    if (s->provider == TG_AUTOSCALE_PROCESS) {
        if (tg_scale__procs_tick(s->procs, settings(s), s->gw, s->upstream, now))
            publish_procs(s);
    } else {
        bool failed;
        if (tg_scale__cmd_tick(s->cmd, settings(s), now, &failed)) {
            const struct tg_addr *list;
            size_t n = tg_scale__cmd_servers(s->cmd, &list);
            publish(s, true, list, n);
        }
    }
    /* Not read before the provider's turn: a publish replaces the configuration. */
    const struct tg_cfg_autoscale *a = settings(s);
    int64_t every = (int64_t)(a->check_interval_s * 1e6);
    if (a->enabled && now - s->last_check_us >= every)
        check(s, now);
    tg_timer_start(s->loop, &s->timer, now + TURN_US, turn, s);
}

int tg_scaler_new(struct tg_loop *loop, struct tg_gateway *gw, const struct tg_scale_hooks *h,
                  struct tg_scaler **out)
{
    struct tg_scaler *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->gw = gw;
    s->h = *h;
    s->pending_dir = -1;
    s->provider = tg_gateway_config(gw)->autoscale.provider;
    s->last_check_us = tg_clock_mono_us();
    s->scratch = calloc(TG_CFG_MAX_SERVERS, sizeof *s->scratch);
    int rc = s->scratch ? 0 : -ENOMEM;
    if (rc == 0)
        rc = s->provider == TG_AUTOSCALE_PROCESS ? tg_scale__procs_new(on_event, s, &s->procs)
                                                 : tg_scale__cmd_new(on_event, s, &s->cmd);
    if (rc) {
        free(s->scratch);
        free(s);
        return rc;
    }
    tg_scale_state_init(&s->st);
    tg_timer_start(loop, &s->timer, tg_clock_mono_us() + TURN_US, turn, s);
    *out = s;
    return 0;
}

void tg_scaler_free(struct tg_scaler *s)
{
    if (!s)
        return;
    tg_timer_stop(s->loop, &s->timer);
    tg_scale__procs_free(s->procs, settings(s)->stop_grace_us);
    tg_scale__cmd_free(s->cmd);
    free(s->scratch);
    free(s);
}

int tg_scaler_scale_to(struct tg_scaler *s, uint32_t n, const char *upstream, const char *by,
                       struct tg_errbuf *eb)
{
    follow_upstream(s);
    const struct tg_cfg_autoscale *a = settings(s);
    if (upstream && *upstream && strcmp(upstream, s->upstream) != 0)
        return tg_errbuf_set(eb, TG_ENOTFOUND,
                             "upstream: the autoscaler scales \"%s\" (autoscale.upstream)",
                             s->upstream);
    if (n < a->min)
        return tg_errbuf_set(eb, TG_ELIMIT, "instances: %u is below autoscale.min %u", n, a->min);
    if (n > a->max)
        return tg_errbuf_set(eb, TG_ELIMIT, "instances: %u is above autoscale.max %u", n, a->max);
    if (!a->command[0])
        return tg_errbuf_set(eb, TG_ECONFIG,
                             "instances: no provider to scale with (autoscale.command)");
    if (s->provider == TG_AUTOSCALE_PROCESS && n < own_servers(s))
        return tg_errbuf_set(eb, TG_ELIMIT,
                             "instances: %u is below the %u servers the configuration gives "
                             "upstream \"%s\" (the process provider stops only its own)",
                             n, own_servers(s), s->upstream);
    if (s->provider == TG_AUTOSCALE_COMMAND && tg_scale__cmd_busy(s->cmd))
        return tg_errbuf_set(eb, -EBUSY, "instances: the previous scaling command is running");
    int64_t now = tg_clock_mono_us();
    uint32_t from = s->desired;
    int rc = 0;
    if (n != from)
        rc = apply(s, n, now, eb);
    /* A manual step restarts the count and the cooldown, as an automatic one does. */
    tg_scale_state_init(&s->st);
    s->st.last_step_us = now;
    s->last_action_wall_us = tg_clock_wall_us();
    char text[160];
    snprintf(text, sizeof text, "scale to %u instances of %s by %s%s", n, s->upstream, by,
             rc ? " failed" : "");
    json_t *data = json_pack("{s:s,s:s,s:I,s:I,s:s}", "upstream", s->upstream, "reason",
                             "manual", "from", (json_int_t)from, "to", (json_int_t)n, "by", by);
    if (rc)
        json_object_set_new(data, "error", json_string(eb->msg));
    note(s, text, data);
    return rc ? (eb->code ? eb->code : TG_ECONFIG) : 0;
}

json_t *tg_scaler_state(struct tg_scaler *s)
{
    follow_upstream(s);
    const struct tg_cfg_autoscale *a = settings(s);
    int64_t now = tg_clock_mono_us();
    struct tg_scale_params p = {.cooldown_us = (int64_t)(a->cooldown_s * 1e6)};
    json_t *servers = json_array();
    const struct tg_cfg_upstream *u = pool(s);
    for (uint32_t i = 0; u && i < u->nservers; i++)
        json_array_append_new(servers, json_string(u->servers[i].addr.text));
    char at[40];
    json_t *o = json_pack(
        "{s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:f,s:o}", "upstream", s->upstream, "provider",
        s->provider == TG_AUTOSCALE_COMMAND ? "command" : "process", "instances",
        (json_int_t)in_pool(s), "desired", (json_int_t)s->desired, "high_count",
        (json_int_t)s->st.high_count, "low_count", (json_int_t)s->st.low_count, "last_decision",
        decision_json(s), "last_action_at",
        s->last_action_wall_us ? json_string(tg_clock_iso(s->last_action_wall_us, at, sizeof at))
                               : json_null(),
        "cooldown_remaining_s", (double)tg_scale_cooldown_left(&p, &s->st, now) / 1e6,
        "servers", servers);
    if (s->provider == TG_AUTOSCALE_PROCESS) {
        json_object_set_new(o, "managed", json_integer(tg_scale__procs_count(s->procs)));
        json_object_set_new(o, "died_total", json_integer((json_int_t)tg_scale__procs_died(s->procs)));
    } else {
        int st;
        const char *tail;
        tg_scale__cmd_last(s->cmd, &st, &tail);
        json_object_set_new(o, "command",
                            json_pack("{s:b,s:o,s:s}", "running", tg_scale__cmd_busy(s->cmd),
                                      "last_status", st < 0 ? json_null() : json_integer(st),
                                      "output_tail", tail));
    }
    return o;
}

void tg_scaler_stats(struct tg_scaler *s, struct tg_scaler_stats *out)
{
    follow_upstream(s);
    out->upstream = s->upstream;
    out->instances = in_pool(s);
    out->desired = s->desired;
    memcpy(out->actions, s->actions, sizeof out->actions);
    memcpy(out->checks, s->checks, sizeof out->checks);
}
