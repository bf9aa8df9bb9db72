/* SPDX-License-Identifier: MIT */
/* Series registry; see registry.h. Series are found by a linear scan over the family's
 * series: families here have tens of series (servers, collector targets), where a scan
 * beats a hash table; a family that grows past a few thousand wants one. */
#include "metrics/registry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct series {
    char **values;
    double v;
};

struct tg_family {
    char *name, *help;
    enum tg_metric_type type;
    size_t nlabels;
    char *labels[TG_REG_MAX_LABELS];
    struct series *s;
    size_t n, cap;
    struct tg_family *next;
};

struct tg_registry {
    struct tg_family *head, *tail;
};

int tg_registry_new(struct tg_registry **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

static void series_free(struct series *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
}

static void family_free(struct tg_family *f)
{
    tg_family_clear(f);
    free(f->s);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    free(f);
}

void tg_registry_free(struct tg_registry *r)
{
    if (!r)
        return;
    while (r->head) {
        struct tg_family *f = r->head;
        r->head = f->next;
        family_free(f);
    }
    free(r);
}

static bool valid_name(const char *s, bool label)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (!label && c == ':');
        if (!ok)
            return false;
    }
    return true;
}

static bool same_shape(const struct tg_family *f, enum tg_metric_type type,
                       const char *const *labels, size_t n)
{
    if (f->type != type || f->nlabels != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    return true;
}

int tg_registry_family(struct tg_registry *r, const char *name, const char *help,
                       enum tg_metric_type type, const char *const *labels, size_t nlabels,
                       struct tg_family **out)
{
    size_t len = strlen(name);
    if (!valid_name(name, false) || nlabels > TG_REG_MAX_LABELS || type == TG_METRIC_HISTOGRAM ||
        (type == TG_METRIC_COUNTER && (len < 6 || strcmp(name + len - 6, "_total") != 0)))
        return -EINVAL;
    for (size_t i = 0; i < nlabels; i++)
        if (!valid_name(labels[i], true) || strncmp(labels[i], "__", 2) == 0)
            return -EINVAL;
    for (struct tg_family *f = r->head; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            if (!same_shape(f, type, labels, nlabels))
                return -EEXIST;
            *out = f;
            return 0;
        }
    }
    struct tg_family *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->name = strdup(name);
    f->help = strdup(help);
    f->type = type;
    bool ok = f->name && f->help;
    for (size_t i = 0; i < nlabels && ok; i++) {
        f->labels[i] = strdup(labels[i]);
        f->nlabels = i + 1;
        ok = f->labels[i] != NULL;
    }
    if (!ok) {
        family_free(f);
        return -ENOMEM;
    }
    if (r->tail)
        r->tail->next = f;
    else
        r->head = f;
    r->tail = f;
    *out = f;
    return 0;
}

static struct series *find(const struct tg_family *f, const char *const *values)
{
    for (size_t i = 0; i < f->n; i++) {
        size_t k = 0;
        while (k < f->nlabels && strcmp(f->s[i].values[k], values[k]) == 0)
            k++;
        if (k == f->nlabels)
            return &f->s[i];
    }
    return NULL;
}

static struct series *get_or_add(struct tg_family *f, const char *const *values)
{
    struct series *s = find(f, values);
    if (s)
        return s;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct series *ns = realloc(f->s, cap * sizeof *ns);
        if (!ns)
            return NULL;
        f->s = ns;
        f->cap = cap;
    }
    s = &f->s[f->n];
    s->v = 0;
    s->values = calloc(f->nlabels ? f->nlabels : 1, sizeof *s->values);
    if (!s->values)
        return NULL;
    for (size_t i = 0; i < f->nlabels; i++) {
        s->values[i] = strdup(values[i]);
        if (!s->values[i]) {
            series_free(s, i);
            return NULL;
        }
    }
    f->n++;
    return s;
}

int tg_family_set(struct tg_family *f, const char *const *values, double v)
{
    struct series *s = get_or_add(f, values);
    if (!s)
        return -ENOMEM;
    s->v = v;
    return 0;
}

int tg_family_add(struct tg_family *f, const char *const *values, double v)
{
    if (f->type == TG_METRIC_COUNTER && v < 0)
        return -EINVAL;
    struct series *s = get_or_add(f, values);
    if (!s)
        return -ENOMEM;
    s->v += v;
    return 0;
}

double tg_family_get(const struct tg_family *f, const char *const *values)
{
    const struct series *s = find(f, values);
    return s ? s->v : 0;
}

void tg_family_clear(struct tg_family *f)
{
    for (size_t i = 0; i < f->n; i++)
        series_free(&f->s[i], f->nlabels);
    f->n = 0;
}

int tg_registry_collect(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur)
{
    const struct tg_registry *r = data;
    const struct tg_family *f = r->head;
    for (uint32_t i = 0; f && i < cur->step; i++)
        f = f->next;
    for (; f; f = f->next, tg_mcursor_next(cur)) {
        const char *const *names = (const char *const *)f->labels;
        for (; cur->item < f->n; cur->item++) {
            if (tg_mvisit_full(v))
                return TG_AGAIN;
            const struct series *s = &f->s[cur->item];
            struct tg_mlabels l = {names, (const char *const *)s->values, f->nlabels};
            tg_mcursor_family(cur, v, &(struct tg_mfamily){f->name, f->help, NULL, f->type});
            v->value(v->ctx, &l, s->v);
        }
    }
    return TG_DONE;
}
