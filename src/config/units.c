/* SPDX-License-Identifier: MIT */
/* Duration and size syntax (see units.h for the grammar and why a unit is required).
 * Arithmetic is exact integer math with explicit overflow checks: a config value must
 * never wrap into a small timeout. */
#include "config/units.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/diag_int.h"

struct unit {
    const char *name;
    int64_t scale;
};

/* Longest names first where one is a prefix of another ("ms" before "m"). */
static const struct unit duration_units[] = {
    {"us", 1},          {"\xc2\xb5s", 1},     {"ms", TG_US_PER_MS},
    {"s", TG_US_PER_S}, {"m", TG_US_PER_MIN}, {"h", TG_US_PER_H},
};

static int bad_duration(struct tg_errbuf *eb, const char *s, const char *why)
{
    char q[TG_CONFIG_QUOTE_CAP];
    return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0, "bad duration %s (%s)",
                           tg_config__quote(q, sizeof q, s, strlen(s)), why);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int tg_units_parse_duration(const char *s, int64_t *out_us, struct tg_errbuf *eb)
{
    const char *p = s;
    int64_t total = 0;
    if (strcmp(s, "0") == 0) {
        *out_us = 0;
        return 0;
    }
    if (*p == '\0')
        return bad_duration(eb, s, "empty; use 250ms, 10s, 2m");
    while (*p) {
        if (!is_digit(*p))
            return bad_duration(eb, s, "use 250ms, 10s, 2m");
        uint64_t whole = 0;
        for (; is_digit(*p); p++) {
            if (whole > (UINT64_MAX - 9) / 10)
                return bad_duration(eb, s, "too large");
            whole = whole * 10 + (uint64_t)(*p - '0');
        }
        /* The fraction is kept as num/den with at most 9 digits, so num * scale (scale is
         * at most 3.6e9) stays far below UINT64_MAX. */
        uint64_t num = 0, den = 1;
        if (*p == '.') {
            p++;
            if (!is_digit(*p))
                return bad_duration(eb, s, "use 250ms, 1.5s, 2m");
            for (; is_digit(*p); p++) {
                if (den == 1000000000)
                    return bad_duration(eb, s, "too many decimals");
                num = num * 10 + (uint64_t)(*p - '0');
                den *= 10;
            }
        }
        const struct unit *u = NULL;
        for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
            size_t n = strlen(duration_units[i].name);
            if (strncmp(p, duration_units[i].name, n) == 0) {
                u = &duration_units[i];
                p += n;
                break;
            }
        }
        if (!u) {
            if (*p == '\0' && p > s && strspn(s, "0123456789.") == strlen(s))
                return bad_duration(eb, s, "missing unit, e.g. 30s or 250ms");
            return bad_duration(eb, s, "use 250ms, 10s, 2m");
        }
        uint64_t scale = (uint64_t)u->scale;
        if (whole > (uint64_t)INT64_MAX / scale)
            return bad_duration(eb, s, "too large");
        uint64_t part = whole * scale;
        if ((num * scale) % den != 0)
            return bad_duration(eb, s, "finer than 1us");
        part += num * scale / den;
        if (part > (uint64_t)(INT64_MAX - total))
            return bad_duration(eb, s, "too large");
        total += (int64_t)part;
    }
    *out_us = total;
    return 0;
}

static const struct {
    const char *name;
    uint64_t scale;
} size_units[] = {
    {"B", 1},
    {"KiB", UINT64_C(1) << 10},
    {"MiB", UINT64_C(1) << 20},
    {"GiB", UINT64_C(1) << 30},
    {"TiB", UINT64_C(1) << 40},
    {"kB", UINT64_C(1000)},
    {"MB", UINT64_C(1000000)},
    {"GB", UINT64_C(1000000000)},
    {"TB", UINT64_C(1000000000000)},
};

int tg_units_parse_size(const char *s, uint64_t *out_bytes, struct tg_errbuf *eb)
{
    char q[TG_CONFIG_QUOTE_CAP];
    const char *p = s;
    uint64_t n = 0;
    tg_config__quote(q, sizeof q, s, strlen(s));
    if (!is_digit(*p))
        return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0,
                               "bad size %s (use 512, 16KiB, 10MiB, 1GiB)", q);
    for (; is_digit(*p); p++) {
        if (n > (UINT64_MAX - 9) / 10)
            return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0, "bad size %s (too large)", q);
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '\0') {
        *out_bytes = n;
        return 0;
    }
    for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++) {
        if (strcmp(p, size_units[i].name) != 0)
            continue;
        if (n > UINT64_MAX / size_units[i].scale)
            return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0, "bad size %s (too large)", q);
        *out_bytes = n * size_units[i].scale;
        return 0;
    }
    /* "16K" and "16KB" mean 16384 to some tools and 16000 to others: make the user say.
     * Each row: the ambiguous spellings, then the IEC and SI units to suggest. */
    static const struct {
        const char *spellings[6];
        const char *iec, *si;
        int shift;
        uint64_t si_scale;
    } ambiguous[] = {
        {{"K", "k", "KB", "Kb", "kb", "Ki"}, "KiB", "kB", 10, UINT64_C(1000)},
        {{"M", "m", "Mb", "mb", "Mi", "mB"}, "MiB", "MB", 20, UINT64_C(1000000)},
        {{"G", "g", "Gb", "gb", "Gi", "gB"}, "GiB", "GB", 30, UINT64_C(1000000000)},
    };
    for (size_t i = 0; i < sizeof ambiguous / sizeof ambiguous[0]; i++) {
        for (size_t j = 0; j < 6; j++) {
            if (strcmp(p, ambiguous[i].spellings[j]) == 0)
                return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0,
                                       "bad size %s (use %" PRIu64 "%s for %" PRIu64
                                       " bytes or %" PRIu64 "%s for %" PRIu64 ")",
                                       q, n, ambiguous[i].iec, n << ambiguous[i].shift, n,
                                       ambiguous[i].si, n * ambiguous[i].si_scale);
        }
    }
    return tg_config__errf(eb, TG_EPARSE, NULL, 0, 0,
                           "bad size %s (use 512, 16KiB, 10MiB, 1GiB; units are B, KiB, MiB, "
                           "GiB, TiB or kB, MB, GB, TB)",
                           q);
}

size_t tg_units_format_duration(int64_t us, char *buf, size_t cap)
{
    static const struct unit order[] = {
        {"h", TG_US_PER_H}, {"m", TG_US_PER_MIN}, {"s", TG_US_PER_S}, {"ms", TG_US_PER_MS}};
    const char *sign = "";
    uint64_t v = (uint64_t)us;
    if (us < 0) {
        sign = "-";
        v = (uint64_t)0 - v;
    }
    if (v == 0)
        return (size_t)snprintf(buf, cap, "0");
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (v % (uint64_t)order[i].scale == 0)
            return (size_t)snprintf(buf, cap, "%s%" PRIu64 "%s", sign, v / (uint64_t)order[i].scale,
                                    order[i].name);
    }
    return (size_t)snprintf(buf, cap, "%s%" PRIu64 "us", sign, v);
}

size_t tg_units_format_size(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const names[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
        unsigned shift = (unsigned)(40 - 10 * i);
        if (bytes != 0 && bytes % (UINT64_C(1) << shift) == 0)
            return (size_t)snprintf(buf, cap, "%" PRIu64 "%s", bytes >> shift, names[i]);
    }
    return (size_t)snprintf(buf, cap, "%" PRIu64, bytes);
}
