/* SPDX-License-Identifier: MIT */
/* State and helpers shared by the parser's files: parse.c (syntax), postfix.c (range,
 * subquery, offset and @ modifiers) and check.c (Prometheus's type checks, run once the
 * whole query parsed). */
#ifndef TG_PROMQL_PARSE_INT_H
#define TG_PROMQL_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "promql/ast.h"
#include "promql/lex_int.h"
#include "promql/parse.h"

struct tg_promql_parser {
    const char *in;
    uint32_t len;
    struct tg_promql_lexer lx;
    struct tg_promql_token tok; /* the lookahead */
    uint32_t last_closing;      /* end of the last ) ] } number or duration consumed */
    struct tg_errbuf *eb;
    bool failed;
    int rc;
    int depth;     /* recursion depth, bounded by TG_PROMQL_MAX_DEPTH */
    int agg_depth; /* aggregations whose arguments are being parsed */
    bool at_start; /* nothing consumed yet: "no expression found in input" */
};

/* Records the first error: TG_EPARSE, "<line>:<col>: parse error: <msg>" at byte `pos`.
 * Later calls do nothing. */
void tg_promql__errorf(struct tg_promql_parser *p, uint32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a duration token ("1h30m") as Prometheus does; on failure writes its message. */
int tg_promql__parse_duration(const char *s, size_t len, int64_t *ms, char *err, size_t errsize);

/* Applies the postfix modifiers after `e` ([range], [range:step], offset, @); returns
 * the new expression, or NULL with `e` freed on error. */
struct tg_promql_node *tg_promql__postfix(struct tg_promql_parser *p, struct tg_promql_node *e);

/* Prometheus's checkAST over the finished tree: types of arguments and operands,
 * selectors that match everything, bool and set-operator rules. Sets the first error. */
void tg_promql__check(struct tg_promql_parser *p, struct tg_promql_node *n);

/* Token helpers parse.c exports to postfix.c. */
struct tg_promql_token tg_promql__advance(struct tg_promql_parser *p);
void tg_promql__unexpected(struct tg_promql_parser *p, const char *ctx, const char *expected);
int64_t tg_promql__duration(struct tg_promql_parser *p);
double tg_promql__number(struct tg_promql_parser *p);

#endif
