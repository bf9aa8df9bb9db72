/* SPDX-License-Identifier: MIT */
/* The alerting rule's state machine (see alert.h). Instances live in an array kept in
 * label order; each owns its label and annotation strings. Rules have tens of instances,
 * rarely thousands: lookups are by hash, then a compare. */
#include "rules/alert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/notify_int.h"

#define RESOLVED_RETENTION_MS (15 * 60 * 1000) /* Prometheus's resolvedRetention */

struct inst {
    struct tg_alert_instance pub;
    struct tg_label *lv, *av; /* owned arrays, owned strings */
    uint64_t hash;
    bool seen;              /* in this evaluation's result */
    bool sent;              /* last_sent_ms is set */
    struct tg_label *sendv; /* labels plus external labels, for the last due() */
};

struct tg_alert_rule {
    const struct tg_alert_rule_def *def;
    struct inst **v;
    size_t n, cap;
};

static const char *const state_names[] = {"inactive", "pending", "firing"};

const char *tg_alert_state_name(enum tg_alert_state s)
{
    return (unsigned)s < 3 ? state_names[s] : "unknown";
}

int tg_alert_rule_new(const struct tg_alert_rule_def *def, struct tg_alert_rule **out)
{
    struct tg_alert_rule *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->def = def;
    *out = r;
    return 0;
}

static void kv_free(struct tg_label *v, uint32_t n)
{
    for (uint32_t i = 0; v && i < n; i++) {
        free((char *)v[i].name);
        free((char *)v[i].value);
    }
    free(v);
}

static void inst_free(struct inst *in)
{
    if (!in)
        return;
    kv_free(in->lv, in->pub.labels.n);
    kv_free(in->av, in->pub.annotations.n);
    free(in->sendv);
    free(in);
}

void tg_alert_rule_free(struct tg_alert_rule *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        inst_free(r->v[i]);
    free(r->v);
    free(r);
}

/* ---- Building an instance's labels. */

struct lset {
    struct tg_label *v; /* strings owned */
    uint32_t n, cap;
};

static int lset_set(struct lset *s, const char *name, const char *value)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i].name, name) != 0)
            continue;
        free((char *)s->v[i].value);
        if (!value[0]) { /* an empty value removes the label */
            free((char *)s->v[i].name);
            s->v[i] = s->v[--s->n];
            return 0;
        }
        return (s->v[i].value = strdup(value)) ? 0 : -ENOMEM;
    }
    if (!value[0])
        return 0;
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        struct tg_label *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    char *n = strdup(name), *val = strdup(value);
    if (!n || !val) {
        free(n);
        free(val);
        return -ENOMEM;
    }
    s->v[s->n++] = (struct tg_label){n, val};
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tg_label *)a)->name, ((const struct tg_label *)b)->name);
}

static uint64_t hash_of(const struct tg_label *v, uint32_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (uint32_t i = 0; i < n; i++) {
        for (const char *p = v[i].name; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
        for (const char *p = v[i].value; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

static bool same(const struct tg_label *a, uint32_t na, const struct tg_label *b, uint32_t nb)
{
    if (na != nb)
        return false;
    for (uint32_t i = 0; i < na; i++)
        if (strcmp(a[i].name, b[i].name) != 0 || strcmp(a[i].value, b[i].value) != 0)
            return false;
    return true;
}

/* The templates of `kv` expanded over the sample, into `s` (overwriting). */
static int expand_into(struct lset *s, const struct tg_alert_kv *kv, size_t n,
                       const struct tg_template_data *d)
{
    for (size_t i = 0; i < n; i++) {
        char *v = tg_template_expand(kv[i].tmpl, d);
        int rc = v ? lset_set(s, kv[i].name, v) : -ENOMEM;
        free(v);
        if (rc)
            return rc;
    }
    return 0;
}

/* Instance labels and annotations of one sample. */
static int build(const struct tg_alert_rule *r, const struct tg_alert_sample *smp,
                 const struct tg_labels *ext, const char *url, struct lset *labels,
                 struct lset *ann)
{
    const struct tg_alert_rule_def *def = r->def;
    struct tg_template_data d = {smp->value, &smp->labels, ext, url};
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < smp->labels.n; i++)
        if (strcmp(smp->labels.v[i].name, "__name__") != 0)
            rc = lset_set(labels, smp->labels.v[i].name, smp->labels.v[i].value);
    if (rc == 0)
        rc = expand_into(labels, def->labels, def->nlabels, &d);
    if (rc == 0)
        rc = lset_set(labels, "alertname", def->name);
    if (rc == 0)
        rc = expand_into(ann, def->annotations, def->nannotations, &d);
    if (labels->n > 1)
        qsort(labels->v, labels->n, sizeof *labels->v, by_name);
    if (ann->n > 1)
        qsort(ann->v, ann->n, sizeof *ann->v, by_name);
    return rc;
}

static struct inst *find(const struct tg_alert_rule *r, uint64_t h, const struct tg_label *v,
                         uint32_t n)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i]->hash == h && same(r->v[i]->lv, r->v[i]->pub.labels.n, v, n))
            return r->v[i];
    return NULL;
}

static void set_annotations(struct inst *in, struct lset *ann)
{
    kv_free(in->av, in->pub.annotations.n);
    in->av = ann->v;
    in->pub.annotations = (struct tg_labels){ann->v, ann->n};
    *ann = (struct lset){0};
}

static int add(struct tg_alert_rule *r, struct inst *in)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct inst **v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = in;
    return 0;
}

static void clear(struct tg_alert_rule *r)
{
    for (size_t i = 0; i < r->n; i++)
        inst_free(r->v[i]);
    r->n = 0;
}

/* Label sets in Prometheus's order: name by name, then value by value. */
static int cmp_inst(const void *a, const void *b)
{
    const struct tg_labels *x = &(*(struct inst *const *)a)->pub.labels;
    const struct tg_labels *y = &(*(struct inst *const *)b)->pub.labels;
    for (uint32_t i = 0; i < x->n && i < y->n; i++) {
        int c = strcmp(x->v[i].name, y->v[i].name);
        if (c == 0)
            c = strcmp(x->v[i].value, y->v[i].value);
        if (c)
            return c;
    }
    return (x->n > y->n) - (x->n < y->n);
}

/* The instance labels of every sample first, so a duplicate leaves the state untouched
 * (Prometheus returns before changing anything). */
struct built {
    struct lset labels, ann;
    uint64_t hash;
};

static void built_free(struct built *b, size_t n)
{
    for (size_t i = 0; b && i < n; i++) {
        kv_free(b[i].labels.v, b[i].labels.n);
        kv_free(b[i].ann.v, b[i].ann.n);
    }
    free(b);
}

int tg_alert_rule_eval(struct tg_alert_rule *r, int64_t ts, const struct tg_alert_sample *s,
                       size_t n, const struct tg_labels *ext, const char *url, struct tg_errbuf *eb)
{
    struct built *b = calloc(n ? n : 1, sizeof *b);
    if (!b)
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (build(r, &s[i], ext, url, &b[i].labels, &b[i].ann) != 0) {
            built_free(b, n);
            return tg_errbuf_set(eb, -ENOMEM, "out of memory");
        }
        b[i].hash = hash_of(b[i].labels.v, b[i].labels.n);
        for (size_t k = 0; k < i; k++) {
            if (b[k].hash == b[i].hash &&
                same(b[k].labels.v, b[k].labels.n, b[i].labels.v, b[i].labels.n)) {
                built_free(b, n);
                return tg_errbuf_set(eb, TG_EPARSE,
                                     "vector contains metrics with the same labelset after "
                                     "applying alert labels");
            }
        }
    }
    for (size_t i = 0; i < r->n; i++)
        r->v[i]->seen = false;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct inst *in = find(r, b[i].hash, b[i].labels.v, b[i].labels.n);
        if (in && in->pub.state != TG_ALERT_INACTIVE) {
            in->pub.value = s[i].value;
            set_annotations(in, &b[i].ann);
            in->seen = true;
            continue;
        }
        /* New, or back after it resolved: a new pending instance replaces it. */
        struct inst *fresh = calloc(1, sizeof *fresh);
        if (!fresh) {
            rc = tg_errbuf_set(eb, -ENOMEM, "out of memory");
            break;
        }
        fresh->lv = b[i].labels.v;
        fresh->pub.labels = (struct tg_labels){b[i].labels.v, b[i].labels.n};
        b[i].labels = (struct lset){0};
        set_annotations(fresh, &b[i].ann);
        fresh->hash = b[i].hash;
        fresh->seen = true;
        fresh->pub.state = TG_ALERT_PENDING;
        fresh->pub.value = s[i].value;
        fresh->pub.active_at_ms = ts;
        if (in) {
            for (size_t k = 0; k < r->n; k++)
                if (r->v[k] == in)
                    r->v[k] = fresh;
            inst_free(in);
        } else if ((rc = add(r, fresh)) != 0) {
            inst_free(fresh);
            rc = tg_errbuf_set(eb, rc, "out of memory");
        }
    }
    built_free(b, n);
    if (rc) {
        clear(r);
        return rc;
    }
    const struct tg_alert_rule_def *def = r->def;
    size_t active = 0;
    for (size_t i = 0; i < r->n;) {
        struct inst *in = r->v[i];
        struct tg_alert_instance *a = &in->pub;
        if (!in->seen) {
            bool drop =
                a->state == TG_ALERT_PENDING ||
                (a->state == TG_ALERT_INACTIVE && ts - a->resolved_at_ms > RESOLVED_RETENTION_MS);
            if (drop) {
                inst_free(in);
                r->v[i] = r->v[--r->n];
                continue;
            }
            if (a->state == TG_ALERT_FIRING) {
                bool keep = false;
                if (def->keep_firing_for_ms > 0) {
                    if (!a->keep_firing_since_ms)
                        a->keep_firing_since_ms = ts;
                    keep = ts - a->keep_firing_since_ms < def->keep_firing_for_ms;
                }
                if (!keep) {
                    a->state = TG_ALERT_INACTIVE;
                    a->resolved_at_ms = ts;
                }
            }
        } else {
            a->keep_firing_since_ms = 0;
            if (a->state == TG_ALERT_PENDING && ts - a->active_at_ms >= def->for_ms) {
                a->state = TG_ALERT_FIRING;
                a->fired_at_ms = ts;
            }
        }
        active += a->state != TG_ALERT_INACTIVE;
        i++;
    }
    if (r->n > 1)
        qsort(r->v, r->n, sizeof *r->v, cmp_inst);
    if (def->limit && active > def->limit) {
        clear(r);
        return tg_errbuf_set(eb, TG_ELIMIT, "exceeded limit of %u with %zu alerts", def->limit,
                             active);
    }
    return 0;
}

void tg_alert_rule_move(struct tg_alert_rule *dst, struct tg_alert_rule *src)
{
    clear(dst);
    free(dst->v);
    dst->v = src->v;
    dst->n = src->n;
    dst->cap = src->cap;
    src->v = NULL;
    src->n = src->cap = 0;
}

enum tg_alert_state tg_alert_rule_state(const struct tg_alert_rule *r)
{
    enum tg_alert_state s = TG_ALERT_INACTIVE;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i]->pub.state > s)
            s = r->v[i]->pub.state;
    return s;
}

void tg_alert_rule_foreach(const struct tg_alert_rule *r,
                           void (*fn)(const struct tg_alert_instance *in, void *ctx), void *ctx)
{
    for (size_t i = 0; i < r->n; i++)
        fn(&r->v[i]->pub, ctx);
}

/* The instance's labels with the external labels it lacks, sorted, in in->sendv. */
static struct tg_labels send_labels(struct inst *in, const struct tg_labels *ext)
{
    uint32_t n = in->pub.labels.n, extra = ext ? ext->n : 0;
    free(in->sendv);
    in->sendv = malloc((n + extra) * sizeof *in->sendv + 1);
    if (!in->sendv)
        return in->pub.labels;
    if (n)
        memcpy(in->sendv, in->lv, n * sizeof *in->sendv);
    for (uint32_t i = 0; i < extra; i++)
        if (!tg_notify__label(&in->pub.labels, ext->v[i].name)[0])
            in->sendv[n++] = ext->v[i];
    if (n > 1)
        qsort(in->sendv, n, sizeof *in->sendv, by_name);
    return (struct tg_labels){in->sendv, n};
}

size_t tg_alert_rule_due(struct tg_alert_rule *r, int64_t ts, int64_t resend_delay_ms,
                         int64_t interval_ms, const struct tg_labels *ext,
                         const char *generator_url, struct tg_notify_alert *out, size_t cap)
{
    size_t k = 0;
    int64_t delta = resend_delay_ms > interval_ms ? resend_delay_ms : interval_ms;
    for (size_t i = 0; i < r->n && k < cap; i++) {
        struct inst *in = r->v[i];
        struct tg_alert_instance *a = &in->pub;
        if (a->state == TG_ALERT_PENDING)
            continue;
        bool due = !in->sent || (a->resolved_at_ms && a->resolved_at_ms > a->last_sent_ms) ||
                   a->last_sent_ms + resend_delay_ms < ts;
        if (!due)
            continue;
        in->sent = true;
        a->last_sent_ms = ts;
        a->valid_until_ms = ts + 4 * delta;
        out[k++] = (struct tg_notify_alert){
            .labels = send_labels(in, ext),
            .annotations = a->annotations,
            .starts_at_ms = a->fired_at_ms,
            .ends_at_ms = a->resolved_at_ms ? a->resolved_at_ms : a->valid_until_ms,
            .resolved = a->state == TG_ALERT_INACTIVE,
            .generator_url = generator_url,
        };
    }
    return k;
}
