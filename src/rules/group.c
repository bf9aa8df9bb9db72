/* SPDX-License-Identifier: MIT */
/* A rule group at run time; see group.h. Each evaluation works in the PromQL result's
 * arena: the output samples' label sets are built there with the evaluator's label
 * builder and freed with the result, so nothing of one evaluation outlives it except
 * the copies kept for stale markers (group_int.h). */
#include "rules/group.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/eval.h"
#include "promql/parse.h"
#include "promql/value.h"
#include "rules/group_int.h"
#include "tsdb/tsdb.h"

#define RESEND_DELAY_MS_DEFAULT 60000 /* Prometheus's --rules.alert.resend-delay */
#define SEND_BATCH 64

struct rule {
    const struct tg_rule *def;
    char *key; /* kind, name and sorted labels: what a reload matches rules by */
    struct tg_alert_kv *labels, *annotations; /* sorted by name, for alert.h */
    struct tg_alert_rule_def adef;
    struct tg_alert_rule *alert;
    char *generator_url; /* built at the first evaluation */
    struct tg_rules__sset prev;
    enum tg_rules_health health;
    char last_error[256];
    int64_t last_eval_ms, duration_us;
    uint64_t evals, failures;
};

struct tg_rules_group {
    const char *file;
    const struct tg_rule_group *def;
    int64_t interval_ms, offset_ms;
    struct rule *rules;
    size_t n;
    struct tg_rules__sset orphans; /* series of rules a reload removed: stale next time */
    struct tg_rules_group_stats st;
};

const char *tg_rules_health_name(enum tg_rules_health h)
{
    return h == TG_RULES_OK ? "ok" : h == TG_RULES_ERR ? "err" : "unknown";
}

/* ------------------------------------------------------------------ building */

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tg_alert_kv *)a)->name, ((const struct tg_alert_kv *)b)->name);
}

static struct tg_alert_kv *sorted_kv(const struct tg_rule_kv *kv, size_t n)
{
    struct tg_alert_kv *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = (struct tg_alert_kv){kv[i].name, kv[i].tmpl};
    if (n > 1)
        qsort(v, n, sizeof *v, kv_cmp);
    return v;
}

/* "a\xff<name>\xff<l1>=<v1>\xff..." with the labels in name order. */
static char *rule_key(const struct tg_rule *d, const struct tg_alert_kv *sorted)
{
    size_t len = strlen(d->name) + 4;
    for (size_t i = 0; i < d->nlabels; i++)
        len += strlen(d->labels[i].name) + strlen(d->labels[i].value) + 2;
    char *k = malloc(len), *p = k;
    if (!k)
        return NULL;
    p += sprintf(p, "%c\xff%s\xff", d->alert ? 'a' : 'r', d->name);
    for (size_t i = 0; i < d->nlabels; i++) {
        const char *v = "";
        for (size_t j = 0; j < d->nlabels; j++)
            if (strcmp(d->labels[j].name, sorted[i].name) == 0)
                v = d->labels[j].value;
        p += sprintf(p, "%s=%s\xff", sorted[i].name, v);
    }
    return k;
}

static void rule_deinit(struct rule *r)
{
    free(r->key);
    free(r->labels);
    free(r->annotations);
    tg_alert_rule_free(r->alert);
    free(r->generator_url);
    tg_rules__sset_clear(&r->prev);
}

static int rule_init(struct rule *r, const struct tg_rule *d, uint32_t limit)
{
    r->def = d;
    r->labels = sorted_kv(d->labels, d->nlabels);
    r->annotations = sorted_kv(d->annotations, d->nannotations);
    r->key = r->labels ? rule_key(d, r->labels) : NULL;
    if (!r->labels || !r->annotations || !r->key)
        return -ENOMEM;
    if (!d->alert)
        return 0;
    r->adef = (struct tg_alert_rule_def){
        .name = d->name,
        .for_ms = d->for_ms,
        .keep_firing_for_ms = d->keep_firing_for_ms,
        .labels = r->labels,
        .nlabels = d->nlabels,
        .annotations = r->annotations,
        .nannotations = d->nannotations,
        .limit = limit,
    };
    return tg_alert_rule_new(&r->adef, &r->alert);
}

/* FNV-1a over the file name, a separator and the group name: the group's phase. */
static int64_t offset_of(const char *file, const char *name, int64_t interval_ms)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *p = file; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (int64_t)(h % (uint64_t)interval_ms);
}

int tg_rules_group_new(const char *file, const struct tg_rule_group *def,
                       int64_t default_interval_ms, struct tg_rules_group **out)
{
    struct tg_rules_group *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->file = file;
    g->def = def;
    g->interval_ms = def->interval_ms > 0 ? def->interval_ms : default_interval_ms;
    g->offset_ms = offset_of(file, def->name, g->interval_ms);
    g->rules = calloc(def->nrules ? def->nrules : 1, sizeof *g->rules);
    if (!g->rules) {
        free(g);
        return -ENOMEM;
    }
    g->n = def->nrules;
    for (size_t i = 0; i < g->n; i++) {
        if (rule_init(&g->rules[i], &def->rules[i], def->limit) != 0) {
            tg_rules_group_free(g);
            return -ENOMEM;
        }
    }
    *out = g;
    return 0;
}

void tg_rules_group_free(struct tg_rules_group *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        rule_deinit(&g->rules[i]);
    free(g->rules);
    tg_rules__sset_clear(&g->orphans);
    free(g);
}

/* ------------------------------------------------------------------ accessors */

const char *tg_rules_group_name(const struct tg_rules_group *g)
{
    return g->def->name;
}

const char *tg_rules_group_file(const struct tg_rules_group *g)
{
    return g->file;
}

int64_t tg_rules_group_interval_ms(const struct tg_rules_group *g)
{
    return g->interval_ms;
}

int64_t tg_rules_group_offset_ms(const struct tg_rules_group *g)
{
    return g->offset_ms;
}

uint32_t tg_rules_group_limit(const struct tg_rules_group *g)
{
    return g->def->limit;
}

size_t tg_rules_group_nrules(const struct tg_rules_group *g)
{
    return g->n;
}

void tg_rules_group_rule(const struct tg_rules_group *g, size_t i, struct tg_rules_rule_info *out)
{
    const struct rule *r = &g->rules[i];
    *out = (struct tg_rules_rule_info){
        .def = r->def,
        .alert = r->alert,
        .health = r->health,
        .last_error = r->last_error,
        .last_eval_ms = r->last_eval_ms,
        .duration_us = r->duration_us,
        .evals_total = r->evals,
        .failures_total = r->failures,
    };
}

void tg_rules_group_stats(const struct tg_rules_group *g, struct tg_rules_group_stats *out)
{
    *out = g->st;
}

/* ------------------------------------------------------------------ schedule */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t tg_rules_group_next_after(const struct tg_rules_group *g, int64_t after_ms)
{
    int64_t base = floor_div(after_ms - g->offset_ms, g->interval_ms) * g->interval_ms;
    return base + g->offset_ms + g->interval_ms;
}

bool tg_rules_group_run(struct tg_rules_group *g, const struct tg_rules_env *env, int64_t now_ms)
{
    if (!g->st.next_ms) {
        g->st.next_ms = tg_rules_group_next_after(g, now_ms);
        return false;
    }
    if (now_ms < g->st.next_ms)
        return false;
    int64_t ts = tg_rules_group_next_after(g, now_ms) - g->interval_ms;
    g->st.missed_total += (uint64_t)((ts - g->st.next_ms) / g->interval_ms);
    tg_rules_group_eval(g, env, ts);
    g->st.next_ms = ts + g->interval_ms;
    return true;
}

/* ------------------------------------------------------------------ evaluation */

struct eval {
    struct tg_rules_group *g;
    struct rule *r;
    const struct tg_rules_env *env;
    int64_t ts;
    struct tg_promql_result res;
    struct tg_promql_vector out; /* the samples to write, in res.arena */
    struct tg_promql_lb lb;
};

/* The expression's result as a vector: a scalar is one sample without labels. */
static int result_vector(struct eval *e, struct tg_promql_vector *v, struct tg_errbuf *eb)
{
    const struct tg_promql_value *val = &e->res.value;
    if (val->type == TG_PROMQL_VVECTOR) {
        *v = val->vec;
        return 0;
    }
    if (val->type != TG_PROMQL_VSCALAR)
        return tg_errbuf_set(eb, TG_EEXEC, "rule result is not a vector or scalar");
    *v = (struct tg_promql_vector){0};
    struct tg_promql_sample *s = tg_promql_vec_push(&e->res.arena, v);
    s->t = e->ts;
    s->v = val->scalar;
    return 0;
}

static int cmp_sample_labels(const void *a, const void *b)
{
    return tg_labels_cmp(&(*(struct tg_promql_sample *const *)a)->labels,
                         &(*(struct tg_promql_sample *const *)b)->labels);
}

static bool has_duplicate(struct tg_promql_vector *v)
{
    if (v->n < 2)
        return false;
    struct tg_promql_sample **p = malloc(v->n * sizeof *p);
    if (!p)
        return false;
    for (size_t i = 0; i < v->n; i++)
        p[i] = &v->v[i];
    qsort(p, v->n, sizeof *p, cmp_sample_labels);
    bool dup = false;
    for (size_t i = 1; i < v->n && !dup; i++)
        dup = tg_labels_cmp(&p[i - 1]->labels, &p[i]->labels) == 0;
    free(p);
    return dup;
}

static int eval_recording(struct eval *e, struct tg_errbuf *eb)
{
    struct tg_promql_vector in;
    int rc = result_vector(e, &in, eb);
    if (rc)
        return rc;
    const struct tg_rule *d = e->r->def;
    for (size_t i = 0; i < in.n; i++) {
        tg_promql_lb_reset(&e->lb, &in.v[i].labels);
        tg_promql_lb_set(&e->lb, "__name__", d->name);
        for (size_t k = 0; k < d->nlabels; k++)
            tg_promql_lb_set(&e->lb, d->labels[k].name, d->labels[k].value);
        struct tg_promql_sample *s = tg_promql_vec_push(&e->res.arena, &e->out);
        s->labels = tg_promql_lb_labels(&e->lb, &e->res.arena);
        s->v = in.v[i].v;
    }
    if (has_duplicate(&e->out))
        return tg_errbuf_set(eb, TG_EEXEC,
                             "vector contains metrics with the same labelset after applying "
                             "rule labels");
    uint32_t limit = e->g->def->limit;
    if (limit && e->out.n > limit)
        return tg_errbuf_set(eb, TG_ELIMIT, "exceeded limit of %u with %zu series", limit,
                             e->out.n);
    return 0;
}

/* ALERTS and ALERTS_FOR_STATE of one active instance. */
static void alert_series(const struct tg_alert_instance *in, void *ctx)
{
    struct eval *e = ctx;
    if (in->state == TG_ALERT_INACTIVE)
        return;
    tg_promql_lb_reset(&e->lb, &in->labels);
    tg_promql_lb_set(&e->lb, "__name__", "ALERTS");
    tg_promql_lb_set(&e->lb, "alertstate", tg_alert_state_name(in->state));
    struct tg_promql_sample *s = tg_promql_vec_push(&e->res.arena, &e->out);
    s->labels = tg_promql_lb_labels(&e->lb, &e->res.arena);
    s->v = 1;
    tg_promql_lb_reset(&e->lb, &in->labels);
    tg_promql_lb_set(&e->lb, "__name__", "ALERTS_FOR_STATE");
    s = tg_promql_vec_push(&e->res.arena, &e->out);
    s->labels = tg_promql_lb_labels(&e->lb, &e->res.arena);
    /* Whole seconds, as Prometheus writes activeAt.Unix(). */
    s->v = (double)(in->active_at_ms >= 0 ? in->active_at_ms / 1000
                                          : -((-in->active_at_ms + 999) / 1000));
}

static void alert_transition(const struct tg_alert_instance *in, void *ctx)
{
    struct eval *e = ctx;
    bool fired = in->state == TG_ALERT_FIRING && in->fired_at_ms == e->ts;
    bool resolved = in->state == TG_ALERT_INACTIVE && in->resolved_at_ms == e->ts;
    if (fired || resolved)
        e->env->transition(e->env->ctx, &(struct tg_rules_transition){e->r->def->name, in});
}

static const char *generator_url(struct rule *r, const char *ext_url)
{
    if (r->generator_url)
        return r->generator_url;
    char *expr = tg_promql_to_string(r->def->expr);
    char *esc = expr ? tg_rules__query_escape(expr) : NULL;
    size_t len = strlen(ext_url) + (esc ? strlen(esc) : 0) + 32;
    r->generator_url = esc ? malloc(len) : NULL;
    if (r->generator_url)
        snprintf(r->generator_url, len, "%s/graph?g0.expr=%s&g0.tab=1", ext_url, esc);
    free(expr);
    free(esc);
    return r->generator_url ? r->generator_url : "";
}

static void send_due(struct eval *e)
{
    const struct tg_rules_env *env = e->env;
    if (!env->send)
        return;
    int64_t resend = env->resend_delay_ms > 0 ? env->resend_delay_ms : RESEND_DELAY_MS_DEFAULT;
    const char *url = generator_url(e->r, env->ext_url ? env->ext_url : "");
    struct tg_notify_alert batch[SEND_BATCH];
    size_t n;
    do {
        n = tg_alert_rule_due(e->r->alert, e->ts, resend, e->g->interval_ms, env->ext_labels, url,
                              batch, SEND_BATCH);
        if (n)
            env->send(env->ctx, batch, n);
    } while (n == SEND_BATCH);
}

static int eval_alerting(struct eval *e, struct tg_errbuf *eb)
{
    struct tg_promql_vector in;
    int rc = result_vector(e, &in, eb);
    if (rc)
        return rc;
    struct tg_alert_sample *s = calloc(in.n ? in.n : 1, sizeof *s);
    if (!s)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    for (size_t i = 0; i < in.n; i++)
        s[i] = (struct tg_alert_sample){in.v[i].labels, in.v[i].v};
    const struct tg_rules_env *env = e->env;
    rc = tg_alert_rule_eval(e->r->alert, e->ts, s, in.n, env->ext_labels,
                            env->ext_url ? env->ext_url : "", eb);
    free(s);
    if (rc)
        return rc;
    tg_alert_rule_foreach(e->r->alert, alert_series, e);
    return 0;
}

struct stale_ctx {
    struct tg_tsdb *db;
    int64_t ts;
};

static void mark_stale(void *ctx, const struct tg_labels *ls)
{
    struct stale_ctx *c = ctx;
    /* A refusal (a newer sample already there) is counted by the store. */
    (void)tg_tsdb_append_unscraped(c->db, ls, c->ts, tg_stale_nan());
}

/* Appends the output and marks stale what the rule wrote last time and not now. */
static int write_out(struct eval *e, struct tg_errbuf *eb)
{
    struct tg_rules__sset cur = {0};
    for (size_t i = 0; i < e->out.n; i++) {
        (void)tg_tsdb_append_unscraped(e->env->db, &e->out.v[i].labels, e->ts, e->out.v[i].v);
        if (tg_rules__sset_add(&cur, &e->out.v[i].labels) != 0) {
            tg_rules__sset_clear(&cur);
            return tg_errbuf_set(eb, -ENOMEM, "out of memory");
        }
    }
    tg_rules__sset_sort(&cur);
    struct stale_ctx sc = {e->env->db, e->ts};
    tg_rules__sset_gone(&e->r->prev, &cur, mark_stale, &sc);
    tg_rules__sset_clear(&e->r->prev);
    e->r->prev = cur;
    e->g->st.samples_last += e->out.n;
    return 0;
}

static int64_t clock_us(const struct tg_rules_env *env)
{
    return env->clock_us ? env->clock_us() : 0;
}

static void eval_rule(struct tg_rules_group *g, struct rule *r, const struct tg_rules_env *env,
                      int64_t ts)
{
    int64_t start = clock_us(env);
    struct eval e = {.g = g, .r = r, .env = env, .ts = ts};
    struct tg_queryable q;
    tg_tsdb_queryable(env->db, &q);
    struct tg_errbuf eb = {0};
    int rc = tg_promql_eval_instant(&q, r->def->expr, ts, NULL, &e.res, &eb);
    if (rc == 0)
        rc = r->def->alert ? eval_alerting(&e, &eb) : eval_recording(&e, &eb);
    if (rc == 0)
        rc = write_out(&e, &eb);
    if (rc == 0 && r->alert) {
        send_due(&e);
        if (env->transition)
            tg_alert_rule_foreach(r->alert, alert_transition, &e);
    }
    tg_promql_lb_deinit(&e.lb);
    tg_promql_result_free(&e.res);
    r->evals++;
    r->last_eval_ms = ts;
    r->duration_us = clock_us(env) - start;
    r->health = rc == 0 ? TG_RULES_OK : TG_RULES_ERR;
    snprintf(r->last_error, sizeof r->last_error, "%s", rc == 0 ? "" : eb.msg);
    r->failures += rc != 0;
}

void tg_rules_group_eval(struct tg_rules_group *g, const struct tg_rules_env *env, int64_t ts_ms)
{
    int64_t start = clock_us(env);
    if (g->orphans.n) {
        struct stale_ctx sc = {env->db, ts_ms};
        for (size_t i = 0; i < g->orphans.n; i++)
            mark_stale(&sc, &g->orphans.v[i]->ls);
        tg_rules__sset_clear(&g->orphans);
    }
    g->st.samples_last = 0;
    for (size_t i = 0; i < g->n; i++)
        eval_rule(g, &g->rules[i], env, ts_ms);
    g->st.iterations_total++;
    g->st.last_eval_ms = ts_ms;
    g->st.last_duration_us = clock_us(env) - start;
}

/* ------------------------------------------------------------------ reload */

static void adopt_rule(struct rule *r, struct rule *o)
{
    if (r->alert && o->alert)
        tg_alert_rule_move(r->alert, o->alert);
    r->prev = o->prev;
    o->prev = (struct tg_rules__sset){0};
    r->health = o->health;
    memcpy(r->last_error, o->last_error, sizeof r->last_error);
    r->last_eval_ms = o->last_eval_ms;
    r->duration_us = o->duration_us;
    r->evals = o->evals;
    r->failures = o->failures;
}

void tg_rules_group_adopt(struct tg_rules_group *g, struct tg_rules_group *old)
{
    bool *taken = calloc(old->n ? old->n : 1, sizeof *taken);
    for (size_t i = 0; taken && i < g->n; i++) {
        for (size_t k = 0; k < old->n; k++) {
            if (!taken[k] && strcmp(g->rules[i].key, old->rules[k].key) == 0) {
                taken[k] = true;
                adopt_rule(&g->rules[i], &old->rules[k]);
                break;
            }
        }
    }
    free(taken);
    /* Whatever was not taken over goes stale at the next evaluation. Out of memory,
     * the markers are lost: the series then fade after the 5 minutes of lookback. */
    for (size_t k = 0; k < old->n; k++)
        (void)tg_rules__sset_take(&g->orphans, &old->rules[k].prev);
    (void)tg_rules__sset_take(&g->orphans, &old->orphans);
    uint64_t iterations = old->st.iterations_total, missed = old->st.missed_total;
    int64_t next = g->interval_ms == old->interval_ms ? old->st.next_ms : 0;
    g->st = old->st;
    g->st.iterations_total = iterations;
    g->st.missed_total = missed;
    g->st.next_ms = next;
}

void tg_rules_group_stale_all(struct tg_rules_group *g, struct tg_tsdb *db, int64_t ts_ms)
{
    struct stale_ctx sc = {db, ts_ms};
    for (size_t i = 0; i < g->n; i++) {
        for (size_t k = 0; k < g->rules[i].prev.n; k++)
            mark_stale(&sc, &g->rules[i].prev.v[k]->ls);
        tg_rules__sset_clear(&g->rules[i].prev);
    }
    for (size_t i = 0; i < g->orphans.n; i++)
        mark_stale(&sc, &g->orphans.v[i]->ls);
    tg_rules__sset_clear(&g->orphans);
}
