/* SPDX-License-Identifier: MIT */
/* The control thread's view of the gateway's request metrics: once a second it collects
 * every worker shard (shard.h) and folds the interval into since-start totals (what the
 * Prometheus exposition reports: counters never go down) and into per-key sliding
 * windows (what the monitoring API reports: "p95 over the last minute"), plus one
 * window over all keys together. Keys and servers are the gateway's small integers.
 * A key's storage exists from its first request until tg_magg_forget (the gateway
 * forgets the keys of an endpoint it removes); an idle key costs its totals (about
 * 1.3 KiB plus 1 KiB per latency page) and an empty window header.
 * Control thread only; nothing here takes a lock. */
#ifndef TG_METRICS_AGG_H
#define TG_METRICS_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/reqstats.h"
#include "metrics/shard.h"
#include "metrics/window.h"

#define TG_MAGG_ALL UINT32_MAX /* window over every key */

struct tg_magg;

/* Windows hold `window_s` seconds (the longest a query may ask for). -ENOMEM or 0. */
int tg_magg_new(uint32_t nkeys, uint32_t nservers, uint32_t window_s, struct tg_magg **out);
void tg_magg_free(struct tg_magg *a);

/* Collects the interval from every shard and files it under second `now_s`. */
void tg_magg_tick(struct tg_magg *a, struct tg_mshard *const *shards, uint32_t nshards,
                  int64_t now_s);

/* Since-start totals of `key`, or NULL if it has had no request since it was created or
 * last forgotten. */
const struct tg_reqstats *tg_magg_total(const struct tg_magg *a, uint32_t key);

/* Since-start totals of an upstream server, or NULL. */
const struct tg_srvstats *tg_magg_server_total(const struct tg_magg *a, uint32_t server);

/* Keeps keys lo..hi-1 out of the TG_MAGG_ALL window (they keep their own totals and
 * windows). The gateway sets its "(rejected)" keys apart: refusals are not the API's
 * latency, and a slowloris flood must not read as a slow API. */
void tg_magg_set_apart(struct tg_magg *a, uint32_t lo, uint32_t hi);

/* Window statistics of `key` (or TG_MAGG_ALL) over the last `seconds` ending at the last
 * tick. A key with no window yet gives zeros. */
void tg_magg_window(struct tg_magg *a, uint32_t key, uint32_t seconds, struct tg_winstats *out);

/* The last second (a tick's `now_s`) in which `key` had a request, INT64_MIN if none. */
int64_t tg_magg_last_active(const struct tg_magg *a, uint32_t key);

/* Frees the storage of `key`: its series are gone until it has a request again. */
void tg_magg_forget(struct tg_magg *a, uint32_t key);

/* Bytes held for `key` (totals, latency pages, window), 0 when none. */
size_t tg_magg_key_bytes(const struct tg_magg *a, uint32_t key);

/* The second of the last tick (0 before the first). */
int64_t tg_magg_last_tick(const struct tg_magg *a);

uint32_t tg_magg_nkeys(const struct tg_magg *a);
uint32_t tg_magg_nservers(const struct tg_magg *a);

#endif
