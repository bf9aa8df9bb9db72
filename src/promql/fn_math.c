/* SPDX-License-Identifier: MIT */
/* Elementwise math and calendar functions, looked up by their PromQL names. The calendar
 * functions read a Unix time in seconds as UTC, truncating the fraction as Prometheus
 * does (time.Unix(int64(v), 0)). */
#include "promql/fn.h"

#include <math.h>
#include <string.h>
#include <time.h>

static double f_abs(double v) { return fabs(v); }
static double f_ceil(double v) { return ceil(v); }
static double f_floor(double v) { return floor(v); }
static double f_exp(double v) { return exp(v); }
static double f_sqrt(double v) { return sqrt(v); }
static double f_ln(double v) { return log(v); }
static double f_log2(double v) { return log2(v); }
static double f_log10(double v) { return log10(v); }
static double f_sin(double v) { return sin(v); }
static double f_cos(double v) { return cos(v); }
static double f_tan(double v) { return tan(v); }
static double f_asin(double v) { return asin(v); }
static double f_acos(double v) { return acos(v); }
static double f_atan(double v) { return atan(v); }
static double f_sinh(double v) { return sinh(v); }
static double f_cosh(double v) { return cosh(v); }
static double f_tanh(double v) { return tanh(v); }
static double f_asinh(double v) { return asinh(v); }
static double f_acosh(double v) { return acosh(v); }
static double f_atanh(double v) { return atanh(v); }
static double f_deg(double v) { return v * 180 / M_PI; }
static double f_rad(double v) { return v * M_PI / 180; }

static double f_sgn(double v)
{
    if (v < 0)
        return -1;
    if (v > 0)
        return 1;
    return v; /* 0, -0 and NaN stay as they are */
}

struct named_fn {
    const char *name;
    tg_promql_math_fn *fn;
};

static const struct named_fn math_fns[] = {
    {"abs", f_abs},     {"ceil", f_ceil},   {"floor", f_floor}, {"exp", f_exp},
    {"sqrt", f_sqrt},   {"ln", f_ln},       {"log2", f_log2},   {"log10", f_log10},
    {"sin", f_sin},     {"cos", f_cos},     {"tan", f_tan},     {"asin", f_asin},
    {"acos", f_acos},   {"atan", f_atan},   {"sinh", f_sinh},   {"cosh", f_cosh},
    {"tanh", f_tanh},   {"asinh", f_asinh}, {"acosh", f_acosh}, {"atanh", f_atanh},
    {"deg", f_deg},     {"rad", f_rad},     {"sgn", f_sgn},
};

static struct tm utc(double v)
{
    time_t t = (time_t)(int64_t)v;
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static double d_minute(double v) { return utc(v).tm_min; }
static double d_hour(double v) { return utc(v).tm_hour; }
static double d_dow(double v) { return utc(v).tm_wday; }
static double d_dom(double v) { return utc(v).tm_mday; }
static double d_doy(double v) { return utc(v).tm_yday + 1; }
static double d_month(double v) { return utc(v).tm_mon + 1; }
static double d_year(double v) { return utc(v).tm_year + 1900; }

static double d_days_in_month(double v)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm = utc(v);
    int y = tm.tm_year + 1900;
    return days[tm.tm_mon] + (tm.tm_mon == 1 && leap(y));
}

static const struct named_fn date_fns[] = {
    {"minute", d_minute},         {"hour", d_hour},   {"day_of_week", d_dow},
    {"day_of_month", d_dom},      {"day_of_year", d_doy}, {"month", d_month},
    {"year", d_year},             {"days_in_month", d_days_in_month},
};

static tg_promql_math_fn *lookup(const struct named_fn *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].fn;
    return NULL;
}

tg_promql_math_fn *tg_promql_math_lookup(const char *name)
{
    return lookup(math_fns, sizeof math_fns / sizeof *math_fns, name);
}

tg_promql_math_fn *tg_promql_date_lookup(const char *name)
{
    return lookup(date_fns, sizeof date_fns / sizeof *date_fns, name);
}
