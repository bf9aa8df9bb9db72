/* SPDX-License-Identifier: MIT */
/* The store's lookup structures (tsdb_int.h): the intern set of label strings, the hash
 * table from label sets to series ids, the inverted index (name -> value -> ids), the
 * matcher bitmaps select is built on, and the rebuild that renumbers the series after a
 * removal. Bitmaps rather than merged id lists: with dense ids a matcher's set is
 * nseries bits (1.25 KB for 10k series), union and complement are word operations, and a
 * regex is tested once per distinct value rather than once per series. */
#include "tsdb/tsdb_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t str_hash(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return h ^ (h >> 29);
}

/* ---- intern set ---- */

static char **str_slot(char **strs, uint32_t cap, const char *s)
{
    uint32_t i = (uint32_t)str_hash(s) & (cap - 1);
    while (strs[i] && strcmp(strs[i], s) != 0)
        i = (i + 1) & (cap - 1);
    return &strs[i];
}

static int strs_grow(struct tg_tsdb *db)
{
    uint32_t cap = db->strs_cap ? db->strs_cap * 2 : 256;
    char **strs = calloc(cap, sizeof *strs);
    if (!strs)
        return -ENOMEM;
    for (uint32_t i = 0; i < db->strs_cap; i++)
        if (db->strs[i])
            *str_slot(strs, cap, db->strs[i]) = db->strs[i];
    free(db->strs);
    db->strs = strs;
    db->strs_cap = cap;
    return 0;
}

/* The interned copy of `s`, or NULL when out of memory. */
static const char *intern(struct tg_tsdb *db, const char *s)
{
    if ((db->nstrs + 1) * 2 > db->strs_cap && strs_grow(db))
        return NULL;
    char **slot = str_slot(db->strs, db->strs_cap, s);
    if (*slot)
        return *slot;
    size_t n = strlen(s) + 1;
    *slot = malloc(n);
    if (!*slot)
        return NULL;
    memcpy(*slot, s, n);
    db->nstrs++;
    db->str_bytes += n;
    return *slot;
}

/* Frees every interned string no live series uses: the live ones move to a new set.
 * Best effort: without memory for the new set, nothing is swept. */
static void strs_sweep(struct tg_tsdb *db)
{
    uint32_t cap = 256;
    while (cap < db->nstrs * 2)
        cap *= 2;
    char **live = calloc(cap, sizeof *live);
    if (!live)
        return;
    uint32_t n = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < db->nseries; i++) {
        const struct tg_tsdb__series *s = db->series[i];
        for (uint32_t j = 0; j < s->nlabels * 2; j++) {
            const char *str = j & 1 ? s->labels[j / 2].value : s->labels[j / 2].name;
            char **slot = str_slot(live, cap, str);
            if (!*slot) {
                *slot = (char *)str;
                n++;
                bytes += strlen(str) + 1;
            }
        }
    }
    for (uint32_t i = 0; i < db->strs_cap; i++)
        if (db->strs[i] && *str_slot(live, cap, db->strs[i]) != db->strs[i])
            free(db->strs[i]);
    free(db->strs);
    db->strs = live;
    db->strs_cap = cap;
    db->nstrs = n;
    db->str_bytes = bytes;
}

/* ---- series table ---- */

static uint32_t *table_slot(const struct tg_tsdb *db, const struct tg_tsdb__table *t,
                            const struct tg_labels *ls, uint64_t h)
{
    uint32_t i = (uint32_t)(h ^ (h >> 32)) & (t->cap - 1);
    while (t->slots[i] != TG_TSDB__NONE) {
        const struct tg_tsdb__series *s = db->series[t->slots[i]];
        struct tg_labels sl = {s->labels, s->nlabels};
        if (s->hash == h && tg_labels_cmp(&sl, ls) == 0)
            break;
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slots[i];
}

/* A table of `cap` slots holding the first `n` series. */
static int table_build(const struct tg_tsdb *db, struct tg_tsdb__table *t, uint32_t cap,
                       uint32_t n)
{
    t->slots = malloc((size_t)cap * sizeof *t->slots);
    if (!t->slots)
        return -ENOMEM;
    memset(t->slots, 0xff, (size_t)cap * sizeof *t->slots);
    t->cap = cap;
    for (uint32_t id = 0; id < n; id++) {
        const struct tg_tsdb__series *s = db->series[id];
        struct tg_labels sl = {s->labels, s->nlabels};
        *table_slot(db, t, &sl, s->hash) = id;
    }
    return 0;
}

uint32_t tg_tsdb__series_find(const struct tg_tsdb *db, const struct tg_labels *ls, uint64_t h)
{
    if (!db->table.cap)
        return TG_TSDB__NONE;
    return *table_slot(db, &db->table, ls, h);
}

/* ---- inverted index ---- */

static struct tg_tsdb__lname *name_find(const struct tg_tsdb__index *ix, const char *name,
                                        uint32_t *pos)
{
    uint32_t lo = 0, hi = ix->nnames;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->names[mid].name, name);
        if (c == 0)
            return &ix->names[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return NULL;
}

static struct tg_tsdb__postings *value_find(const struct tg_tsdb__lname *ln, const char *value,
                                            uint32_t *pos)
{
    uint32_t lo = 0, hi = ln->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ln->vals[mid].value, value);
        if (c == 0)
            return &ln->vals[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return NULL;
}

/* Makes room for one more element of `size` bytes in *arr (n used of *cap). */
static int grow(void **arr, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    uint32_t c = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, (size_t)c * size);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

/* Adds `id` (greater than every id already there) under name=value (interned). */
static int index_add(struct tg_tsdb__index *ix, const char *name, const char *value, uint32_t id)
{
    uint32_t pos = 0;
    struct tg_tsdb__lname *ln = name_find(ix, name, &pos);
    if (!ln) {
        if (grow((void **)&ix->names, ix->nnames, &ix->cap_names, sizeof *ix->names))
            return -ENOMEM;
        ln = &ix->names[pos];
        memmove(ln + 1, ln, (ix->nnames - pos) * sizeof *ln);
        *ln = (struct tg_tsdb__lname){.name = name};
        ix->nnames++;
    }
    struct tg_tsdb__postings *p = value_find(ln, value, &pos);
    if (!p) {
        if (grow((void **)&ln->vals, ln->n, &ln->cap, sizeof *ln->vals))
            return -ENOMEM;
        p = &ln->vals[pos];
        memmove(p + 1, p, (ln->n - pos) * sizeof *p);
        *p = (struct tg_tsdb__postings){.value = value};
        ln->n++;
    }
    if (grow((void **)&p->ids, p->n, &p->cap, sizeof *p->ids))
        return -ENOMEM;
    p->ids[p->n++] = id;
    return 0;
}

/* Takes `id` back out of name=value where index_add may have put it last. */
static void index_undo(struct tg_tsdb__index *ix, const char *name, const char *value, uint32_t id)
{
    uint32_t pos;
    struct tg_tsdb__lname *ln = name_find(ix, name, &pos);
    struct tg_tsdb__postings *p = ln ? value_find(ln, value, &pos) : NULL;
    if (p && p->n && p->ids[p->n - 1] == id)
        p->n--;
}

static void index_free(struct tg_tsdb__index *ix)
{
    for (uint32_t i = 0; i < ix->nnames; i++) {
        for (uint32_t j = 0; j < ix->names[i].n; j++)
            free(ix->names[i].vals[j].ids);
        free(ix->names[i].vals);
    }
    free(ix->names);
    memset(ix, 0, sizeof *ix);
}

const struct tg_tsdb__postings *tg_tsdb__postings(const struct tg_tsdb *db, const char *name,
                                                  const char *value)
{
    uint32_t pos;
    const struct tg_tsdb__lname *ln = name_find(&db->index, name, &pos);
    return ln ? value_find(ln, value, &pos) : NULL;
}

int tg_tsdb__series_add(struct tg_tsdb *db, const struct tg_labels *ls, uint64_t h,
                        uint32_t *id)
{
    if ((db->nseries + 1) * 2 > db->table.cap) {
        struct tg_tsdb__table t;
        if (table_build(db, &t, db->table.cap ? db->table.cap * 2 : 1024, db->nseries))
            return -ENOMEM;
        free(db->table.slots);
        db->table = t;
    }
    if (grow((void **)&db->series, db->nseries, &db->cap_series, sizeof *db->series))
        return -ENOMEM;
    struct tg_tsdb__series *s = calloc(1, sizeof *s);
    struct tg_label *labels = calloc(ls->n, sizeof *labels);
    if (!s || !labels)
        goto fail;
    for (uint32_t i = 0; i < ls->n; i++) {
        labels[i].name = intern(db, ls->v[i].name);
        labels[i].value = intern(db, ls->v[i].value);
        if (!labels[i].name || !labels[i].value)
            goto fail;
    }
    uint32_t n = db->nseries, done = 0;
    for (; done < ls->n; done++)
        if (index_add(&db->index, labels[done].name, labels[done].value, n))
            break;
    if (done < ls->n) {
        while (done-- > 0)
            index_undo(&db->index, labels[done].name, labels[done].value, n);
        goto fail;
    }
    s->labels = labels;
    s->nlabels = ls->n;
    s->hash = h;
    tg_chunk_enc_init(&s->head);
    db->series[n] = s;
    db->nseries++;
    struct tg_labels sl = {labels, ls->n};
    *table_slot(db, &db->table, &sl, h) = n;
    db->st.series_created_total++;
    *id = n;
    return 0;
fail:
    free(labels);
    free(s);
    return -ENOMEM;
}

int tg_tsdb__rebuild(struct tg_tsdb *db)
{
    /* New ids: the rank among survivors. Build everything new before touching the old. */
    uint32_t live = 0;
    for (uint32_t i = 0; i < db->nseries; i++) {
        const struct tg_tsdb__series *s = db->series[i];
        live += s->nchunks > 0 || s->head.n > 0;
    }
    struct tg_tsdb__series **kept = malloc((live ? live : 1) * sizeof *kept);
    if (!kept)
        return -ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < db->nseries; i++)
        if (db->series[i]->nchunks > 0 || db->series[i]->head.n > 0)
            kept[k++] = db->series[i];
    struct tg_tsdb__index ix = {0};
    for (uint32_t id = 0; id < live; id++)
        for (uint32_t j = 0; j < kept[id]->nlabels; j++)
            if (index_add(&ix, kept[id]->labels[j].name, kept[id]->labels[j].value, id))
                goto fail;
    /* The table is built over db->series, so swap the array in first. */
    struct tg_tsdb__series **old = db->series;
    uint32_t old_n = db->nseries;
    db->series = kept;
    uint32_t cap = 1024;
    while (cap < live * 2)
        cap *= 2;
    struct tg_tsdb__table t;
    if (table_build(db, &t, cap, live)) {
        db->series = old;
        goto fail;
    }
    for (uint32_t i = 0; i < old_n; i++)
        if (old[i]->nchunks == 0 && old[i]->head.n == 0) {
            tg_tsdb__series_free(db, old[i]);
            db->st.series_removed_total++;
        }
    free(old);
    db->nseries = db->cap_series = live;
    free(db->table.slots);
    db->table = t;
    index_free(&db->index);
    db->index = ix;
    db->has_empty = false;
    strs_sweep(db);
    return 0;
fail:
    index_free(&ix);
    free(kept);
    return -ENOMEM;
}

void tg_tsdb__index_free(struct tg_tsdb *db)
{
    index_free(&db->index);
    free(db->table.slots);
    db->table = (struct tg_tsdb__table){0};
    for (uint32_t i = 0; i < db->strs_cap; i++)
        free(db->strs[i]);
    free(db->strs);
    db->strs = NULL;
    db->strs_cap = db->nstrs = 0;
    db->str_bytes = 0;
}

uint64_t tg_tsdb__index_bytes(const struct tg_tsdb *db)
{
    uint64_t b = db->str_bytes + (uint64_t)db->strs_cap * sizeof(char *) +
                 (uint64_t)db->table.cap * sizeof(uint32_t) +
                 (uint64_t)db->cap_series * sizeof(void *) +
                 (uint64_t)db->index.cap_names * sizeof(struct tg_tsdb__lname);
    for (uint32_t i = 0; i < db->nseries; i++) {
        const struct tg_tsdb__series *s = db->series[i];
        b += sizeof *s + s->nlabels * sizeof(struct tg_label) + s->cap_chunks * sizeof(void *);
    }
    for (uint32_t i = 0; i < db->index.nnames; i++) {
        const struct tg_tsdb__lname *ln = &db->index.names[i];
        b += ln->cap * sizeof *ln->vals;
        for (uint32_t j = 0; j < ln->n; j++)
            b += ln->vals[j].cap * sizeof(uint32_t);
    }
    return b;
}

/* ---- matcher bitmaps ---- */

static void set_ids(uint64_t *bm, const struct tg_tsdb__postings *p, bool on)
{
    for (uint32_t i = 0; i < p->n; i++) {
        uint64_t bit = UINT64_C(1) << (p->ids[i] & 63);
        if (on)
            bm[p->ids[i] >> 6] |= bit;
        else
            bm[p->ids[i] >> 6] &= ~bit;
    }
}

static void set_all(uint64_t *bm, uint32_t n)
{
    memset(bm, 0xff, (n / 64) * sizeof *bm);
    if (n & 63)
        bm[n / 64] = (UINT64_C(1) << (n & 63)) - 1;
}

/* The series `m` selects, into `bm` (zeroed). A series without the label has the value
 * "", so a matcher that matches "" starts from every series and takes away the values it
 * refuses; one that does not adds the values it accepts. */
static void match_one(const struct tg_tsdb *db, const struct tg_matcher *m, uint64_t *bm)
{
    uint32_t pos;
    const struct tg_tsdb__lname *ln = name_find(&db->index, m->name, &pos);
    bool empty_ok = tg_matcher_matches(m, "");
    if (empty_ok)
        set_all(bm, db->nseries);
    if (!ln)
        return;
    if (m->type == TG_MATCH_EQUAL || m->type == TG_MATCH_NOT_EQUAL) {
        /* One value decides: no need to walk the others. */
        const struct tg_tsdb__postings *p = value_find(ln, m->value, &pos);
        if (m->type == TG_MATCH_EQUAL && p)
            set_ids(bm, p, true);
        else if (m->type == TG_MATCH_NOT_EQUAL)
            for (uint32_t j = 0; j < ln->n; j++)
                set_ids(bm, &ln->vals[j], &ln->vals[j] != p);
        else if (empty_ok) /* {x=""}: the series without x */
            for (uint32_t j = 0; j < ln->n; j++)
                set_ids(bm, &ln->vals[j], false);
        return;
    }
    for (uint32_t j = 0; j < ln->n; j++) {
        bool ok = tg_matcher_matches(m, ln->vals[j].value);
        if (ok != empty_ok)
            set_ids(bm, &ln->vals[j], ok);
    }
}

uint64_t *tg_tsdb__match(const struct tg_tsdb *db, const struct tg_matcher *ms, size_t nms)
{
    size_t words = (db->nseries + 63) / 64;
    uint64_t *bm = calloc(words ? words : 1, sizeof *bm);
    uint64_t *one = nms > 1 ? malloc(words ? words * sizeof *one : 1) : NULL;
    if (!bm || (nms > 1 && !one)) {
        free(bm);
        free(one);
        return NULL;
    }
    if (nms == 0)
        set_all(bm, db->nseries);
    else
        match_one(db, &ms[0], bm);
    for (size_t i = 1; i < nms; i++) {
        memset(one, 0, words * sizeof *one);
        match_one(db, &ms[i], one);
        for (size_t w = 0; w < words; w++)
            bm[w] &= one[w];
    }
    free(one);
    return bm;
}
