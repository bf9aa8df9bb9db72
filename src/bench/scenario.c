/* SPDX-License-Identifier: MIT */
/* Scenario files and request targets (see scenario_int.h). The format is line-based so a
 * runbook's "80 % GET /api/products, 20 % POST /api/content/generate" can be written down
 * as it is said; anything richer (think times, flows) belongs in a real scripting tool. */
#include "bench/scenario_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *next_token(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return NULL;
    char *t = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = 0;
    *p = s;
    return t;
}

static int line_err(struct tg_errbuf *eb, uint32_t line, const char *msg)
{
    tg_errbuf_set(eb, TG_EPARSE, "scenario line %u: %s", line, msg);
    if (eb)
        eb->line = (int)line;
    return TG_EPARSE;
}

static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || strchr("!#$%&'*+-.^_`|~", s[i])))
            return false;
    return true;
}

/* An indented "Name: value" line: validated and trimmed in place. */
static int add_header(struct tg_bench_reqspec *r, char *line, uint32_t no, struct tg_errbuf *eb)
{
    while (*line == ' ' || *line == '\t')
        line++;
    char *end = line + strlen(line);
    while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = 0;
    char *colon = strchr(line, ':');
    if (!colon || !is_token(line, (size_t)(colon - line)))
        return line_err(eb, no, "an indented line must be a header 'Name: value'");
    if (r->nheaders == TG_BENCH_HEADERS_MAX)
        return line_err(eb, no, "too many headers for one request");
    r->headers[r->nheaders++] = line;
    return 0;
}

int tg_bench__parse_scenario(char *text, struct tg_bench_reqspec *out, uint32_t cap, uint32_t *n,
                             struct tg_errbuf *eb)
{
    *n = 0;
    uint32_t no = 0;
    char *p = text;
    while (*p) {
        char *line = p;
        char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
        if (nl)
            *nl = 0;
        no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = 0;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)line[i] < ' ' && line[i] != '\t')
                return line_err(eb, no, "control character");
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        if (s != line) {
            if (*n == 0)
                return line_err(eb, no, "indented header line before any request");
            if (add_header(&out[*n - 1], line, no, eb) < 0)
                return TG_EPARSE;
            continue;
        }
        if (*n == cap)
            return line_err(eb, no, "too many requests");
        struct tg_bench_reqspec *r = &out[*n];
        memset(r, 0, sizeof *r);
        r->line = no;
        r->weight = 1;
        char *tok = next_token(&s);
        if (isdigit((unsigned char)tok[0])) {
            char *e;
            unsigned long w = strtoul(tok, &e, 10);
            if (*e || w < 1 || w > TG_BENCH_WEIGHT_MAX)
                return line_err(eb, no, "the weight must be an integer from 1 to 1000000");
            r->weight = (uint32_t)w;
            tok = next_token(&s);
        }
        if (!tok || !is_token(tok, strlen(tok)))
            return line_err(eb, no, "expected '[weight] METHOD TARGET [@body-file]'");
        r->method = tok;
        r->target = next_token(&s);
        if (!r->target)
            return line_err(eb, no, "missing target (a path such as /api/products or a URL)");
        if ((tok = next_token(&s))) {
            if (tok[0] != '@' || !tok[1])
                return line_err(eb, no, "after the target only '@body-file' may follow");
            r->body_file = tok + 1;
        }
        if (next_token(&s))
            return line_err(eb, no, "unexpected text after the body file");
        (*n)++;
    }
    if (*n == 0)
        return tg_errbuf_set(eb, TG_EPARSE, "scenario: no requests in the file");
    return 0;
}

int tg_bench__resolve_target(struct tg_bench_reqspec *spec, const struct tg_bench_url *base,
                             struct tg_errbuf *eb)
{
    if (spec->target[0] == '/') {
        if (!base)
            return tg_errbuf_set(eb, TG_EPARSE, "'%s' is a path, but no base URL was given",
                                 spec->target);
        spec->url = *base;
        spec->url.path = spec->target;
        for (const char *c = spec->target; *c; c++)
            if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '#')
                return tg_errbuf_set(eb, TG_EPARSE, "'%s': bad character in the path",
                                     spec->target);
        return 0;
    }
    return tg_bench__parse_url(spec->target, &spec->url, eb);
}

int tg_bench__load_file(const char *path, char **out, size_t *len, struct tg_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return tg_errbuf_set(eb, -errno, "cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= TG_BENCH_FILE_MAX + 1) {
                rc = tg_errbuf_set(eb, TG_ELIMIT, "'%s' is larger than %u MiB", path,
                                   TG_BENCH_FILE_MAX >> 20);
                break;
            }
            cap = cap ? cap * 2 : 4096;
            if (cap > TG_BENCH_FILE_MAX + 1)
                cap = TG_BENCH_FILE_MAX + 1;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = tg_errbuf_set(eb, -ENOMEM, "out of memory reading '%s'", path);
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - 1 - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f))
                rc = tg_errbuf_set(eb, -EIO, "cannot read '%s'", path);
            break;
        }
    }
    fclose(f);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    if (!buf && !(buf = malloc(1)))
        return tg_errbuf_set(eb, -ENOMEM, "out of memory reading '%s'", path);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}
