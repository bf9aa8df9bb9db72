/* SPDX-License-Identifier: MIT */
/* PromQL lexer (see lex_int.h for why it copies Prometheus's states). Works on bytes,
 * decoding UTF-8 only where Prometheus decodes runes: to reject invalid input and to
 * quote characters in messages. Never allocates except in tg_promql__unquote. */
#include "promql/lex_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    ST_STATEMENTS = 0,
    ST_BRACES,
    ST_DURATION,
    ST_STRING,
    ST_RAW_STRING,
    ST_ESCAPE,
    ST_DONE,
};

#define RUNE_EOF (-1)
#define RUNE_ERROR 0xFFFD

static const struct {
    const char *word;
    enum tg_promql_tok tok;
} keywords[] = {
    {"and", TG_TOK_LAND},
    {"or", TG_TOK_LOR},
    {"unless", TG_TOK_LUNLESS},
    {"atan2", TG_TOK_ATAN2},
    {"sum", TG_TOK_SUM},
    {"avg", TG_TOK_AVG},
    {"count", TG_TOK_COUNT},
    {"min", TG_TOK_MIN},
    {"max", TG_TOK_MAX},
    {"group", TG_TOK_GROUP},
    {"stddev", TG_TOK_STDDEV},
    {"stdvar", TG_TOK_STDVAR},
    {"topk", TG_TOK_TOPK},
    {"bottomk", TG_TOK_BOTTOMK},
    {"count_values", TG_TOK_COUNT_VALUES},
    {"quantile", TG_TOK_QUANTILE},
    {"offset", TG_TOK_OFFSET},
    {"by", TG_TOK_BY},
    {"without", TG_TOK_WITHOUT},
    {"on", TG_TOK_ON},
    {"ignoring", TG_TOK_IGNORING},
    {"group_left", TG_TOK_GROUP_LEFT},
    {"group_right", TG_TOK_GROUP_RIGHT},
    {"bool", TG_TOK_BOOL},
    {"start", TG_TOK_START},
    {"end", TG_TOK_END},
    {"inf", TG_TOK_NUMBER},
    {"nan", TG_TOK_NUMBER},
};

void tg_promql__lex_init(struct tg_promql_lexer *l, const char *in, uint32_t len)
{
    memset(l, 0, sizeof *l);
    l->in = in;
    l->len = len;
    l->state = ST_STATEMENTS;
}

/* Decodes one UTF-8 sequence at `s` (n bytes available) as Go does: an invalid or
 * overlong sequence, a surrogate or a value past U+10FFFF is RUNE_ERROR of width 1. */
static int32_t decode_rune(const unsigned char *s, uint32_t n, uint32_t *width)
{
    *width = 1;
    if (s[0] < 0x80)
        return s[0];
    int need;
    int32_t r, min;
    if ((s[0] & 0xE0) == 0xC0) {
        need = 1, r = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        need = 2, r = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        need = 3, r = s[0] & 0x07, min = 0x10000;
    } else {
        return RUNE_ERROR;
    }
    if ((uint32_t)need >= n)
        return RUNE_ERROR;
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return RUNE_ERROR;
        r = (r << 6) | (s[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r < 0xE000))
        return RUNE_ERROR;
    *width = (uint32_t)need + 1;
    return r;
}

static int32_t next(struct tg_promql_lexer *l)
{
    if (l->pos >= l->len) {
        l->width = 0;
        return RUNE_EOF;
    }
    uint32_t w;
    int32_t r = decode_rune((const unsigned char *)l->in + l->pos, l->len - l->pos, &w);
    l->width = w;
    l->pos += w;
    return r;
}

static void backup(struct tg_promql_lexer *l)
{
    l->pos -= l->width;
}

static int32_t peek(struct tg_promql_lexer *l)
{
    uint32_t save = l->pos;
    int32_t r = next(l);
    l->pos = save;
    return r;
}

static bool accept(struct tg_promql_lexer *l, const char *valid)
{
    int32_t r = next(l);
    if (r > 0 && r < 0x80 && strchr(valid, (int)r))
        return true;
    backup(l);
    return false;
}

static void accept_run(struct tg_promql_lexer *l, const char *valid)
{
    while (accept(l, valid)) {
    }
}

static bool is_space(int32_t r)
{
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool is_digit(int32_t r)
{
    return r >= '0' && r <= '9';
}

static bool is_alpha(int32_t r)
{
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_alnum(int32_t r)
{
    return is_alpha(r) || is_digit(r);
}

static struct tg_promql_token emit(struct tg_promql_lexer *l, enum tg_promql_tok t)
{
    struct tg_promql_token tok = {t, l->start, l->pos - l->start};
    l->start = l->pos;
    return tok;
}

/* Writes the Go %q form of rune `r` ('a', '\n', '\x00', '\u00a0'). */
static void quote_rune(char *buf, size_t size, int32_t r)
{
    if (r == '\'')
        snprintf(buf, size, "'\\''");
    else if (r == '\\')
        snprintf(buf, size, "'\\\\'");
    else if (r >= 0x20 && r < 0x7F)
        snprintf(buf, size, "'%c'", (char)r);
    else if (r == '\a')
        snprintf(buf, size, "'\\a'");
    else if (r == '\b')
        snprintf(buf, size, "'\\b'");
    else if (r == '\f')
        snprintf(buf, size, "'\\f'");
    else if (r == '\n')
        snprintf(buf, size, "'\\n'");
    else if (r == '\r')
        snprintf(buf, size, "'\\r'");
    else if (r == '\t')
        snprintf(buf, size, "'\\t'");
    else if (r == '\v')
        snprintf(buf, size, "'\\v'");
    else if (r < 0x20 || r == 0x7F)
        snprintf(buf, size, "'\\x%02x'", (unsigned)r);
    else if (r < 0xA1 || r == 0xAD)
        snprintf(buf, size, "'\\u%04x'", (unsigned)r);
    else {
        /* Printable beyond ASCII: the rune itself, re-encoded. */
        unsigned char e[4];
        int w;
        if (r < 0x800) {
            e[0] = (unsigned char)(0xC0 | (r >> 6)), e[1] = (unsigned char)(0x80 | (r & 0x3F));
            w = 2;
        } else if (r < 0x10000) {
            e[0] = (unsigned char)(0xE0 | (r >> 12));
            e[1] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
            e[2] = (unsigned char)(0x80 | (r & 0x3F));
            w = 3;
        } else {
            e[0] = (unsigned char)(0xF0 | (r >> 18));
            e[1] = (unsigned char)(0x80 | ((r >> 12) & 0x3F));
            e[2] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
            e[3] = (unsigned char)(0x80 | (r & 0x3F));
            w = 4;
        }
        snprintf(buf, size, "'%.*s'", w, (const char *)e);
    }
}

/* Go's %#U: "U+0071 'q'", or just "U+000A" for a rune that is not printable. */
static void sharp_u(char *buf, size_t size, int32_t r)
{
    if (r < 0)
        r = RUNE_ERROR;
    if (r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA1) || r == 0xAD) {
        snprintf(buf, size, "U+%04X", (unsigned)r);
        return;
    }
    char q[16];
    quote_rune(q, sizeof q, r);
    snprintf(buf, size, "U+%04X %s", (unsigned)r, q);
}

static struct tg_promql_token errorf(struct tg_promql_lexer *l, int next_state, const char *fmt,
                                     ...) __attribute__((format(printf, 3, 4)));

static struct tg_promql_token errorf(struct tg_promql_lexer *l, int next_state, const char *fmt,
                                     ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, sizeof l->err, fmt, ap);
    va_end(ap);
    l->state = next_state;
    struct tg_promql_token t = {TG_TOK_ERROR, l->start, 0};
    return t;
}

static struct tg_promql_token error_q(struct tg_promql_lexer *l, const char *what)
{
    char q[sizeof l->err];
    size_t n = 0;
    tg_promql__go_quote(q, sizeof q, &n, l->in + l->start, l->pos - l->start);
    return errorf(l, ST_DONE, "%s: %s", what, q);
}

static void skip_line_comment(struct tg_promql_lexer *l)
{
    l->pos++;
    for (int32_t r = next(l); r != '\r' && r != '\n' && r != RUNE_EOF; r = next(l)) {
    }
    backup(l);
}

/* Prometheus's scanNumber: digits (hex after 0x), a fraction, an exponent; true when
 * what follows cannot continue a word. */
static bool scan_number(struct tg_promql_lexer *l)
{
    const char *digits = "0123456789";
    if (accept(l, "0") && accept(l, "xX"))
        digits = "0123456789abcdefABCDEF";
    accept_run(l, digits);
    if (accept(l, "."))
        accept_run(l, digits);
    if (accept(l, "eE")) {
        accept(l, "+-");
        accept_run(l, "0123456789");
    }
    return !is_alnum(peek(l));
}

static bool accept_remaining_duration(struct tg_promql_lexer *l)
{
    if (!accept(l, "smhdwy"))
        return false;
    accept(l, "s");
    while (accept(l, "0123456789")) {
        accept_run(l, "0123456789");
        if (!accept(l, "smhdw"))
            return false;
        accept(l, "s");
    }
    bool ok = !is_alnum(next(l));
    backup(l);
    return ok;
}

static struct tg_promql_token lex_word(struct tg_promql_lexer *l)
{
    bool colon = false;
    for (;;) {
        int32_t r = next(l);
        if (is_alnum(r))
            continue;
        if (r == ':') {
            colon = true;
            continue;
        }
        backup(l);
        break;
    }
    uint32_t n = l->pos - l->start;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strlen(keywords[i].word) == n &&
            strncasecmp(keywords[i].word, l->in + l->start, n) == 0)
            return emit(l, keywords[i].tok);
    }
    return emit(l, colon ? TG_TOK_METRIC_IDENTIFIER : TG_TOK_IDENTIFIER);
}

static struct tg_promql_token lex_duration(struct tg_promql_lexer *l)
{
    l->state = ST_STATEMENTS;
    if (scan_number(l))
        return errorf(l, ST_DONE, "missing unit character in duration");
    if (!accept_remaining_duration(l))
        return error_q(l, "bad duration syntax");
    return emit(l, TG_TOK_DURATION);
}

static struct tg_promql_token lex_number_or_duration(struct tg_promql_lexer *l)
{
    if (scan_number(l))
        return emit(l, TG_TOK_NUMBER);
    if (accept_remaining_duration(l))
        return emit(l, TG_TOK_DURATION);
    return error_q(l, "bad number or duration syntax");
}

static int digit_val(int32_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 16;
}

/* After a backslash in a quoted string. Errors leave the state in the string, as
 * Prometheus's lexer does; the parser stops at the error anyway. */
static bool lex_escape(struct tg_promql_lexer *l, struct tg_promql_token *err)
{
    int n;
    uint32_t base, max;
    char u[40];
    int32_t ch = next(l);
    switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
        return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
        n = 3, base = 8, max = 255;
        break;
    case 'x':
        ch = next(l), n = 2, base = 16, max = 255;
        break;
    case 'u':
        ch = next(l), n = 4, base = 16, max = 0x10FFFF;
        break;
    case 'U':
        ch = next(l), n = 8, base = 16, max = 0x10FFFF;
        break;
    case RUNE_EOF:
        *err = errorf(l, ST_STRING, "escape sequence not terminated");
        return false;
    default:
        if (ch == l->string_open)
            return true;
        sharp_u(u, sizeof u, ch);
        *err = errorf(l, ST_STRING, "unknown escape sequence %s", u);
        return false;
    }
    uint32_t x = 0;
    while (n > 0) {
        uint32_t d = (uint32_t)digit_val(ch);
        if (d >= base) {
            if (ch == RUNE_EOF) {
                *err = errorf(l, ST_STRING, "escape sequence not terminated");
                return false;
            }
            sharp_u(u, sizeof u, ch);
            *err = errorf(l, ST_STRING, "illegal character %s in escape sequence", u);
            return false;
        }
        x = x * base + d;
        if (--n > 0)
            ch = next(l);
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) {
        *err = errorf(l, ST_STRING, "escape sequence is an invalid Unicode code point");
        return false;
    }
    return true;
}

static struct tg_promql_token lex_string(struct tg_promql_lexer *l)
{
    for (;;) {
        int32_t r = next(l);
        if (r == '\\') {
            struct tg_promql_token err;
            if (!lex_escape(l, &err))
                return err;
        } else if (r == RUNE_ERROR) {
            return errorf(l, ST_STRING, "invalid UTF-8 rune");
        } else if (r == RUNE_EOF || r == '\n') {
            return errorf(l, ST_DONE, "unterminated quoted string");
        } else if (r == l->string_open) {
            break;
        }
    }
    l->state = ST_STATEMENTS;
    return emit(l, TG_TOK_STRING);
}

static struct tg_promql_token lex_raw_string(struct tg_promql_lexer *l)
{
    for (;;) {
        int32_t r = next(l);
        if (r == RUNE_ERROR)
            return errorf(l, ST_RAW_STRING, "invalid UTF-8 rune");
        if (r == RUNE_EOF)
            return errorf(l, ST_RAW_STRING, "unterminated raw string");
        if (r == l->string_open)
            break;
    }
    l->state = ST_STATEMENTS;
    return emit(l, TG_TOK_STRING);
}

static struct tg_promql_token unexpected_char(struct tg_promql_lexer *l, const char *what,
                                              int32_t r)
{
    char q[24];
    quote_rune(q, sizeof q, r < 0 ? RUNE_ERROR : r);
    return errorf(l, ST_DONE, "%s%s", what, q);
}

static struct tg_promql_token lex_braces(struct tg_promql_lexer *l, bool *again)
{
    if (l->pos < l->len && l->in[l->pos] == '#') {
        skip_line_comment(l);
        return emit(l, TG_TOK_COMMENT);
    }
    int32_t r = next(l);
    switch (r) {
    case RUNE_EOF:
        return errorf(l, ST_DONE, "unexpected end of input inside braces");
    case ',':
        return emit(l, TG_TOK_COMMA);
    case '"':
    case '\'':
        l->string_open = (char)r;
        return lex_string(l);
    case '`':
        l->string_open = (char)r;
        return lex_raw_string(l);
    case '=':
        if (next(l) == '~')
            return emit(l, TG_TOK_EQL_REGEX);
        backup(l);
        return emit(l, TG_TOK_EQL);
    case '!': {
        int32_t nr = next(l);
        if (nr == '~')
            return emit(l, TG_TOK_NEQ_REGEX);
        if (nr == '=')
            return emit(l, TG_TOK_NEQ);
        return unexpected_char(l, "unexpected character after '!' inside braces: ", nr);
    }
    case '{':
        return unexpected_char(l, "unexpected left brace ", r);
    case '}':
        l->brace_open = false;
        l->state = ST_STATEMENTS;
        return emit(l, TG_TOK_RIGHT_BRACE);
    default:
        if (is_space(r)) {
            while (is_space(peek(l)))
                next(l);
            l->start = l->pos;
            *again = true;
            return emit(l, TG_TOK_EOF);
        }
        if (is_alpha(r)) {
            while (is_alnum(next(l))) {
            }
            backup(l);
            return emit(l, TG_TOK_IDENTIFIER);
        }
        return unexpected_char(l, "unexpected character inside braces: ", r);
    }
}

static struct tg_promql_token lex_statements(struct tg_promql_lexer *l, bool *again)
{
    if (l->pos < l->len && l->in[l->pos] == '#') {
        skip_line_comment(l);
        return emit(l, TG_TOK_COMMENT);
    }
    int32_t r = next(l);
    switch (r) {
    case RUNE_EOF:
        if (l->paren_depth != 0)
            return errorf(l, ST_DONE, "unclosed left parenthesis");
        if (l->bracket_open)
            return errorf(l, ST_DONE, "unclosed left bracket");
        l->state = ST_DONE;
        return emit(l, TG_TOK_EOF);
    case ',':
        return emit(l, TG_TOK_COMMA);
    case '*':
        return emit(l, TG_TOK_MUL);
    case '/':
        return emit(l, TG_TOK_DIV);
    case '%':
        return emit(l, TG_TOK_MOD);
    case '+':
        return emit(l, TG_TOK_ADD);
    case '-':
        return emit(l, TG_TOK_SUB);
    case '^':
        return emit(l, TG_TOK_POW);
    case '@':
        return emit(l, TG_TOK_AT);
    case '=': {
        int32_t t = peek(l);
        if (t == '=') {
            next(l);
            return emit(l, TG_TOK_EQLC);
        }
        if (t == '~')
            return unexpected_char(l, "unexpected character after '=': ", t);
        return emit(l, TG_TOK_EQL);
    }
    case '!': {
        int32_t t = next(l);
        if (t == '=')
            return emit(l, TG_TOK_NEQ);
        return unexpected_char(l, "unexpected character after '!': ", t);
    }
    case '<':
        if (peek(l) == '=') {
            next(l);
            return emit(l, TG_TOK_LTE);
        }
        return emit(l, TG_TOK_LSS);
    case '>':
        if (peek(l) == '=') {
            next(l);
            return emit(l, TG_TOK_GTE);
        }
        return emit(l, TG_TOK_GTR);
    case '"':
    case '\'':
        l->string_open = (char)r;
        return lex_string(l);
    case '`':
        l->string_open = (char)r;
        return lex_raw_string(l);
    case '(':
        l->paren_depth++;
        return emit(l, TG_TOK_LEFT_PAREN);
    case ')': {
        struct tg_promql_token t = emit(l, TG_TOK_RIGHT_PAREN);
        /* Prometheus's error replaces the token just emitted, at the position after it. */
        if (--l->paren_depth < 0)
            return errorf(l, ST_DONE, "unexpected right parenthesis ')'");
        return t;
    }
    case '{':
        l->brace_open = true;
        l->state = ST_BRACES;
        return emit(l, TG_TOK_LEFT_BRACE);
    case '[': {
        if (l->bracket_open)
            return unexpected_char(l, "unexpected left bracket ", r);
        l->got_colon = false;
        struct tg_promql_token t = emit(l, TG_TOK_LEFT_BRACKET);
        while (is_space(peek(l)))
            next(l);
        l->start = l->pos;
        l->bracket_open = true;
        l->state = ST_DURATION;
        return t;
    }
    case ']':
        if (!l->bracket_open)
            return unexpected_char(l, "unexpected right bracket ", r);
        l->bracket_open = false;
        return emit(l, TG_TOK_RIGHT_BRACKET);
    default:
        if (is_space(r)) {
            while (is_space(peek(l)))
                next(l);
            l->start = l->pos;
            *again = true;
            return emit(l, TG_TOK_EOF);
        }
        if (is_digit(r) || (r == '.' && is_digit(peek(l)))) {
            backup(l);
            return lex_number_or_duration(l);
        }
        if (is_alpha(r) || r == ':') {
            if (!l->bracket_open) {
                backup(l);
                return lex_word(l);
            }
            if (l->got_colon)
                return unexpected_char(l, "unexpected colon ", r);
            l->got_colon = true;
            return emit(l, TG_TOK_COLON);
        }
        return unexpected_char(l, "unexpected character: ", r);
    }
}

struct tg_promql_token tg_promql__lex_next(struct tg_promql_lexer *l)
{
    for (;;) {
        bool again = false;
        struct tg_promql_token t;
        switch (l->state) {
        case ST_STATEMENTS:
            t = l->brace_open ? lex_braces(l, &again) : lex_statements(l, &again);
            break;
        case ST_BRACES:
            t = lex_braces(l, &again);
            break;
        case ST_DURATION:
            t = lex_duration(l);
            break;
        case ST_STRING:
            t = lex_string(l);
            break;
        case ST_RAW_STRING:
            t = lex_raw_string(l);
            break;
        default:
            t = (struct tg_promql_token){TG_TOK_EOF, l->pos, 0};
            return t;
        }
        if (!again)
            return t;
    }
}

bool tg_promql__tok_is_agg(enum tg_promql_tok tok)
{
    return tok >= TG_TOK_AVG && tok <= TG_TOK_TOPK;
}

/* Go's %q, cut to 10 runes with "..." after, as Item.String() prints long values. */
static void quote_val(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    size_t runes = 0, i = 0;
    while (i < len && runes < 10) {
        uint32_t w;
        decode_rune((const unsigned char *)s + i, (uint32_t)(len - i), &w);
        i += w;
        runes++;
    }
    tg_promql__go_quote(buf, size, n, s, i);
    if (i < len) {
        if (*n + 3 < size)
            memcpy(buf + *n, "...", 4);
        *n += 3;
    }
}

const char *tg_promql__tok_desc(const struct tg_promql_lexer *l, struct tg_promql_token t,
                                char *buf, size_t size)
{
    const char *v = l->in + t.pos;
    size_t n = 0;
    const char *kind = NULL;
    switch (t.type) {
    case TG_TOK_EOF:
        snprintf(buf, size, "end of input");
        return buf;
    case TG_TOK_ERROR:
        snprintf(buf, size, "%s", l->err);
        return buf;
    case TG_TOK_IDENTIFIER:
        kind = "identifier";
        break;
    case TG_TOK_METRIC_IDENTIFIER:
        kind = "metric identifier";
        break;
    case TG_TOK_STRING:
        kind = "string";
        break;
    case TG_TOK_NUMBER:
        kind = "number";
        break;
    case TG_TOK_DURATION:
        kind = "duration";
        break;
    case TG_TOK_COMMENT:
        kind = "comment";
        break;
    default:
        break;
    }
    if (t.type == TG_TOK_IDENTIFIER || t.type == TG_TOK_METRIC_IDENTIFIER) {
        n = (size_t)snprintf(buf, size, "%s ", kind);
        tg_promql__go_quote(buf, size, &n, v, t.len);
    } else if (kind) {
        n = (size_t)snprintf(buf, size, "%s ", kind);
        quote_val(buf, size, &n, v, t.len);
    } else if (t.type >= TG_TOK_BOOL && t.type <= TG_TOK_WITHOUT) {
        snprintf(buf, size, "<%.*s>", (int)t.len, v);
    } else if (tg_promql__tok_is_agg(t.type)) {
        snprintf(buf, size, "<aggr:%.*s>", (int)t.len, v);
    } else if (t.type >= TG_TOK_ADD && t.type <= TG_TOK_LUNLESS && t.type != TG_TOK_AT) {
        snprintf(buf, size, "<op:%.*s>", (int)t.len, v);
    } else if (t.type == TG_TOK_AT) {
        /* AT has no entry in Prometheus's token names: it prints the token number. */
        snprintf(buf, size, "\"<Item 57385>\" <op:@>");
    } else {
        quote_val(buf, size, &n, v, t.len);
    }
    return buf;
}

static void put(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++, (*n)++) {
        if (*n + 1 < size)
            buf[*n] = s[i];
    }
    if (size > 0)
        buf[*n < size ? *n : size - 1] = '\0';
}

void tg_promql__go_quote(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
    put(buf, size, n, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        char esc[16];
        if (c < 0x80) {
            i++;
            if (c == '"' || c == '\\') {
                esc[0] = '\\', esc[1] = (char)c;
                put(buf, size, n, esc, 2);
            } else if (c >= 0x20 && c < 0x7F) {
                put(buf, size, n, (const char *)&c, 1);
            } else {
                const char *m = c == '\a'   ? "\\a"
                                : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f"
                                : c == '\n' ? "\\n"
                                : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t"
                                : c == '\v' ? "\\v"
                                            : NULL;
                if (!m) {
                    snprintf(esc, sizeof esc, "\\x%02x", c);
                    m = esc;
                }
                put(buf, size, n, m, strlen(m));
            }
            continue;
        }
        uint32_t w;
        int32_t r = decode_rune((const unsigned char *)s + i, (uint32_t)(len - i), &w);
        if (r == RUNE_ERROR && w == 1) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            put(buf, size, n, esc, 4);
        } else if (r < 0xA1 || r == 0xAD || r == 0x2028 || r == 0x2029 || r == 0xFEFF) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)r);
            put(buf, size, n, esc, 6);
        } else {
            put(buf, size, n, s + i, w);
        }
        i += w;
    }
    put(buf, size, n, "\"", 1);
}

static int hexval(char c)
{
    return digit_val((unsigned char)c);
}

static size_t put_utf8(char *o, uint32_t r)
{
    if (r < 0x80) {
        o[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        o[0] = (char)(0xC0 | (r >> 6)), o[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        o[0] = (char)(0xE0 | (r >> 12)), o[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        o[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (r >> 18)), o[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((r >> 6) & 0x3F)), o[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

char *tg_promql__unquote(const char *tok, size_t len, size_t *out_len)
{
    /* Escapes never grow: the longest (\U0010FFFF, 10 bytes) gives 4. */
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    char quote = tok[0];
    const char *s = tok + 1, *end = tok + len - 1;
    if (quote == '`') {
        memcpy(out, s, (size_t)(end - s));
        o = (size_t)(end - s);
    } else {
        while (s < end) {
            if (*s != '\\') {
                out[o++] = *s++;
                continue;
            }
            char c = s[1];
            s += 2;
            int n = 0;
            switch (c) {
            case 'a':
                out[o++] = '\a';
                break;
            case 'b':
                out[o++] = '\b';
                break;
            case 'f':
                out[o++] = '\f';
                break;
            case 'n':
                out[o++] = '\n';
                break;
            case 'r':
                out[o++] = '\r';
                break;
            case 't':
                out[o++] = '\t';
                break;
            case 'v':
                out[o++] = '\v';
                break;
            case 'x':
                n = 2;
                break;
            case 'u':
                n = 4;
                break;
            case 'U':
                n = 8;
                break;
            case '0':
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7': {
                unsigned v =
                    (unsigned)(c - '0') * 64 + (unsigned)(s[0] - '0') * 8 + (unsigned)(s[1] - '0');
                out[o++] = (char)v;
                s += 2;
                break;
            }
            default:
                out[o++] = c;
                break; /* \\ and the quote */
            }
            if (n) {
                uint32_t v = 0;
                for (int j = 0; j < n; j++)
                    v = v << 4 | (uint32_t)hexval(s[j]);
                s += n;
                if (c == 'x')
                    out[o++] = (char)v;
                else
                    o += put_utf8(out + o, v);
            }
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
