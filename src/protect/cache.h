/* SPDX-License-Identifier: MIT */
/* Response cache and fallback store, shared by every worker thread. The proxy asks it
 * before forwarding a GET or HEAD (tg_cache_lookup: a fresh hit is served without the
 * upstream), offers it the upstream's response while streaming that to the client
 * (tg_cache_offer, tg_cache_fill_append, tg_cache_fill_commit), and when the upstream
 * fails asks for a stale entry (tg_cache_lookup_stale). The control API purges, warms
 * and trims it, and metrics read its counters. What may be stored and served is decided
 * by cache_policy.h (RFC 9111); this file holds the entries.
 *
 * Keys: the path and query of the request (GET and HEAD share entries; other methods are
 * never stored), then the variant: the values of the request fields that the stored
 * response's Vary names. A key holds at most TG_CACHE_MAX_VARIANTS variants, newest
 * first. Host is not part of the key: one gateway fronts one site, and an upstream that
 * answers differently per Host says so with `Vary: Host`.
 *
 * Memory: `max_bytes` bounds everything the entries hold (the entry record, key, Vary
 * values, head, body) and bodies being received, counted until the memory is freed,
 * so an entry evicted while a worker still writes it out keeps counting. An insertion
 * that would pass the bound first evicts least recently used entries (the oldest among
 * the stripes' LRU tails, so eviction order is global LRU up to ties); if what is left is
 * all in use, the insertion is declined. The stripes' hash tables (8 to 16 bytes per
 * key at their largest; they do not shrink) are outside the bound.
 *
 * Threads: any thread may call anything. The request path takes one of 64 stripe locks
 * (a mutex chosen by the key's hash; held for a hash probe, a compare and a list move:
 * well under a microsecond, so two workers rarely meet on one and never on a global lock)
 * and no malloc on a lookup. Entries are immutable once committed and reference-counted:
 * a hit holds a reference that keeps the entry's memory alive, without a lock, while the
 * worker writes it to a socket, however long that takes.
 *
 * Time: `now_us` is CLOCK_MONOTONIC µs passed in by the caller; wall-clock seconds only
 * where Date and Expires need them (struct tg_cache_resp). Nothing here reads a clock.
 *
 * Calls from the proxy, in order: lookup (HIT: serve, release; UNSATISFIABLE: 504;
 * MISS: forward, then offer with the lookup's `purge_gen`; PASS: forward only); on
 * upstream failure with fallback on, lookup_stale; after a non-GET/HEAD request answered
 * below 400, purge_key on its path and query (RFC 9111 §4.4: a write invalidates what
 * was read). */
#ifndef TG_PROTECT_CACHE_H
#define TG_PROTECT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protect/cache_policy.h"

/* Variants one key keeps; the oldest goes when a new one comes (a response that varies
 * on User-Agent would otherwise fill the cache with one page). */
#define TG_CACHE_MAX_VARIANTS 8

struct tg_cache;
struct tg_cache_entry;

struct tg_cache_limits {
    size_t max_bytes;        /* memory budget, > 0 */
    size_t max_object_bytes; /* largest entry (record, key, head and body), <= max_bytes */
};

/* The request's facts. `query` is what follows '?' (empty when none); the slices are
 * borrowed for the duration of the call. */
struct tg_cache_req {
    bool head; /* HEAD: answered from a GET's entry, never stored */
    const char *path;
    uint32_t path_len;
    const char *query;
    uint32_t query_len;
    const struct tg_cache_field *fields;
    uint32_t nfields;
};

/* The upstream response's head, offered to the cache. */
struct tg_cache_resp {
    int status;
    const struct tg_cache_field *fields; /* as received; the stored copy drops what must not
                                          * be replayed (see tg_cache_offer) */
    uint32_t nfields;
    int64_t content_length; /* payload bytes (0 without a body, as for 204), or
                             * TG_CACHE_ABSENT (chunked, or until close) */
    int64_t sent_us;        /* monotonic time the request was sent upstream */
    int64_t wall_s;         /* wall clock (Unix seconds) when the head arrived */
    uint64_t purge_gen;     /* `purge_gen` of this request's tg_cache_lookup, 0 if none */
};

enum tg_cache_verdict {
    TG_CACHE_MISS = 0,      /* forward, and offer the response */
    TG_CACHE_HIT,           /* serve the entry in `struct tg_cache_hit` */
    TG_CACHE_PASS,          /* forward, do not offer (request no-store, HEAD) */
    TG_CACHE_UNSATISFIABLE, /* only-if-cached and nothing usable: answer 504 */
};

/* An entry to serve. Holds a reference: give it back with tg_cache_release. */
struct tg_cache_hit {
    struct tg_cache_entry *entry;
    int64_t age_us; /* current age, for tg_cache_format_age */
    bool stale;
    /* Set by tg_cache_lookup whatever the verdict: hand it to tg_cache_offer in
     * `struct tg_cache_resp`, so that a response whose request started before a purge
     * of its key is not stored after it (the purge may have followed the write that
     * made it out of date). */
    uint64_t purge_gen;
};

/* A response being received into the cache, embedded by the caller (one per upstream
 * exchange) so that offering costs no allocation of its own. Zero-initialise; the
 * fields are private. */
struct tg_cache_fill {
    struct tg_cache_entry *entry;
    int err;
};

/* Counters, each summed over the stripes (relaxed reads: a snapshot, not a transaction).
 * The hit rate is hits / (hits + misses). */
struct tg_cache_stats {
    uint64_t hits;            /* fresh (or max-stale) answers from tg_cache_lookup */
    uint64_t misses;          /* lookups with caching on that found nothing usable */
    uint64_t stale_served;    /* stale answers (fallback, or a request's max-stale) */
    uint64_t fallback_served; /* answers from tg_cache_lookup_stale, stale or not */
    uint64_t stores;          /* committed entries */
    uint64_t evictions;       /* entries dropped to make room (trim to a target included) */
    uint64_t expired;         /* entries dropped past their retention (trim) */
    uint64_t purged;          /* entries dropped by purge calls */
    uint64_t declined[TG_CACHE_DECLINE__COUNT]; /* responses not stored, by reason */
    uint64_t entries;                           /* entries stored now */
    uint64_t bytes;                             /* bytes counted against the budget now */
    uint64_t bytes_peak; /* most bytes ever allocated at once (<= the largest max_bytes) */
    uint64_t max_bytes, max_object_bytes;
};

/* Creates an empty cache. `seed` is a random 64-bit value (keys are hashed with it, so
 * colliding paths cannot be precomputed). Returns 0, -EINVAL for bad limits, -ENOMEM. */
int tg_cache_new(const struct tg_cache_limits *lim, uint64_t seed, struct tg_cache **out);

/* Frees the cache and its entries. No call may be in progress, no fill open and no hit
 * unreleased. Accepts NULL. */
void tg_cache_free(struct tg_cache *c);

/* Applies new limits to a live cache (a configuration change): entries past the new
 * budget are evicted now, least recently used first; larger entries stay until evicted.
 * Returns 0 or -EINVAL (the old limits stay). Control thread. */
int tg_cache_set_limits(struct tg_cache *c, const struct tg_cache_limits *lim);

/* Looks the request up. HIT: `hit` holds a reference to a usable entry (fresh, or stale
 * within the request's max-stale, with `stale` set). With `rule->serve` off it only
 * says MISS or PASS and counts nothing, so that fallback can store without serving.
 * Cost: one pass over the request's fields, a hash of path and query, one stripe lock;
 * no allocation; about 780 instructions, 60 to 180 ns (bench/cache_lookup.c). */
enum tg_cache_verdict tg_cache_lookup(struct tg_cache *c, const struct tg_cache_req *rq,
                                      const struct tg_cache_rule *rule, int64_t now_us,
                                      struct tg_cache_hit *hit);

/* The upstream failed (connect error, a 5xx the route treats as failure, timeout) or the
 * breaker is open: true with a reference in `hit` if an entry may answer instead
 * (tg_cache_fallback_usable with `rule->fallback_max_age_us`). Serve it with the lines of
 * tg_cache_format_age, `revalidation_failed` set when the upstream was tried. */
bool tg_cache_lookup_stale(struct tg_cache *c, const struct tg_cache_req *rq,
                           const struct tg_cache_rule *rule, int64_t now_us,
                           struct tg_cache_hit *hit);

/* Gives back the reference of a hit. Accepts NULL. */
void tg_cache_release(struct tg_cache *c, struct tg_cache_entry *e);

/* The stored response: status, header lines ("Name: value\r\n" each, without the status
 * line, framing, hop-by-hop fields and Age), and body (the payload, not chunked). The
 * caller writes the status line, the lines, Content-Length (but not for 204), the lines of
 * tg_cache_format_age and its own Connection and Via. Valid while the reference is held. */
int tg_cache_entry_status(const struct tg_cache_entry *e);
const char *tg_cache_entry_head(const struct tg_cache_entry *e, size_t *len);
const char *tg_cache_entry_body(const struct tg_cache_entry *e, size_t *len);

/* Offers the upstream's answer to a GET (`rq` as given to the lookup). DECLINE_NONE:
 * `f` is open; append the payload as it arrives, then commit it when it is complete or
 * abort it. Otherwise `f` stays empty and the reason is counted. Stored heads keep
 * end-to-end fields only: Connection and the fields it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Content-Length, Age,
 * Warning and X-Request-Id are dropped (a replay gets its own). Memory for the head, and
 * for the body when Content-Length is given, is taken now (evicting if needed). */
enum tg_cache_decline tg_cache_offer(struct tg_cache *c, const struct tg_cache_req *rq,
                                     const struct tg_cache_rule *rule,
                                     const struct tg_cache_resp *rs, int64_t now_us,
                                     struct tg_cache_fill *f);

/* Appends payload bytes. Returns 0, TG_ELIMIT past the object limit, TG_EPARSE past the
 * announced Content-Length, or -ENOMEM (nothing left to evict, or malloc failed). After
 * an error the fill only takes an abort (a commit returns that error). */
int tg_cache_fill_append(struct tg_cache *c, struct tg_cache_fill *f, const void *data, size_t len);

/* The whole body has arrived: the entry replaces any entry of the same key and variant
 * (and every variant of its key stored under a different Vary) and becomes visible to
 * lookups. Returns 0; TG_ECLOSED if fewer bytes came than Content-Length announced;
 * -ESTALE (counted as DECLINE_PURGED) if a purge that may cover the key ran since the
 * request's lookup (or, without `purge_gen`, since the offer); or the fill's earlier
 * error. `f` is empty afterwards either way. */
int tg_cache_fill_commit(struct tg_cache *c, struct tg_cache_fill *f, int64_t now_us);

/* Drops an open fill (the response was aborted). Harmless on an empty one. */
void tg_cache_fill_abort(struct tg_cache *c, struct tg_cache_fill *f);

/* Purges every variant of one key (path and query exactly as requested). Returns the
 * number of entries removed. Any thread. */
size_t tg_cache_purge_key(struct tg_cache *c, const char *path, size_t path_len, const char *query,
                          size_t query_len);

/* Purges every entry whose key (path, then "?query" if any) starts with `prefix`, byte
 * for byte ("/api/products" also takes "/api/products-old"; end it with '/' for a
 * subtree). Cost: a walk of every entry (40 ns each, 200 ns for one removed), a few
 * hundred at a time under one stripe lock; for the control thread. Returns the number
 * removed. */
size_t tg_cache_purge_prefix(struct tg_cache *c, const char *prefix, size_t len);

/* Purges by pattern, matched against the whole key with fnmatch(3) without flags ('*'
 * matches across '/', '?' one byte, [...] a class). A pattern that does not start with
 * '/' is a key-store style name, like the runbooks' `products:category:*`: each ':'
 * stands for '/', and it may match from any segment boundary of the key, so that one
 * purges "/api/products/category/shoes?page=2" and "/products/category/x" alike (it is
 * read as '*' followed by "/products/category/" and '*'). Returns the number removed, or
 * -EINVAL for an empty pattern or one longer than 1 KiB. */
long tg_cache_purge_pattern(struct tg_cache *c, const char *pattern);

/* Warming: true if a GET of this request would not find an entry that stays fresh for
 * `min_fresh_us` more (so the caller should fetch it through the proxy, which stores it).
 * Counts nothing and changes no LRU order. */
bool tg_cache_warm_needed(struct tg_cache *c, const struct tg_cache_req *rq,
                          const struct tg_cache_rule *rule, int64_t now_us, int64_t min_fresh_us);

struct tg_cache_trim_result {
    uint64_t expired, evicted; /* entries */
    uint64_t bytes_before, bytes_after;
};

/* The GC call: drops entries past their retention (no longer fresh nor within the stale
 * window of the route as it was when they were stored), then evicts least recently used
 * entries until the budget in use is at most `target_bytes` (SIZE_MAX: no shrinking).
 * Cost: a walk of every entry; for the control thread. */
struct tg_cache_trim_result tg_cache_trim(struct tg_cache *c, int64_t now_us, size_t target_bytes);

/* Fills `out`. Any thread. */
void tg_cache_stats(const struct tg_cache *c, struct tg_cache_stats *out);

#endif
