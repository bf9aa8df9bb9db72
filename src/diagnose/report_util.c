/* SPDX-License-Identifier: MIT */
/* The report's readers of the incident object (members that may be missing, null or of
 * the wrong type: the incident is partly user input), its time and duration formats,
 * and the series statistics the Markdown chart table shows. */
#include "diagnose/report_int.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool tg_report_parse_time(const char *s, int64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return false;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int h = atoi(p + 1), m = atoi(p + 4);
        offset_s = (int64_t)(h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *ms = ((int64_t)t - offset_s) * 1000 + frac_ms;
    return true;
}

const char *tg_report__str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

double tg_report__num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

bool tg_report__time(const json_t *obj, const char *key, int64_t *ms)
{
    return tg_report_parse_time(tg_report__str(obj, key), ms);
}

void tg_report__duration(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0)
        ms = 0;
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, cap, "%.1f s", (double)ms / 1000);
    else if (s < 3600)
        snprintf(buf, cap, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, cap, "%lldh %02lldm %02llds", (long long)(s / 3600),
                 (long long)(s / 60 % 60), (long long)(s % 60));
}

void tg_report__clock(int64_t ms, bool seconds, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "?");
        return;
    }
    strftime(buf, cap, seconds ? "%H:%M:%S" : "%H:%M", &tm);
}

void tg_report__iso(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[24];
    if (!gmtime_r(&t, &tm) || strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, "%s.%03dZ", s, (int)(ms % 1000));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int tg_report__stats(const struct tg_report_input *in, int which, double *min, double *med,
                     double *max)
{
    if (in->npoints == 0)
        return 0;
    double *v = malloc(in->npoints * sizeof *v);
    if (!v)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < in->npoints; i++) {
        double x = which == 0 ? in->points[i].p95_ms : in->points[i].p99_ms;
        if (isfinite(x))
            v[n++] = x;
    }
    if (n > 0) {
        qsort(v, n, sizeof *v, cmp_double);
        *min = v[0];
        *max = v[n - 1];
        *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    free(v);
    return n > INT32_MAX ? INT32_MAX : (int)n;
}
