/* SPDX-License-Identifier: MIT */
/* Alert templates (see template.h): a parser from text to a small tree (text, actions,
 * if/else) and an evaluator of pipelines over four kinds of value. */
#include "rules/template.h"

#include "rules/notify_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- The tree. */

enum arg_kind { A_NUM, A_STR, A_VALUE, A_LABELS, A_EXT, A_EXTURL, A_DOT, A_FUNC, A_PIPE };

struct pipe;

struct arg {
    enum arg_kind kind;
    double num;
    char *str;        /* A_STR: the literal; A_LABELS/A_EXT: the field ("" for the map);
                       * A_FUNC: the name */
    struct pipe *sub; /* A_PIPE: a parenthesised pipeline */
};

struct cmd {
    struct arg *args;
    size_t nargs;
};

struct pipe {
    struct cmd *cmds;
    size_t ncmds;
};

enum node_kind { N_TEXT, N_ACTION, N_IF };

struct node {
    enum node_kind kind;
    char *text;                 /* N_TEXT */
    struct pipe *pipe;          /* N_ACTION, N_IF */
    struct node *then, *otherwise; /* N_IF: lists */
    struct node *next;
};

struct tg_template {
    struct node *root;
};

static const char *const funcs[] = {
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
    "printf",   "toUpper",      "toLower",          "title",              "index",
    "eq",       "ne",           "lt",               "le",                 "gt",
    "ge",       "and",          "or",               "not",                "len"};

static void pipe_free(struct pipe *p);

static void args_free(struct arg *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].str);
        pipe_free(a[i].sub);
    }
    free(a);
}

static void pipe_free(struct pipe *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncmds; i++)
        args_free(p->cmds[i].args, p->cmds[i].nargs);
    free(p->cmds);
    free(p);
}

static void nodes_free(struct node *n)
{
    while (n) {
        struct node *next = n->next;
        free(n->text);
        pipe_free(n->pipe);
        nodes_free(n->then);
        nodes_free(n->otherwise);
        free(n);
        n = next;
    }
}

void tg_template_free(struct tg_template *t)
{
    if (!t)
        return;
    nodes_free(t->root);
    free(t);
}

/* ---- The parser: text and actions, then each action's words. */

struct parser {
    const char *src, *p;
    struct tg_errbuf *eb;
    int err;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *ps, const char *at,
                                                       const char *fmt, ...)
{
    if (ps->err)
        return ps->err;
    int line = 1, col = 1;
    for (const char *q = ps->src; q < at && *q; q++) {
        if (*q == '\n')
            line++, col = 1;
        else
            col++;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ps->err = tg_errbuf_set(ps->eb, TG_EPARSE, "template: %d:%d: %s", line, col, msg);
    return ps->err;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One action's body: [a, end) between "{{" (and its "- ") and "}}" (and " -"). */
struct words {
    const char *p, *end;
};

static void skip(struct words *w)
{
    while (w->p < w->end && is_space(*w->p))
        w->p++;
}

static struct pipe *parse_pipe(struct parser *ps, struct words *w, char close);

static bool known(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i]) == n && memcmp(funcs[i], name, n) == 0)
            return true;
    return false;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A quoted string: "..." with Go's escapes (\n \t \\ \" ...) or `raw`. */
static char *parse_string(struct parser *ps, struct words *w)
{
    char q = *w->p++;
    size_t cap = (size_t)(w->end - w->p) + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    while (w->p < w->end && *w->p != q) {
        char c = *w->p++;
        if (c == '\\' && q == '"' && w->p < w->end) {
            char e = *w->p++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        }
        out[n++] = c;
    }
    if (w->p >= w->end) {
        free(out);
        fail(ps, w->p, "unterminated quoted string");
        return NULL;
    }
    w->p++;
    out[n] = '\0';
    return out;
}

static int parse_arg(struct parser *ps, struct words *w, struct arg *a)
{
    const char *s = w->p;
    memset(a, 0, sizeof *a);
    if (*s == '"' || *s == '`') {
        a->kind = A_STR;
        return (a->str = parse_string(ps, w)) ? 0 : fail(ps, s, "bad string");
    }
    if (*s == '(') {
        w->p++;
        a->kind = A_PIPE;
        if (!(a->sub = parse_pipe(ps, w, ')')))
            return fail(ps, s, "bad parenthesised pipeline");
        if (w->p >= w->end || *w->p != ')')
            return fail(ps, s, "unclosed left paren");
        w->p++;
        return 0;
    }
    if (isdigit((unsigned char)*s) || ((*s == '-' || *s == '+' || *s == '.') && s + 1 < w->end &&
                                       (isdigit((unsigned char)s[1]) || s[1] == '.'))) {
        char *end;
        a->kind = A_NUM;
        a->num = strtod(s, &end);
        if (end == s || end > w->end)
            return fail(ps, s, "bad number");
        w->p = end;
        return 0;
    }
    const char *e = s;
    while (e < w->end && (isalnum((unsigned char)*e) || *e == '_' || *e == '$' || *e == '.'))
        e++;
    size_t n = (size_t)(e - s);
    if (n == 0)
        return fail(ps, s, "unexpected \"%c\" in command", *s);
    w->p = e;
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)
#define HAS(lit) (n > sizeof(lit) - 1 && memcmp(s, lit, sizeof(lit) - 1) == 0)
    if (IS("$value") || IS(".Value") || IS("$.Value"))
        a->kind = A_VALUE;
    else if (IS("$labels") || IS(".Labels"))
        a->kind = A_LABELS, a->str = dup_n("", 0);
    else if (HAS("$labels."))
        a->kind = A_LABELS, a->str = dup_n(s + 8, n - 8);
    else if (IS("$externalLabels"))
        a->kind = A_EXT, a->str = dup_n("", 0);
    else if (HAS("$externalLabels."))
        a->kind = A_EXT, a->str = dup_n(s + 16, n - 16);
    else if (IS("$externalURL"))
        a->kind = A_EXTURL;
    else if (IS(".") || IS("$"))
        a->kind = A_DOT;
    else if (known(s, n))
        a->kind = A_FUNC, a->str = dup_n(s, n);
    else if (*s == '$')
        return fail(ps, s, "undefined variable \"%.*s\"", (int)n, s);
    else
        return fail(ps, s, "function \"%.*s\" not defined", (int)n, s);
#undef IS
#undef HAS
    if ((a->kind == A_LABELS || a->kind == A_EXT || a->kind == A_FUNC) && !a->str)
        return fail(ps, s, "out of memory");
    return 0;
}

/* cmd ('|' cmd)* up to `close` ('\0': the end of the action). */
static struct pipe *parse_pipe(struct parser *ps, struct words *w, char close)
{
    struct pipe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    for (;;) {
        struct cmd *c = realloc(p->cmds, (p->ncmds + 1) * sizeof *c);
        if (!c)
            break;
        p->cmds = c;
        c = &p->cmds[p->ncmds++];
        memset(c, 0, sizeof *c);
        for (;;) {
            skip(w);
            if (w->p >= w->end || *w->p == '|' || (close && *w->p == close))
                break;
            struct arg *a = realloc(c->args, (c->nargs + 1) * sizeof *a);
            if (!a)
                break;
            c->args = a;
            if (parse_arg(ps, w, &c->args[c->nargs]) != 0) {
                c->nargs++;
                pipe_free(p);
                return NULL;
            }
            c->nargs++;
        }
        if (c->nargs == 0) {
            fail(ps, w->p, "missing value for command");
            pipe_free(p);
            return NULL;
        }
        if (c->nargs > 1 && c->args[0].kind != A_FUNC) {
            fail(ps, w->p, "can't give argument to non-function");
            pipe_free(p);
            return NULL;
        }
        if (w->p < w->end && *w->p == '|') {
            w->p++;
            continue;
        }
        return p;
    }
    fail(ps, w->p, "out of memory");
    pipe_free(p);
    return NULL;
}

/* The next action of the text: its words, and whether it trims before and after. */
struct action {
    const char *open, *after; /* "{{" and just past "}}" */
    struct words w;
    bool trim_left, trim_right;
};

static bool next_action(struct parser *ps, const char *from, struct action *a)
{
    const char *o = strstr(from, "{{");
    if (!o)
        return false;
    const char *c = strstr(o + 2, "}}");
    if (!c) {
        fail(ps, o, "unclosed action");
        return false;
    }
    a->open = o;
    a->after = c + 2;
    a->w.p = o + 2;
    a->w.end = c;
    a->trim_left = a->w.p + 1 < c && a->w.p[0] == '-' && is_space(a->w.p[1]);
    if (a->trim_left)
        a->w.p += 2;
    a->trim_right = a->w.end - 1 > a->w.p && a->w.end[-1] == '-' && is_space(a->w.end[-2]);
    if (a->trim_right)
        a->w.end -= 2;
    return true;
}

/* Whether the action's body starts with keyword `kw` (then a space or its end). */
static bool keyword(struct words *w, const char *kw)
{
    struct words t = *w;
    skip(&t);
    size_t n = strlen(kw);
    if ((size_t)(t.end - t.p) < n || memcmp(t.p, kw, n) != 0)
        return false;
    if (t.p + n < t.end && !is_space(t.p[n]))
        return false;
    w->p = t.p + n;
    return true;
}

enum stop { STOP_EOF, STOP_ELSE, STOP_ELSE_IF, STOP_END, STOP_ERR };

/* Parses nodes up to the end of the text or an {{else}}/{{end}} (returned in *stop,
 * with ps->p past it and, for "else if", the condition's words in *cond). */
static struct node *parse_list(struct parser *ps, enum stop *stop, struct words *cond)
{
    struct node *head = NULL, **tail = &head;
    bool trim_next = false;
    for (;;) {
        struct action a;
        bool more = next_action(ps, ps->p, &a);
        if (ps->err) {
            *stop = STOP_ERR;
            return head;
        }
        const char *text_end = more ? a.open : ps->p + strlen(ps->p);
        const char *ts = ps->p;
        if (trim_next)
            while (ts < text_end && is_space(*ts))
                ts++;
        const char *te = text_end;
        if (more && a.trim_left)
            while (te > ts && is_space(te[-1]))
                te--;
        if (te > ts) {
            struct node *n = calloc(1, sizeof *n);
            if (!n || !(n->text = dup_n(ts, (size_t)(te - ts)))) {
                free(n);
                fail(ps, ts, "out of memory");
                *stop = STOP_ERR;
                return head;
            }
            n->kind = N_TEXT;
            *tail = n;
            tail = &n->next;
        }
        if (!more) {
            ps->p = text_end;
            *stop = STOP_EOF;
            return head;
        }
        ps->p = a.after;
        trim_next = a.trim_right;
        struct words w = a.w;
        skip(&w);
        if (w.p + 1 < w.end && w.p[0] == '/' && w.p[1] == '*')
            continue; /* a comment */
        if (keyword(&w, "end")) {
            *stop = STOP_END;
            return head;
        }
        if (keyword(&w, "else")) {
            if (keyword(&w, "if")) {
                *cond = w;
                *stop = STOP_ELSE_IF;
            } else {
                *stop = STOP_ELSE;
            }
            return head;
        }
        struct node *n = calloc(1, sizeof *n);
        if (!n) {
            fail(ps, a.open, "out of memory");
            *stop = STOP_ERR;
            return head;
        }
        *tail = n;
        tail = &n->next;
        bool is_if = keyword(&w, "if");
        n->kind = is_if ? N_IF : N_ACTION;
        skip(&w);
        if (w.p >= w.end) {
            fail(ps, a.open, is_if ? "missing value for if" : "missing value for command");
            *stop = STOP_ERR;
            return head;
        }
        if (!(n->pipe = parse_pipe(ps, &w, '\0'))) {
            *stop = STOP_ERR;
            return head;
        }
        if (!is_if)
            continue;
        /* {{if}} list ({{else if}} list)* ({{else}} list)? {{end}} */
        struct node *branch = n;
        for (;;) {
            enum stop st;
            struct words c2;
            branch->then = parse_list(ps, &st, &c2);
            if (st == STOP_ERR) {
                *stop = STOP_ERR;
                return head;
            }
            if (st == STOP_EOF) {
                fail(ps, a.open, "unexpected EOF: missing {{end}} of {{if}}");
                *stop = STOP_ERR;
                return head;
            }
            if (st == STOP_END)
                break;
            if (st == STOP_ELSE) {
                branch->otherwise = parse_list(ps, &st, &c2);
                if (st != STOP_END) {
                    if (st != STOP_ERR)
                        fail(ps, ps->p, "expected {{end}} after {{else}}");
                    *stop = STOP_ERR;
                    return head;
                }
                break;
            }
            /* else if: a nested if as the whole else branch, sharing this {{end}} */
            struct node *nested = calloc(1, sizeof *nested);
            if (!nested || !(nested->pipe = parse_pipe(ps, &c2, '\0'))) {
                free(nested);
                if (!ps->err)
                    fail(ps, ps->p, "out of memory");
                *stop = STOP_ERR;
                return head;
            }
            nested->kind = N_IF;
            branch->otherwise = nested;
            branch = nested;
        }
    }
}

int tg_template_parse(const char *text, struct tg_template **out, struct tg_errbuf *eb)
{
    struct parser ps = {text, text, eb, 0};
    struct tg_template *t = calloc(1, sizeof *t);
    if (!t)
        return tg_errbuf_set(eb, -12, "out of memory");
    enum stop st;
    struct words cond;
    t->root = parse_list(&ps, &st, &cond);
    if (!ps.err && st != STOP_EOF)
        fail(&ps, ps.p, st == STOP_END ? "unexpected {{end}}" : "unexpected {{else}}");
    if (ps.err) {
        tg_template_free(t);
        return ps.err;
    }
    *out = t;
    return 0;
}

/* ---- Evaluation. */

enum vkind { V_NIL, V_NUM, V_STR, V_BOOL, V_MAP };

struct val {
    enum vkind kind;
    double num;
    bool b;
    char *str; /* V_STR: owned */
    const struct tg_labels *map;
};

struct out {
    char *buf;
    size_t len, cap;
    char err[256]; /* the first expansion error */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = (o->len + n + 1) * 2;
        char *b = realloc(o->buf, cap);
        if (!b)
            return;
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static struct val str_val(const char *s)
{
    return (struct val){.kind = V_STR, .str = strdup(s ? s : "")};
}

static void val_free(struct val *v)
{
    if (v->kind == V_STR)
        free(v->str);
    v->kind = V_NIL;
}

static const char *label_of(const struct tg_labels *ls, const char *name)
{
    return ls ? tg_notify__label(ls, name) : "";
}

static bool truth(const struct val *v)
{
    switch (v->kind) {
    case V_NUM:
        return v->num != 0;
    case V_STR:
        return v->str && v->str[0];
    case V_BOOL:
        return v->b;
    case V_MAP:
        return v->map && v->map->n;
    case V_NIL:
        break;
    }
    return false;
}

/* Prints `v` as Go's %v would. */
static char *text_of(const struct val *v, char *buf, size_t cap)
{
    switch (v->kind) {
    case V_NUM:
        return (char *)tg_template_go_float(v->num, buf, cap);
    case V_STR:
        snprintf(buf, cap, "%s", v->str);
        return buf;
    case V_BOOL:
        snprintf(buf, cap, "%s", v->b ? "true" : "false");
        return buf;
    case V_MAP: {
        size_t n = (size_t)snprintf(buf, cap, "map[");
        for (uint32_t i = 0; v->map && i < v->map->n && n < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s:%s", i ? " " : "", v->map->v[i].name,
                                  v->map->v[i].value);
        if (n < cap)
            snprintf(buf + n, cap - n, "]");
        return buf;
    }
    case V_NIL:
        break;
    }
    snprintf(buf, cap, "<no value>");
    return buf;
}

static bool to_num(const struct val *v, double *out)
{
    if (v->kind == V_NUM) {
        *out = v->num;
        return true;
    }
    if (v->kind == V_STR) {
        char *end;
        *out = strtod(v->str, &end);
        return end != v->str && *end == '\0';
    }
    return false;
}

static struct val eval_pipe(const struct pipe *p, const struct tg_template_data *d,
                            struct out *o);

static struct val eval_arg(const struct arg *a, const struct tg_template_data *d, struct out *o)
{
    switch (a->kind) {
    case A_NUM:
        return (struct val){.kind = V_NUM, .num = a->num};
    case A_STR:
        return str_val(a->str);
    case A_VALUE:
        return (struct val){.kind = V_NUM, .num = d->value};
    case A_LABELS:
        if (!a->str[0])
            return (struct val){.kind = V_MAP, .map = d->labels};
        return str_val(label_of(d->labels, a->str));
    case A_EXT:
        if (!a->str[0])
            return (struct val){.kind = V_MAP, .map = d->external_labels};
        return str_val(label_of(d->external_labels, a->str));
    case A_EXTURL:
        return str_val(d->external_url ? d->external_url : "");
    case A_PIPE:
        return eval_pipe(a->sub, d, o);
    case A_DOT:
    case A_FUNC:
        break;
    }
    return (struct val){.kind = V_NIL};
}

__attribute__((format(printf, 2, 3))) static void set_err(struct out *o, const char *fmt, ...)
{
    if (o->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, sizeof o->err, fmt, ap);
    va_end(ap);
}

/* The template's own format directive: do_printf builds `fmt` from '%', flags, width
 * and precision ("+-# 0123456789.") and one conversion it chose, so the argument
 * always matches it; output longer than `cap` is cut. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void fmt_number(char *out, size_t cap, const char *fmt, double v)
{
    snprintf(out, cap, fmt, v);
}

static void fmt_string(char *out, size_t cap, const char *fmt, const char *s)
{
    snprintf(out, cap, fmt, s);
}
#pragma GCC diagnostic pop

/* printf with Go's verbs for the kinds a template has: %v %s %q %d %f %e %g %x %%. */
static struct val do_printf(const struct val *v, size_t n, struct out *o)
{
    if (n == 0 || v[0].kind != V_STR) {
        set_err(o, "printf: the format must be a string");
        return (struct val){.kind = V_NIL};
    }
    struct out r = {0};
    size_t ai = 1;
    char tmp[512];
    for (const char *f = v[0].str; *f; f++) {
        if (*f != '%') {
            put(&r, f, 1);
            continue;
        }
        const char *spec = f++;
        while (*f && strchr("+-# 0123456789.", *f))
            f++;
        if (!*f)
            break;
        if (*f == '%') {
            put(&r, "%", 1);
            continue;
        }
        char fmt[32];
        size_t fl = (size_t)(f - spec) < sizeof fmt - 4 ? (size_t)(f - spec) : sizeof fmt - 4;
        memcpy(fmt, spec, fl);
        if (ai >= n) {
            snprintf(tmp, sizeof tmp, "%%!%c(MISSING)", *f);
            put(&r, tmp, strlen(tmp));
            continue;
        }
        const struct val *x = &v[ai++];
        double num;
        char vb[256];
        switch (*f) {
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G':
            if (!to_num(x, &num) || x->kind != V_NUM) {
                snprintf(tmp, sizeof tmp, "%%!%c(string=%s)", *f, text_of(x, vb, sizeof vb));
                break;
            }
            fmt[fl] = *f, fmt[fl + 1] = '\0';
            fmt_number(tmp, sizeof tmp, fmt, num);
            break;
        case 'd':
            if (x->kind == V_NUM)
                snprintf(tmp, sizeof tmp, "%%!d(float64=%s)", text_of(x, vb, sizeof vb));
            else
                snprintf(tmp, sizeof tmp, "%%!d(string=%s)", text_of(x, vb, sizeof vb));
            break;
        case 'q':
            snprintf(tmp, sizeof tmp, "\"%s\"", text_of(x, vb, sizeof vb));
            break;
        default: /* %v %s and anything else print the value */
            fmt[fl] = 's', fmt[fl + 1] = '\0';
            fmt_string(tmp, sizeof tmp, fmt, text_of(x, vb, sizeof vb));
            break;
        }
        put(&r, tmp, strlen(tmp));
    }
    struct val out = str_val(r.buf ? r.buf : "");
    free(r.buf);
    return out;
}

static struct val compare(const char *op, const struct val *v, size_t n, struct out *o)
{
    if (n < 2) {
        set_err(o, "%s: missing argument", op);
        return (struct val){.kind = V_NIL};
    }
    double a, b;
    int c;
    /* Numbers compare as numbers (a literal 100 and a value alike, where Go's templates
     * would refuse int against float); strings as strings; a mix is an error. */
    if (v[0].kind == V_NUM && v[1].kind == V_NUM && to_num(&v[0], &a) && to_num(&v[1], &b)) {
        c = a < b ? -1 : a > b;
    } else if (v[0].kind == V_STR && v[1].kind == V_STR) {
        c = strcmp(v[0].str, v[1].str);
    } else {
        set_err(o, "error calling %s: incompatible types for comparison", op);
        return (struct val){.kind = V_NIL};
    }
    bool r = strcmp(op, "eq") == 0   ? c == 0
             : strcmp(op, "ne") == 0 ? c != 0
             : strcmp(op, "lt") == 0 ? c < 0
             : strcmp(op, "le") == 0 ? c <= 0
             : strcmp(op, "gt") == 0 ? c > 0
                                     : c >= 0;
    return (struct val){.kind = V_BOOL, .b = r};
}

static struct val call(const char *f, struct val *v, size_t n, struct out *o)
{
    char buf[256];
    double x;
    if (strncmp(f, "humanize", 8) == 0) {
        if (n != 1 || !to_num(&v[0], &x)) {
            set_err(o, "error calling %s: expected a number", f);
            return (struct val){.kind = V_NIL};
        }
        if (strcmp(f, "humanize") == 0)
            return str_val(tg_template_humanize(x, buf, sizeof buf));
        if (strcmp(f, "humanize1024") == 0)
            return str_val(tg_template_humanize1024(x, buf, sizeof buf));
        if (strcmp(f, "humanizeDuration") == 0)
            return str_val(tg_template_humanize_duration(x, buf, sizeof buf));
        if (strcmp(f, "humanizePercentage") == 0)
            return str_val(tg_template_humanize_percentage(x, buf, sizeof buf));
        /* humanizeTimestamp: a Unix time in seconds as Go prints a UTC time.Time */
        if (isnan(x) || isinf(x))
            return str_val(tg_template_go_float(x, buf, sizeof buf));
        time_t s = (time_t)x;
        struct tm tm;
        gmtime_r(&s, &tm);
        char frac[16] = "";
        double fr = x - (double)s;
        if (fr > 0)
            snprintf(frac, sizeof frac, "%.9f", fr), memmove(frac, frac + 1, strlen(frac));
        for (size_t k = strlen(frac); k > 0 && frac[k - 1] == '0'; k--)
            frac[k - 1] = '\0';
        char t[64];
        strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf, sizeof buf, "%s%s +0000 UTC", t, strcmp(frac, ".") ? frac : "");
        return str_val(buf);
    }
    if (strcmp(f, "printf") == 0)
        return do_printf(v, n, o);
    if (strcmp(f, "toUpper") == 0 || strcmp(f, "toLower") == 0 || strcmp(f, "title") == 0) {
        if (n != 1 || v[0].kind != V_STR) {
            set_err(o, "error calling %s: expected a string", f);
            return (struct val){.kind = V_NIL};
        }
        struct val r = str_val(v[0].str);
        bool start = true;
        for (char *p = r.str; p && *p; p++) {
            if (f[0] == 't' && f[1] == 'o')
                *p = (char)(f[2] == 'U' ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
            else if (start && isalpha((unsigned char)*p))
                *p = (char)toupper((unsigned char)*p);
            start = !isalnum((unsigned char)*p);
        }
        return r;
    }
    if (strcmp(f, "index") == 0) {
        if (n != 2 || v[0].kind != V_MAP || v[1].kind != V_STR) {
            set_err(o, "error calling index: expected a map and a key");
            return (struct val){.kind = V_NIL};
        }
        return str_val(label_of(v[0].map, v[1].str));
    }
    if (strcmp(f, "len") == 0) {
        if (n != 1 || (v[0].kind != V_STR && v[0].kind != V_MAP)) {
            set_err(o, "error calling len: expected a string or a map");
            return (struct val){.kind = V_NIL};
        }
        double len = v[0].kind == V_STR ? (double)strlen(v[0].str)
                                        : (double)(v[0].map ? v[0].map->n : 0);
        return (struct val){.kind = V_NUM, .num = len};
    }
    if (strcmp(f, "not") == 0)
        return (struct val){.kind = V_BOOL, .b = n == 1 && !truth(&v[0])};
    if (strcmp(f, "and") == 0 || strcmp(f, "or") == 0) {
        /* The first falsy (and) or truthy (or) argument, else the last; moved out. */
        size_t k = 0;
        while (k + 1 < n && (f[0] == 'a' ? truth(&v[k]) : !truth(&v[k])))
            k++;
        struct val r = v[k];
        v[k].kind = V_NIL;
        return r;
    }
    return compare(f, v, n, o);
}

static struct val eval_cmd(const struct cmd *c, struct val *piped, const struct tg_template_data *d,
                           struct out *o)
{
    if (c->args[0].kind != A_FUNC) {
        if (piped && piped->kind != V_NIL) {
            set_err(o, "can't give argument to non-function");
            val_free(piped);
        }
        return eval_arg(&c->args[0], d, o);
    }
    size_t n = c->nargs - 1 + (piped ? 1 : 0);
    struct val v[16] = {0};
    if (n > 16)
        n = 16;
    size_t k = 0;
    for (size_t i = 1; i < c->nargs && k < 16; i++)
        v[k++] = eval_arg(&c->args[i], d, o);
    if (piped && k < 16) {
        v[k++] = *piped;
        piped->kind = V_NIL;
    }
    struct val r = call(c->args[0].str, v, k, o);
    for (size_t i = 0; i < k; i++)
        val_free(&v[i]);
    return r;
}

static struct val eval_pipe(const struct pipe *p, const struct tg_template_data *d,
                            struct out *o)
{
    struct val cur = {.kind = V_NIL};
    for (size_t i = 0; i < p->ncmds; i++) {
        struct val next = eval_cmd(&p->cmds[i], i ? &cur : NULL, d, o);
        val_free(&cur);
        cur = next;
    }
    return cur;
}

static void eval_nodes(const struct node *n, const struct tg_template_data *d, struct out *o)
{
    char buf[512];
    for (; n && !o->err[0]; n = n->next) {
        if (n->kind == N_TEXT) {
            put(o, n->text, strlen(n->text));
            continue;
        }
        struct val v = eval_pipe(n->pipe, d, o);
        if (n->kind == N_ACTION) {
            const char *t = text_of(&v, buf, sizeof buf);
            put(o, t, strlen(t));
        } else {
            eval_nodes(truth(&v) ? n->then : n->otherwise, d, o);
        }
        val_free(&v);
    }
}

char *tg_template_expand(const struct tg_template *t, const struct tg_template_data *d)
{
    struct out o = {0};
    put(&o, "", 0);
    eval_nodes(t->root, d, &o);
    if (o.err[0]) {
        /* Prometheus replaces the whole value with the error. */
        o.len = 0;
        char msg[320];
        snprintf(msg, sizeof msg, "<error expanding template: %s>", o.err);
        put(&o, msg, strlen(msg));
    }
    return o.buf;
}
