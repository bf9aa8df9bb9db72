/* SPDX-License-Identifier: MIT */
/* The incident manager; see incidents.h. The incidents that are not closed live in
 * memory (loaded at start) and every change is written through the store before the
 * call returns; a closed incident is read back from the store when asked for. */
#include "diagnose/incidents.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "diagnose/incidents_int.h"
#include "store/audit.h"

void tg_incidents_opts_default(struct tg_incidents_opts *o)
{
    *o = (struct tg_incidents_opts){
        .enabled = true,
        .quiet_period_us = 5 * 60 * 1000000LL,
        .escalation_l2_us = 30 * 60 * 1000000LL,
        .escalation_l3_us = 60 * 60 * 1000000LL,
        .ack_deadline_us = 15 * 60 * 1000000LL,
    };
}

struct tg_incident *tg_incidents__find(const struct tg_incidents *m, int64_t id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i]->id == id)
            return m->v[i];
    return NULL;
}

int tg_incidents__adopt(struct tg_incidents *m, struct tg_incident *inc)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        struct tg_incident **v = realloc(m->v, cap * sizeof *v);
        if (!v) {
            tg_incident_deinit(inc);
            free(inc);
            return -ENOMEM;
        }
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = inc;
    return 0;
}

static void drop(struct tg_incidents *m, struct tg_incident *inc)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i] == inc) {
            memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof m->v[0]);
            m->n--;
            tg_incident_deinit(inc);
            free(inc);
            return;
        }
}

static const char *level_name(int level)
{
    return level >= 3 ? "L3" : level == 2 ? "L2" : "L1";
}

int tg_incidents__save(struct tg_incidents *m, struct tg_incident *inc,
                       const struct tg_incidents__step *st, int64_t now_us,
                       struct tg_errbuf *eb)
{
    char *fields = json_dumps(inc->fields, JSON_COMPACT);
    struct tg_store_incident_alert alerts[64];
    size_t na = 0;
    for (size_t i = 0; i < inc->nalerts && na < 64; i++)
        if (inc->alerts[i].dirty)
            alerts[na++] = (struct tg_store_incident_alert){
                inc->alerts[i].alertname, inc->alerts[i].labels_json,
                inc->alerts[i].firing ? "firing" : "resolved", inc->alerts[i].fired_at_us,
                inc->alerts[i].resolved_at_us};
    struct tg_store_incident_note notes[TG_INCIDENT_OUT_MAX];
    size_t nn = st && st->out ? st->out->n : 0;
    for (size_t i = 0; i < nn; i++)
        notes[i] = (struct tg_store_incident_note){st->out->v[i].ts_us, st->out->v[i].kind,
                                                   st->out->v[i].text, st->data_json};
    const struct tg_store_incident row = {
        .id = inc->id,
        .title = inc->title,
        .status = tg_incident_status_name(inc->status),
        .severity = tg_incident_sev_name(inc->severity),
        .opened_by = inc->opened_by_api ? "api" : "alert",
        .escalation = level_name(inc->escalation),
        .opened_at_us = inc->opened_at_us,
        .resolved_at_us = inc->resolved_at_us,
        .closed_at_us = inc->closed_at_us,
        .quiet_since_us = inc->quiet_since_us,
        .updated_at_us = now_us,
        .fields_json = fields,
    };
    const struct tg_store_incident_write w = {
        .inc = &row, .alerts = alerts, .nalerts = na, .notes = notes, .nnotes = nn,
        .actions = st ? st->actions : NULL, .nactions = st ? st->nactions : 0,
        .audit = st ? st->audit : NULL,
    };
    int64_t id = 0;
    int rc = fields ? tg_store_incident_write(m->store, &w, &id, eb)
                    : tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
    free(fields);
    if (rc) {
        m->write_errors_total++;
        tg_log(TG_LOG_ERROR, "diagnose", "incident-write-failed id=%lld error=\"%s\"",
               (long long)inc->id, eb->msg);
        return rc;
    }
    inc->id = id;
    inc->ntimeline += nn;
    inc->nactions += w.nactions;
    for (size_t i = 0; i < inc->nalerts; i++)
        inc->alerts[i].dirty = false;
    if (inc->status == TG_INCIDENT_CLOSED)
        drop(m, inc);
    return 0;
}

/* ------------------------------------------------------------------ loading */

struct load {
    struct tg_incident *inc;
    int rc;
};

static int on_row(void *ctx, const struct tg_store_incident *r)
{
    struct load *l = ctx;
    struct tg_incident *inc = l->inc;
    inc->id = r->id;
    inc->title = strdup(r->title);
    inc->fields = json_loads(r->fields_json, 0, NULL);
    inc->status = strcmp(r->status, "closed") == 0      ? TG_INCIDENT_CLOSED
                  : strcmp(r->status, "resolved") == 0  ? TG_INCIDENT_RESOLVED
                  : strcmp(r->status, "mitigated") == 0 ? TG_INCIDENT_MITIGATED
                                                        : TG_INCIDENT_OPEN;
    inc->severity = tg_incident_sev_parse(r->severity);
    inc->opened_by_api = strcmp(r->opened_by, "api") == 0;
    inc->escalation = r->escalation[0] == 'L' ? r->escalation[1] - '0' : 1;
    inc->opened_at_us = r->opened_at_us;
    inc->resolved_at_us = r->resolved_at_us;
    inc->closed_at_us = r->closed_at_us;
    inc->quiet_since_us = r->quiet_since_us;
    if (!inc->title || !json_is_object(inc->fields))
        l->rc = -ENOMEM; /* or a damaged row: fields that are not an object */
    return 0;
}

static int on_alert(void *ctx, const struct tg_store_incident_alert *a)
{
    struct load *l = ctx;
    struct tg_incident *inc = l->inc;
    struct tg_incident_alert *v = realloc(inc->alerts, (inc->nalerts + 1) * sizeof *v);
    if (!v)
        return l->rc = -ENOMEM;
    inc->alerts = v;
    v[inc->nalerts] = (struct tg_incident_alert){
        .alertname = strdup(a->alertname), .labels_json = strdup(a->labels_json),
        .firing = strcmp(a->state, "firing") == 0, .fired_at_us = a->fired_at_us,
        .resolved_at_us = a->resolved_at_us, .restored = strcmp(a->state, "firing") == 0};
    if (!v[inc->nalerts].alertname || !v[inc->nalerts].labels_json) {
        free(v[inc->nalerts].alertname);
        free(v[inc->nalerts].labels_json);
        return l->rc = -ENOMEM;
    }
    inc->nalerts++;
    return 0;
}

static int count_note(void *ctx, const struct tg_store_incident_note *n)
{
    (void)n;
    ((struct load *)ctx)->inc->ntimeline++;
    return 0;
}

static int count_action(void *ctx, const struct tg_store_incident_action *a)
{
    (void)a;
    ((struct load *)ctx)->inc->nactions++;
    return 0;
}

int tg_incidents__load(struct tg_incidents *m, int64_t id, struct tg_incident *inc,
                       struct tg_errbuf *eb)
{
    memset(inc, 0, sizeof *inc);
    struct load l = {inc, 0};
    int rc = tg_store_incident_get(m->store, id, on_row, &l, eb);
    if (rc == 0)
        rc = tg_store_incident_alerts(m->store, id, on_alert, &l, eb);
    if (rc == 0)
        rc = tg_store_incident_timeline(m->store, id, count_note, &l, eb);
    if (rc == 0)
        rc = tg_store_incident_actions(m->store, id, count_action, &l, eb);
    if (rc == 0 && l.rc)
        rc = tg_errbuf_set(eb, l.rc, "incident %lld: out of memory or a damaged row",
                           (long long)id);
    if (rc)
        tg_incident_deinit(inc);
    return rc;
}

struct ids {
    int64_t v[TG_STORE_INCIDENTS_LIST_MAX];
    size_t n;
};

static int on_id(void *ctx, const struct tg_store_incident *r)
{
    struct ids *ids = ctx;
    ids->v[ids->n++] = r->id;
    return 0;
}

int tg_incidents_new(struct tg_store *store, const struct tg_incidents_opts *o,
                     struct tg_incidents **out, struct tg_errbuf *eb)
{
    *out = NULL;
    struct tg_incidents *m = calloc(1, sizeof *m);
    struct ids *ids = calloc(1, sizeof *ids);
    int rc = 0;
    if (!m || !ids) {
        rc = tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
        goto fail;
    }
    m->store = store;
    m->o = *o;
    /* Newest first, at most a page: older incidents left open stay in the store. */
    const struct tg_store_incidents_filter f = {.not_closed = true,
                                                .limit = TG_STORE_INCIDENTS_LIST_MAX};
    if ((rc = tg_store_incidents_list(store, &f, on_id, ids, eb)))
        goto fail;
    for (size_t i = ids->n; i-- > 0;) {
        struct tg_incident *inc = calloc(1, sizeof *inc);
        if (!inc) {
            rc = tg_errbuf_set(eb, -ENOMEM, "incidents: out of memory");
            goto fail;
        }
        if ((rc = tg_incidents__load(m, ids->v[i], inc, eb))) {
            free(inc);
            goto fail;
        }
        if ((rc = tg_incidents__adopt(m, inc)))
            goto fail;
    }
    free(ids);
    *out = m;
    return 0;
fail:
    free(ids);
    tg_incidents_free(m);
    return rc;
}

void tg_incidents_free(struct tg_incidents *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        tg_incident_deinit(m->v[i]);
        free(m->v[i]);
    }
    free(m->v);
    free(m);
}

void tg_incidents_configure(struct tg_incidents *m, const struct tg_incidents_opts *o)
{
    m->o = *o;
}

void tg_incidents_on_open(struct tg_incidents *m, tg_incidents_open_fn *fn, void *ctx)
{
    m->on_open = fn;
    m->on_open_ctx = ctx;
}

size_t tg_incidents_open_ids(const struct tg_incidents *m, int64_t *ids, size_t cap)
{
    size_t n = 0;
    for (size_t i = m->n; i-- > 0;)
        if (tg_incident_is_open(m->v[i]) && n++ < cap)
            ids[n - 1] = m->v[i]->id;
    return n;
}

/* ------------------------------------------------------------------ feeds */

static struct tg_incident *open_new(struct tg_incidents *m, const char *title, bool by_api,
                                    int64_t now_us, struct tg_incident_out *out)
{
    struct tg_incident *inc = calloc(1, sizeof *inc);
    if (!inc)
        return NULL;
    if (tg_incident_init(inc, title, by_api, now_us, out) ||
        tg_incidents__adopt(m, inc) != 0) {
        tg_incident_deinit(inc);
        free(inc);
        return NULL;
    }
    return inc;
}

void tg_incidents_foreach_restored(struct tg_incidents *m, tg_incidents_restored_fn *fn,
                                   void *ctx)
{
    /* Collected first: `fn` may resolve alerts, which may change the list. */
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        for (size_t k = 0; k < m->v[i]->nalerts; k++)
            n += m->v[i]->alerts[k].restored && m->v[i]->alerts[k].firing;
    if (n == 0)
        return;
    char **names = calloc(2 * n, sizeof *names);
    size_t j = 0;
    for (size_t i = 0; names && i < m->n; i++)
        for (size_t k = 0; k < m->v[i]->nalerts && j < n; k++) {
            const struct tg_incident_alert *a = &m->v[i]->alerts[k];
            if (a->restored && a->firing) {
                names[2 * j] = strdup(a->alertname);
                names[2 * j + 1] = strdup(a->labels_json);
                j++;
            }
        }
    for (size_t i = 0; i < j; i++) {
        if (names[2 * i] && names[2 * i + 1])
            fn(ctx, names[2 * i], names[2 * i + 1]);
        free(names[2 * i]);
        free(names[2 * i + 1]);
    }
    free(names);
}

void tg_incidents_alert(struct tg_incidents *m, int64_t now_us, const char *alertname,
                        const char *labels_json, bool firing)
{
    struct tg_errbuf eb = {0};
    if (!firing) {
        for (size_t i = 0; i < m->n; i++) {
            struct tg_incident_out out = {0};
            struct tg_incident *inc = m->v[i];
            if (tg_incident_alert_resolved(inc, alertname, labels_json, now_us, &out) && out.n)
                (void)tg_incidents__save(m, inc, &(struct tg_incidents__step){.out = &out},
                                         now_us, &eb);
        }
        return;
    }
    struct tg_incident_out out = {0};
    long k = tg_incident_pick(m->v, m->n, alertname, labels_json, now_us, &m->o);
    if (k < 0 && !m->o.enabled)
        return;
    char title[300];
    snprintf(title, sizeof title, "%s firing", alertname);
    struct tg_incident *inc = k >= 0 ? m->v[k] : open_new(m, title, false, now_us, &out);
    if (!inc || tg_incident_alert_fired(inc, alertname, labels_json, now_us, &out) != 0) {
        m->write_errors_total++;
        tg_log(TG_LOG_ERROR, "diagnose", "incident-alert-lost alertname=%s error=\"out of memory\"",
               alertname);
        return;
    }
    bool fresh = inc->id == 0;
    if (tg_incidents__save(m, inc, &(struct tg_incidents__step){.out = &out}, now_us, &eb) != 0) {
        if (fresh)
            drop(m, inc); /* never written: it would be written at the next change instead */
        return;
    }
    if (fresh)
        tg_log(TG_LOG_INFO, "diagnose", "incident-opened id=%lld alertname=%s", (long long)inc->id,
               alertname);
    if (m->on_open)
        m->on_open(m->on_open_ctx, inc->id, alertname);
}

void tg_incidents_tick(struct tg_incidents *m, int64_t now_us)
{
    struct tg_errbuf eb = {0};
    for (size_t i = 0; i < m->n; i++) {
        struct tg_incident_out out = {0};
        tg_incident_tick(m->v[i], now_us, &m->o, &out);
        if (out.n)
            (void)tg_incidents__save(m, m->v[i], &(struct tg_incidents__step){.out = &out},
                                     now_us, &eb);
    }
}
