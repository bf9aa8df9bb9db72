/* SPDX-License-Identifier: MIT */
/* RFC 9111 cache rules over header values (see cache_policy.h for the rules chosen).
 * Parsing is lenient where leniency cannot loosen a restriction: a malformed list member
 * is skipped, junk after a directive name does not cancel it, and anything that makes a
 * number unreadable makes the entry less usable, never more. Everything here is O(input)
 * with no allocation, so it runs on the request path and under the fuzzer. */
#include "protect/cache_policy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define US_PER_S INT64_C(1000000)

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(char ch)
{
    unsigned char c = (unsigned char)ch;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Case-insensitive comparison of p[0..n) with the lower-case `lower`. */
static bool ieq(const char *p, size_t n, const char *lower)
{
    size_t i = 0;
    for (; i < n && lower[i]; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != lower[i])
            return false;
    }
    return i == n && lower[i] == 0;
}

/* delta-seconds (RFC 9111 §1.2.2): one or more digits; too large reads as 2^31. */
static bool delta_seconds(const char *p, size_t n, int64_t *out)
{
    if (n == 0)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (v < TG_CACHE_DELTA_MAX)
            v = v * 10 + (p[i] - '0');
    }
    *out = v < TG_CACHE_DELTA_MAX ? v : TG_CACHE_DELTA_MAX;
    return true;
}

static void keep_min(int64_t *slot, int64_t v)
{
    if (*slot == TG_CACHE_ABSENT || v < *slot)
        *slot = v;
}

static void keep_max(int64_t *slot, int64_t v)
{
    if (*slot == TG_CACHE_ABSENT || v > *slot)
        *slot = v;
}

void tg_cache_cc_init(struct tg_cache_cc *cc)
{
    *cc = (struct tg_cache_cc){
        0, TG_CACHE_ABSENT, TG_CACHE_ABSENT, TG_CACHE_ABSENT, TG_CACHE_ABSENT, TG_CACHE_ABSENT};
}

/* A directive's argument: the bytes of a token, or of a quoted-string between its quotes.
 * A quoted-string with escapes is kept raw and `escaped` is set: no number has one. */
struct arg {
    const char *p;
    size_t len;
    bool present, escaped;
};

/* Reads an argument at v[i]; returns the index after it. An unterminated quoted-string
 * runs to the end of the value. */
static size_t read_arg(const char *v, size_t n, size_t i, struct arg *a)
{
    a->present = true;
    if (i < n && v[i] == '"') {
        a->p = v + ++i;
        while (i < n && v[i] != '"') {
            if (v[i] == '\\' && i + 1 < n) {
                a->escaped = true;
                i++;
            }
            i++;
        }
        a->len = (size_t)(v + i - a->p);
        return i < n ? i + 1 : i;
    }
    a->p = v + i;
    while (i < n && is_tchar(v[i]))
        i++;
    a->len = (size_t)(v + i - a->p);
    return i;
}

/* Index of the next list separator at or after `i`, stepping over quoted-strings so a
 * comma inside quotes does not start a member. */
static size_t skip_member(const char *v, size_t n, size_t i)
{
    bool quoted = false;
    for (; i < n; i++) {
        if (quoted && v[i] == '\\')
            i++;
        else if (v[i] == '"')
            quoted = !quoted;
        else if (!quoted && v[i] == ',')
            break;
    }
    return i;
}

static bool arg_delta(const struct arg *a, int64_t *out)
{
    return a->present && !a->escaped && delta_seconds(a->p, a->len, out);
}

static void apply(struct tg_cache_cc *cc, const char *name, size_t len, const struct arg *a)
{
    static const struct {
        const char *name;
        unsigned flag;
    } flags[] = {
        {"no-store", TG_CACHE_CC_NO_STORE},
        {"no-cache", TG_CACHE_CC_NO_CACHE},
        {"private", TG_CACHE_CC_PRIVATE},
        {"public", TG_CACHE_CC_PUBLIC},
        {"must-revalidate", TG_CACHE_CC_MUST_REVALIDATE},
        {"proxy-revalidate", TG_CACHE_CC_PROXY_REVALIDATE},
        {"only-if-cached", TG_CACHE_CC_ONLY_IF_CACHED},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (ieq(name, len, flags[i].name)) {
            cc->flags |= flags[i].flag;
            return;
        }
    int64_t v = 0;
    bool ok = arg_delta(a, &v);
    /* RFC 9111 §4.2.1: invalid freshness information is best read as stale. */
    if (ieq(name, len, "max-age"))
        keep_min(&cc->max_age_s, ok ? v : 0);
    else if (ieq(name, len, "s-maxage"))
        keep_min(&cc->s_maxage_s, ok ? v : 0);
    else if (ieq(name, len, "max-stale")) {
        if (!a->present)
            cc->flags |= TG_CACHE_CC_MAX_STALE_ANY;
        else if (ok)
            keep_min(&cc->max_stale_s, v);
    } else if (ieq(name, len, "min-fresh")) {
        if (ok)
            keep_max(&cc->min_fresh_s, v);
    } else if (ieq(name, len, "stale-if-error")) {
        if (ok)
            keep_min(&cc->stale_if_error_s, v);
    }
}

void tg_cache_cc_parse(struct tg_cache_cc *cc, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && is_tchar(v[i]))
            i++;
        size_t len = i - start;
        while (i < n && is_ows(v[i]))
            i++;
        struct arg a = {0};
        if (len && i < n && v[i] == '=') {
            i++;
            while (i < n && is_ows(v[i]))
                i++;
            i = read_arg(v, n, i, &a);
        }
        if (len)
            apply(cc, v + start, len, &a);
        i = skip_member(v, n, i);
    }
}

/* ---- HTTP-date ---------------------------------------------------------------------- */

struct cur {
    const char *p, *e;
};

static bool lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool num(struct cur *c, int ndigits, int *out)
{
    if (c->e - c->p < ndigits)
        return false;
    int v = 0;
    for (int i = 0; i < ndigits; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return false;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += ndigits;
    *out = v;
    return true;
}

static bool month(struct cur *c, int *mon)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (c->e - c->p < 3)
        return false;
    for (int m = 0; m < 12; m++)
        if (memcmp(c->p, names + 3 * m, 3) == 0) {
            c->p += 3;
            *mon = m;
            return true;
        }
    return false;
}

/* A day name, short ("Sun") or long ("Sunday"), followed by nothing else of it. */
static bool day_name(struct cur *c, bool long_form)
{
    static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
    for (int d = 0; d < 7; d++) {
        size_t n = long_form ? strlen(names[d]) : 3;
        if ((size_t)(c->e - c->p) >= n && memcmp(c->p, names[d], n) == 0) {
            c->p += n;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool hms(struct cur *c, struct tm *tm)
{
    return num(c, 2, &tm->tm_hour) && lit(c, ":") && num(c, 2, &tm->tm_min) && lit(c, ":") &&
           num(c, 2, &tm->tm_sec);
}

static bool valid_tm(const struct tm *tm, int year)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int days = mdays[tm->tm_mon] - (tm->tm_mon == 1 && !leap);
    return year >= 1970 && year <= 9999 && tm->tm_mday >= 1 && tm->tm_mday <= days &&
           tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

bool tg_cache_http_date(const char *s, size_t n, int64_t *unix_s)
{
    struct cur c = {s, s + n};
    struct tm tm = {0};
    int year = 0;
    const char *sep = c.p;
    while (sep < c.e && *sep != ',' && *sep != ' ')
        sep++;
    bool ok;
    if (sep - c.p == 3 && sep < c.e && *sep == ',') /* IMF-fixdate */
        ok = day_name(&c, false) && lit(&c, ", ") && num(&c, 2, &tm.tm_mday) && lit(&c, " ") &&
             month(&c, &tm.tm_mon) && lit(&c, " ") && num(&c, 4, &year) && lit(&c, " ") &&
             hms(&c, &tm) && lit(&c, " GMT");
    else if (sep < c.e && *sep == ',') { /* RFC 850 */
        ok = day_name(&c, true) && lit(&c, ", ") && num(&c, 2, &tm.tm_mday) && lit(&c, "-") &&
             month(&c, &tm.tm_mon) && lit(&c, "-") && num(&c, 2, &year) && lit(&c, " ") &&
             hms(&c, &tm) && lit(&c, " GMT");
        year += year < 70 ? 2000 : 1900;
    } else { /* asctime: "Sun Nov  6 08:49:37 1994" */
        ok = day_name(&c, false) && lit(&c, " ") && month(&c, &tm.tm_mon) && lit(&c, " ");
        if (ok && c.p < c.e && *c.p == ' ') {
            c.p++;
            ok = num(&c, 1, &tm.tm_mday);
        } else
            ok = ok && num(&c, 2, &tm.tm_mday);
        ok = ok && lit(&c, " ") && hms(&c, &tm) && lit(&c, " ") && num(&c, 4, &year);
    }
    if (!ok || c.p != c.e || !valid_tm(&tm, year))
        return false;
    tm.tm_year = year - 1900;
    *unix_s = (int64_t)timegm(&tm);
    return true;
}

/* ---- facts ---------------------------------------------------------------------------- */

/* The next member of the comma-separated list v[0..n) from *i, whitespace trimmed, into
 * [*start, *end) (possibly empty); false at the end of the list. */
static bool next_member(const char *v, size_t n, size_t *i, size_t *start, size_t *end)
{
    while (*i < n && (is_ows(v[*i]) || v[*i] == ','))
        (*i)++;
    if (*i >= n)
        return false;
    *start = *i;
    while (*i < n && v[*i] != ',')
        (*i)++;
    *end = *i;
    while (*end > *start && is_ows(v[*end - 1]))
        (*end)--;
    return true;
}

/* True if the comma-separated list v[0..n) has the token `lower` (case-insensitive). */
static bool list_has(const char *v, size_t n, const char *lower)
{
    size_t i = 0, start, end;
    while (next_member(v, n, &i, &start, &end)) {
        if (ieq(v + start, end - start, lower))
            return true;
    }
    return false;
}

void tg_cache_req_facts(const struct tg_cache_field *f, uint32_t n, struct tg_cache_req_facts *out)
{
    tg_cache_cc_init(&out->cc);
    out->authorization = false;
    bool has_cc = false, pragma_no_cache = false;
    /* Lookups run this over every request's fields: the length picks the one name a
     * field could be, so most fields cost one comparison. */
    for (uint32_t i = 0; i < n; i++) {
        const char *name = f[i].name;
        if (f[i].name_len == 13 && ieq(name, 13, "cache-control")) {
            has_cc = true;
            tg_cache_cc_parse(&out->cc, f[i].value, f[i].value_len);
        } else if (f[i].name_len == 13 && ieq(name, 13, "authorization"))
            out->authorization = true;
        else if (f[i].name_len == 6 && ieq(name, 6, "pragma"))
            pragma_no_cache |= list_has(f[i].value, f[i].value_len, "no-cache");
    }
    if (!has_cc && pragma_no_cache)
        out->cc.flags |= TG_CACHE_CC_NO_CACHE;
}

/* Vary: field names, or "*". A member that is not a token cannot be matched against a
 * request, so it counts as "*". */
static void parse_vary(struct tg_cache_resp_facts *rs, const char *v, size_t n)
{
    size_t i = 0, start, end;
    while (next_member(v, n, &i, &start, &end)) {
        if (end == start)
            continue;
        bool token = true;
        for (size_t k = start; k < end; k++)
            token = token && is_tchar(v[k]);
        if (!token || (end - start == 1 && v[start] == '*')) {
            rs->vary_star = true;
            continue;
        }
        if (rs->nvary < TG_CACHE_MAX_VARY) {
            rs->vary[rs->nvary].p = v + start;
            rs->vary[rs->nvary].len = (uint32_t)(end - start);
        }
        rs->nvary++;
    }
}

void tg_cache_resp_facts(const struct tg_cache_field *f, uint32_t n,
                         struct tg_cache_resp_facts *out)
{
    memset(out, 0, sizeof *out);
    tg_cache_cc_init(&out->cc);
    out->date_s = out->expires_s = out->age_s = TG_CACHE_ABSENT;
    for (uint32_t i = 0; i < n; i++) {
        const char *name = f[i].name, *v = f[i].value;
        uint32_t nl = f[i].name_len, vl = f[i].value_len;
        int64_t t;
        if (ieq(name, nl, "cache-control"))
            tg_cache_cc_parse(&out->cc, v, vl);
        else if (ieq(name, nl, "date")) {
            if (out->date_s == TG_CACHE_ABSENT && tg_cache_http_date(v, vl, &t))
                out->date_s = t;
        } else if (ieq(name, nl, "expires")) {
            if (out->expires_s == TG_CACHE_ABSENT)
                out->expires_s = tg_cache_http_date(v, vl, &t) ? t : INT64_MIN;
        } else if (ieq(name, nl, "age")) {
            if (out->age_s == TG_CACHE_ABSENT && delta_seconds(v, vl, &t))
                out->age_s = t;
        } else if (ieq(name, nl, "set-cookie") || ieq(name, nl, "set-cookie2"))
            out->set_cookie = true;
        else if (ieq(name, nl, "vary"))
            parse_vary(out, v, vl);
    }
}

/* ---- decisions ------------------------------------------------------------------------ */

const char *tg_cache_decline_name(enum tg_cache_decline d)
{
    static const char *const names[TG_CACHE_DECLINE__COUNT] = {
        [TG_CACHE_DECLINE_NONE] = "none",
        [TG_CACHE_DECLINE_METHOD] = "method",
        [TG_CACHE_DECLINE_STATUS] = "status",
        [TG_CACHE_DECLINE_NO_STORE] = "no_store",
        [TG_CACHE_DECLINE_PRIVATE] = "private",
        [TG_CACHE_DECLINE_NO_CACHE] = "no_cache",
        [TG_CACHE_DECLINE_AUTHORIZATION] = "authorization",
        [TG_CACHE_DECLINE_SET_COOKIE] = "set_cookie",
        [TG_CACHE_DECLINE_VARY] = "vary",
        [TG_CACHE_DECLINE_LIFETIME] = "lifetime",
        [TG_CACHE_DECLINE_TOO_BIG] = "too_big",
        [TG_CACHE_DECLINE_MEMORY] = "memory",
        [TG_CACHE_DECLINE_PURGED] = "purged",
    };
    return (unsigned)d < TG_CACHE_DECLINE__COUNT ? names[d] : "unknown";
}

bool tg_cache_status_default_ttl(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
        return true;
    default:
        return false;
    }
}

bool tg_cache_status_storable(int status)
{
    switch (status) {
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
        return true;
    default:
        return tg_cache_status_default_ttl(status);
    }
}

enum tg_cache_decline tg_cache_storable(bool is_get, const struct tg_cache_req_facts *rq,
                                        int status, const struct tg_cache_resp_facts *rs)
{
    unsigned rf = rs->cc.flags;
    if (!is_get)
        return TG_CACHE_DECLINE_METHOD;
    if (!tg_cache_status_storable(status))
        return TG_CACHE_DECLINE_STATUS;
    if ((rq->cc.flags | rf) & TG_CACHE_CC_NO_STORE)
        return TG_CACHE_DECLINE_NO_STORE;
    if (rf & TG_CACHE_CC_PRIVATE)
        return TG_CACHE_DECLINE_PRIVATE;
    if (rf & TG_CACHE_CC_NO_CACHE)
        return TG_CACHE_DECLINE_NO_CACHE;
    if (rq->authorization && !(rf & (TG_CACHE_CC_PUBLIC | TG_CACHE_CC_MUST_REVALIDATE)) &&
        rs->cc.s_maxage_s == TG_CACHE_ABSENT)
        return TG_CACHE_DECLINE_AUTHORIZATION;
    if (rs->set_cookie)
        return TG_CACHE_DECLINE_SET_COOKIE;
    if (rs->vary_star || rs->nvary > TG_CACHE_MAX_VARY)
        return TG_CACHE_DECLINE_VARY;
    return TG_CACHE_DECLINE_NONE;
}

int64_t tg_cache_explicit_lifetime_s(const struct tg_cache_resp_facts *rs, int64_t recv_wall_s)
{
    if (rs->cc.s_maxage_s != TG_CACHE_ABSENT)
        return rs->cc.s_maxage_s;
    if (rs->cc.max_age_s != TG_CACHE_ABSENT)
        return rs->cc.max_age_s;
    if (rs->expires_s == INT64_MIN)
        return 0;
    if (rs->expires_s == TG_CACHE_ABSENT)
        return TG_CACHE_ABSENT;
    int64_t date = rs->date_s != TG_CACHE_ABSENT ? rs->date_s : recv_wall_s;
    int64_t d = rs->expires_s - date; /* both within years 1970..9999: no overflow */
    if (d <= 0)
        return 0;
    return d < TG_CACHE_DELTA_MAX ? d : TG_CACHE_DELTA_MAX;
}

int64_t tg_cache_initial_age_us(const struct tg_cache_resp_facts *rs, int64_t sent_us,
                                int64_t recv_us, int64_t recv_wall_s)
{
    int64_t apparent = 0;
    if (rs->date_s != TG_CACHE_ABSENT && recv_wall_s > rs->date_s)
        apparent = recv_wall_s - rs->date_s;
    if (apparent > TG_CACHE_DELTA_MAX)
        apparent = TG_CACHE_DELTA_MAX;
    /* A round trip longer than the largest age is a caller's mistake, not a long wait. */
    int64_t delay = recv_us > sent_us ? recv_us - sent_us : 0;
    if (delay > TG_CACHE_DELTA_MAX * US_PER_S)
        delay = TG_CACHE_DELTA_MAX * US_PER_S;
    int64_t corrected = (rs->age_s != TG_CACHE_ABSENT ? rs->age_s * US_PER_S : 0) + delay;
    return apparent * US_PER_S > corrected ? apparent * US_PER_S : corrected;
}

bool tg_cache_resp_no_stale(const struct tg_cache_resp_facts *rs)
{
    return (rs->cc.flags & (TG_CACHE_CC_MUST_REVALIDATE | TG_CACHE_CC_PROXY_REVALIDATE)) ||
           rs->cc.s_maxage_s != TG_CACHE_ABSENT;
}

enum tg_cache_use tg_cache_usable(const struct tg_cache_freshness *f, const struct tg_cache_cc *req)
{
    if (req->flags & TG_CACHE_CC_NO_CACHE)
        return TG_CACHE_USE_NO;
    if (req->max_age_s != TG_CACHE_ABSENT && f->age_us > req->max_age_s * US_PER_S)
        return TG_CACHE_USE_NO;
    if (f->lifetime_us > f->age_us) {
        if (req->min_fresh_s != TG_CACHE_ABSENT &&
            f->lifetime_us - f->age_us < req->min_fresh_s * US_PER_S)
            return TG_CACHE_USE_NO;
        return TG_CACHE_USE_FRESH;
    }
    if (f->no_stale)
        return TG_CACHE_USE_NO;
    if (req->flags & TG_CACHE_CC_MAX_STALE_ANY)
        return TG_CACHE_USE_STALE;
    if (req->max_stale_s != TG_CACHE_ABSENT &&
        f->age_us - f->lifetime_us <= req->max_stale_s * US_PER_S)
        return TG_CACHE_USE_STALE;
    return TG_CACHE_USE_NO;
}

bool tg_cache_fallback_usable(const struct tg_cache_freshness *f, const struct tg_cache_cc *req,
                              int64_t fallback_max_age_us)
{
    if (f->lifetime_us > f->age_us)
        return true;
    if (f->no_stale)
        return false;
    if (fallback_max_age_us > 0 && f->age_us <= fallback_max_age_us)
        return true;
    int64_t staleness = f->age_us - f->lifetime_us;
    if (f->stale_if_error_us != TG_CACHE_ABSENT && staleness <= f->stale_if_error_us)
        return true;
    return req->stale_if_error_s != TG_CACHE_ABSENT &&
           staleness <= req->stale_if_error_s * US_PER_S;
}

size_t tg_cache_format_age(char *buf, size_t cap, int64_t age_us, bool stale,
                           bool revalidation_failed)
{
    int64_t age_s = age_us > 0 ? age_us / US_PER_S : 0;
    if (age_s > TG_CACHE_DELTA_MAX)
        age_s = TG_CACHE_DELTA_MAX;
    int n =
        snprintf(buf, cap, "Age: %lld\r\n%s%s", (long long)age_s,
                 stale ? "Warning: 110 - \"Response is Stale\"\r\n" : "",
                 stale && revalidation_failed ? "Warning: 111 - \"Revalidation Failed\"\r\n" : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
