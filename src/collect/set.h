/* SPDX-License-Identifier: MIT */
/* The collector targets the configuration asks for (collectors:), each collected on its
 * own schedule on the control loop: at every boundary of its interval a target is asked
 * to collect (target.h); when it is done, or when its timeout passes first (the target
 * is cancelled and counts as down), the set keeps the result as that target's latest
 * and hands it to the owner's callback, which puts it in the store as its own job
 * (control/collectors.c). A hanging target therefore delays nothing but itself.
 *
 * Kinds and their jobs: "node" (host), "container", "postgres", "redis", "probes". The
 * latest results of a kind are what /metrics/<kind> shows (tg_cset_kind_collector).
 * Reload (tg_cset_apply): targets whose settings did not change keep running and keep
 * their state; changed, new and removed ones are replaced, created and dropped.
 * Everything here runs on the loop's thread. */
#ifndef TG_COLLECT_SET_H
#define TG_COLLECT_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"
#include "core/loop.h"
#include "metrics/collect.h"

struct tg_cset;
struct tg_csnap;
struct tg_ctarget;

enum tg_ckind {
    TG_CKIND_NODE = 0,
    TG_CKIND_CONTAINER,
    TG_CKIND_POSTGRES,
    TG_CKIND_REDIS,
    TG_CKIND_PROBES,
    TG_CKIND_COUNT,
};

/* "node", "container", "postgres", "redis", "probes": the job label and the path
 * /metrics/<kind>. */
const char *tg_ckind_name(enum tg_ckind k);
/* The kind named `name` (length `len`), or -1. */
int tg_ckind_parse(const char *name, size_t len);

/* A target as the health endpoints and the store's ingestion see it. Strings are valid
 * until the next tg_cset_apply or tg_cset_free. */
struct tg_ctarget_info {
    enum tg_ckind kind;
    const char *job;      /* tg_ckind_name(kind) */
    const char *instance; /* the instance label */
    const char *service;  /* probes: the service name; else the instance */
    bool up;              /* the last collection succeeded (false before the first) */
    bool running;         /* a collection is in flight now */
    const char *error;    /* why the last one failed ("" when up or before the first) */
    int64_t interval_us, timeout_us;
    int64_t last_wall_ms;         /* when the last collection was due (wall clock); 0: never */
    int64_t last_duration_us;     /* how long it took (to the deadline when it timed out) */
    int64_t last_success_wall_ms; /* 0: never */
    uint64_t collections, failures, timeouts;
    uint64_t samples; /* samples of the last result */
};

/* Called after each collection with its result (`snap`: what succeeded, or what a failed
 * scrape shows) and `due_wall_ms`, the wall time of the interval boundary it ran for
 * (the store's timestamp). Both are borrowed for the call. */
typedef void tg_cset_result_fn(void *ctx, const struct tg_ctarget_info *t,
                               const struct tg_csnap *snap, int64_t due_wall_ms);

/* A constructor of one target of a kind; the set calls it with the target's settings
 * (`cfg` points at the kind's struct: tg_cfg_host, tg_cfg_container + the containers'
 * cgroup_root, tg_cfg_postgres, tg_cfg_redis, tg_cfg_probe). Tests swap them. */
struct tg_cset_kinds {
    int (*make[TG_CKIND_COUNT])(struct tg_loop *loop, const void *cfg, const void *extra,
                                struct tg_ctarget *out, struct tg_errbuf *eb);
};

/* The built-in constructors. */
extern const struct tg_cset_kinds tg_cset_default_kinds;

/* Creates the set on `loop` for `cfg->collectors` (intervals of 0 take
 * cfg->tsdb.scrape_interval_us). `kinds` NULL = the built-in ones. A target that
 * cannot be created (e.g. a password file that cannot be read) is kept, down, with the
 * reason, and tried again at each interval. 0 or -ENOMEM. */
int tg_cset_new(struct tg_loop *loop, const struct tg_config *cfg,
                const struct tg_cset_kinds *kinds, tg_cset_result_fn *on_result, void *ctx,
                struct tg_cset **out, struct tg_errbuf *eb);
/* Applies a new configuration (see the file comment). 0 or -ENOMEM (then the old set
 * stays as it was). */
int tg_cset_apply(struct tg_cset *s, const struct tg_config *cfg, struct tg_errbuf *eb);
/* Cancels collections in flight and frees every target. Accepts NULL. */
void tg_cset_free(struct tg_cset *s);

/* Calls fn for each target, kinds in enum order, targets in configuration order. */
typedef void tg_cset_info_fn(const struct tg_ctarget_info *t, void *ctx);
void tg_cset_foreach(const struct tg_cset *s, tg_cset_info_fn *fn, void *ctx);
/* Whether kind `k` has a target named `instance` (its instance or service label). */
bool tg_cset_has(const struct tg_cset *s, enum tg_ckind k, const char *instance);
/* Targets of kind `k`. */
uint32_t tg_cset_count(const struct tg_cset *s, enum tg_ckind k);

/* The target `instance` of kind `k` (NULL instance: the first of the kind), as the
 * kind's constructor made it (for the kind's own API, e.g. postgres.h's queries), or
 * NULL. */
void *tg_cset_impl(const struct tg_cset *s, enum tg_ckind k, const char *instance);

/* /metrics/<kind>: a collector over the latest results of kind `k`'s targets (those of
 * `instance` only, when not NULL). With more than one target, each series gets an
 * `instance` label and each family is described once. Host and container targets are
 * collected afresh first (they are cheap and synchronous); the others show their latest
 * collection. `scan` holds the walk; tg_cset_kind_scan_init prepares it. */
struct tg_cset_kind_scan {
    struct tg_cset *set;
    enum tg_ckind kind;
    const char *instance;
    uint32_t fam;    /* family index in the merged list */
    uint32_t target; /* target index within the kind */
    uint32_t series; /* series index within the target's family */
    bool announced;
};
void tg_cset_kind_scan_init(struct tg_cset_kind_scan *sc, struct tg_cset *s, enum tg_ckind k,
                            const char *instance);
int tg_cset_kind_collect(void *scan, const struct tg_mvisitor *v, struct tg_mcursor *cur);

/* The set's own figures (tailguard_collector_*): per target up, collection duration,
 * collections, failures and timeouts. `data` is the set. */
int tg_cset_collect_self(void *data, const struct tg_mvisitor *v, struct tg_mcursor *cur);

#endif
