/* SPDX-License-Identifier: MIT */
/* The label-set helpers of the query seam (tsdb/query.h): the staleness marker, lookup,
 * the total order Prometheus sorts series by, a hash for the store's series table, and
 * the release of a series set. Used by the store, the PromQL evaluator and its tests. */
#include "tsdb/query.h"

#include <stdlib.h>
#include <string.h>

double tg_stale_nan(void)
{
    uint64_t bits = TG_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

const char *tg_labels_get(const struct tg_labels *ls, const char *name)
{
    /* Sets are small (a dozen labels); a linear scan beats a binary search here. */
    for (uint32_t i = 0; i < ls->n; i++)
        if (strcmp(ls->v[i].name, name) == 0)
            return ls->v[i].value;
    return "";
}

int tg_labels_cmp(const struct tg_labels *a, const struct tg_labels *b)
{
    uint32_t n = a->n < b->n ? a->n : b->n;
    for (uint32_t i = 0; i < n; i++) {
        int c = strcmp(a->v[i].name, b->v[i].name);
        if (c)
            return c;
        c = strcmp(a->v[i].value, b->v[i].value);
        if (c)
            return c;
    }
    return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

/* FNV-1a over "name\xffvalue\xff" per label: 0xff never occurs in UTF-8, so no two
 * different sets give the same byte stream. */
uint64_t tg_labels_hash(const struct tg_labels *ls)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (uint32_t i = 0; i < ls->n; i++) {
        for (const unsigned char *p = (const unsigned char *)ls->v[i].name; *p; p++)
            h = (h ^ *p) * UINT64_C(0x100000001b3);
        h = (h ^ 0xff) * UINT64_C(0x100000001b3);
        for (const unsigned char *p = (const unsigned char *)ls->v[i].value; *p; p++)
            h = (h ^ *p) * UINT64_C(0x100000001b3);
        h = (h ^ 0xff) * UINT64_C(0x100000001b3);
    }
    return h;
}

void tg_series_set_free(struct tg_series_set *s)
{
    if (!s)
        return;
    if (s->free_mem)
        s->free_mem(s->mem);
    free(s->series);
    memset(s, 0, sizeof *s);
}
