/* SPDX-License-Identifier: MIT */
/* Response cache policy: what a shared HTTP cache may store and serve (RFC 9111, with the
 * stale-if-error extension of RFC 5861), as pure functions over header values and times
 * passed in. No state, no clock, no allocation: the store (cache.h) calls them on the
 * request path, and the fuzz target tests/fuzz/fuzz_cache_control.c feeds them any bytes.
 *
 * Freshness lifetime, first that applies (RFC 9111 §4.2.1, shared cache):
 *   1. `s-maxage`, 2. `max-age`, 3. `Expires` minus `Date` (an invalid `Expires`, such as
 *   "0", means already expired), 4. the route's TTL (`struct tg_cache_rule`), which plays
 *   the part of RFC 9111's heuristic freshness: it applies only when the response gives
 *   no explicit lifetime, and only to the statuses of tg_cache_status_default_ttl.
 * Duplicated or conflicting directives take the most restrictive reading (the smallest
 * max-age, no-cache over anything); an unparsable max-age or s-maxage counts as 0.
 * Stored: GET responses with a status of tg_cache_status_storable, without no-store (on
 * request or response), private, no-cache (a stale-free revalidation is something this
 * cache cannot do, so such an entry could never be served), Set-Cookie (one client's
 * session must not reach another), `Vary: *` or more than TG_CACHE_MAX_VARY Vary names,
 * and, for a request with Authorization, only when the response says public,
 * must-revalidate or s-maxage (RFC 9111 §3.5). Qualified forms (`private="x"`,
 * `no-cache="x"`) are read as the unqualified directive. */
#ifndef TG_PROTECT_CACHE_POLICY_H
#define TG_PROTECT_CACHE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A number the message does not carry. */
#define TG_CACHE_ABSENT INT64_C(-1)
/* RFC 9111 §1.2.2: a delta-seconds too large to represent is read as 2^31. */
#define TG_CACHE_DELTA_MAX INT64_C(2147483648)
/* Vary field names a stored response may list; more is declined (real APIs send one to
 * three: Accept-Encoding, Accept, Origin). */
#define TG_CACHE_MAX_VARY 8

/* One header field: name and value slices in the caller's buffer (not NUL-terminated),
 * the value with surrounding whitespace already stripped, as the HTTP parser gives it. */
struct tg_cache_field {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
};

enum tg_cache_cc_flag {
    TG_CACHE_CC_NO_STORE = 1 << 0,
    TG_CACHE_CC_NO_CACHE = 1 << 1,
    TG_CACHE_CC_PRIVATE = 1 << 2,
    TG_CACHE_CC_PUBLIC = 1 << 3,
    TG_CACHE_CC_MUST_REVALIDATE = 1 << 4,
    TG_CACHE_CC_PROXY_REVALIDATE = 1 << 5,
    TG_CACHE_CC_ONLY_IF_CACHED = 1 << 6,
    TG_CACHE_CC_MAX_STALE_ANY = 1 << 7, /* max-stale without a value: any staleness */
};

/* Cache-Control directives of one message; numbers in seconds, TG_CACHE_ABSENT when the
 * directive is absent, each in [0, TG_CACHE_DELTA_MAX] otherwise. */
struct tg_cache_cc {
    unsigned flags; /* enum tg_cache_cc_flag */
    int64_t max_age_s, s_maxage_s, max_stale_s, min_fresh_s, stale_if_error_s;
};

/* Empties `cc` (no directive). */
void tg_cache_cc_init(struct tg_cache_cc *cc);

/* Adds the directives of one Cache-Control field value v[0..n) to `cc` (call once per
 * field line; a later line cannot loosen an earlier one). Unknown directives and
 * malformed list members are skipped. Never fails. Cost: O(n). */
void tg_cache_cc_parse(struct tg_cache_cc *cc, const char *v, size_t n);

/* Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 (two-digit
 * years below 70 are 20xx) and asctime forms, which recipients must accept. Returns
 * false for anything else, or a date before 1970 or after 9999. */
bool tg_cache_http_date(const char *s, size_t n, int64_t *unix_s);

/* What a request says to the cache. */
struct tg_cache_req_facts {
    struct tg_cache_cc cc; /* with `Pragma: no-cache` read as no-cache when the request has
                            * no Cache-Control field (RFC 9111 §5.4) */
    bool authorization;
};

/* One pass over the request's fields. */
void tg_cache_req_facts(const struct tg_cache_field *f, uint32_t n, struct tg_cache_req_facts *out);

/* What a response says to the cache. The Vary names are slices into the field values. */
struct tg_cache_resp_facts {
    struct tg_cache_cc cc;
    int64_t date_s;    /* Date, TG_CACHE_ABSENT if absent or invalid */
    int64_t expires_s; /* Expires, TG_CACHE_ABSENT if absent, INT64_MIN if invalid */
    int64_t age_s;     /* Age, TG_CACHE_ABSENT if absent or invalid */
    bool set_cookie;
    bool vary_star;
    uint32_t nvary; /* names listed; only the first TG_CACHE_MAX_VARY are in `vary` */
    struct {
        const char *p;
        uint32_t len;
    } vary[TG_CACHE_MAX_VARY];
};

/* One pass over the response's fields. The first valid Date, Expires and Age count. */
void tg_cache_resp_facts(const struct tg_cache_field *f, uint32_t n,
                         struct tg_cache_resp_facts *out);

/* The route's cache settings, converted from the configuration by the proxy and passed
 * with each call, so a change applies to entries already stored. */
struct tg_cache_rule {
    bool serve;                  /* answer requests from fresh entries (caching on) */
    int64_t default_ttl_us;      /* lifetime when the response states none; 0 = none */
    int64_t fallback_max_age_us; /* fallback: entries up to this age may be served when
                                  * the upstream fails; 0 = fallback off */
};

/* Why a response is not stored (TG_CACHE_DECLINE_NONE: it is). */
enum tg_cache_decline {
    TG_CACHE_DECLINE_NONE = 0,
    TG_CACHE_DECLINE_METHOD,        /* not a GET */
    TG_CACHE_DECLINE_STATUS,        /* a status this cache does not store */
    TG_CACHE_DECLINE_NO_STORE,      /* no-store on the request or the response */
    TG_CACHE_DECLINE_PRIVATE,       /* private */
    TG_CACHE_DECLINE_NO_CACHE,      /* no-cache: usable only after revalidation */
    TG_CACHE_DECLINE_AUTHORIZATION, /* request with Authorization, response not shareable */
    TG_CACHE_DECLINE_SET_COOKIE,    /* Set-Cookie */
    TG_CACHE_DECLINE_VARY,          /* Vary: * or too many names */
    TG_CACHE_DECLINE_LIFETIME,      /* no freshness and no stale window: never servable */
    TG_CACHE_DECLINE_TOO_BIG,       /* larger than the object limit */
    TG_CACHE_DECLINE_MEMORY,        /* the budget is held by entries in use, or no memory */
    TG_CACHE_DECLINE_PURGED,        /* a purge of its key ran while it was received */
    TG_CACHE_DECLINE__COUNT,
};

/* A stable lower-case name for `d` ("no_store", "too_big", ...), for metrics labels. */
const char *tg_cache_decline_name(enum tg_cache_decline d);

/* Statuses stored at all: those RFC 9110 §15.1 makes heuristically cacheable, less 206
 * (ranges are not assembled here). */
bool tg_cache_status_storable(int status);

/* Statuses the route's TTL applies to: 200, 203, 204, 300, 301, 308. A 404 or 410 is
 * stored only with an explicit lifetime, so requests for random paths cannot fill the
 * cache with error pages the origin never asked to be cached. */
bool tg_cache_status_default_ttl(int status);

/* Whether a GET (`is_get`) answered `status` with `rs` may be stored, before size and
 * lifetime are known. */
enum tg_cache_decline tg_cache_storable(bool is_get, const struct tg_cache_req_facts *rq,
                                        int status, const struct tg_cache_resp_facts *rs);

/* The explicit freshness lifetime in seconds (rules 1 to 3 above), or TG_CACHE_ABSENT.
 * `recv_wall_s` stands for Date when the response has none. */
int64_t tg_cache_explicit_lifetime_s(const struct tg_cache_resp_facts *rs, int64_t recv_wall_s);

/* The age of the response when it arrived (RFC 9111 §4.2.3: the larger of Date's
 * apparent age and Age plus the round trip), in µs. `sent_us` and `recv_us` are the
 * monotonic times the request went out and the response head came in. */
int64_t tg_cache_initial_age_us(const struct tg_cache_resp_facts *rs, int64_t sent_us,
                                int64_t recv_us, int64_t recv_wall_s);

/* True if the response forbids serving it stale (must-revalidate, proxy-revalidate,
 * s-maxage: RFC 9111 §4.2.4). stale-if-error does not lift that. */
bool tg_cache_resp_no_stale(const struct tg_cache_resp_facts *rs);

/* An entry at one moment: its current age and lifetime, and what it allows. */
struct tg_cache_freshness {
    int64_t age_us;
    int64_t lifetime_us;
    int64_t stale_if_error_us; /* from the response, TG_CACHE_ABSENT if none */
    bool no_stale;             /* tg_cache_resp_no_stale */
};

enum tg_cache_use {
    TG_CACHE_USE_NO = 0,
    TG_CACHE_USE_FRESH,
    TG_CACHE_USE_STALE, /* stale, and the request's max-stale accepts it */
};

/* Whether a request with directives `req` may be answered with the entry `f` on a normal
 * lookup: fresh and within the request's max-age and min-fresh, or stale within its
 * max-stale (RFC 9111 §4.2, §5.2.1). */
enum tg_cache_use tg_cache_usable(const struct tg_cache_freshness *f,
                                  const struct tg_cache_cc *req);

/* Whether the entry may answer when the upstream failed (error, timeout, open breaker):
 * a fresh entry always; a stale one unless it forbids stale serving, when its age is at
 * most `fallback_max_age_us`, or its staleness is within the response's or the request's
 * stale-if-error. The request's no-cache and max-age are preferences (RFC 9111 §5.2.1)
 * that yield to an answer when the origin cannot give one. */
bool tg_cache_fallback_usable(const struct tg_cache_freshness *f, const struct tg_cache_cc *req,
                              int64_t fallback_max_age_us);

/* Writes the header lines a response served from the cache carries: "Age: <s>" (whole
 * seconds, RFC 9111 §5.1), and when `stale` "Warning: 110 - \"Response is Stale\"", plus
 * "Warning: 111 - \"Revalidation Failed\"" when `revalidation_failed` (the upstream was
 * tried and failed). Each line ends in CRLF. Returns the length written (no NUL), or 0
 * if `cap` is too small; 128 bytes always suffice. */
size_t tg_cache_format_age(char *buf, size_t cap, int64_t age_us, bool stale,
                           bool revalidation_failed);

#endif
