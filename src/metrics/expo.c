/* SPDX-License-Identifier: MIT */
/* The text exposition writer; see expo.h. */
#include "metrics/expo.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct tg_expo *e, size_t more)
{
    if (e->oom)
        return false;
    if (e->len + more <= e->cap)
        return true;
    size_t cap = e->cap ? e->cap : 4096;
    while (cap < e->len + more)
        cap *= 2;
    char *p = realloc(e->p, cap);
    if (!p) {
        e->oom = true;
        return false;
    }
    e->p = p;
    e->cap = cap;
    return true;
}

static void put(struct tg_expo *e, const char *s, size_t n)
{
    if (!reserve(e, n))
        return;
    memcpy(e->p + e->len, s, n);
    e->len += n;
}

static void puts_(struct tg_expo *e, const char *s)
{
    put(e, s, strlen(s));
}

static void put_escaped(struct tg_expo *e, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (!esc)
            continue;
        put(e, run, (size_t)(s - run));
        put(e, esc, 2);
        run = s + 1;
    }
    put(e, run, (size_t)(s - run));
}

/* Integers (counts, most of an exposition) skip printf and the read-back check: below
 * 2^53 a double holds them exactly and %.15g prints them digit for digit up to 1e15. */
static size_t integer(char *buf, double v)
{
    uint64_t u = (uint64_t)(v < 0 ? -v : v);
    char tmp[24];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return k;
}

size_t tg_expo_number(char *buf, size_t cap, double v)
{
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v && !(v == 0 && signbit(v)))
        return integer(buf, v);
    if (isnan(v) || isinf(v))
        return (size_t)snprintf(buf, cap, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
    int n = snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        n = snprintf(buf, cap, "%.17g", v);
    return (size_t)n;
}

static void put_number(struct tg_expo *e, double v)
{
    char num[40];
    put(e, num, tg_expo_number(num, sizeof num, v));
}

/* The label pairs of a series, escaped, without braces: "a=\"x\",b=\"y\"". */
static void put_labels(struct tg_expo *e, const struct tg_mlabels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            put(e, ",", 1);
        puts_(e, l->names[i]);
        put(e, "=\"", 2);
        put_escaped(e, l->values[i]);
        put(e, "\"", 1);
    }
}

/* One sample line: name, suffix, the labels already written at p[lab..lab+lab_len), `le`
 * when not NULL, the value. */
static void line(struct tg_expo *e, const char *suffix, size_t lab, size_t lab_len, const char *le,
                 double v)
{
    put(e, e->name, e->name_len);
    puts_(e, suffix);
    if (lab_len || le)
        put(e, "{", 1);
    if (lab_len && reserve(e, lab_len)) {
        memcpy(e->p + e->len, e->p + lab, lab_len);
        e->len += lab_len;
    }
    if (le) {
        puts_(e, lab_len ? ",le=\"" : "le=\"");
        puts_(e, le);
        put(e, "\"", 1);
    }
    if (lab_len || le)
        put(e, "}", 1);
    put(e, " ", 1);
    put_number(e, v);
    put(e, "\n", 1);
}

/* Writes the series' labels once at the end of the buffer (they are copied into each of
 * its lines, so a histogram escapes them once), then its lines; the labels are dropped. */
struct series {
    size_t lab, lab_len;
};

static struct series series_begin(struct tg_expo *e, const struct tg_mlabels *l)
{
    struct series s = {e->len, 0};
    put_labels(e, l);
    s.lab_len = e->oom ? 0 : e->len - s.lab;
    return s;
}

static void series_end(struct tg_expo *e, struct series s)
{
    if (e->oom)
        return;
    /* the lines were written after the labels: move them down over them */
    memmove(e->p + s.lab, e->p + s.lab + s.lab_len, e->len - s.lab - s.lab_len);
    e->len -= s.lab_len;
}

static void on_family(void *ctx, const struct tg_mfamily *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    struct tg_expo *e = ctx;
    size_t n = strlen(f->name);
    if (n > TG_EXPO_NAME_MAX) {
        e->bad = true;
        n = TG_EXPO_NAME_MAX;
    }
    memcpy(e->name, f->name, n);
    e->name[n] = '\0';
    e->name_len = n;
    puts_(e, "# HELP ");
    puts_(e, e->name);
    put(e, " ", 1);
    puts_(e, f->help);
    puts_(e, "\n# TYPE ");
    puts_(e, e->name);
    put(e, " ", 1);
    puts_(e, types[f->type]);
    put(e, "\n", 1);
}

static void on_value(void *ctx, const struct tg_mlabels *l, double v)
{
    struct tg_expo *e = ctx;
    struct series s = series_begin(e, l);
    line(e, "", s.lab, s.lab_len, NULL, v);
    series_end(e, s);
}

static void on_hist(void *ctx, const struct tg_mlabels *l, const struct tg_mhist *h)
{
    struct tg_expo *e = ctx;
    char le[40];
    struct series s = series_begin(e, l);
    for (size_t i = 0; i < h->n; i++) {
        le[tg_expo_number(le, sizeof le, h->le[i])] = '\0';
        line(e, "_bucket", s.lab, s.lab_len, le, (double)h->cum[i]);
    }
    line(e, "_bucket", s.lab, s.lab_len, "+Inf", (double)h->count);
    line(e, "_sum", s.lab, s.lab_len, NULL, h->sum);
    line(e, "_count", s.lab, s.lab_len, NULL, (double)h->count);
    series_end(e, s);
}

static bool on_full(void *ctx)
{
    const struct tg_expo *e = ctx;
    return e->flush_bytes && e->len >= e->flush_bytes;
}

void tg_expo_init(struct tg_expo *e, size_t flush_bytes)
{
    *e = (struct tg_expo){.flush_bytes = flush_bytes};
}

void tg_expo_deinit(struct tg_expo *e)
{
    if (!e)
        return;
    free(e->p);
    e->p = NULL;
    e->len = e->cap = 0;
}

struct tg_mvisitor tg_expo_visitor(struct tg_expo *e)
{
    return (struct tg_mvisitor){on_family, on_value, on_hist, on_full, e};
}

void tg_expo_reset(struct tg_expo *e)
{
    e->len = 0;
}

char *tg_expo_take(struct tg_expo *e, size_t *len)
{
    char *p = e->p;
    *len = e->len;
    e->p = NULL;
    e->len = e->cap = 0;
    return p;
}
