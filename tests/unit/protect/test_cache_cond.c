/* SPDX-License-Identifier: MIT */
/* Unit tests for src/protect/cache_cond.c: If-None-Match (weak comparison, lists, "*",
 * several fields, malformed tags), If-Modified-Since against Last-Modified or Date, the
 * precedence of If-None-Match, only a stored 200 answering 304, and the fields a 304
 * keeps. */
#include "protect/cache_cond.h"

#include <string.h>

#include "tg_test.h"

static bool nm(const char *name, const char *value, int status, const char *head)
{
    struct tg_cache_field f = {name, value, (uint32_t)strlen(name), (uint32_t)strlen(value)};
    return tg_cache_not_modified(&f, 1, status, head, strlen(head));
}

static const char *const H = "Content-Type: text/plain\r\nETag: \"v1\"\r\n"
                             "Last-Modified: Mon, 30 Nov 2026 08:00:00 GMT\r\n";

static void test_if_none_match(void)
{
    TG_EXPECT(nm("If-None-Match", "\"v1\"", 200, H));
    TG_EXPECT(nm("if-none-match", "W/\"v1\"", 200, H));
    TG_EXPECT(nm("If-None-Match", "\"a\", \"v1\"", 200, H));
    TG_EXPECT(nm("If-None-Match", "*", 200, H));
    TG_EXPECT(nm("If-None-Match", "*", 200, "Content-Type: x\r\n")); /* any stored 200 */
    TG_EXPECT(!nm("If-None-Match", "\"v2\"", 200, H));
    TG_EXPECT(!nm("If-None-Match", "v1", 200, H));       /* not a quoted tag */
    TG_EXPECT(!nm("If-None-Match", "\"v1", 200, H));     /* unterminated */
    TG_EXPECT(!nm("If-None-Match", "\"v2\" junk", 200, H));
    TG_EXPECT(!nm("If-None-Match", "*, \"v1\"", 200, H)); /* "*" stands alone */
    TG_EXPECT(!nm("If-None-Match", "\"v1\"", 200, "Content-Type: x\r\n")); /* no ETag */
    TG_EXPECT(!nm("If-None-Match", "\"v1\"", 404, H)); /* only a 200 */
    TG_EXPECT(nm("If-None-Match", "\"v1\"", 200, "ETag: W/\"v1\"\r\n"));
    /* Several fields are one list. */
    struct tg_cache_field two[2] = {{"If-None-Match", "\"x\"", 13, 3},
                                    {"If-None-Match", "\"v1\"", 13, 4}};
    TG_EXPECT(tg_cache_not_modified(two, 2, 200, H, strlen(H)));
}

static void test_if_modified_since(void)
{
    TG_EXPECT(nm("If-Modified-Since", "Mon, 30 Nov 2026 08:00:00 GMT", 200, H));
    TG_EXPECT(nm("If-Modified-Since", "Tue, 01 Dec 2026 00:00:00 GMT", 200, H));
    TG_EXPECT(!nm("If-Modified-Since", "Mon, 30 Nov 2026 07:59:59 GMT", 200, H));
    TG_EXPECT(!nm("If-Modified-Since", "not a date", 200, H));
    /* Without Last-Modified the stored Date stands in. */
    const char *d = "Date: Mon, 30 Nov 2026 08:00:00 GMT\r\n";
    TG_EXPECT(nm("If-Modified-Since", "Mon, 30 Nov 2026 09:00:00 GMT", 200, d));
    TG_EXPECT(!nm("If-Modified-Since", "Mon, 30 Nov 2026 09:00:00 GMT", 200, "X: y\r\n"));
    /* If-None-Match decides alone when present. */
    struct tg_cache_field both[2] = {{"If-None-Match", "\"v2\"", 13, 4},
                                     {"If-Modified-Since", "Tue, 01 Dec 2026 00:00:00 GMT", 17,
                                      29}};
    TG_EXPECT(!tg_cache_not_modified(both, 2, 200, H, strlen(H)));
    TG_EXPECT(!tg_cache_not_modified(NULL, 0, 200, H, strlen(H)));
}

static void test_keeps(void)
{
    TG_EXPECT(tg_cache_304_keeps("ETag", 4));
    TG_EXPECT(tg_cache_304_keeps("cache-control", 13));
    TG_EXPECT(tg_cache_304_keeps("Vary", 4));
    TG_EXPECT(!tg_cache_304_keeps("Content-Type", 12));
    TG_EXPECT(!tg_cache_304_keeps("Content-Length", 14));
    TG_EXPECT(!tg_cache_304_keeps("Dat", 3));
}

int main(void)
{
    test_if_none_match();
    test_if_modified_since();
    test_keeps();
    return tg_test_report("protect/cache_cond");
}
