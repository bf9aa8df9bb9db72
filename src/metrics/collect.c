/* SPDX-License-Identifier: MIT */
/* The list of collectors and the scan over it; see collect.h. A fixed array: a process
 * has a handful of collectors (the gateway's, the process, the control thread's, the
 * admin listener's, and one per collector target of a later issue), registered at start. */
#include "metrics/collect.h"

#include <errno.h>
#include <stdlib.h>

#include "core/err.h"

struct entry {
    const char *name;
    tg_mcollect_fn *fn;
    void *data;
};

struct tg_mcollectors {
    struct entry e[TG_MCOLLECTORS_MAX];
    uint32_t n;
};

int tg_mcollectors_new(struct tg_mcollectors **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

void tg_mcollectors_free(struct tg_mcollectors *cs)
{
    free(cs);
}

int tg_mcollectors_add(struct tg_mcollectors *cs, const char *name, tg_mcollect_fn *fn, void *data)
{
    if (cs->n == TG_MCOLLECTORS_MAX)
        return -ENOSPC;
    cs->e[cs->n++] = (struct entry){name, fn, data};
    return 0;
}

void tg_mcollectors_remove(struct tg_mcollectors *cs, const void *data)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < cs->n; i++)
        if (cs->e[i].data != data)
            cs->e[k++] = cs->e[i];
    cs->n = k;
}

int tg_mscan_run(struct tg_mscan *s, const struct tg_mcollectors *cs, const struct tg_mvisitor *v)
{
    for (; s->index < cs->n; s->index++, s->cur = (struct tg_mcursor){0}) {
        if (s->cur.step == 0 && s->cur.item == 0 && !s->cur.announced && tg_mvisit_full(v))
            return TG_AGAIN;
        const struct entry *e = &cs->e[s->index];
        int rc = e->fn(e->data, v, &s->cur);
        if (rc != TG_DONE)
            return rc;
    }
    return TG_DONE;
}
