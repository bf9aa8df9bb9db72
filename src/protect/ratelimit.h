/* SPDX-License-Identifier: MIT */
/* Rate limiter: one object per rule, a pure decision over its own state, exact across
 * worker threads without a lock. The proxy's protection chain calls tg_ratelimit_take
 * for each request the rule applies to; the control thread changes the rule's numbers
 * (tg_ratelimit_set_params) and reads its counters (tg_ratelimit_read). No clock inside:
 * every decision takes `now_us` (CLOCK_MONOTONIC µs).
 *
 * Two algorithms:
 * - GCRA (generic cell rate algorithm): `limit` requests per `period_us`, i.e. one every
 *   T = period / limit, and up to `burst` at once after a quiet spell. The state is one
 *   theoretical arrival time (TAT); a request is accepted when TAT - now <= (burst - 1) x
 *   T, and then moves TAT to max(TAT, now) + T. Over any interval of length D it accepts
 *   at most D / T + burst requests, with no reset boundary to game. This is the
 *   `requests_per_minute` (or per second) rule of the control API.
 * - Fixed window: at most `limit` requests per window of `period_us`, windows aligned on
 *   multiples of the period, the count starting again at each (the express-rate-limit
 *   rules of the runbooks: `/api/` 100 per 900 s per client IP, `/api/content/generate`
 *   5 per 60 s per IP). Allows up to 2 x limit across a window boundary, as they do.
 *
 * Every decision is one compare-and-swap on one 64-bit word, retried only when another
 * thread changed that word in between, so the count is exact under any contention. A
 * refused request changes nothing (it does not push TAT or the count), so a client that
 * keeps retrying while limited is not punished further.
 *
 * Keys (the scope, fixed at creation): GLOBAL has one cell; CLIENT_IP and ROUTE keep one
 * cell per key in a bounded table (ratelimit_table.c): open addressing over 16-byte
 * entries, a key's 64-bit keyed hash and its state word, claimed and updated by
 * compare-and-swap. A new key that finds its 8-entry neighbourhood full takes the place
 * of an expired entry (a TAT already in the past, or a count from an earlier window: the
 * same as no entry, so nothing is lost), else of the live entry with the least to lose
 * (the earliest TAT, or the smallest count), and that eviction of live state is counted
 * (`evictions_live_total`). Memory: 16 bytes per entry, allocated at creation; a
 * 1,048,576-entry table is 16 MiB. Known limits, all rare and bounded: two keys with the
 * same 64-bit hash share a cell (keyed with a seed the caller draws at random); two workers
 * seeing a brand-new key at the same instant may both create an entry and each let one
 * request through; after four lost races in a row on one key a request is decided
 * against an empty state and let through (counted in `contended_total`).
 *
 * Dry run: every decision is made and counted as if enforced, state included, but the
 * verdict lets the request through. Disabled: everything passes, nothing is counted. */
#ifndef TG_PROTECT_RATELIMIT_H
#define TG_PROTECT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum tg_ratelimit_algo {
    TG_RATELIMIT_GCRA = 0,
    TG_RATELIMIT_FIXED_WINDOW = 1,
};

enum tg_ratelimit_scope {
    TG_RATELIMIT_GLOBAL = 0,
    TG_RATELIMIT_CLIENT_IP = 1,
    TG_RATELIMIT_ROUTE = 2,
};

/* Per-key fixed windows count to 65,535 in a table entry; the global cell to 2^24 - 1. */
#define TG_RATELIMIT_KEY_WINDOW_MAX 65535u
#define TG_RATELIMIT_GLOBAL_WINDOW_MAX 16777215u

struct tg_ratelimit_params {
    bool enabled;
    bool dry_run; /* decide and count, but let everything through */
    enum tg_ratelimit_algo algo;
    uint64_t limit;    /* requests per period (GCRA) or per window, >= 1 */
    int64_t period_us; /* 1 s .. 24 h: 60 s for requests_per_minute */
    uint32_t burst;    /* GCRA: accepted at once after a quiet spell, 1..limit */
};

/* Fills `p` with the runbooks' rule: enabled, GCRA, 1000 requests per minute, burst 17
 * (one second's worth, rounded up). */
void tg_ratelimit_params_default(struct tg_ratelimit_params *p);

/* 0, or TG_ECONFIG with `eb` naming the field and its allowed range. Per-key scopes
 * allow at most one request per µs per key and TG_RATELIMIT_KEY_WINDOW_MAX per window. */
int tg_ratelimit_check_params(const struct tg_ratelimit_params *p, enum tg_ratelimit_scope scope,
                              struct tg_errbuf *eb);

struct tg_ratelimit;

/* A rule with the given scope. `capacity`: table entries for CLIENT_IP and ROUTE (rounded
 * up to a power of two, at least 64; ignored for GLOBAL). `seed`: a random value that keys
 * the hash, so clients cannot choose addresses that collide. 0, TG_ECONFIG (`eb` says
 * which field) or -ENOMEM. Startup or control thread. */
int tg_ratelimit_new(const struct tg_ratelimit_params *p, enum tg_ratelimit_scope scope,
                     size_t capacity, uint64_t seed, struct tg_errbuf *eb,
                     struct tg_ratelimit **out);

/* No thread may use `rl` any more. Accepts NULL. */
void tg_ratelimit_free(struct tg_ratelimit *rl);

/* What a request is keyed by: the client address (IPv4 as ::ffff:a.b.c.d, see
 * clientip.h) for CLIENT_IP, a route number for ROUTE; GLOBAL ignores it. */
struct tg_ratelimit_key {
    uint8_t ip[16];
    uint32_t route;
};

/* A decision and what the response headers need (tg_ratelimit_format_headers). */
struct tg_ratelimit_verdict {
    bool allow;   /* let the request through (always, in dry run) */
    bool limited; /* over the limit (also in dry run: count it as a hit) */
    bool dry_run;
    int64_t retry_after_us; /* limited: until a request would be accepted */
    uint64_t limit;         /* the rule's quota per window; 0 when disabled (no headers) */
    uint64_t remaining;     /* requests that would be accepted right now */
    int64_t reset_us;       /* until the quota is whole again */
    int64_t window_us;      /* the rule's period */
};

/* Any worker thread: decides one request and fills `v`; returns v->allow. `key` may be
 * NULL for GLOBAL (for a keyed rule, a NULL key shares one cell with every other NULL). Never
 * allocates, never blocks. Cost: one CAS on a shared word (global), plus one keyed hash and a probe
 * of two cache lines (per key); see bench/protect_admit.c. */
bool tg_ratelimit_take(struct tg_ratelimit *rl, int64_t now_us, const struct tg_ratelimit_key *key,
                       struct tg_ratelimit_verdict *v);

/* Writes the response header lines for `v` into `buf` (CRLF after each, no NUL needed):
 * `RateLimit-Policy: <limit>;w=<seconds>`, `RateLimit-Limit`, `RateLimit-Remaining`,
 * `RateLimit-Reset` (seconds, rounded up) as in draft-ietf-httpapi-ratelimit-headers-06,
 * and `Retry-After` (seconds, rounded up, at least 1) when the request is refused.
 * Nothing for a disabled rule or in dry run (clients must not learn of a limit that is
 * not enforced). Returns the bytes written, or TG_ELIMIT if `cap` is too small (then
 * `buf` holds nothing useful); 160 bytes always suffice. */
int tg_ratelimit_format_headers(const struct tg_ratelimit_verdict *v, char *buf, size_t cap);

/* Control thread: new numbers for the live rule (the scope and the table stay). Kept
 * across the change: with GCRA, each key's TAT (a lower rate then spaces the next
 * requests further; a higher one lets them sooner); with a fixed window of unchanged
 * length, each key's count in the current window. A change of algorithm or of the window
 * length starts every key afresh. 0 or TG_ECONFIG (nothing changed). Workers may decide
 * meanwhile; one decision may mix the old and new numbers. */
int tg_ratelimit_set_params(struct tg_ratelimit *rl, const struct tg_ratelimit_params *p,
                            struct tg_errbuf *eb);

struct tg_ratelimit_stats {
    uint64_t hits_total;           /* limited decisions, dry run included */
    uint64_t contended_total;      /* decided without state after lost races */
    size_t capacity;               /* table entries (0 for GLOBAL) */
    size_t used;                   /* entries ever claimed (they are reused, not freed) */
    uint64_t evictions_total;      /* an entry taken over by another key */
    uint64_t evictions_live_total; /* ... while its state still mattered */
    size_t bytes;                  /* memory held */
};

/* Counters (relaxed loads). Any thread. */
void tg_ratelimit_read(const struct tg_ratelimit *rl, struct tg_ratelimit_stats *out);

/* Table entries whose state still matters at `now_us` (0 for GLOBAL): O(capacity), a few
 * ms for 1M entries, for an occasional gauge, not for every scrape of a big table.
 * Control thread. */
size_t tg_ratelimit_count_live(const struct tg_ratelimit *rl, int64_t now_us);

#endif
