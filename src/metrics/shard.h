/* SPDX-License-Identifier: MIT */
/* A worker's metrics shard: request statistics per key (endpoint x method) and per
 * upstream server, double-buffered behind one phaser (hist.h). The worker records into
 * the active side with no lock; the control thread flips the phaser once a second, reads
 * the side it got back, and resets it (HdrHistogram's interval recorder). Per-key storage
 * (a slot: two struct tg_reqstats, about 2.7 KiB plus latency pages) is allocated by the
 * writer on first use, and released by the reader once the key has had no request for
 * TG_MSHARD_IDLE_COLLECTS collections, so a worker holds memory only for the keys it
 * served lately, not for every key it ever saw (shard.c explains why that is race-free).
 * Keys and servers are small integers chosen by the caller (the gateway's endpoint and
 * server registries); nothing here knows their names. */
#ifndef TG_METRICS_SHARD_H
#define TG_METRICS_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics/reqstats.h"

/* Collections in a row without a request before a key's slot is released. At one
 * collection a second, a key served less often than every 10 s pays one malloc and free
 * per request on this worker (a few hundred ns, far below such a rare request's cost);
 * a shorter delay would churn for keys that are merely quiet for a moment. */
#define TG_MSHARD_IDLE_COLLECTS 10

struct tg_mshard;

/* `nkeys` request keys and `nservers` server keys. -ENOMEM or 0. Any thread. */
int tg_mshard_new(uint32_t nkeys, uint32_t nservers, struct tg_mshard **out);

/* Frees the shard; no writer or reader may use it any more. Accepts NULL. */
void tg_mshard_free(struct tg_mshard *s);

/* Writer (the owning worker only): records one request under `key` and, if `server` is
 * not UINT32_MAX, its upstream timing (`upstream_us`, `server_error`) under `server`.
 * Returns 0, or -ENOMEM if storage could not be allocated (the sample is dropped and
 * counted in tg_mshard_dropped). Out-of-range keys are dropped and counted too. Cost:
 * about 30 ns (bench/micro.sh), plus a malloc on a key's first request after idling. */
int tg_mshard_record(struct tg_mshard *s, uint32_t key, const struct tg_reqsample *r,
                     uint32_t server, int64_t upstream_us, bool server_error);

typedef void tg_mshard_key_fn(uint32_t key, const struct tg_reqstats *st, void *ctx);
typedef void tg_mshard_srv_fn(uint32_t server, const struct tg_srvstats *st, void *ctx);

/* Reader (one thread): flips the shard, calls `kfn` for every key and `sfn` for every
 * server with data in the interval that just ended (a key may be reported twice when
 * its slot was just replaced), resets that side, and releases idle slots. */
void tg_mshard_collect(struct tg_mshard *s, tg_mshard_key_fn *kfn, tg_mshard_srv_fn *sfn,
                       void *ctx);

/* Reader: `key` will have no more requests (the gateway removed its endpoint), so its
 * slot is released at the next collection that finds it idle instead of after
 * TG_MSHARD_IDLE_COLLECTS of them. Harmless if a request comes after all. */
void tg_mshard_drop(struct tg_mshard *s, uint32_t key);

/* Samples dropped for lack of memory or a bad key (relaxed read). */
uint64_t tg_mshard_dropped(const struct tg_mshard *s);

/* Key slots allocated as of the last collection, and slots released since the shard
 * was created (reader thread; for tests and memory accounting). */
uint32_t tg_mshard_slots(const struct tg_mshard *s);
uint64_t tg_mshard_released(const struct tg_mshard *s);

#endif
