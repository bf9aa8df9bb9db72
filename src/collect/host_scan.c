/* SPDX-License-Identifier: MIT */
/* The scanner under every /proc parser of the host collector (host_int.h): lines,
 * blank-separated fields, strict numbers. /proc files are short lines of names and
 * decimal numbers, so a few functions over pointer+length slices do the job without a
 * copy or an allocation; anything unexpected fails the number, and the caller skips
 * the line. */
#include "collect/host_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool tg_chost__line(const char **p, const char *end, struct tg_chost__field *line)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    *line = (struct tg_chost__field){*p, (size_t)(stop - *p)};
    *p = nl ? nl + 1 : end;
    return true;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

size_t tg_chost__fields(struct tg_chost__field line, struct tg_chost__field *f, size_t max)
{
    size_t k = 0, i = 0;
    while (i < line.n) {
        while (i < line.n && blank(line.p[i]))
            i++;
        if (i == line.n)
            break;
        size_t start = i;
        while (i < line.n && !blank(line.p[i]))
            i++;
        if (k < max)
            f[k] = (struct tg_chost__field){line.p + start, i - start};
        k++;
    }
    return k;
}

bool tg_chost__u64(struct tg_chost__field f, uint64_t *out)
{
    if (f.n == 0 || f.n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < f.n; i++) {
        unsigned d = (unsigned char)f.p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool tg_chost__num(struct tg_chost__field f, double *out)
{
    char buf[64];
    if (f.n == 0 || f.n >= sizeof buf)
        return false;
    /* strtod alone would take "inf", "nan", hex and leading blanks: allow only what the
     * kernel prints. */
    for (size_t i = 0; i < f.n; i++)
        if (!(f.p[i] >= '0' && f.p[i] <= '9') && f.p[i] != '.' && !(i == 0 && f.p[i] == '-'))
            return false;
    memcpy(buf, f.p, f.n);
    buf[f.n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + f.n || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool tg_chost__str(struct tg_chost__field f, char *buf, size_t cap)
{
    if (f.n == 0 || f.n >= cap || memchr(f.p, '\0', f.n))
        return false;
    memcpy(buf, f.p, f.n);
    buf[f.n] = '\0';
    return true;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

bool tg_chost__first(struct tg_chost__seen *seen, const char *a, const char *b)
{
    uint64_t h = fnv(14695981039346656037ull, a);
    if (b)
        h = fnv(h * 1099511628211ull, b); /* the separator keeps ("ab","c") from ("a","bc") */
    for (size_t i = 0; i < seen->n; i++)
        if (seen->h[i] == h)
            return false;
    if (seen->n == TG_CHOST_SEEN_MAX)
        return false;
    seen->h[seen->n++] = h;
    return true;
}
