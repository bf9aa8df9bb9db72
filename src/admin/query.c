/* SPDX-License-Identifier: MIT */
/* Query-string helpers; see query.h. */
#include "admin/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/units.h"
#include "http/url.h"

/* Decodes src[0..n) into out (NUL-terminated); false if it does not fit or has a bad
 * escape. */
static bool decode(const char *src, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return false;
    long len = tg_http_url_decode(out, cap - 1, (struct tg_str){src, (uint32_t)n});
    if (len < 0)
        return false;
    out[len] = '\0';
    return true;
}

/* Finds the raw value of `name`; false if the parameter is absent. */
static bool find(struct tg_str query, const char *name, const char **v, size_t *vlen)
{
    struct tg_str s;
    if (!tg_http_query_param(query, name, &s))
        return false;
    *v = s.p;
    *vlen = s.len;
    return true;
}

bool tg_admin_query_get(struct tg_str query, const char *name, char *out, size_t cap)
{
    const char *v;
    size_t n;
    return find(query, name, &v, &n) && decode(v, n, out, cap);
}

bool tg_admin_query_seconds(struct tg_str query, const char *name, uint32_t def, uint32_t max,
                            uint32_t *out)
{
    const char *v;
    size_t n;
    if (!find(query, name, &v, &n)) {
        *out = def;
        return true;
    }
    char buf[32];
    if (!decode(v, n, buf, sizeof buf) || !*buf)
        return false;
    int64_t us;
    char *end;
    errno = 0;
    long long plain = strtoll(buf, &end, 10);
    if (!*end) {
        /* Plain seconds: range-check before scaling, so a huge number cannot overflow. */
        if (errno == ERANGE || plain < 1 || plain > (long long)max)
            return false;
        us = (int64_t)plain * 1000000;
    } else if (tg_units_parse_duration(buf, &us, NULL) != 0) {
        return false;
    }
    if (us < 1000000 || us > (int64_t)max * 1000000)
        return false;
    *out = (uint32_t)(us / 1000000);
    return true;
}

bool tg_admin_query_uint(struct tg_str query, const char *name, uint64_t def, uint64_t max,
                         uint64_t *out)
{
    const char *v;
    size_t n;
    if (!find(query, name, &v, &n)) {
        *out = def;
        return true;
    }
    char buf[32];
    if (!decode(v, n, buf, sizeof buf) || !*buf || buf[0] == '-')
        return false;
    char *end;
    unsigned long long x = strtoull(buf, &end, 10);
    if (*end || x > max)
        return false;
    *out = x;
    return true;
}
