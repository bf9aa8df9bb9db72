/* SPDX-License-Identifier: MIT */
/* The PromQL lexer, shared by the parser (parse.c) and the printer's quoting. It is a
 * state machine with the same states as Prometheus 2.42's lexer (inside braces, inside
 * brackets, after a colon in brackets), because several of its quirks decide which
 * queries are valid and which error a client sees: durations are only tokens after '['
 * or where a number runs into a unit letter, keywords are not keywords inside braces,
 * a letter inside brackets is taken as the subquery colon. */
#ifndef TG_PROMQL_LEX_INT_H
#define TG_PROMQL_LEX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tg_promql_tok {
    TG_TOK_EOF = 0,
    TG_TOK_ERROR, /* the lexer's message is in tg_promql_lexer.err */
    TG_TOK_COMMENT,
    TG_TOK_IDENTIFIER,
    TG_TOK_METRIC_IDENTIFIER, /* an identifier with a colon */
    TG_TOK_NUMBER,
    TG_TOK_DURATION,
    TG_TOK_STRING,
    TG_TOK_LEFT_PAREN,
    TG_TOK_RIGHT_PAREN,
    TG_TOK_LEFT_BRACE,
    TG_TOK_RIGHT_BRACE,
    TG_TOK_LEFT_BRACKET,
    TG_TOK_RIGHT_BRACKET,
    TG_TOK_COMMA,
    TG_TOK_EQL, /* = */
    TG_TOK_COLON,
    /* operators */
    TG_TOK_ADD,
    TG_TOK_SUB,
    TG_TOK_MUL,
    TG_TOK_DIV,
    TG_TOK_MOD,
    TG_TOK_POW,
    TG_TOK_EQLC, /* == */
    TG_TOK_NEQ,
    TG_TOK_GTR,
    TG_TOK_LSS,
    TG_TOK_GTE,
    TG_TOK_LTE,
    TG_TOK_EQL_REGEX,
    TG_TOK_NEQ_REGEX,
    TG_TOK_AT,
    TG_TOK_ATAN2,
    TG_TOK_LAND,
    TG_TOK_LOR,
    TG_TOK_LUNLESS,
    /* aggregators */
    TG_TOK_AVG,
    TG_TOK_BOTTOMK,
    TG_TOK_COUNT,
    TG_TOK_COUNT_VALUES,
    TG_TOK_GROUP,
    TG_TOK_MAX,
    TG_TOK_MIN,
    TG_TOK_QUANTILE,
    TG_TOK_STDDEV,
    TG_TOK_STDVAR,
    TG_TOK_SUM,
    TG_TOK_TOPK,
    /* keywords */
    TG_TOK_BOOL,
    TG_TOK_BY,
    TG_TOK_GROUP_LEFT,
    TG_TOK_GROUP_RIGHT,
    TG_TOK_IGNORING,
    TG_TOK_OFFSET,
    TG_TOK_ON,
    TG_TOK_WITHOUT,
    /* @ modifier preprocessors */
    TG_TOK_START,
    TG_TOK_END,
};

struct tg_promql_token {
    enum tg_promql_tok type;
    uint32_t pos, len; /* the bytes of the token in the input */
};

struct tg_promql_lexer {
    const char *in;
    uint32_t len;
    uint32_t pos, start;
    uint32_t width; /* bytes of the last rune read, for backing up */
    int state;      /* internal: which state function runs next */
    int paren_depth;
    bool brace_open, bracket_open, got_colon;
    char string_open;
    char err[160]; /* the message of the last TG_TOK_ERROR */
};

void tg_promql__lex_init(struct tg_promql_lexer *l, const char *in, uint32_t len);

/* The next token. After TG_TOK_EOF, EOF again. After an error the lexer may continue;
 * the parser stops at the first error anyway. */
struct tg_promql_token tg_promql__lex_next(struct tg_promql_lexer *l);

/* Whether `tok` is an aggregation operator, and which. */
bool tg_promql__tok_is_agg(enum tg_promql_tok tok);

/* How an error message names a token, as Prometheus's Item.desc() does:
 * `<by>`, `<op:+>`, `<aggr:sum>`, `identifier "foo"`, `number "1"`, `"("`, `end of input`.
 * Writes into `buf` of `size` bytes; returns `buf`. */
const char *tg_promql__tok_desc(const struct tg_promql_lexer *l, struct tg_promql_token t,
                                char *buf, size_t size);

/* Appends to `buf` (size `size`, at offset `*n`) the Go %q quoting of `len` bytes of `s`
 * (strconv.Quote: printable UTF-8 kept, \n \t \" \\ and others escaped, invalid bytes as
 * \xHH). `*n` grows by the full length even when `buf` is too small (snprintf rule). */
void tg_promql__go_quote(char *buf, size_t size, size_t *n, const char *s, size_t len);

/* Unquotes a string token the lexer accepted ("...", '...' or `...`) into a new
 * NUL-terminated string of `*out_len` bytes. NULL when out of memory. */
char *tg_promql__unquote(const char *tok, size_t len, size_t *out_len);

#endif
