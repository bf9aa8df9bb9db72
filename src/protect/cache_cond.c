/* SPDX-License-Identifier: MIT */
/* Conditional GET against a stored response: If-None-Match and If-Modified-Since (see
 * cache_cond.h). */
#include "protect/cache_cond.h"

#include <string.h>
#include <strings.h>

static bool name_is(const char *p, size_t n, const char *lower)
{
    return strlen(lower) == n && strncasecmp(p, lower, n) == 0;
}

/* The value of the stored header `lower`, from a block of "Name: value\r\n" lines. */
static bool stored(const char *head, size_t hlen, const char *lower, const char **v, size_t *vn)
{
    const char *p = head, *end = head + hlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon && name_is(p, (size_t)(colon - p), lower)) {
            const char *s = colon + 1, *e = line_end;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *v = s;
            *vn = (size_t)(e - s);
            return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

/* One entity-tag at s[*i..n): its opaque part (quotes included) without a W/ prefix. */
static bool etag_at(const char *s, size_t n, size_t *i, const char **tag, size_t *tn)
{
    size_t k = *i;
    if (k + 1 < n && s[k] == 'W' && s[k + 1] == '/')
        k += 2;
    if (k >= n || s[k] != '"')
        return false;
    size_t start = k++;
    while (k < n && s[k] != '"') {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x21 || c == 0x7f) /* etagc: visible characters but DQUOTE, and obs-text */
            return false;
        k++;
    }
    if (k >= n)
        return false;
    *tag = s + start;
    *tn = k + 1 - start;
    *i = k + 1;
    return true;
}

/* If-None-Match's list against the stored ETag `et`: true on a weak match, or on "*". */
static bool none_match_hits(const char *v, size_t n, const char *et, size_t etn)
{
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i < n && v[i] == '*') {
        for (i++; i < n; i++)
            if (v[i] != ' ' && v[i] != '\t')
                return false;
        return true;
    }
    const char *want;
    size_t wn, j = 0;
    if (!etn || !etag_at(et, etn, &j, &want, &wn) || j != etn)
        return false; /* no usable stored ETag: nothing can match */
    for (;;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        if (i >= n)
            return false;
        const char *tag;
        size_t tn;
        if (!etag_at(v, n, &i, &tag, &tn))
            return false;
        if (tn == wn && memcmp(tag, want, tn) == 0)
            return true;
    }
}

bool tg_cache_not_modified(const struct tg_cache_field *req, uint32_t n, int status,
                           const char *head, size_t hlen)
{
    if (status != 200)
        return false;
    /* Several If-None-Match fields make one list (RFC 9110 §5.3). */
    const struct tg_cache_field *ims = NULL;
    bool has_inm = false, hit = false;
    const char *v, *et = "";
    size_t vn, etn = 0;
    if (stored(head, hlen, "etag", &v, &vn))
        et = v, etn = vn;
    for (uint32_t i = 0; i < n; i++) {
        if (name_is(req[i].name, req[i].name_len, "if-none-match")) {
            has_inm = true;
            hit = hit || none_match_hits(req[i].value, req[i].value_len, et, etn);
        } else if (name_is(req[i].name, req[i].name_len, "if-modified-since")) {
            ims = &req[i];
        }
    }
    if (has_inm)
        return hit;
    if (!ims)
        return false;
    int64_t since, changed;
    if (!tg_cache_http_date(ims->value, ims->value_len, &since))
        return false;
    if (!stored(head, hlen, "last-modified", &v, &vn) && !stored(head, hlen, "date", &v, &vn))
        return false;
    return tg_cache_http_date(v, vn, &changed) && changed <= since;
}

bool tg_cache_304_keeps(const char *name, size_t len)
{
    static const char *const keep[] = {"cache-control", "content-location", "date", "etag",
                                       "expires", "last-modified", "vary"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (name_is(name, len, keep[i]))
            return true;
    return false;
}
