/* SPDX-License-Identifier: MIT */
/* Growable text buffer; see text.h. */
#include "admin/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct tg_text *t, size_t more)
{
    if (t->oom)
        return false;
    if (t->len + more + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
        t->oom = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

void tg_text_put(struct tg_text *t, const char *s, size_t n)
{
    if (!reserve(t, n))
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

void tg_text_printf(struct tg_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[512];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        tg_text_put(t, small, (size_t)n);
        return;
    }
    if (!reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void tg_text_label_value(struct tg_text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            tg_text_put(t, "\\\\", 2);
        else if (*s == '"')
            tg_text_put(t, "\\\"", 2);
        else if (*s == '\n')
            tg_text_put(t, "\\n", 2);
        else
            tg_text_put(t, s, 1);
    }
}

char *tg_text_take(struct tg_text *t, size_t *len)
{
    char *p = t->p;
    *len = t->len;
    t->p = NULL;
    t->len = t->cap = 0;
    return p;
}

void tg_text_free(struct tg_text *t)
{
    free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

void tg_text_family(struct tg_text *t, const char *name, const char *type, const char *help)
{
    tg_text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
