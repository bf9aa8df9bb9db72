/* SPDX-License-Identifier: MIT */
/* The Prometheus API's JSON writer; see promapi_json.h. jansson is not used here: it
 * writes reals with "%.17g" and does not escape as Go does, and every query answer is
 * mostly numbers that must come out exactly as Prometheus prints them. */
#include "admin/promapi_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(struct tg_admin_jw *w, size_t more)
{
    if (w->oom)
        return false;
    if (w->n + more + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->n + more + 1)
        cap *= 2;
    char *p = realloc(w->p, cap);
    if (!p) {
        w->oom = true;
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

void tg_admin_jw_raw(struct tg_admin_jw *w, const char *s, size_t n)
{
    if (!grow(w, n))
        return;
    memcpy(w->p + w->n, s, n);
    w->n += n;
    w->p[w->n] = '\0';
}

void tg_admin_jw_lit(struct tg_admin_jw *w, const char *s)
{
    tg_admin_jw_raw(w, s, strlen(s));
}

size_t tg_admin_utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    size_t k = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return k;
}

void tg_admin_jw_str(struct tg_admin_jw *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    tg_admin_jw_raw(w, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        const char *rep = NULL;
        char hex[8];
        size_t adv = 1;
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                i++;
                continue;
            }
            if (c == '"' || c == '\\') {
                snprintf(hex, sizeof hex, "\\%c", c);
            } else if (c == '\n' || c == '\r' || c == '\t') {
                snprintf(hex, sizeof hex, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
            } else {
                snprintf(hex, sizeof hex, "\\u00%02x", c);
            }
            rep = hex;
        } else {
            size_t k = tg_admin_utf8_len(u + i, n - i);
            if (k == 3 && u[i] == 0xe2 && u[i + 1] == 0x80 &&
                (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
                rep = u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
                adv = 3;
            } else if (k == 0) {
                rep = "\\ufffd";
            } else {
                i += k;
                continue;
            }
        }
        tg_admin_jw_raw(w, s + start, i - start);
        tg_admin_jw_lit(w, rep);
        i += adv;
        start = i;
    }
    tg_admin_jw_raw(w, s + start, n - start);
    tg_admin_jw_raw(w, "\"", 1);
}

void tg_admin_jw_cstr(struct tg_admin_jw *w, const char *s)
{
    tg_admin_jw_str(w, s, strlen(s));
}

void tg_admin_jw_int(struct tg_admin_jw *w, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);
    tg_admin_jw_raw(w, b, (size_t)n);
}

/* Whether `v` printed with `p` digits after the first reads back as `v`; the text to `b`. */
static bool round_trips(double v, int p, char *b, size_t cap)
{
    snprintf(b, cap, "%.*e", p, v);
    return strtod(b, NULL) == v;
}

/* The shortest digits that read back as |v|, and the decimal exponent of the first: the
 * least `p` for which "%.*e" round-trips (p = 16, 17 digits, always does). A range
 * query's answer has ~100,000 values and one try costs a printf and a strtod: trying
 * every p from 0 cost ~0.6 s per answer. Round-tripping is monotone in p (the p + 1 digit
 * rounding is at least as close to `v` as the p digit one, and `v`'s rounding interval is
 * symmetric, so whatever reads back at p also reads back at p + 1), so the least p is
 * found with few tries: p = 14 first, since a computed value needs 16 or 17 digits (then
 * one more try settles it) and a short one (a count, a bucket bound) needs far fewer (then
 * a bisection below 14). The one exception to monotony is a power of two, whose interval
 * is narrower below than above: for those (mantissa bits all zero) every p is tried in
 * turn. */
static void shortest(double v, char *digits, int *nd, int *exp10)
{
    char b[40], best[40];
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if ((bits & ((UINT64_C(1) << 52) - 1)) == 0) {
        for (int p = 0; p <= 17; p++)
            if (round_trips(v, p, best, sizeof best))
                break;
    } else if (!round_trips(v, 14, best, sizeof best)) {
        if (!round_trips(v, 15, best, sizeof best))
            round_trips(v, 16, best, sizeof best);
    } else {
        int lo = 0, hi = 14; /* the least p is in [lo, hi]; hi round-trips */
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (round_trips(v, mid, b, sizeof b)) {
                hi = mid;
                memcpy(best, b, sizeof best);
            } else {
                lo = mid + 1;
            }
        }
    }
    /* best is "d.ddde+XX" (or "de+XX" for p = 0). */
    int n = 0;
    const char *s = best;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    *nd = n;
    *exp10 = atoi(s + 1);
}

size_t tg_admin_fmt_float(double v, char fmt, char *buf, size_t cap)
{
    int n;
    if (isnan(v))
        n = snprintf(buf, cap, "NaN");
    else if (isinf(v))
        n = snprintf(buf, cap, "%sInf", v > 0 ? "+" : "-");
    else {
        char d[24];
        int nd, e;
        const char *sign = signbit(v) ? "-" : "";
        if (v == 0) {
            d[0] = '0';
            nd = 1;
            e = 0;
        } else {
            shortest(fabs(v), d, &nd, &e);
        }
        if (fmt == 'e') {
            n = snprintf(buf, cap, "%s%c%s%.*se%c%02d", sign, d[0], nd > 1 ? "." : "", nd - 1,
                         d + 1, e < 0 ? '-' : '+', e < 0 ? -e : e);
        } else if (e >= nd - 1) {
            n = snprintf(buf, cap, "%s%.*s%0*d", sign, nd, d, e - (nd - 1), 0);
            if (e - (nd - 1) == 0) /* "%0*d" with width 0 still prints one zero */
                n = snprintf(buf, cap, "%s%.*s", sign, nd, d);
        } else if (e >= 0) {
            n = snprintf(buf, cap, "%s%.*s.%.*s", sign, e + 1, d, nd - e - 1, d + e + 1);
        } else {
            n = snprintf(buf, cap, "%s0.%0*d%.*s", sign, -e - 1, 0, nd, d);
            if (-e - 1 == 0)
                n = snprintf(buf, cap, "%s0.%.*s", sign, nd, d);
        }
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static bool e_form(double v)
{
    double a = fabs(v);
    return a != 0 && (a < 1e-6 || a >= 1e21);
}

void tg_admin_jw_value(struct tg_admin_jw *w, double v)
{
    char b[48];
    size_t n = tg_admin_fmt_float(v, e_form(v) ? 'e' : 'f', b, sizeof b);
    tg_admin_jw_raw(w, "\"", 1);
    tg_admin_jw_raw(w, b, n);
    tg_admin_jw_raw(w, "\"", 1);
}

void tg_admin_jw_num(struct tg_admin_jw *w, double v)
{
    char b[48];
    if (!isfinite(v))
        v = 0; /* encoding/json refuses these; never written by callers */
    size_t n = tg_admin_fmt_float(v, e_form(v) ? 'e' : 'f', b, sizeof b);
    /* encoding/json shortens a negative two-digit exponent: 1e-07 -> 1e-7. */
    if (n >= 4 && b[n - 4] == 'e' && b[n - 3] == '-' && b[n - 2] == '0') {
        b[n - 2] = b[n - 1];
        n--;
    }
    tg_admin_jw_raw(w, b, n);
}

void tg_admin_jw_ts(struct tg_admin_jw *w, int64_t ms)
{
    char b[32];
    uint64_t u = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
    int n;
    if (u % 1000)
        n = snprintf(b, sizeof b, "%s%" PRIu64 ".%03u", ms < 0 ? "-" : "", u / 1000,
                     (unsigned)(u % 1000));
    else
        n = snprintf(b, sizeof b, "%s%" PRIu64, ms < 0 ? "-" : "", u / 1000);
    tg_admin_jw_raw(w, b, (size_t)n);
}

void tg_admin_jw_free(struct tg_admin_jw *w)
{
    free(w->p);
    memset(w, 0, sizeof *w);
}
