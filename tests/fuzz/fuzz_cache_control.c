// link: tg_protect
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the response cache's header handling (src/protect/cache_policy.c and
 * the store's offer path). The input is read three ways. As one Cache-Control value: the
 * parse gives numbers in range and known flags only, the same result twice, and a
 * second field line can only add restrictions to the first (fewer flags or larger
 * max-age would be a loosening). As an HTTP-date: an accepted date formatted back as an
 * IMF-fixdate parses to the same second. As a header block ("name: value" lines, the
 * first line's status as a number): the facts and every decision run over it, and the
 * response is offered to a small real cache, filled, committed and looked up, after which
 * the stored head must hold no field a replay must not carry, the body must be what was
 * stored, a conditional GET over it is decided the same each time and never turns a
 * non-200 into a 304, and after a purge of everything no byte may be left counted. The corpus is
 * tests/fuzz/corpus/cache_control/; run with -dict=tests/fuzz/cache_control.dict. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "protect/cache.h"
#include "protect/cache_cond.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define ALL_FLAGS 0xffu
#define MAX_FIELDS 32

static void check_cc(const struct tg_cache_cc *cc)
{
    const int64_t *v[] = {&cc->max_age_s, &cc->s_maxage_s, &cc->max_stale_s, &cc->min_fresh_s,
                          &cc->stale_if_error_s};
    CHECK((cc->flags & ~ALL_FLAGS) == 0);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        CHECK(*v[i] == TG_CACHE_ABSENT || (*v[i] >= 0 && *v[i] <= TG_CACHE_DELTA_MAX));
}

/* `later` parsed `first` then more: nothing it said may be loosened. */
static void check_not_looser(const struct tg_cache_cc *first, const struct tg_cache_cc *later)
{
    CHECK((later->flags & first->flags) == first->flags);
    if (first->max_age_s != TG_CACHE_ABSENT)
        CHECK(later->max_age_s != TG_CACHE_ABSENT && later->max_age_s <= first->max_age_s);
    if (first->s_maxage_s != TG_CACHE_ABSENT)
        CHECK(later->s_maxage_s != TG_CACHE_ABSENT && later->s_maxage_s <= first->s_maxage_s);
    if (first->min_fresh_s != TG_CACHE_ABSENT)
        CHECK(later->min_fresh_s >= first->min_fresh_s);
}

static void fuzz_cc(const char *s, size_t n)
{
    struct tg_cache_cc a, b, two;
    tg_cache_cc_init(&a);
    tg_cache_cc_parse(&a, s, n);
    check_cc(&a);
    tg_cache_cc_init(&b);
    tg_cache_cc_parse(&b, s, n);
    CHECK(a.flags == b.flags && a.max_age_s == b.max_age_s && a.s_maxage_s == b.s_maxage_s &&
          a.max_stale_s == b.max_stale_s && a.min_fresh_s == b.min_fresh_s &&
          a.stale_if_error_s == b.stale_if_error_s);
    size_t cut = n ? (size_t)s[0] % (n + 1) : 0;
    tg_cache_cc_init(&two);
    tg_cache_cc_parse(&two, s, cut);
    struct tg_cache_cc first = two;
    tg_cache_cc_parse(&two, s + cut, n - cut);
    check_cc(&two);
    check_not_looser(&first, &two);
}

static void fuzz_date(const char *s, size_t n)
{
    int64_t t;
    if (!tg_cache_http_date(s, n, &t))
        return;
    CHECK(t >= 0 && t <= INT64_C(253402300799)); /* 9999-12-31T23:59:59 */
    time_t tt = (time_t)t;
    struct tm tm;
    CHECK(gmtime_r(&tt, &tm));
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char out[64];
    int len = snprintf(out, sizeof out, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                       tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                       tm.tm_sec);
    int64_t back;
    CHECK(len == 29 && tg_cache_http_date(out, (size_t)len, &back) && back == t);
}

/* "name: value" lines; the first line is "<status>" (its leading digits). */
static uint32_t split_fields(const char *s, size_t n, struct tg_cache_field *f, int *status)
{
    uint32_t nf = 0;
    const char *p = s, *end = s + n;
    *status = 0;
    bool first = true;
    while (p < end && nf < MAX_FIELDS) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (first) {
            for (const char *d = p; d < eol && d < p + 3 && *d >= '0' && *d <= '9'; d++)
                *status = *status * 10 + (*d - '0');
            first = false;
        } else {
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            if (colon) {
                const char *v = colon + 1;
                while (v < eol && *v == ' ')
                    v++;
                f[nf++] = (struct tg_cache_field){p, v, (uint32_t)(colon - p), (uint32_t)(eol - v)};
            }
        }
        p = eol + 1;
    }
    return nf;
}

/* Conditional GET over the stored head (protect/cache_cond.c): the request's own fields
 * as conditions, then the input as an If-None-Match and an If-Modified-Since value. The
 * answer is the same twice; "*" matches any 200; only a 200 ever gives 304. */
static void fuzz_conditional(const struct tg_cache_field *f, uint32_t nf, int status,
                             const char *head, size_t hl)
{
    bool a = tg_cache_not_modified(f, nf, status, head, hl);
    CHECK(a == tg_cache_not_modified(f, nf, status, head, hl));
    CHECK(!a || status == 200);
    for (uint32_t i = 0; i < nf; i++) {
        struct tg_cache_field q[2] = {{"If-None-Match", f[i].value, 13, f[i].value_len},
                                      {"If-Modified-Since", f[i].value, 17, f[i].value_len}};
        CHECK(!tg_cache_not_modified(q, 1, status, head, hl) || status == 200);
        CHECK(!tg_cache_not_modified(q + 1, 1, status, head, hl) || status == 200);
    }
    struct tg_cache_field star = {"if-none-match", " * ", 13, 3};
    CHECK(tg_cache_not_modified(&star, 1, status, head, hl) == (status == 200));
    for (size_t i = 0; i < hl; i++) /* and every header name a 304 may keep is a name */
        if (head[i] == ':')
            (void)tg_cache_304_keeps(head, i);
}

/* The stored head has no line starting with a field a replay must not carry. */
static void check_head(const char *h, size_t n)
{
    static const char *const banned[] = {"connection:",     "keep-alive:", "transfer-encoding:",
                                         "content-length:", "age:",        "warning:",
                                         "x-request-id:",   "te:",         "upgrade:"};
    const char *p = h, *end = h + n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        CHECK(eol && eol > p && eol[-1] == '\r');
        for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
            CHECK(strncasecmp(p, banned[i], strlen(banned[i])) != 0);
        p = eol + 1;
    }
}

static void fuzz_store(const char *s, size_t n)
{
    struct tg_cache_field f[MAX_FIELDS];
    int status;
    uint32_t nf = split_fields(s, n, f, &status);
    struct tg_cache_req_facts rf;
    struct tg_cache_resp_facts sf;
    tg_cache_req_facts(f, nf, &rf);
    tg_cache_resp_facts(f, nf, &sf);
    check_cc(&rf.cc);
    check_cc(&sf.cc);
    enum tg_cache_decline d = tg_cache_storable(true, &rf, status, &sf);
    CHECK(d < TG_CACHE_DECLINE__COUNT);
    int64_t life = tg_cache_explicit_lifetime_s(&sf, 1700000000);
    CHECK(life == TG_CACHE_ABSENT || (life >= 0 && life <= TG_CACHE_DELTA_MAX));
    int64_t age = tg_cache_initial_age_us(&sf, 0, 5000000, 1700000000);
    CHECK(age >= 0);
    struct tg_cache_freshness fr = {age, life == TG_CACHE_ABSENT ? 0 : life * 1000000,
                                    TG_CACHE_ABSENT, tg_cache_resp_no_stale(&sf)};
    (void)tg_cache_usable(&fr, &rf.cc);
    (void)tg_cache_fallback_usable(&fr, &rf.cc, 3600000000);
    char line[128];
    CHECK(tg_cache_format_age(line, sizeof line, age, true, true) > 0);

    struct tg_cache_limits lim = {1 << 16, 1 << 15};
    struct tg_cache *c;
    CHECK(tg_cache_new(&lim, 99, &c) == 0);
    struct tg_cache_req rq = {false, "/f", 2, "q", 1, f, nf};
    struct tg_cache_rule rule = {true, 60000000, 3600000000};
    int64_t now = 1000000000;
    struct tg_cache_resp rs = {status, f, nf, TG_CACHE_ABSENT, now, 1700000000, 0};
    struct tg_cache_fill fill;
    const char body[] = "fuzz body";
    if (tg_cache_offer(c, &rq, &rule, &rs, now, &fill) == TG_CACHE_DECLINE_NONE) {
        CHECK(tg_cache_fill_append(c, &fill, body, 4) == 0);
        CHECK(tg_cache_fill_append(c, &fill, body + 4, sizeof body - 5) == 0);
        CHECK(tg_cache_fill_commit(c, &fill, now) == 0);
        struct tg_cache_hit h;
        if (tg_cache_lookup_stale(c, &rq, &rule, now + 1, &h)) {
            size_t hl, bl;
            const char *head = tg_cache_entry_head(h.entry, &hl);
            check_head(head, hl);
            fuzz_conditional(f, nf, status, head, hl);
            const char *b = tg_cache_entry_body(h.entry, &bl);
            CHECK(bl == sizeof body - 1 && memcmp(b, body, bl) == 0);
            CHECK(tg_cache_entry_status(h.entry) == status);
            tg_cache_release(c, h.entry);
        }
        if (tg_cache_lookup(c, &rq, &rule, now + 2, &h) == TG_CACHE_HIT)
            tg_cache_release(c, h.entry);
    }
    tg_cache_purge_prefix(c, "/", 1);
    struct tg_cache_stats st;
    tg_cache_stats(c, &st);
    CHECK(st.entries == 0 && st.bytes == 0 && st.bytes_peak <= lim.max_bytes);
    tg_cache_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    fuzz_cc(s, size);
    fuzz_date(s, size);
    fuzz_store(s, size);
    return 0;
}
