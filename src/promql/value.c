/* SPDX-License-Identifier: MIT */
/* Arenas, vector and matrix growth, label set editing, signatures and the small hash
 * map the evaluator groups and matches with. See value.h. */
#include "promql/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tg_promql_arena_block {
    struct tg_promql_arena_block *next;
    size_t size;
    _Alignas(16) unsigned char data[];
};

#define BLOCK_MIN (64 * 1024)

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "promql: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *tg_promql_alloc(struct tg_promql_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->used + n > a->head->size) {
        size_t size = n > BLOCK_MIN ? n : BLOCK_MIN;
        struct tg_promql_arena_block *b = xmalloc(sizeof *b + size);
        b->size = size;
        b->next = a->head;
        a->head = b;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    a->total += n;
    memset(p, 0, n);
    return p;
}

char *tg_promql_strndup(struct tg_promql_arena *a, const char *s, size_t n)
{
    char *p = tg_promql_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *tg_promql_strdup(struct tg_promql_arena *a, const char *s)
{
    return tg_promql_strndup(a, s, strlen(s));
}

void tg_promql_arena_reset(struct tg_promql_arena *a)
{
    /* Keep the oldest block (the tail): a query's steps usually need about the same. */
    struct tg_promql_arena_block *b = a->head;
    while (b && b->next) {
        struct tg_promql_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = b;
    a->used = 0;
    a->total = 0;
}

void tg_promql_arena_deinit(struct tg_promql_arena *a)
{
    if (!a)
        return;
    tg_promql_arena_reset(a);
    free(a->head);
    a->head = NULL;
}

const char *tg_promql_vtype_name(enum tg_promql_vtype t)
{
    switch (t) {
    case TG_PROMQL_VSCALAR:
        return "scalar";
    case TG_PROMQL_VSTRING:
        return "string";
    case TG_PROMQL_VVECTOR:
        return "instant vector";
    case TG_PROMQL_VMATRIX:
        return "range vector";
    default:
        return "none";
    }
}

static void *grow(struct tg_promql_arena *a, void *old, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return old;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = tg_promql_alloc(a, ncap * elem);
    if (n)
        memcpy(p, old, n * elem);
    *cap = ncap;
    return p;
}

struct tg_promql_sample *tg_promql_vec_push(struct tg_promql_arena *a,
                                            struct tg_promql_vector *v)
{
    v->v = grow(a, v->v, v->n, &v->cap, sizeof *v->v);
    struct tg_promql_sample *s = &v->v[v->n++];
    memset(s, 0, sizeof *s);
    return s;
}

struct tg_promql_series *tg_promql_mat_push(struct tg_promql_arena *a,
                                            struct tg_promql_matrix *m)
{
    m->v = grow(a, m->v, m->n, &m->cap, sizeof *m->v);
    struct tg_promql_series *s = &m->v[m->n++];
    memset(s, 0, sizeof *s);
    return s;
}

void tg_promql_series_push(struct tg_promql_arena *a, struct tg_promql_series *s, int64_t t,
                           double v)
{
    s->s = grow(a, s->s, s->n, &s->cap, sizeof *s->s);
    s->s[s->n].t = t;
    s->s[s->n].v = v;
    s->n++;
}

void tg_promql_lb_reset(struct tg_promql_lb *b, const struct tg_labels *from)
{
    b->n = 0;
    uint32_t need = from ? from->n : 0;
    if (need > b->cap) {
        b->cap = need < 16 ? 16 : need * 2;
        free(b->v);
        b->v = xmalloc(b->cap * sizeof *b->v);
    }
    for (uint32_t i = 0; i < need; i++)
        b->v[b->n++] = from->v[i];
}

void tg_promql_lb_del(struct tg_promql_lb *b, const char *name)
{
    for (uint32_t i = 0; i < b->n; i++) {
        if (strcmp(b->v[i].name, name) == 0) {
            memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof *b->v);
            b->n--;
            return;
        }
    }
}

void tg_promql_lb_set(struct tg_promql_lb *b, const char *name, const char *value)
{
    tg_promql_lb_del(b, name);
    if (!value || !*value)
        return;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        struct tg_label *nv = xmalloc(b->cap * sizeof *nv);
        if (b->n)
            memcpy(nv, b->v, b->n * sizeof *nv);
        free(b->v);
        b->v = nv;
    }
    b->v[b->n].name = name;
    b->v[b->n].value = value;
    b->n++;
}

static bool in_names(const char *name, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

void tg_promql_lb_keep(struct tg_promql_lb *b, char *const *names, size_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < b->n; i++)
        if (in_names(b->v[i].name, names, n))
            b->v[k++] = b->v[i];
    b->n = k;
}

static int label_cmp(const void *x, const void *y)
{
    return strcmp(((const struct tg_label *)x)->name, ((const struct tg_label *)y)->name);
}

struct tg_labels tg_promql_lb_labels(struct tg_promql_lb *b, struct tg_promql_arena *a)
{
    struct tg_labels ls = {0};
    if (!b->n)
        return ls;
    struct tg_label *v = tg_promql_alloc(a, b->n * sizeof *v);
    memcpy(v, b->v, b->n * sizeof *v);
    qsort(v, b->n, sizeof *v, label_cmp);
    ls.v = v;
    ls.n = b->n;
    return ls;
}

void tg_promql_lb_deinit(struct tg_promql_lb *b)
{
    if (!b)
        return;
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

struct tg_labels tg_promql_drop_name(struct tg_promql_arena *a, const struct tg_labels *ls)
{
    for (uint32_t i = 0; i < ls->n; i++) {
        if (strcmp(ls->v[i].name, "__name__") != 0)
            continue;
        struct tg_labels out = {0};
        if (ls->n == 1)
            return out;
        struct tg_label *v = tg_promql_alloc(a, (ls->n - 1) * sizeof *v);
        memcpy(v, ls->v, i * sizeof *v);
        memcpy(v + i, ls->v + i + 1, (ls->n - i - 1) * sizeof *v);
        out.v = v;
        out.n = ls->n - 1;
        return out;
    }
    return *ls;
}

struct tg_labels tg_promql_labels_copy(struct tg_promql_arena *a, const struct tg_labels *ls)
{
    struct tg_labels out = {0};
    if (!ls->n)
        return out;
    struct tg_label *v = tg_promql_alloc(a, ls->n * sizeof *v);
    for (uint32_t i = 0; i < ls->n; i++) {
        v[i].name = tg_promql_strdup(a, ls->v[i].name);
        v[i].value = tg_promql_strdup(a, ls->v[i].value);
    }
    out.v = v;
    out.n = ls->n;
    return out;
}

bool tg_promql_labels_equal(const struct tg_labels *a, const struct tg_labels *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].name, b->v[i].name) || strcmp(a->v[i].value, b->v[i].value))
            return false;
    return true;
}

size_t tg_promql_labels_format(const struct tg_labels *ls, char *out, size_t cap)
{
    size_t len = 0;
#define PUT(...)                                                                            \
    do {                                                                                    \
        int w_ = snprintf(out + (len < cap ? len : cap), len < cap ? cap - len : 0,         \
                          __VA_ARGS__);                                                     \
        if (w_ > 0)                                                                         \
            len += (size_t)w_;                                                              \
    } while (0)
    if (cap)
        out[0] = 0;
    PUT("{");
    bool first = true;
    for (uint32_t i = 0; i < ls->n; i++) {
        PUT("%s%s=\"%s\"", first ? "" : ", ", ls->v[i].name, ls->v[i].value);
        first = false;
    }
    PUT("}");
#undef PUT
    return len;
}

size_t tg_promql_labels_key(const struct tg_labels *ls, char **buf, size_t *cap)
{
    size_t len = 0;
    for (uint32_t i = 0; i < ls->n; i++) {
        size_t ln = strlen(ls->v[i].name), lv = strlen(ls->v[i].value);
        if (len + ln + lv + 2 > *cap) {
            size_t ncap = (*cap + ln + lv + 2) * 2;
            char *nb = xmalloc(ncap);
            if (len)
                memcpy(nb, *buf, len);
            free(*buf);
            *buf = nb;
            *cap = ncap;
        }
        memcpy(*buf + len, ls->v[i].name, ln);
        len += ln;
        (*buf)[len++] = '\xff';
        memcpy(*buf + len, ls->v[i].value, lv);
        len += lv;
        (*buf)[len++] = '\xff';
    }
    return len;
}

size_t tg_promql_signature(const struct tg_labels *ls, char *const *names, size_t n, bool on,
                           char **buf, size_t *cap)
{
    size_t len = 0;
    for (uint32_t i = 0; i < ls->n; i++) {
        bool listed = in_names(ls->v[i].name, names, n);
        if (on ? !listed : (listed || strcmp(ls->v[i].name, "__name__") == 0))
            continue;
        size_t ln = strlen(ls->v[i].name), lv = strlen(ls->v[i].value);
        if (len + ln + lv + 2 > *cap) {
            size_t ncap = (*cap + ln + lv + 2) * 2;
            char *nb = xmalloc(ncap);
            if (len)
                memcpy(nb, *buf, len);
            free(*buf);
            *buf = nb;
            *cap = ncap;
        }
        memcpy(*buf + len, ls->v[i].name, ln);
        len += ln;
        (*buf)[len++] = '\xff';
        memcpy(*buf + len, ls->v[i].value, lv);
        len += lv;
        (*buf)[len++] = '\xff';
    }
    return len;
}

struct tg_promql_map_slot {
    const char *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    long value;
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void map_grow(struct tg_promql_arena *a, struct tg_promql_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct tg_promql_map_slot *ns = tg_promql_alloc(a, ncap * sizeof *ns);
    for (size_t i = 0; i < m->cap; i++) {
        struct tg_promql_map_slot *s = &m->slots[i];
        if (!s->key)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    m->slots = ns;
    m->cap = ncap;
}

long tg_promql_map_get(struct tg_promql_arena *a, struct tg_promql_map *m, const char *key,
                       size_t len, long insert)
{
    if ((m->n + 1) * 2 > m->cap) {
        if (insert < 0 && !m->cap)
            return -1;
        map_grow(a, m);
    }
    uint64_t h = fnv1a(key, len);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].key) {
        struct tg_promql_map_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && (len == 0 || memcmp(s->key, key, len) == 0))
            return s->value;
        j = (j + 1) & (m->cap - 1);
    }
    if (insert >= 0) {
        m->slots[j].key = len ? tg_promql_strndup(a, key, len) : "";
        m->slots[j].len = len;
        m->slots[j].hash = h;
        m->slots[j].value = insert;
        m->n++;
    }
    return -1;
}
