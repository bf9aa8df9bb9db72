/* SPDX-License-Identifier: MIT */
/* The demo API's simulated agent pool: the application side of the runbooks'
 * app-specific agent calls (pool status, coordination settings, cleanup of stuck
 * coordinations). Every GET /api/v1/agents request stands for one coordination of a
 * coalition of agents drawn from a fixed pool; this module counts them, decides which
 * get stuck, and turns the counts and the settings into the pool's state.
 *
 * Sharing: all workers update one struct tg_demo_agents with relaxed atomics, no lock.
 * The three settings live packed in one 64-bit word, so a PUT that changes several of
 * them is published at once (a reader never sees half of it) and two concurrent PUTs of
 * different fields both take effect (each is a compare-and-swap on the whole word).
 * No clock and no randomness inside: callers pass the request's delay, so unit tests
 * drive the model directly. */
#ifndef TG_DEMO_AGENTS_H
#define TG_DEMO_AGENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo/faults.h"

#define TG_DEMO_AGENT_POOL_SIZE 16          /* agents in the simulated pool */
#define TG_DEMO_AGENT_COALITION_MAX 100     /* max_coalition_size upper bound */
#define TG_DEMO_AGENT_TIMEOUT_MAX_MS 600000 /* coordination_timeout_ms upper bound */
/* One coordination in this many loses an agent and is left stuck, whatever its latency,
 * so a demo under its normal light load has something for the cleanup to clear. */
#define TG_DEMO_AGENT_STUCK_EVERY 50

struct tg_demo_agents_config {
    uint32_t max_coalition_size;      /* agents one coordination uses, 1..100 */
    uint32_t coordination_timeout_ms; /* a coordination slower than this is stuck */
    bool parallel_execution;          /* coordinations may run side by side */
};

/* A PUT body: the settings it names (`has` bits, TG_DEMO_AGENTS_SET_*) and their values. */
enum tg_demo_agents_field {
    TG_DEMO_AGENTS_SET_COALITION = 1,
    TG_DEMO_AGENTS_SET_TIMEOUT = 2,
    TG_DEMO_AGENTS_SET_PARALLEL = 4,
};

struct tg_demo_agents_patch {
    unsigned has;
    struct tg_demo_agents_config v;
};

struct tg_demo_agents {
    _Atomic uint64_t config;   /* packed struct tg_demo_agents_config */
    _Atomic uint64_t inflight; /* coordinations being served now */
    _Atomic uint64_t started;  /* coordinations ever started */
    _Atomic uint64_t stale;    /* stuck coordinations not yet cleaned up */
    _Atomic uint64_t cleaned;  /* stuck coordinations cleaned up so far */
};

/* The pool's state at one moment, as GET /api/v1/monitoring/agents/pool shows it. */
struct tg_demo_agents_pool {
    uint32_t pool_size;
    uint32_t active; /* agents working in a running coordination */
    uint32_t idle;
    uint64_t queued;        /* coordinations waiting for agents */
    uint64_t coordinations; /* coordinations in progress (running or queued) */
    uint64_t started_total;
    uint64_t stale; /* stuck coordinations awaiting cleanup */
    uint64_t cleaned_total;
    struct tg_demo_agents_config config;
};

/* The settings before any PUT: coalitions of 10, a 30 s timeout, one at a time. */
void tg_demo_agents_defaults(struct tg_demo_agents_config *c);

/* Sets up `a` with the default settings and no coordinations. Start-up only. */
void tg_demo_agents_init(struct tg_demo_agents *a);

/* The current settings. Any thread; one atomic load. */
void tg_demo_agents_get(struct tg_demo_agents *a, struct tg_demo_agents_config *out);

/* Applies the fields of `p` to the current settings in one step and stores the result
 * in `out`. Any thread; lock-free. */
void tg_demo_agents_set(struct tg_demo_agents *a, const struct tg_demo_agents_patch *p,
                        struct tg_demo_agents_config *out);

/* A coordination starts (an agent request whose answer is `delay_us` away, or never if
 * `hang`). It is stuck if it hangs, takes at least the coordination timeout, or is the
 * TG_DEMO_AGENT_STUCK_EVERY-th one. Call tg_demo_agents_end when it is answered or its
 * client leaves. Any thread; a few relaxed atomics. */
void tg_demo_agents_begin(struct tg_demo_agents *a, int64_t delay_us, bool hang);
void tg_demo_agents_end(struct tg_demo_agents *a);

/* Clears the stuck coordinations: returns how many, and stores in `remaining` the
 * coordinations still in progress (left to finish). Any thread. */
uint64_t tg_demo_agents_cleanup(struct tg_demo_agents *a, uint64_t *remaining);

/* The pool's state now. Any thread. */
void tg_demo_agents_pool(struct tg_demo_agents *a, struct tg_demo_agents_pool *out);

/* Splits `inflight` coordinations between running and queued under `c`: each running
 * coordination holds min(max_coalition_size, pool size) agents; with parallel execution
 * as many run as the pool can seat (at least one), else one. Pure. */
void tg_demo_agents_model(const struct tg_demo_agents_config *c, uint64_t inflight,
                          struct tg_demo_agents_pool *out);

/* JSON side (agents_json.c, jansson). */

/* Parses a PUT /api/v1/system/agents/config body: an object with any of
 * "max_coalition_size" (integer 1..100), "coordination_timeout_ms" (integer 1..600000)
 * and "parallel_execution" (boolean). Returns 0 or TG_EPARSE with `err` naming the field
 * ("" for bad JSON or a body that is not an object); `p` is then meaningless. */
int tg_demo_agents_parse(const char *body, size_t len, struct tg_demo_agents_patch *p,
                         struct tg_demo_fault_err *err);

/* Writes the pool's state as a JSON object into dst[0..cap). Returns its length, or -1
 * if it does not fit (512 bytes always do). */
int tg_demo_agents_pool_json(char *dst, size_t cap, const struct tg_demo_agents_pool *p);

/* Writes {"max_coalition_size":..,"coordination_timeout_ms":..,"parallel_execution":..}
 * into dst[0..cap). Returns its length, or -1 if it does not fit (128 bytes always do). */
int tg_demo_agents_config_json(char *dst, size_t cap, const struct tg_demo_agents_config *c);

#endif
