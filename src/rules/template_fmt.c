/* SPDX-License-Identifier: MIT */
/* How template values print (see template.h): Go's %v of a float64 and Prometheus's
 * humanize functions, with the algorithms of prometheus-compat.md §c.4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template.h"

const char *tg_template_go_float(double v, char *buf, size_t cap)
{
    if (isnan(v))
        return snprintf(buf, cap, "NaN"), buf;
    if (isinf(v))
        return snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf"), buf;
    /* The shortest digits that read back as the same double (strconv's shortest 'g'),
     * then Go's choice of form: an exponent when it is below -4 or at least 6 (the
     * precision Go uses for that decision when printing the shortest digits). */
    char d[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(d, sizeof d, "%.*e", prec - 1, v);
        if (strtod(d, NULL) == v)
            break;
    }
    int exp = atoi(strchr(d, 'e') + 1);
    const int eprec = 6;
    if (exp < -4 || exp >= eprec) {
        /* mantissa with the shortest digits, exponent with at least two digits */
        char m[40];
        snprintf(m, sizeof m, "%.*e", prec - 1, v);
        char *e = strchr(m, 'e');
        *e = '\0';
        snprintf(buf, cap, "%se%c%02d", m, exp < 0 ? '-' : '+', abs(exp));
    } else {
        snprintf(buf, cap, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
    }
    return buf;
}

const char *tg_template_humanize(double v, char *buf, size_t cap)
{
    static const char *const big[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const small[] = {"", "m", "u", "n", "p", "f", "a", "z", "y"};
    if (v == 0 || isnan(v) || isinf(v))
        return snprintf(buf, cap, "%.4g", v), buf;
    int i = 0;
    if (fabs(v) >= 1) {
        for (; fabs(v) >= 1000 && i < 8; i++)
            v /= 1000;
        snprintf(buf, cap, "%.4g%s", v, big[i]);
    } else {
        for (; fabs(v) < 1 && i < 8; i++)
            v *= 1000;
        snprintf(buf, cap, "%.4g%s", v, small[i]);
    }
    return buf;
}

const char *tg_template_humanize1024(double v, char *buf, size_t cap)
{
    static const char *const pre[] = {"", "ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    if (fabs(v) <= 1 || isnan(v) || isinf(v))
        return snprintf(buf, cap, "%.4g", v), buf;
    int i = 0;
    for (; fabs(v) >= 1024 && i < 8; i++)
        v /= 1024;
    snprintf(buf, cap, "%.4g%s", v, pre[i]);
    return buf;
}

const char *tg_template_humanize_duration(double v, char *buf, size_t cap)
{
    if (isnan(v) || isinf(v))
        return snprintf(buf, cap, "%.4g", v), buf;
    if (v == 0)
        return snprintf(buf, cap, "0s"), buf;
    if (fabs(v) >= 1) {
        const char *sign = v < 0 ? "-" : "";
        double a = fabs(v);
        long long s = (long long)a;
        long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
        if (d)
            snprintf(buf, cap, "%s%lldd %lldh %lldm %llds", sign, d, h, m, sec);
        else if (h)
            snprintf(buf, cap, "%s%lldh %lldm %llds", sign, h, m, sec);
        else if (m)
            snprintf(buf, cap, "%s%lldm %llds", sign, m, sec);
        else
            snprintf(buf, cap, "%s%.4gs", sign, a);
        return buf;
    }
    static const char *const pre[] = {"", "m", "u", "n", "p", "f", "a", "z", "y"};
    int i = 0;
    for (; fabs(v) < 1 && i < 8; i++)
        v *= 1000;
    snprintf(buf, cap, "%.4g%ss", v, pre[i]);
    return buf;
}

const char *tg_template_humanize_percentage(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.4g%%", v * 100);
    return buf;
}
