/* SPDX-License-Identifier: MIT */
/* Query-string helpers; see query.h. Numbers are read by hand rather than with strtoull,
 * which skips leading spaces, takes a sign (a "+" in a query string decodes to a space
 * first) and stops quietly at the first non-digit. */
#include "admin/query.h"

#include <string.h>

#include "config/units.h"
#include "http/url.h"

int tg_admin_query_get(struct tg_str query, const char *name, char *out, size_t cap)
{
    struct tg_str v;
    if (!tg_http_query_param(query, name, &v))
        return TG_ENOTFOUND;
    long n = cap ? tg_http_url_decode(out, cap - 1, v) : -1;
    if (n < 0 || memchr(out, '\0', (size_t)n))
        return TG_EPARSE;
    out[n] = '\0';
    return 0;
}

/* Plain decimal digits into *out; false for anything else, or above UINT64_MAX. */
static bool digits(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool tg_admin_query_seconds(struct tg_str query, const char *name, uint32_t def, uint32_t max,
                            uint32_t *out)
{
    char buf[32];
    int rc = tg_admin_query_get(query, name, buf, sizeof buf);
    if (rc == TG_ENOTFOUND) {
        *out = def;
        return true;
    }
    if (rc != 0)
        return false;
    uint64_t plain;
    int64_t us;
    if (digits(buf, &plain)) {
        /* Range-checked before scaling, so a huge number cannot overflow. */
        if (plain < 1 || plain > max)
            return false;
        *out = (uint32_t)plain;
        return true;
    }
    if (tg_units_parse_duration(buf, &us, NULL) != 0 || us < 1000000 || us > (int64_t)max * 1000000)
        return false;
    *out = (uint32_t)(us / 1000000);
    return true;
}

bool tg_admin_query_uint(struct tg_str query, const char *name, uint64_t def, uint64_t max,
                         uint64_t *out)
{
    char buf[32];
    int rc = tg_admin_query_get(query, name, buf, sizeof buf);
    uint64_t v;
    if (rc == TG_ENOTFOUND) {
        *out = def;
        return true;
    }
    if (rc != 0 || !digits(buf, &v) || v > max)
        return false;
    *out = v;
    return true;
}
