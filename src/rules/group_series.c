/* SPDX-License-Identifier: MIT */
/* The series sets of group_int.h, and the URL escaping of generator URLs. */
#include "rules/group_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tg_rules__sset_add(struct tg_rules__sset *s, const struct tg_labels *ls)
{
    size_t bytes = sizeof(struct tg_rules__series) + ls->n * sizeof(struct tg_label);
    for (uint32_t i = 0; i < ls->n; i++)
        bytes += strlen(ls->v[i].name) + strlen(ls->v[i].value) + 2;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct tg_rules__series **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    struct tg_rules__series *e = malloc(bytes);
    if (!e)
        return -ENOMEM;
    struct tg_label *lv = (struct tg_label *)(e + 1);
    char *p = (char *)(lv + ls->n);
    for (uint32_t i = 0; i < ls->n; i++) {
        size_t a = strlen(ls->v[i].name) + 1, b = strlen(ls->v[i].value) + 1;
        lv[i].name = memcpy(p, ls->v[i].name, a);
        lv[i].value = memcpy(p + a, ls->v[i].value, b);
        p += a + b;
    }
    e->ls = (struct tg_labels){lv, ls->n};
    e->hash = tg_labels_hash(&e->ls);
    s->v[s->n++] = e;
    return 0;
}

static int cmp(const struct tg_rules__series *a, const struct tg_rules__series *b)
{
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return tg_labels_cmp(&a->ls, &b->ls);
}

static int cmp_ptr(const void *a, const void *b)
{
    return cmp(*(struct tg_rules__series *const *)a, *(struct tg_rules__series *const *)b);
}

void tg_rules__sset_sort(struct tg_rules__sset *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_ptr);
}

void tg_rules__sset_gone(const struct tg_rules__sset *old, const struct tg_rules__sset *cur,
                         void (*fn)(void *ctx, const struct tg_labels *ls), void *ctx)
{
    size_t j = 0;
    for (size_t i = 0; i < old->n; i++) {
        int c = 1;
        while (j < cur->n && (c = cmp(cur->v[j], old->v[i])) < 0)
            j++;
        if (j == cur->n || c != 0)
            fn(ctx, &old->v[i]->ls);
    }
}

int tg_rules__sset_take(struct tg_rules__sset *dst, struct tg_rules__sset *src)
{
    if (dst->n + src->n > dst->cap) {
        size_t cap = dst->n + src->n;
        struct tg_rules__series **v = realloc(dst->v, (cap ? cap : 1) * sizeof *v);
        if (!v)
            return -ENOMEM;
        dst->v = v;
        dst->cap = cap;
    }
    if (src->n)
        memcpy(dst->v + dst->n, src->v, src->n * sizeof *src->v);
    dst->n += src->n;
    src->n = 0;
    return 0;
}

void tg_rules__sset_clear(struct tg_rules__sset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    *s = (struct tg_rules__sset){0};
}

char *tg_rules__query_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else if (*p == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
