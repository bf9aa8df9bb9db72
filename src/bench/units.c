/* SPDX-License-Identifier: MIT */
/* Units of the load generator's command line and reports (see units_int.h). Parsing is
 * strict: any trailing garbage, a missing number or an unknown unit is TG_EPARSE, so a typo
 * becomes a usage error instead of a silently different test. */
#include "bench/units_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define MAX_DURATION_US (INT64_C(10) * 365 * 24 * 3600 * 1000000)

/* Microseconds per unit at the start of `s`, setting *len to the unit's length; 0 when
 * `s` does not start with a known unit. "ms" is tried before "m". */
static double unit_us(const char *s, size_t *len)
{
    static const struct {
        const char *name;
        double us;
    } units[] = {{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].name);
        if (strncmp(s, units[i].name, n) == 0) {
            *len = n;
            return units[i].us;
        }
    }
    return 0;
}

int tg_bench__parse_duration(const char *s, int64_t *out_us)
{
    if (!s || !*s)
        return TG_EPARSE;
    double total = 0;
    const char *p = s;
    bool bare = true;
    while (*p) {
        if (!(*p >= '0' && *p <= '9') && *p != '.')
            return TG_EPARSE;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0)
            return TG_EPARSE;
        p = end;
        size_t ulen = 0;
        double mult = unit_us(p, &ulen);
        if (mult == 0) {
            /* A bare number is seconds, but only on its own ("10", not "1m30"). */
            if (*p || !bare)
                return TG_EPARSE;
            mult = 1e6;
        }
        bare = false;
        p += ulen;
        total += v * mult;
        if (total > (double)MAX_DURATION_US)
            return TG_EPARSE;
    }
    *out_us = (int64_t)llround(total);
    return 0;
}

int tg_bench__parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !(*s >= '0' && *s <= '9'))
        return TG_EPARSE;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return TG_EPARSE;
    *out = v;
    return 0;
}

int tg_bench__parse_rate(const char *s, double max, double *out)
{
    if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
        return TG_EPARSE;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno)
        return TG_EPARSE;
    if (*end == 'k' || *end == 'M') {
        v *= *end == 'k' ? 1e3 : 1e6;
        end++;
    }
    if (*end || !isfinite(v) || !(v > 0) || v > max)
        return TG_EPARSE;
    *out = v;
    return 0;
}

size_t tg_bench__fmt_count(char *dst, size_t cap, uint64_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    char out[48];
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
    int w = snprintf(dst, cap, "%s", out);
    return w < 0 ? 0 : (size_t)w;
}

size_t tg_bench__fmt_rate(char *dst, size_t cap, double rps)
{
    if (rps < 100) {
        int w = snprintf(dst, cap, "%.1f", rps < 0 ? 0 : rps);
        return w < 0 ? 0 : (size_t)w;
    }
    return tg_bench__fmt_count(dst, cap, (uint64_t)llround(rps));
}

size_t tg_bench__fmt_ms(char *dst, size_t cap, int64_t us)
{
    double ms = (double)us / 1000.0;
    int w;
    if (us < 10000)
        w = snprintf(dst, cap, "%.3f", ms);
    else if (us < 100000)
        w = snprintf(dst, cap, "%.2f", ms);
    else if (us < 1000000)
        w = snprintf(dst, cap, "%.1f", ms);
    else
        return tg_bench__fmt_count(dst, cap, (uint64_t)llround(ms));
    return w < 0 ? 0 : (size_t)w;
}

size_t tg_bench__fmt_latency(char *dst, size_t cap, int64_t us)
{
    int w;
    if (us < 1000)
        w = snprintf(dst, cap, "%" PRId64 " us", us < 0 ? 0 : us);
    else if (us < 10000)
        w = snprintf(dst, cap, "%.2f ms", (double)us / 1e3);
    else if (us < 100000)
        w = snprintf(dst, cap, "%.1f ms", (double)us / 1e3);
    else if (us < 1000000)
        w = snprintf(dst, cap, "%.0f ms", (double)us / 1e3);
    else
        w = snprintf(dst, cap, "%.2f s", (double)us / 1e6);
    return w < 0 ? 0 : (size_t)w;
}

size_t tg_bench__fmt_bytes(char *dst, size_t cap, uint64_t n)
{
    static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
    int w;
    if (n < 1000) {
        w = snprintf(dst, cap, "%" PRIu64 " B", n);
    } else {
        double v = (double)n / 1000.0;
        size_t u = 0;
        while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
            v /= 1000;
            u++;
        }
        w = snprintf(dst, cap, "%.1f %s", v, units[u]);
    }
    return w < 0 ? 0 : (size_t)w;
}

size_t tg_bench__fmt_duration(char *dst, size_t cap, int64_t us)
{
    int w;
    if (us % 1000000 != 0 || us == 0) {
        if (us % 1000 == 0 && us < 60000000)
            w = snprintf(dst, cap, "%" PRId64 "ms", us / 1000);
        else
            w = snprintf(dst, cap, "%.3fs", (double)us / 1e6);
        return w < 0 ? 0 : (size_t)w;
    }
    int64_t s = us / 1000000, h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
    size_t o = 0;
    char buf[64];
    if (h)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%" PRId64 "h", h);
    if (m)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%" PRId64 "m", m);
    if (sec || o == 0)
        snprintf(buf + o, sizeof buf - o, "%" PRId64 "s", sec);
    w = snprintf(dst, cap, "%s", buf);
    return w < 0 ? 0 : (size_t)w;
}
