/* SPDX-License-Identifier: MIT */
/* Per-query memos of what a node works out from a series' labels. A range query
 * evaluates each node at every step over the same series, and the grouping of a series
 * (its aggregation signature, its histogram_quantile group and le bound, its label set
 * without the name) does not change between steps; working it out again cost more than
 * the arithmetic (signatures, strcmp, string hashing: about 40 % of a range query).
 *
 * A memo belongs to one node and lives in the query arena. Inputs are keyed by the
 * identity of their label set (the address of its array and its length), which is only
 * sound for stable vectors (value.h): the caller checks `stable` and otherwise takes its
 * ordinary path. Groups get ids in the order the query first meets them; each evaluation
 * of the node (a "call") numbers its own groups in order of first appearance, as the
 * ordinary path does, so the output order is unchanged. */
#include <string.h>

#include "promql/eval_int.h"

struct tg_promql__memo *tg_promql__memo_begin(struct tg_promql__ev *ev,
                                              const struct tg_promql_node *node)
{
    if (!ev->memo_steps)
        return NULL;
    struct tg_promql__memo *m = ev->memos;
    while (m && m->node != node)
        m = m->next;
    if (!m) {
        m = tg_promql_alloc(ev->qa, sizeof *m);
        m->node = node;
        m->next = ev->memos;
        ev->memos = m;
    }
    m->call++;
    return m;
}

/* Remembers that position `pos` of an input held entry `in`. */
static void note_pos(struct tg_promql__ev *ev, struct tg_promql__memo *m, size_t pos,
                     const struct tg_labels *ls, size_t in)
{
    if (pos >= m->cappos) {
        size_t ncap = m->cappos ? m->cappos * 2 : 64;
        while (ncap <= pos)
            ncap *= 2;
        struct tg_promql__memo_pos *np = tg_promql_alloc(ev->qa, ncap * sizeof *np);
        if (m->cappos)
            memcpy(np, m->pos, m->cappos * sizeof *np);
        m->pos = np;
        m->cappos = ncap;
    }
    m->pos[pos] = (struct tg_promql__memo_pos){ls->v, ls->n, in};
}

struct tg_promql__memo_in *tg_promql__memo_input(struct tg_promql__ev *ev,
                                                 struct tg_promql__memo *m,
                                                 const struct tg_labels *ls, size_t pos,
                                                 bool *fresh)
{
    /* The steps of a range query mostly see the same series in the same order: the entry
     * at this position last time is the first guess, and costs one comparison. */
    *fresh = false;
    if (pos < m->cappos && m->pos[pos].v == ls->v && m->pos[pos].n == ls->n)
        return &m->in[m->pos[pos].in];
    struct {
        const void *v;
        uint64_t n;
    } id = {ls->v, ls->n};
    long i = tg_promql_map_get(ev->qa, &m->ids, (const char *)&id, sizeof id, (long)m->nin);
    note_pos(ev, m, pos, ls, i >= 0 ? (size_t)i : m->nin);
    *fresh = i < 0;
    if (i >= 0)
        return &m->in[i];
    if (m->nin == m->capin) {
        size_t ncap = m->capin ? m->capin * 2 : 64;
        struct tg_promql__memo_in *nin = tg_promql_alloc(ev->qa, ncap * sizeof *nin);
        if (m->nin)
            memcpy(nin, m->in, m->nin * sizeof *nin);
        m->in = nin;
        m->capin = ncap;
    }
    struct tg_promql__memo_in *in = &m->in[m->nin++];
    in->gid = -1;
    return in;
}

long tg_promql__memo_group(struct tg_promql__ev *ev, struct tg_promql__memo *m, const char *key,
                           size_t len, bool *fresh)
{
    long g = tg_promql_map_get(ev->qa, &m->keys, key, len, (long)m->ngroups);
    *fresh = g < 0;
    if (g >= 0)
        return g;
    if (m->ngroups == m->capgroups) {
        size_t ncap = m->capgroups ? m->capgroups * 2 : 64;
        struct tg_promql__memo_group *ng = tg_promql_alloc(ev->qa, ncap * sizeof *ng);
        if (m->ngroups)
            memcpy(ng, m->groups, m->ngroups * sizeof *ng);
        m->groups = ng;
        m->capgroups = ncap;
    }
    return (long)m->ngroups++;
}

long tg_promql__memo_slot(struct tg_promql__memo *m, long gid, size_t next)
{
    struct tg_promql__memo_group *g = &m->groups[gid];
    if (g->call == m->call)
        return (long)g->slot;
    g->call = m->call;
    g->slot = next;
    return -1;
}
