/* SPDX-License-Identifier: MIT */
/* The postfix part of PromQL's grammar: a range `[5m]`, a subquery `[5m:1m]`, `offset`
 * and `@` after an expression. They bind tighter than any operator and may follow each
 * other in any order; which expressions may carry them, and the messages when they may
 * not, follow Prometheus 2.42 (its addOffset/setTimestamp rules and the subquery error
 * rules of its grammar). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "promql/parse_int.h"

static const char *const not_selector =
    "modifier must be preceded by an instant vector selector or range vector selector or "
    "a subquery";

static struct tg_promql_node *range_or_subquery(struct tg_promql_parser *p,
                                                struct tg_promql_node *e)
{
    struct tg_promql_token lb = tg_promql__advance(p);
    if (p->tok.type != TG_TOK_DURATION) {
        tg_promql__unexpected(p, "subquery selector", "duration");
        return NULL;
    }
    int64_t range = tg_promql__duration(p);
    if (p->failed)
        return NULL;
    if (p->tok.type == TG_TOK_RIGHT_BRACKET) {
        tg_promql__advance(p);
        const char *err = NULL;
        if (e->kind != TG_PROMQL_VECTOR_SEL)
            err = "ranges only allowed for vector selectors";
        else if (e->u.vs.offset_ms != 0)
            err = "no offset modifiers allowed before range";
        else if (e->u.vs.at.kind == TG_PROMQL_AT_TIME)
            err = "no @ modifiers allowed before range";
        if (err) {
            tg_promql__errorf(p, lb.pos, "%s", err);
            return NULL;
        }
        struct tg_promql_node *n = calloc(1, sizeof *n);
        if (!n)
            return NULL;
        n->kind = TG_PROMQL_MATRIX_SEL;
        n->type = TG_PROMQL_TYPE_MATRIX;
        n->pos.start = e->pos.start;
        n->pos.end = p->last_closing;
        n->u.ms.vs = e;
        n->u.ms.range_ms = range;
        return n;
    }
    if (p->tok.type != TG_TOK_COLON) {
        tg_promql__unexpected(p, "subquery or range", "\":\" or \"]\"");
        return NULL;
    }
    tg_promql__advance(p);
    int64_t step = 0;
    if (p->tok.type == TG_TOK_DURATION) {
        step = tg_promql__duration(p);
        if (p->failed)
            return NULL;
        if (p->tok.type != TG_TOK_RIGHT_BRACKET) {
            tg_promql__unexpected(p, "subquery selector", "\"]\"");
            return NULL;
        }
    } else if (p->tok.type != TG_TOK_RIGHT_BRACKET) {
        tg_promql__unexpected(p, "subquery selector", "duration or \"]\"");
        return NULL;
    }
    struct tg_promql_token rb = tg_promql__advance(p);
    struct tg_promql_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = TG_PROMQL_SUBQUERY;
    n->type = TG_PROMQL_TYPE_MATRIX;
    n->pos.start = e->pos.start;
    n->pos.end = rb.pos + 1;
    n->u.sq.expr = e;
    n->u.sq.range_ms = range;
    n->u.sq.step_ms = step;
    return n;
}

/* Where an offset or @ goes: the selector's (a range selector's inner selector's) or the
 * subquery's fields; NULL with the error set for anything else. */
static bool modifier_target(struct tg_promql_parser *p, struct tg_promql_node *e, const char *what,
                            int64_t **offset, struct tg_promql_at **at)
{
    switch (e->kind) {
    case TG_PROMQL_VECTOR_SEL:
        *offset = &e->u.vs.offset_ms, *at = &e->u.vs.at;
        return true;
    case TG_PROMQL_MATRIX_SEL:
        *offset = &e->u.ms.vs->u.vs.offset_ms, *at = &e->u.ms.vs->u.vs.at;
        return true;
    case TG_PROMQL_SUBQUERY:
        *offset = &e->u.sq.offset_ms, *at = &e->u.sq.at;
        return true;
    default:
        tg_promql__errorf(p, e->pos.start, "%s %s", what, not_selector);
        return false;
    }
}

static bool offset(struct tg_promql_parser *p, struct tg_promql_node *e)
{
    tg_promql__advance(p);
    bool neg = false;
    if (p->tok.type == TG_TOK_SUB) {
        tg_promql__advance(p);
        neg = true;
    }
    if (p->tok.type != TG_TOK_DURATION) {
        tg_promql__unexpected(p, "offset", "duration");
        return false;
    }
    int64_t d = tg_promql__duration(p);
    int64_t *off;
    struct tg_promql_at *at;
    if (p->failed || !modifier_target(p, e, "offset", &off, &at))
        return false;
    if (*off != 0) {
        tg_promql__errorf(p, e->pos.start, "offset may not be set multiple times");
        return false;
    }
    *off = neg ? -d : d;
    e->pos.end = p->last_closing;
    return true;
}

static bool at_modifier(struct tg_promql_parser *p, struct tg_promql_node *e)
{
    tg_promql__advance(p);
    struct tg_promql_at set = {TG_PROMQL_AT_NONE, 0};
    enum tg_promql_tok t = p->tok.type;
    if (t == TG_TOK_START || t == TG_TOK_END) {
        tg_promql__advance(p);
        if (p->tok.type != TG_TOK_LEFT_PAREN) {
            tg_promql__unexpected(p, "@", "timestamp");
            return false;
        }
        tg_promql__advance(p);
        if (p->tok.type != TG_TOK_RIGHT_PAREN) {
            tg_promql__unexpected(p, "@", "timestamp");
            return false;
        }
        tg_promql__advance(p);
        set.kind = t == TG_TOK_START ? TG_PROMQL_AT_START : TG_PROMQL_AT_END;
    } else {
        bool neg = false;
        if (t == TG_TOK_ADD || t == TG_TOK_SUB) {
            tg_promql__advance(p);
            neg = t == TG_TOK_SUB;
        }
        if (p->tok.type != TG_TOK_NUMBER) {
            tg_promql__unexpected(p, "@", "timestamp");
            return false;
        }
        double ts = tg_promql__number(p);
        if (p->failed)
            return false;
        if (neg)
            ts = -ts;
        if (isnan(ts) || ts >= 9223372036854775807.0 || ts <= -9223372036854775808.0) {
            if (isnan(ts))
                tg_promql__errorf(p, e->pos.start, "timestamp out of bounds for @ modifier: NaN");
            else if (isinf(ts))
                tg_promql__errorf(p, e->pos.start, "timestamp out of bounds for @ modifier: %sInf",
                                  ts > 0 ? "+" : "-");
            else
                tg_promql__errorf(p, e->pos.start, "timestamp out of bounds for @ modifier: %f",
                                  ts);
            return false;
        }
        /* Seconds to ms rounded half away from zero; the bound keeps the product in
         * range for the conversion. */
        double ms = round(ts * 1000.0);
        set.kind = TG_PROMQL_AT_TIME;
        set.at_ms = ms >= 9.2e18 ? INT64_MAX : ms <= -9.2e18 ? INT64_MIN : (int64_t)ms;
    }
    int64_t *off;
    struct tg_promql_at *at;
    if (!modifier_target(p, e, "@", &off, &at))
        return false;
    if (at->kind != TG_PROMQL_AT_NONE) {
        tg_promql__errorf(p, e->pos.start, "@ <timestamp> may not be set multiple times");
        return false;
    }
    *at = set;
    e->pos.end = p->last_closing;
    return true;
}

struct tg_promql_node *tg_promql__postfix(struct tg_promql_parser *p, struct tg_promql_node *e)
{
    while (!p->failed) {
        if (p->tok.type == TG_TOK_LEFT_BRACKET) {
            struct tg_promql_node *n = range_or_subquery(p, e);
            if (!n)
                break;
            e = n;
        } else if (p->tok.type == TG_TOK_OFFSET) {
            if (!offset(p, e))
                break;
        } else if (p->tok.type == TG_TOK_AT) {
            if (!at_modifier(p, e))
                break;
        } else {
            return e;
        }
    }
    if (!p->failed) {
        p->failed = true;
        p->rc = -ENOMEM; /* the only failure that sets no message */
        tg_errbuf_set(p->eb, p->rc, "out of memory");
    }
    tg_promql_node_free(e);
    return NULL;
}
