/* SPDX-License-Identifier: MIT */
/* The playbooks at work (playbooks.h): per incident, its rule, its actions in order, the
 * one being judged, and the undo of each. The samples a verdict reads come from
 * playbooks_series.c. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "diagnose/incidents.h"
#include "diagnose/playbook.h"
#include "diagnose/playbooks.h"
#include "diagnose/playbooks_int.h"
#include "diagnose/verify.h"

#define MAX_INCIDENTS 64
#define LOOKS 5

enum act_state { ACT_VERIFYING = 0, ACT_JUDGED, ACT_UNDONE, ACT_KEPT };

struct act {
    const struct tg_pb_op *op;
    json_t *body;
    char prefix[160]; /* the settings it wrote ("circuit_breaker."), "" = not a setting */
    json_t *before;   /* those settings' overrides before it */
    json_t *features; /* FEATURES_DISABLE: the ones it switched off (were on before) */
    int64_t audit_id;
    int64_t at_us, at_ms;
    int looks;
    enum act_state state;
    enum tg_verdict verdict;
    bool dry;
};

struct inc {
    int64_t id;
    struct tg_cfg_playbook rule; /* a copy: the configuration may be replaced meanwhile */
    char name[64];
    bool automatic;
    uint32_t next;
    struct tg_pb_state st;
    json_t *diag;
    struct act acts[TG_CFG_PB_MAX_ACTIONS];
    uint32_t nacts;
    bool done;
    char refused[160]; /* the last guardrail refusal noted, not repeated */
    int64_t resolved_us;
    bool undone;
};

struct tg_playbooks {
    struct tg_incidents *inc;
    struct tg_pb_hooks hooks;
    struct inc *v[MAX_INCIDENTS];
    size_t n;
};

int tg_playbooks_new(struct tg_incidents *inc, const struct tg_pb_hooks *hooks,
                     struct tg_playbooks **out)
{
    struct tg_playbooks *pb = calloc(1, sizeof *pb);
    if (!pb)
        return -ENOMEM;
    pb->inc = inc;
    pb->hooks = *hooks;
    *out = pb;
    return 0;
}

static void inc_free(struct inc *c)
{
    for (uint32_t i = 0; i < c->nacts; i++) {
        json_decref(c->acts[i].body);
        json_decref(c->acts[i].before);
        json_decref(c->acts[i].features);
    }
    json_decref(c->diag);
    free(c);
}

void tg_playbooks_free(struct tg_playbooks *pb)
{
    if (!pb)
        return;
    for (size_t i = 0; i < pb->n; i++)
        inc_free(pb->v[i]);
    free(pb);
}

static struct inc *find(struct tg_playbooks *pb, int64_t id)
{
    for (size_t i = 0; i < pb->n; i++)
        if (pb->v[i]->id == id)
            return pb->v[i];
    return NULL;
}

/* A timeline entry of incident `c` (data: a new reference, taken). */
static void note(struct tg_playbooks *pb, const struct inc *c, int64_t now_us, const char *kind,
                 json_t *data, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void note(struct tg_playbooks *pb, const struct inc *c, int64_t now_us, const char *kind,
                 json_t *data, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!data)
        data = json_object();
    json_object_set_new(data, "playbook", json_string(c->name));
    char *dj = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    /* The timeline's times are wall clock; now_us (monotonic) only orders the steps. */
    (void)now_us;
    tg_incidents_note_to(pb->inc, c->id, tg_clock_wall_us(), kind, text, dj);
    free(dj);
}

static char *compact(const json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT) : strdup("{}");
}

void tg_playbooks_on_diagnosis(struct tg_playbooks *pb, const struct tg_config *cfg, int64_t id,
                               const json_t *diag, int64_t now_us)
{
    struct inc *c = find(pb, id);
    if (c) {
        json_decref(c->diag);
        c->diag = json_deep_copy(diag);
        return;
    }
    const struct tg_cfg_playbook *rule = tg_pb_match(&cfg->playbooks, diag);
    if (!rule || pb->n == MAX_INCIDENTS)
        return;
    c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->id = id;
    c->rule = *rule;
    snprintf(c->name, sizeof c->name, "%s", rule->name);
    c->automatic = rule->automatic;
    c->diag = json_deep_copy(diag);
    pb->v[pb->n++] = c;
    json_t *list = json_array();
    for (uint32_t i = 0; i < rule->nactions; i++) {
        const struct tg_pb_op *op = tg_pb_op(rule->actions[i].op);
        json_t *body = tg_pb_body(&rule->actions[i], diag);
        if (op && body)
            json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "op", op->id, "method",
                                                  op->method, "path", op->path, "body", body));
        else
            json_decref(body);
    }
    size_t n = json_array_size(list);
    char *txt = compact(list);
    json_t *data =
        json_pack("{s:s,s:o}", "mode", c->automatic ? "auto" : "suggest", "actions", list);
    if (c->automatic)
        note(pb, c, now_us, "mitigation", data,
             "playbook %s matches (auto): %zu action(s) will be tried in order: %s", c->name, n,
             txt);
    else
        note(pb, c, now_us, "mitigation", data,
             "playbook %s matches (suggest mode, nothing sent): send in order %s", c->name, txt);
    free(txt);
}

/* The settings prefix an operation's body writes: the scoped section when the body names
 * a route or an upstream. */
static void prefix_of(const struct tg_pb_op *op, const json_t *body, char *out, size_t cap)
{
    out[0] = '\0';
    if (!op->setting)
        return;
    const char *route = json_string_value(json_object_get(body, "route"));
    const char *up = json_string_value(json_object_get(body, "upstream"));
    if (route)
        snprintf(out, cap, "routes[%s].%s.", route, op->setting);
    else if (up)
        snprintf(out, cap, "upstreams[%s].%s.", up, op->setting);
    else
        snprintf(out, cap, "%s.", op->setting);
}

static bool feature_off(const struct tg_config *cfg, const char *f)
{
    for (uint32_t i = 0; i < cfg->features.ndisabled; i++)
        if (strcmp(cfg->features.disabled[i], f) == 0)
            return true;
    return false;
}

static void actor_of(const struct inc *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "playbook:%s", c->name);
}

/* Sends the next action of `c` if the guardrails allow it now. */
static void step(struct tg_playbooks *pb, const struct tg_config *cfg, struct inc *c,
                 int64_t now_us, int64_t now_ms)
{
    const struct tg_cfg_playbooks *p = &cfg->playbooks;
    while (!c->done && c->automatic && c->next < c->rule.nactions) {
        const struct tg_cfg_pb_action *a = &c->rule.actions[c->next];
        const struct tg_pb_op *op = tg_pb_op(a->op);
        json_t *body = tg_pb_body(a, c->diag);
        if (!op || !body) {
            note(pb, c, now_us, "mitigation", json_pack("{s:s}", "op", a->op),
                 "playbook %s skips %s: the diagnosis suggests no body for it", c->name, a->op);
            json_decref(body);
            c->next++;
            continue;
        }
        const char *why = tg_pb_guard(p, cfg, &c->st, now_us, op, body);
        if (why) {
            bool waiting = c->st.verifying ||
                           (c->st.last_action_us && now_us - c->st.last_action_us < p->cooldown_us);
            if (!waiting && strcmp(c->refused, why) != 0) {
                snprintf(c->refused, sizeof c->refused, "%s", why);
                note(pb, c, now_us, "mitigation",
                     json_pack("{s:s,s:s}", "op", op->id, "refused", why),
                     "playbook %s holds %s: %s", c->name, op->id, why);
            }
            json_decref(body);
            return;
        }
        c->refused[0] = '\0';
        struct act *x = &c->acts[c->nacts];
        memset(x, 0, sizeof *x);
        x->op = op;
        x->body = body;
        x->at_us = now_us;
        x->at_ms = now_ms;
        c->next++;
        c->st.actions++;
        c->st.last_action_us = now_us;
        char *bt = compact(body);
        if (p->dry_run) {
            x->dry = true;
            x->state = ACT_KEPT;
            c->nacts++;
            note(pb, c, now_us, "mitigation",
                 json_pack("{s:s,s:s,s:s,s:O,s:b}", "op", op->id, "method", op->method, "path",
                           op->path, "body", body, "dry_run", 1),
                 "playbook %s (dry run) would send %s %s %s", c->name, op->method, op->path, bt);
            free(bt);
            continue;
        }
        prefix_of(op, body, x->prefix, sizeof x->prefix);
        if (x->prefix[0])
            x->before = pb->hooks.overrides(pb->hooks.ctx, x->prefix);
        if (strcmp(op->id, "FEATURES_DISABLE") == 0) {
            x->features = json_array();
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(body, "features"), i, f)
            {
                if (json_is_string(f) && !feature_off(cfg, json_string_value(f)))
                    json_array_append(x->features, f);
            }
        }
        char actor[96];
        actor_of(c, actor, sizeof actor);
        json_t *answer = NULL;
        int status =
            pb->hooks.call(pb->hooks.ctx, actor, op->method, op->path, body, &answer, &x->audit_id);
        char *at = compact(answer);
        if (status < 200 || status > 299) {
            note(pb, c, now_us, "mitigation",
                 json_pack("{s:s,s:i,s:o}", "op", op->id, "status", status, "answer",
                           answer ? answer : json_null()),
                 "playbook %s: %s %s %s failed with %d: %s", c->name, op->method, op->path, bt,
                 status, at);
            json_decref(x->body);
            json_decref(x->before);
            json_decref(x->features);
            memset(x, 0, sizeof *x);
            free(bt);
            free(at);
            continue;
        }
        json_decref(answer);
        c->nacts++;
        c->st.verifying = true;
        /* What the undo needs rides with the entry, so a restart can still undo it. */
        json_t *data =
            json_pack("{s:s,s:s,s:s,s:O,s:I}", "op", op->id, "method", op->method, "path", op->path,
                      "body", body, "audit_id", (json_int_t)x->audit_id);
        if (x->prefix[0]) {
            json_object_set_new(data, "undo_prefix", json_string(x->prefix));
            json_object_set(data, "undo_before", x->before ? x->before : json_object());
        }
        if (x->features)
            json_object_set(data, "undo_features", x->features);
        note(pb, c, now_us, "mitigation", data,
             "playbook %s sent %s %s %s (verdict after %gs settle, within %gs)", c->name,
             op->method, op->path, bt, (double)p->settle_us / 1e6, (double)p->verify_us / 1e6);
        free(bt);
        free(at);
        return;
    }
    if (!c->done && c->automatic && c->next >= c->rule.nactions && !c->st.verifying) {
        c->done = true;
        note(pb, c, now_us, "mitigation", NULL,
             "playbook %s has no action left; the incident needs an operator", c->name);
    }
}

/* Takes action `x` back (a rollback, or the undo after resolution). */
static void undo(struct tg_playbooks *pb, struct inc *c, struct act *x, const char *kind,
                 int64_t now_us)
{
    if (x->state == ACT_UNDONE || x->dry)
        return;
    char actor[96];
    actor_of(c, actor, sizeof actor);
    json_t *answer = NULL;
    int64_t audit = 0;
    int status = 0;
    if (x->prefix[0]) {
        status = pb->hooks.restore(pb->hooks.ctx, actor, x->prefix, x->before, &answer, &audit);
    } else if (x->features && json_array_size(x->features)) {
        json_t *b = json_pack("{s:O}", "features", x->features);
        status = pb->hooks.call(pb->hooks.ctx, actor, "POST", "/api/v1/system/features/enable", b,
                                &answer, &audit);
        json_decref(b);
    } else {
        x->state = ACT_UNDONE;
        note(pb, c, now_us, kind,
             json_pack("{s:I,s:s}", "audit_id", (json_int_t)x->audit_id, "op", x->op->id),
             "%s of %s: nothing to take back (%s ends by itself or changes nothing lasting)", kind,
             x->op->id, x->op->id);
        return;
    }
    char *at = compact(answer);
    json_decref(answer);
    if (status >= 200 && status <= 299) {
        x->state = ACT_UNDONE;
        note(pb, c, now_us, kind,
             json_pack("{s:I,s:I,s:s}", "audit_id", (json_int_t)x->audit_id, "undo_audit_id",
                       (json_int_t)audit, "op", x->op->id),
             "%s of %s (audit #%lld): the settings are back as they were", kind, x->op->id,
             (long long)x->audit_id);
    } else {
        note(pb, c, now_us, kind,
             json_pack("{s:I,s:s,s:i}", "audit_id", (json_int_t)x->audit_id, "op", x->op->id,
                       "status", status),
             "%s of %s (audit #%lld) failed with %d: %s", kind, x->op->id, (long long)x->audit_id,
             status, at);
    }
    free(at);
}

static void judge(struct tg_playbooks *pb, const struct tg_config *cfg,
                  const struct tg_queryable *q, struct inc *c, struct act *x, int64_t now_us,
                  int64_t now_ms)
{
    const struct tg_cfg_playbooks *p = &cfg->playbooks;
    int64_t since = now_us - x->at_us;
    if (since < p->settle_us)
        return;
    int look = (int)((since - p->settle_us) * LOOKS / (p->verify_us > 0 ? p->verify_us : 1));
    if (look < 1 && since < p->settle_us + p->verify_us)
        return;
    if (look > LOOKS)
        look = LOOKS;
    if (look < 1)
        look = 1;
    if (look <= x->looks)
        return;
    x->looks = look;
    struct tg_pb_samples s;
    if (tg_pb__samples(q, cfg, c->diag, x->at_ms, now_ms, !x->op->sheds, &s) != 0)
        return;
    struct tg_verify_params vp;
    tg_verify_params_default(&vp);
    vp.min_samples = (int)p->min_samples;
    vp.max_looks = LOOKS;
    vp.settle_samples = s.settle_points;
    struct tg_verify_input in = {
        .p95_before = {s.p95_before, s.nbefore},
        .p95_after = {s.p95_after, s.nafter},
        .errors_before = {s.err_before, s.err_before ? s.nbefore : 0},
        .errors_after = {s.err_after, s.err_after ? s.nafter : 0},
        .control_before = {s.ctl_before, s.ctl_before ? s.nbefore : 0},
        .control_after = {s.ctl_after, s.ctl_after ? s.nafter : 0},
        .target_p95_ms = s.target_ms,
        .target_error_ratio = cfg->diagnosis.error_ratio,
    };
    struct tg_verify_result r;
    int rc = 0;
    size_t usable = 0;
    for (size_t i = 0; i < s.nbefore; i++)
        usable += !isnan(s.p95_before[i]) && s.p95_before[i] >= 0;
    if (usable < p->min_samples) {
        /* The action came too soon after the onset for a test: the levels the diagnosis
         * measured stand for "before". */
        double base, degraded, target;
        tg_pb_levels(c->diag, &base, &degraded, &target);
        memset(&r, 0, sizeof r);
        r.p95_before_ms = degraded;
        r.p95_after_ms = NAN;
        int v = tg_pb_short_verdict(s.p95_after, s.nafter, (size_t)s.settle_points,
                                    (int)p->min_samples, base, degraded, target, look, LOOKS,
                                    &r.final, r.reason, sizeof r.reason);
        r.verdict = v == 1   ? TG_VERDICT_HELPED
                    : v == 2 ? TG_VERDICT_NO_EFFECT
                             : TG_VERDICT_INCONCLUSIVE;
    } else {
        rc = tg_verify_judge(&vp, &in, look, &r);
    }
    tg_pb__samples_free(&s);
    if (rc != 0 || (!r.final && look < LOOKS))
        return;
    x->state = ACT_JUDGED;
    x->verdict = r.verdict;
    c->st.verifying = false;
    note(pb, c, now_us, "verdict",
         json_pack("{s:I,s:s,s:s,s:s,s:o,s:o}", "audit_id", (json_int_t)x->audit_id, "verdict",
                   tg_verdict_name(r.verdict), "op", x->op->id, "reason", r.reason, "p95_before_ms",
                   isnan(r.p95_before_ms) ? json_null() : json_real(r.p95_before_ms),
                   "p95_after_ms", isnan(r.p95_after_ms) ? json_null() : json_real(r.p95_after_ms)),
         "verdict on %s (audit #%lld): %s: %s", x->op->id, (long long)x->audit_id,
         tg_verdict_name(r.verdict), r.reason);
    if (r.verdict == TG_VERDICT_WORSE)
        undo(pb, c, x, "rollback", now_us);
    else if (r.verdict == TG_VERDICT_HELPED)
        c->done = true;
}

static bool is_open(struct tg_playbooks *pb, int64_t id)
{
    int64_t ids[256];
    size_t n = tg_incidents_open_ids(pb->inc, ids, 256);
    for (size_t i = 0; i < n && i < 256; i++)
        if (ids[i] == id)
            return true;
    return false;
}

void tg_playbooks_tick(struct tg_playbooks *pb, const struct tg_config *cfg,
                       const struct tg_queryable *q, int64_t now_us, int64_t now_ms)
{
    for (size_t i = 0; i < pb->n;) {
        struct inc *c = pb->v[i];
        for (uint32_t k = 0; k < c->nacts; k++)
            if (c->acts[k].state == ACT_VERIFYING)
                judge(pb, cfg, q, c, &c->acts[k], now_us, now_ms);
        bool open = is_open(pb, c->id);
        if (open) {
            c->resolved_us = 0;
            step(pb, cfg, c, now_us, now_ms);
            i++;
            continue;
        }
        if (!c->resolved_us)
            c->resolved_us = now_us;
        if (now_us - c->resolved_us < cfg->playbooks.hold_us) {
            i++;
            continue;
        }
        for (uint32_t k = c->nacts; k-- > 0;)
            undo(pb, c, &c->acts[k], "undo", now_us);
        inc_free(c);
        pb->v[i] = pb->v[--pb->n];
    }
}

void tg_playbooks_restore(struct tg_playbooks *pb, const json_t *incident, int64_t now_us)
{
    int64_t id = json_integer_value(json_object_get(incident, "id"));
    const char *status = json_string_value(json_object_get(incident, "status"));
    if (id <= 0 || !status || strcmp(status, "closed") == 0 || find(pb, id) ||
        pb->n == MAX_INCIDENTS)
        return;
    struct inc *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->id = id;
    c->done = true; /* a restarted playbook sends nothing more; it undoes */
    c->diag = json_deep_copy(json_object_get(incident, "diagnosis"));
    size_t i;
    json_t *e;
    json_t *tl = json_object_get(incident, "timeline");
    json_array_foreach(tl, i, e)
    {
        const char *kind = json_string_value(json_object_get(e, "kind"));
        json_t *d = json_object_get(e, "data");
        json_int_t audit = json_integer_value(json_object_get(d, "audit_id"));
        const struct tg_pb_op *op = tg_pb_op(json_string_value(json_object_get(d, "op")));
        if (!kind || audit <= 0)
            continue;
        if (strcmp(kind, "mitigation") == 0 && op && c->nacts < TG_CFG_PB_MAX_ACTIONS) {
            struct act *x = &c->acts[c->nacts++];
            x->op = op;
            x->body = json_deep_copy(json_object_get(d, "body"));
            x->audit_id = audit;
            x->state = ACT_JUDGED;
            const char *prefix = json_string_value(json_object_get(d, "undo_prefix"));
            if (prefix) {
                snprintf(x->prefix, sizeof x->prefix, "%s", prefix);
                x->before = json_deep_copy(json_object_get(d, "undo_before"));
            }
            x->features = json_deep_copy(json_object_get(d, "undo_features"));
            const char *pbn = json_string_value(json_object_get(d, "playbook"));
            snprintf(c->name, sizeof c->name, "%s", pbn ? pbn : "restored");
        } else if (strcmp(kind, "undo") == 0 || strcmp(kind, "rollback") == 0) {
            for (uint32_t k = 0; k < c->nacts; k++)
                if (c->acts[k].audit_id == audit)
                    c->acts[k].state = ACT_UNDONE;
        }
    }
    bool pending = false;
    for (uint32_t k = 0; k < c->nacts; k++)
        pending |= c->acts[k].state != ACT_UNDONE;
    if (!pending) {
        inc_free(c);
        return;
    }
    snprintf(c->rule.name, sizeof c->rule.name, "%s", c->name);
    pb->v[pb->n++] = c;
    note(pb, c, now_us, "mitigation", NULL,
         "playbook %s restored after a restart: its actions still in force will be undone "
         "after the incident resolves and the hold time",
         c->name);
}

bool tg_playbooks_has(const struct tg_playbooks *pb, int64_t id)
{
    for (size_t i = 0; i < pb->n; i++)
        if (pb->v[i]->id == id)
            return true;
    return false;
}

json_t *tg_playbooks_status(const struct tg_playbooks *pb, const struct tg_config *cfg)
{
    const struct tg_cfg_playbooks *p = &cfg->playbooks;
    json_t *incs = json_array();
    static const char *const states[] = {"verifying", "judged", "undone", "kept"};
    for (size_t i = 0; pb && i < pb->n; i++) {
        const struct inc *c = pb->v[i];
        json_t *acts = json_array();
        for (uint32_t k = 0; k < c->nacts; k++) {
            const struct act *x = &c->acts[k];
            json_array_append_new(
                acts,
                json_pack("{s:s,s:O,s:I,s:s,s:s,s:b}", "op", x->op->id, "body", x->body, "audit_id",
                          (json_int_t)x->audit_id, "state", states[x->state], "verdict",
                          x->state == ACT_VERIFYING || x->dry ? "" : tg_verdict_name(x->verdict),
                          "dry_run", x->dry));
        }
        json_array_append_new(incs, json_pack("{s:I,s:s,s:s,s:b,s:i,s:o}", "incident",
                                              (json_int_t)c->id, "playbook", c->name, "mode",
                                              c->automatic ? "auto" : "suggest", "done", c->done,
                                              "next_action", (int)c->next, "actions", acts));
    }
    json_t *rules = json_array();
    for (uint32_t i = 0; i < p->n; i++)
        json_array_append_new(rules, json_pack("{s:s,s:s,s:i}", "name", p->list[i].name, "mode",
                                               p->list[i].automatic ? "auto" : "suggest", "actions",
                                               (int)p->list[i].nactions));
    return json_pack("{s:b,s:b,s:i,s:f,s:f,s:f,s:f,s:o,s:o}", "enabled", p->enabled, "dry_run",
                     p->dry_run, "max_actions", (int)p->max_actions, "cooldown_s",
                     (double)p->cooldown_us / 1e6, "settle_s", (double)p->settle_us / 1e6,
                     "verify_s", (double)p->verify_us / 1e6, "hold_s", (double)p->hold_us / 1e6,
                     "rules", rules, "incidents", incs);
}
