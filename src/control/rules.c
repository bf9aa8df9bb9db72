/* SPDX-License-Identifier: MIT */
/* The ruler; see rules.h. One timer serves every group: it fires at the earliest
 * group's next scheduled time (the manager knows them), runs the groups that are due,
 * writes the history, and re-arms. The store's wall-clock times are mapped onto the
 * monotonic timer by the difference of the two clocks read at arming. */
#include "control/rules.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "control/scrape.h"
#include "core/clock.h"
#include "core/log.h"
#include "metrics/collect.h"
#include "rules/manager.h"
#include "rules/notify.h"
#include "store/alerts.h"

/* A timer that fires a little early finds nothing due; it re-arms for the rest. */
#define MIN_WAIT_US 1000

struct history {
    struct tg_store_alert *v; /* strings owned */
    size_t n, cap;
};

struct tg_ruler {
    struct tg_control *ctl;
    struct tg_tsdb *db;
    struct tg_store *store;
    struct tg_rules_mgr *mgr;
    struct tg_notifier *notifier;
    struct tg_timer timer;
    struct tg_cfg_rules rcfg; /* the settings in force */
    struct tg_cfg_alerting acfg;
    struct tg_label ext[TG_CFG_MAX_EXTERNAL_LABELS]; /* point into rcfg */
    struct tg_labels ext_labels;
    char ext_url[300];
    char config_file[256];
    uint64_t fingerprint; /* of the last reload attempted */
    struct history hist;
    tg_ruler_alert_fn *on_alert;
    void *on_alert_ctx;
    /* figures */
    bool last_reload_ok;
    int64_t last_reload_ok_wall_us;
    uint64_t reloads_total, reload_failures_total;
    uint64_t history_rows_total, history_errors_total;
};

static int64_t wall_ms(void)
{
    return tg_clock_wall_us() / 1000;
}

/* ------------------------------------------------------------------ history */

static char *labels_json(const struct tg_labels *ls)
{
    json_t *o = json_object();
    for (uint32_t i = 0; i < ls->n; i++)
        json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static void history_free(struct history *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free((char *)h->v[i].alertname);
        free((char *)h->v[i].labels_json);
        free((char *)h->v[i].annotations_json);
    }
    h->n = 0;
}

static void on_transition(void *ctx, const struct tg_rules_transition *t)
{
    struct tg_ruler *r = ctx;
    struct history *h = &r->hist;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        struct tg_store_alert *v = realloc(h->v, cap * sizeof *v);
        if (!v) {
            r->history_errors_total++;
            return;
        }
        h->v = v;
        h->cap = cap;
    }
    const struct tg_alert_instance *in = t->inst;
    bool fired = in->state == TG_ALERT_FIRING;
    struct tg_store_alert row = {
        .ts_ms = fired ? in->fired_at_ms : in->resolved_at_ms,
        .alertname = strdup(t->rule),
        .state = fired ? "firing" : "resolved",
        .labels_json = labels_json(&in->labels),
        .annotations_json = labels_json(&in->annotations),
        .value = in->value,
        .active_at_ms = in->active_at_ms,
        .fired_at_ms = in->fired_at_ms,
        .resolved_at_ms = fired ? 0 : in->resolved_at_ms,
    };
    h->v[h->n++] = row;
    if (!row.alertname || !row.labels_json || !row.annotations_json) {
        history_free(h); /* out of memory: this evaluation's rows are lost, and counted */
        r->history_errors_total++;
    }
}

/* The transitions of the evaluations just run, in one transaction: after the rules,
 * not while anyone waits on the admin API. */
static void history_flush(struct tg_ruler *r)
{
    if (!r->hist.n)
        return;
    struct tg_errbuf eb = {0};
    if (!r->store) {
        history_free(&r->hist);
        return;
    }
    if (tg_store_alerts_append(r->store, r->hist.v, r->hist.n, &eb) == 0) {
        r->history_rows_total += r->hist.n;
    } else {
        r->history_errors_total++;
        tg_log(TG_LOG_ERROR, "rules", "alert-history-write-failed rows=%zu error=\"%s\"", r->hist.n,
               eb.msg);
    }
    for (size_t i = 0; r->on_alert && i < r->hist.n; i++)
        r->on_alert(r->on_alert_ctx, &r->hist.v[i]);
    history_free(&r->hist);
}

void tg_ruler_on_alert(struct tg_ruler *r, tg_ruler_alert_fn *fn, void *ctx)
{
    r->on_alert = fn;
    r->on_alert_ctx = ctx;
}

/* ------------------------------------------------------------------ evaluation */

static void on_send(void *ctx, const struct tg_notify_alert *a, size_t n)
{
    struct tg_ruler *r = ctx;
    if (r->notifier)
        tg_notifier_send(r->notifier, a, n);
}

static struct tg_rules_env env_of(struct tg_ruler *r)
{
    return (struct tg_rules_env){
        .db = r->db,
        .ext_labels = &r->ext_labels,
        .ext_url = r->ext_url,
        .resend_delay_ms = r->acfg.resend_delay_us / 1000,
        .clock_us = tg_clock_mono_us,
        .send = on_send,
        .transition = on_transition,
        .ctx = r,
    };
}

static void tick(struct tg_timer *t);

/* Runs what is due now (and sets the first times of new groups), then sleeps until the
 * next group is due. */
static void run_and_arm(struct tg_ruler *r)
{
    struct tg_rules_env env = env_of(r);
    int64_t now = wall_ms();
    tg_rules_mgr_run(r->mgr, &env, now);
    history_flush(r);
    struct tg_loop *loop = tg_control_loop(r->ctl);
    tg_timer_stop(loop, &r->timer);
    int64_t next = tg_rules_mgr_next_ms(r->mgr);
    if (next == INT64_MAX)
        return;
    int64_t wait_us = (next - wall_ms()) * 1000;
    if (wait_us < MIN_WAIT_US)
        wait_us = MIN_WAIT_US;
    tg_timer_start(loop, &r->timer, tg_clock_mono_us() + wait_us, tick, r);
}

static void tick(struct tg_timer *t)
{
    run_and_arm(t->data);
}

/* ------------------------------------------------------------------ settings */

static void set_settings(struct tg_ruler *r, const struct tg_config *cfg)
{
    r->rcfg = cfg->rules;
    for (uint32_t i = 0; i < r->rcfg.nexternal_labels; i++)
        r->ext[i] =
            (struct tg_label){r->rcfg.external_labels[i].name, r->rcfg.external_labels[i].value};
    r->ext_labels = (struct tg_labels){r->ext, r->rcfg.nexternal_labels};
    if (r->rcfg.external_url[0])
        snprintf(r->ext_url, sizeof r->ext_url, "%s", r->rcfg.external_url);
    else
        snprintf(r->ext_url, sizeof r->ext_url, "http://%s", cfg->admin_listen.text);
    snprintf(r->config_file, sizeof r->config_file, "%s", cfg->file);
}

/* A notifier for `a`'s targets. Failures are logged: the gateway runs without them. */
static struct tg_notifier *notifier_for(struct tg_ruler *r, const struct tg_cfg_alerting *a)
{
    if (!a->nalertmanagers && !a->nwebhooks)
        return NULL;
    struct tg_notify_opts o;
    tg_notify_opts_init(&o);
    o.queue_capacity = a->queue_capacity;
    o.timeout_us = a->timeout_us;
    o.retries = a->retries;
    o.backoff_base_us = a->backoff_us;
    o.external_url = r->ext_url;
    struct tg_notifier *n = NULL;
    if (tg_notifier_new(tg_control_loop(r->ctl), &o, &n) != 0)
        return NULL;
    for (uint32_t k = 0; k < 2; k++) {
        uint32_t cnt = k ? a->nwebhooks : a->nalertmanagers;
        for (uint32_t i = 0; i < cnt; i++) {
            const char *url = k ? a->webhooks[i] : a->alertmanagers[i];
            struct tg_errbuf eb = {0};
            if (tg_notifier_add(n, k ? TG_NOTIFY_WEBHOOK : TG_NOTIFY_ALERTMANAGER, url, &eb))
                tg_log(TG_LOG_ERROR, "rules", "alert-target-refused url=%s error=\"%s\"", url,
                       eb.msg);
        }
    }
    return n;
}

/* The resolved paths of `cfg`'s files into `paths[TG_CFG_MAX_RULE_FILES][512]`. */
static int resolve(const struct tg_config *cfg, char (*paths)[512], const char **ptrs,
                   struct tg_errbuf *eb)
{
    for (uint32_t i = 0; i < cfg->rules.nfiles; i++) {
        if (tg_scrape_resolve_path(cfg->file[0] ? cfg->file : NULL, cfg->rules.files[i], paths[i],
                                   sizeof paths[i]) != 0)
            return tg_errbuf_set(eb, -ENAMETOOLONG, "rules.files[%u]: path too long", i);
        ptrs[i] = paths[i];
    }
    return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* What a reload depends on: the settings and each file's bytes (or its absence). */
static uint64_t fingerprint(const struct tg_config *cfg, const char *const *paths, size_t n)
{
    uint64_t h = fnv(14695981039346656037ull, &cfg->rules, sizeof cfg->rules);
    h = fnv(h, &cfg->alerting, sizeof cfg->alerting);
    h = fnv(h, cfg->admin_listen.text, strlen(cfg->admin_listen.text));
    char buf[8192];
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(paths[i], "rb");
        h = fnv(h, paths[i], strlen(paths[i]) + 1);
        if (!f) {
            h = fnv(h, &errno, sizeof errno);
            continue;
        }
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0)
            h = fnv(h, buf, got);
        fclose(f);
    }
    return h;
}

static int load(const struct tg_config *cfg, struct tg_rules_mgr **out, struct tg_rule_errors *errs,
                uint64_t *fp, struct tg_errbuf *eb)
{
    char paths[TG_CFG_MAX_RULE_FILES][512];
    const char *ptrs[TG_CFG_MAX_RULE_FILES];
    int rc = resolve(cfg, paths, ptrs, eb);
    if (rc)
        return rc;
    *fp = fingerprint(cfg, ptrs, cfg->rules.nfiles);
    rc = tg_rules_mgr_load(ptrs, cfg->rules.nfiles, cfg->rules.evaluation_interval_us / 1000, out,
                           errs);
    if (rc == TG_ECONFIG)
        tg_errbuf_set(eb, rc, "%s", errs->n ? errs->msgs[0] : "rule files: failed");
    else if (rc)
        tg_errbuf_set(eb, rc, "rule files: %s", tg_strerror(rc));
    return rc;
}

/* ------------------------------------------------------------------ metrics */

static const struct tg_mfamily fams[] = {
    {"tailguard_rule_evaluations_total", "Evaluations of the rules of each group.", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_rule_evaluation_failures_total", "Rule evaluations that failed, per group.", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_rule_group_iterations_total", "Scheduled evaluations of each group that ran.", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_rule_group_iterations_missed_total",
     "Scheduled evaluations of each group skipped because an earlier one ran late.", NULL,
     TG_METRIC_COUNTER},
    {"tailguard_rule_group_last_duration_seconds", "How long each group's last evaluation took.",
     "seconds", TG_METRIC_GAUGE},
    {"tailguard_rule_group_last_evaluation_timestamp_seconds",
     "When each group was last evaluated (Unix time).", "seconds", TG_METRIC_GAUGE},
    {"tailguard_rule_group_interval_seconds", "The evaluation interval of each group.", "seconds",
     TG_METRIC_GAUGE},
    {"tailguard_rule_group_rules", "Rules in each group.", NULL, TG_METRIC_GAUGE},
    {"tailguard_rule_group_last_evaluation_samples",
     "Samples the last evaluation of each group wrote.", NULL, TG_METRIC_GAUGE},
};
#define NGROUP_FAMS (sizeof fams / sizeof fams[0])

static double group_value(const struct tg_rules_group *g, unsigned fam)
{
    struct tg_rules_group_stats st;
    tg_rules_group_stats(g, &st);
    uint64_t evals = 0, fails = 0;
    for (size_t i = 0; i < tg_rules_group_nrules(g); i++) {
        struct tg_rules_rule_info ri;
        tg_rules_group_rule(g, i, &ri);
        evals += ri.evals_total;
        fails += ri.failures_total;
    }
    switch (fam) {
    case 0:
        return (double)evals;
    case 1:
        return (double)fails;
    case 2:
        return (double)st.iterations_total;
    case 3:
        return (double)st.missed_total;
    case 4:
        return (double)st.last_duration_us / 1e6;
    case 5:
        return (double)st.last_eval_ms / 1e3;
    case 6:
        return (double)tg_rules_group_interval_ms(g) / 1e3;
    case 7:
        return (double)tg_rules_group_nrules(g);
    default:
        return (double)st.samples_last;
    }
}

static void one(const struct tg_mvisitor *v, const char *name, enum tg_metric_type type,
                const char *unit, const char *help, double x)
{
    static const struct tg_mlabels none = {NULL, NULL, 0};
    v->family(v->ctx, &(struct tg_mfamily){name, help, unit, type});
    v->value(v->ctx, &none, x);
}

struct notify_walk {
    const struct tg_mvisitor *v;
    unsigned fam;
};

static void on_target(const struct tg_notify_target_stats *st, void *ctx)
{
    struct notify_walk *w = ctx;
    static const char *const names[] = {"alertmanager"};
    const char *values[] = {st->url};
    double x = w->fam == 0   ? (double)st->sent
               : w->fam == 1 ? (double)st->errors
               : w->fam == 2 ? (double)st->dropped
                             : (double)st->queued;
    w->v->value(w->v->ctx, &(struct tg_mlabels){names, values, 1}, x);
}

static void collect_notify(const struct tg_ruler *r, const struct tg_mvisitor *v)
{
    static const struct tg_mfamily nf[] = {
        {"tailguard_notifications_sent_total", "Alerts delivered to each target.", NULL,
         TG_METRIC_COUNTER},
        {"tailguard_notifications_errors_total", "Requests to each target that failed.", NULL,
         TG_METRIC_COUNTER},
        {"tailguard_notifications_dropped_total",
         "Alerts given up for each target (queue full or retries spent).", NULL, TG_METRIC_COUNTER},
        {"tailguard_notifications_queue_length", "Alerts waiting to be sent to each target.", NULL,
         TG_METRIC_GAUGE},
    };
    for (unsigned f = 0; r->notifier && f < 4; f++) {
        v->family(v->ctx, &nf[f]);
        struct notify_walk w = {v, f};
        tg_notifier_foreach(r->notifier, on_target, &w);
    }
}

/* Per-group families (resumable when the visitor fills), then a few single values. */
static int collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    const struct tg_ruler *r = data;
    size_t ng = tg_rules_mgr_ngroups(r->mgr);
    static const char *const names[] = {"rule_group"};
    for (; cur->step < NGROUP_FAMS; tg_mcursor_next(cur)) {
        for (; cur->item < ng; cur->item++) {
            if (tg_mvisit_full(v))
                return TG_AGAIN;
            const struct tg_rules_group *g = tg_rules_mgr_group(r->mgr, cur->item);
            char key[600];
            snprintf(key, sizeof key, "%s;%s", tg_rules_group_file(g), tg_rules_group_name(g));
            const char *values[] = {key};
            tg_mcursor_family(cur, v, &fams[cur->step]);
            v->value(v->ctx, &(struct tg_mlabels){names, values, 1}, group_value(g, cur->step));
        }
    }
    const enum tg_metric_type C = TG_METRIC_COUNTER, G = TG_METRIC_GAUGE;
    one(v, "tailguard_rule_config_last_reload_successful", G, NULL,
        "Whether the last reload of the rule files succeeded.", r->last_reload_ok);
    one(v, "tailguard_rule_config_last_reload_success_timestamp_seconds", G, "seconds",
        "When the rule files last loaded (Unix time).", (double)r->last_reload_ok_wall_us / 1e6);
    one(v, "tailguard_rule_reloads_total", C, NULL, "Reloads of the rule files attempted.",
        (double)r->reloads_total);
    one(v, "tailguard_rule_reload_failures_total", C, NULL,
        "Reloads of the rule files refused (the old rules kept running).",
        (double)r->reload_failures_total);
    one(v, "tailguard_alert_history_rows_written_total", C, NULL,
        "Alert transitions written to the alert history.", (double)r->history_rows_total);
    one(v, "tailguard_alert_history_write_errors_total", C, NULL,
        "Writes of alert transitions to the history that failed (their rows are lost).",
        (double)r->history_errors_total);
    collect_notify(r, v);
    return TG_DONE;
}

/* ------------------------------------------------------------------ lifecycle */

int tg_ruler_new(struct tg_control *ctl, struct tg_tsdb *db, struct tg_store *store,
                 const struct tg_config *cfg, struct tg_ruler **out, struct tg_rule_errors *errs,
                 struct tg_errbuf *eb)
{
    *out = NULL;
    struct tg_ruler *r = calloc(1, sizeof *r);
    if (!r)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    r->ctl = ctl;
    r->db = db;
    r->store = store;
    set_settings(r, cfg);
    r->acfg = cfg->alerting;
    int rc = load(cfg, &r->mgr, errs, &r->fingerprint, eb);
    if (rc == 0)
        rc = tg_mcollectors_add(tg_control_collectors(ctl), "rules", collect, r);
    if (rc) {
        tg_rules_mgr_free(r->mgr);
        free(r);
        return rc;
    }
    r->notifier = notifier_for(r, &r->acfg);
    r->last_reload_ok = true;
    r->last_reload_ok_wall_us = tg_clock_wall_us();
    tg_log(TG_LOG_INFO, "rules", "loaded files=%u groups=%zu rules=%zu", cfg->rules.nfiles,
           tg_rules_mgr_ngroups(r->mgr), tg_rules_mgr_nrules(r->mgr));
    run_and_arm(r);
    *out = r;
    return 0;
}

void tg_ruler_free(struct tg_ruler *r)
{
    if (!r)
        return;
    tg_timer_stop(tg_control_loop(r->ctl), &r->timer);
    tg_mcollectors_remove(tg_control_collectors(r->ctl), r);
    history_flush(r);
    free(r->hist.v);
    tg_notifier_free(r->notifier);
    tg_rules_mgr_free(r->mgr);
    free(r);
}

int tg_ruler_reload(struct tg_ruler *r, const struct tg_config *cfg, struct tg_errbuf *eb)
{
    char paths[TG_CFG_MAX_RULE_FILES][512];
    const char *ptrs[TG_CFG_MAX_RULE_FILES];
    int rc = resolve(cfg, paths, ptrs, eb);
    if (rc == 0 && fingerprint(cfg, ptrs, cfg->rules.nfiles) == r->fingerprint)
        return r->last_reload_ok ? 0
                                 : tg_errbuf_set(eb, TG_ECONFIG,
                                                 "rule files unchanged "
                                                 "since the failed reload");
    r->reloads_total++;
    struct tg_rules_mgr *next = NULL;
    struct tg_rule_errors errs = {0};
    if (rc == 0)
        rc = load(cfg, &next, &errs, &r->fingerprint, eb);
    if (rc) {
        r->reload_failures_total++;
        r->last_reload_ok = false;
        for (size_t i = 0; i < errs.n; i++)
            tg_log(TG_LOG_ERROR, "rules", "reload-rejected error=\"%s\"", errs.msgs[i]);
        if (!errs.n)
            tg_log(TG_LOG_ERROR, "rules", "reload-rejected error=\"%s\"", eb->msg);
        tg_rule_errors_free(&errs);
        return rc;
    }
    set_settings(r, cfg);
    if (memcmp(&r->acfg, &cfg->alerting, sizeof r->acfg) != 0) {
        tg_notifier_free(r->notifier); /* what it still had queued is re-sent by resends */
        r->acfg = cfg->alerting;
        r->notifier = notifier_for(r, &r->acfg);
    }
    struct tg_rules_env env = env_of(r);
    tg_rules_mgr_adopt(next, r->mgr, &env, wall_ms());
    tg_rules_mgr_free(r->mgr);
    r->mgr = next;
    r->last_reload_ok = true;
    r->last_reload_ok_wall_us = tg_clock_wall_us();
    tg_log(TG_LOG_INFO, "rules", "reloaded files=%u groups=%zu rules=%zu", cfg->rules.nfiles,
           tg_rules_mgr_ngroups(next), tg_rules_mgr_nrules(next));
    run_and_arm(r);
    return 0;
}

int tg_ruler_reload_all(struct tg_ruler *r, const struct tg_config *cfg, struct tg_errbuf *eb)
{
    int rc = tg_ruler_reload(r, cfg, eb);
    tg_control_request_reload(r->ctl);
    return rc;
}

const struct tg_rules_mgr *tg_ruler_mgr(const struct tg_ruler *r)
{
    return r->mgr;
}

struct tg_store *tg_ruler_store(const struct tg_ruler *r)
{
    return r->store;
}

struct active_ctx {
    json_t *want;
    bool found;
};

/* Same label set: as many labels, each with the same value. */
static void on_instance(const struct tg_alert_instance *in, void *vctx)
{
    struct active_ctx *c = vctx;
    if (c->found || in->state == TG_ALERT_INACTIVE ||
        json_object_size(c->want) != in->labels.n)
        return;
    for (uint32_t i = 0; i < in->labels.n; i++) {
        const char *v = json_string_value(json_object_get(c->want, in->labels.v[i].name));
        if (!v || strcmp(v, in->labels.v[i].value) != 0)
            return;
    }
    c->found = true;
}

int tg_ruler_alert_active(const struct tg_ruler *r, const char *alertname,
                          const char *labels_json, int64_t since_start_ms)
{
    struct active_ctx c = {json_loads(labels_json, 0, NULL), false};
    int ready = 1;
    for (size_t g = 0; r->mgr && g < tg_rules_mgr_ngroups(r->mgr); g++) {
        struct tg_rules_group *grp = tg_rules_mgr_group(r->mgr, g);
        struct tg_rules_group_stats st;
        tg_rules_group_stats(grp, &st);
        if (st.iterations_total == 0)
            ready = 0;
        for (size_t i = 0; i < tg_rules_group_nrules(grp); i++) {
            struct tg_rules_rule_info ri;
            tg_rules_group_rule(grp, i, &ri);
            /* Its `for` and two evaluations (the first ones see a store that has only
             * just started filling) must have passed before its absence means anything. */
            if (ri.alert && since_start_ms < ri.def->for_ms + 2 * tg_rules_group_interval_ms(grp))
                ready = 0;
            if (ri.alert && ri.def->name && strcmp(ri.def->name, alertname) == 0)
                tg_alert_rule_foreach(ri.alert, on_instance, &c);
        }
    }
    json_decref(c.want);
    return c.found ? 1 : ready ? 0 : -1;
}
