/* SPDX-License-Identifier: MIT */
/* Label matchers of the query seam (tsdb/query.h). Regular expressions follow Prometheus:
 * RE2 syntax as Go's regexp package reads it, fully anchored. PCRE2 does the matching;
 * the pattern is compiled as "^(?:re)$" with PCRE2_DOLLAR_ENDONLY (PCRE's "$" would also
 * match before a final newline) and UTF-8 on. PCRE2 accepts more than RE2 does
 * (back-references, lookaround, possessive and atomic groups, and an unbalanced ")" that
 * would close our own wrapper group), so a left-to-right check first refuses what Go
 * refuses, with Go's message, so a client sees the text Prometheus gives. Called by the
 * PromQL parser (building matchers) and the store (matching label values). */
#include "tsdb/query.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* Go's regexp/syntax limit on {n,m}. */
#define RE2_MAX_REPEAT 1000

static int re_error(struct tg_errbuf *eb, const char *what, const char *arg, size_t n)
{
    return tg_errbuf_set(eb, TG_EPARSE, "error parsing regexp: %s: `%.*s`", what, (int)n, arg);
}

/* Length of a valid repeat "{n}", "{n,}" or "{n,m}" at `p` (0 if `p` is not one: Go and
 * PCRE2 then both take "{" as a literal); *big set when a count is over RE2's limit. */
static size_t repeat_len(const char *p, bool *big)
{
    const char *q = p + 1;
    long n = 0, m = 0;
    if (!isdigit((unsigned char)*q))
        return 0;
    while (isdigit((unsigned char)*q))
        n = n > 100000 ? n : n * 10 + (*q++ - '0');
    m = n;
    if (*q == ',') {
        q++;
        m = -1;
        if (isdigit((unsigned char)*q)) {
            m = 0;
            while (isdigit((unsigned char)*q))
                m = m > 100000 ? m : m * 10 + (*q++ - '0');
        }
    }
    if (*q != '}')
        return 0;
    *big = n > RE2_MAX_REPEAT || m > RE2_MAX_REPEAT || (m >= 0 && m < n);
    return (size_t)(q - p) + 1;
}

/* Length of the escape at `p` (a backslash), or 0 when Go refuses it. */
static size_t escape_len(const char *p)
{
    unsigned char c = (unsigned char)p[1];
    if (c == 0)
        return 0;
    if (c < 0x80 && !isalnum(c))
        return 2; /* escaped punctuation */
    if (c >= '1' && c <= '9')
        return isdigit((unsigned char)p[2]) ? 2 : 0; /* a lone digit is a back-reference */
    if (c && strchr("0afntrvxdDsSwWAbBzpPQE", c))
        return 2;
    return 0;
}

/* Skips a character class starting at `p` ("["); returns the position after "]" or NULL
 * if it never closes. */
static const char *skip_class(const char *p)
{
    const char *q = p + 1;
    if (*q == '^')
        q++;
    if (*q == ']')
        q++; /* a leading "]" is a literal */
    while (*q && *q != ']') {
        if (*q == '\\' && q[1])
            q += 2;
        else if (q[0] == '[' && q[1] == ':' && strstr(q + 2, ":]"))
            q = strstr(q + 2, ":]") + 2;
        else
            q++;
    }
    return *q ? q + 1 : NULL;
}

/* Checks "(?" at `p`: flags [imsU-] then ":" or ")", or "P<name>". Returns the length of
 * the group opener, or 0 if Go refuses it; *len_bad is then the text Go quotes. */
static size_t perl_group_len(const char *p, size_t *len_bad)
{
    const char *q = p + 2;
    if (q[0] == 'P' && q[1] == '<') {
        const char *e = strchr(q, '>');
        if (e)
            return (size_t)(e - p) + 1;
    }
    while (*q && strchr("imsU-", *q))
        q++;
    if (*q == ':' || *q == ')')
        return (size_t)(q - p) + 1;
    *len_bad = (size_t)(q - p) + (*q ? 1 : 0);
    return 0;
}

/* Go's verdict on `re` for what PCRE2 would accept or word differently. 0 or TG_EPARSE. */
static int re2_check(const char *re, struct tg_errbuf *eb)
{
    int depth = 0;
    bool can_repeat = false; /* something precedes that a quantifier may apply to */
    bool repeated = false;   /* the previous item is a quantifier */
    const char *q = NULL;    /* start of that quantifier, for the nested-repeat message */
    const char *q_end = NULL; /* its end: a "?" right there makes it non-greedy */
    for (const char *p = re; *p;) {
        size_t n = 1;
        bool big = false;
        bool quant = *p == '*' || *p == '+' || *p == '?';
        if (*p == '{' && (n = repeat_len(p, &big)) > 0)
            quant = true;
        else if (*p == '{')
            n = 1;
        if (quant) {
            if (repeated && !(*p == '?' && p == q_end))
                return re_error(eb, "invalid nested repetition operator", q, (size_t)(p - q) + n);
            if (!can_repeat && !repeated)
                return re_error(eb, "missing argument to repetition operator", p, n);
            if (big)
                return re_error(eb, "invalid repeat count", p, n);
            if (!repeated) {
                q = p;
                q_end = p + n;
            }
            repeated = true;
            p += n;
            continue;
        }
        repeated = false;
        can_repeat = true;
        if (*p == '\\') {
            if (!p[1])
                return tg_errbuf_set(eb, TG_EPARSE, "error parsing regexp: trailing backslash "
                                                    "at end of expression: ``");
            n = escape_len(p);
            if (!n)
                return re_error(eb, "invalid escape sequence", p, 2);
            if (p[1] == 'Q') { /* literal text up to \E */
                const char *e = strstr(p + 2, "\\E");
                n = e ? (size_t)(e - p) + 2 : strlen(p);
            }
        } else if (*p == '[') {
            const char *e = skip_class(p);
            if (!e)
                return re_error(eb, "missing closing ]", p, strlen(p));
            n = (size_t)(e - p);
        } else if (*p == '(') {
            if (p[1] == '?') {
                size_t bad = 0;
                n = perl_group_len(p, &bad);
                if (!n)
                    return re_error(eb, "invalid or unsupported Perl syntax", p, bad);
                if (p[n - 1] == ')') { /* a bare flag group: nothing to repeat yet */
                    can_repeat = false;
                    p += n;
                    continue;
                }
            }
            depth++;
            can_repeat = false;
        } else if (*p == ')') {
            if (depth == 0)
                return re_error(eb, "unexpected )", re, strlen(re));
            depth--;
        } else if (*p == '|') {
            can_repeat = false;
        }
        p += n;
    }
    if (depth > 0)
        return re_error(eb, "missing closing )", re, strlen(re));
    return 0;
}

static int compile_re(struct tg_matcher *m, const char *value, struct tg_errbuf *eb)
{
    int rc = re2_check(value, eb);
    if (rc)
        return rc;
    size_t len = strlen(value);
    char *anchored = malloc(len + 8);
    if (!anchored)
        return -ENOMEM;
    memcpy(anchored, "^(?:", 4);
    memcpy(anchored + 4, value, len);
    memcpy(anchored + 4 + len, ")$", 3);
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED,
                      PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY |
                          PCRE2_NEVER_BACKSLASH_C,
                      &err, &off, NULL);
    free(anchored);
    if (!code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return tg_errbuf_set(eb, TG_EPARSE, "error parsing regexp: %s: `%s`", (char *)msg, value);
    }
    /* JIT makes matching a value list several times faster; without it (no executable
     * memory) the interpreter gives the same answers. */
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    m->re = code;
    return 0;
}

int tg_matcher_init(struct tg_matcher *m, enum tg_match_type type, const char *name,
                    const char *value, struct tg_errbuf *eb)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->name = strdup(name);
    m->value = strdup(value);
    if (!m->name || !m->value) {
        tg_matcher_free(m);
        return tg_errbuf_set(eb, -ENOMEM, "out of memory");
    }
    if (type == TG_MATCH_REGEX || type == TG_MATCH_NOT_REGEX) {
        int rc = compile_re(m, value, eb);
        if (rc) {
            tg_matcher_free(m);
            return rc == -ENOMEM ? tg_errbuf_set(eb, rc, "out of memory") : rc;
        }
    }
    return 0;
}

void tg_matcher_free(struct tg_matcher *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->value);
    pcre2_code_free(m->re);
    m->name = m->value = NULL;
    m->re = NULL;
}

static bool re_matches(const struct tg_matcher *m, const char *v)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md)
        return false; /* a failed allocation of a few bytes reads as "no match" */
    int rc = pcre2_match(m->re, (PCRE2_SPTR)v, strlen(v), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    /* 0 means the ovector was too small for the groups: still a match. */
    return rc >= 0;
}

bool tg_matcher_matches(const struct tg_matcher *m, const char *v)
{
    switch (m->type) {
    case TG_MATCH_EQUAL:
        return strcmp(m->value, v) == 0;
    case TG_MATCH_NOT_EQUAL:
        return strcmp(m->value, v) != 0;
    case TG_MATCH_REGEX:
        return re_matches(m, v);
    case TG_MATCH_NOT_REGEX:
        return !re_matches(m, v);
    }
    return false;
}
