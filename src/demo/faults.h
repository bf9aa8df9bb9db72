/* SPDX-License-Identifier: MIT */
/* Fault injection for the demo API: the fault model (added latency, error rate, hang,
 * a capacity queue, and the sudden/gradual/periodic time patterns), its evaluation for
 * one request, and the registry that shares the active faults between worker threads.
 *
 * Sharing: the active faults form an immutable struct tg_demo_fault_set published by an
 * atomic pointer swap. Readers (workers, once per request) do one acquire load and take
 * no lock. Writers (the /_faults handler, rare) serialise on a mutex, build a new set,
 * publish it and retire the old one; a retired set is freed once every reader has passed
 * a quiescent point (tg_demo_faults_quiescent, called from each worker's loop wake-up,
 * i.e. between callbacks, when it holds no set pointer). This is quiescent-state-based
 * reclamation; it costs readers nothing on the request path.
 *
 * The capacity model's queue state is the only mutable shared data: each capacity fault
 * owns `concurrency` slot clocks (the time each simulated server becomes free), updated
 * with compare-and-swap. Time is always passed in (`now_us`, monotonic), and randomness
 * comes from the caller's generator, so all of this runs in unit tests without a clock. */
#ifndef TG_DEMO_FAULTS_H
#define TG_DEMO_FAULTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo/latency.h"
#include "http/http1.h"

#define TG_DEMO_FAULT_ENDPOINT_MAX 256 /* bytes of "endpoint", including the NUL */
#define TG_DEMO_FAULTS_MAX 64          /* active faults at once */
#define TG_DEMO_CAPACITY_MAX 4096      /* capacity.concurrency upper bound */

enum tg_demo_pattern {
    TG_DEMO_PATTERN_SUDDEN = 0, /* full strength from the moment it is set */
    TG_DEMO_PATTERN_GRADUAL,    /* ramps linearly from 0 to full over ramp_us */
    TG_DEMO_PATTERN_PERIODIC,   /* full for duty * period_us of every period_us, else off */
};

struct tg_demo_fault {
    char endpoint[TG_DEMO_FAULT_ENDPOINT_MAX]; /* path prefix or "*", NUL-terminated */
    uint32_t endpoint_len;
    int64_t latency_us; /* added latency at full strength */
    double error_rate;  /* probability of answering error_status, at full strength */
    int error_status;
    bool hang; /* never answer (with probability = strength) */
    enum tg_demo_pattern pattern;
    int64_t ramp_us;        /* GRADUAL */
    int64_t period_us;      /* PERIODIC */
    double duty;            /* PERIODIC: fraction of the period the fault is on */
    uint32_t concurrency;   /* capacity model: servers; 0 = no capacity model */
    int64_t service_us;     /* capacity model: service time of each request */
    int64_t start_us;       /* when it was set: the origin of the pattern's clock */
    _Atomic int64_t *slots; /* capacity model: when each server is next free; owned by the set */
};

struct tg_demo_fault_set {
    uint64_t gen; /* publication number, for reclamation */
    uint32_t n;
    struct tg_demo_fault f[];
};

/* What the faults decided for one request. Zero-initialise before evaluating. */
struct tg_demo_effect {
    int64_t delay_us; /* added latency, including capacity queueing and service */
    int status;       /* injected error status, 0 if none */
    bool hang;
    bool capacity; /* a capacity model applied: its service time replaces the
                    * endpoint's own simulated latency */
};

/* Strength of `f` at `now_us`, in [0, 1]. Pure. */
double tg_demo_fault_strength(const struct tg_demo_fault *f, int64_t now_us);

/* Capacity model admission: picks the server that is free first, books it from
 * max(now, free time) for `service_us`, and returns the request's delay (queue wait plus
 * service). FIFO by arrival within a thread; across threads a compare-and-swap race can
 * reorder two near-simultaneous arrivals, which does not change the modelled capacity.
 * Lock-free; O(n). */
int64_t tg_demo_capacity_admit(_Atomic int64_t *slots, uint32_t n, int64_t service_us,
                               int64_t now_us);

/* Applies every fault of `s` that selects `path` to `e`: latencies add up, the first
 * error drawn wins, any hang wins, each capacity queue adds its delay. /_faults itself is
 * never affected (the caller does not ask). Draws from `rng`. */
void tg_demo_faults_eval(const struct tg_demo_fault_set *s, struct tg_str path, int64_t now_us,
                         struct tg_demo_rng *rng, struct tg_demo_effect *e);

/* Sets `f` to the defaults of an empty POST body (sudden, 500, ramp 30 s, period 10 s,
 * duty 0.5) with no effect. */
void tg_demo_fault_defaults(struct tg_demo_fault *f);

struct tg_demo_faults;

/* Creates an empty registry read by `nreaders` worker threads (indices 0..n-1).
 * Returns 0 or -ENOMEM. Start-up only. */
int tg_demo_faults_new(struct tg_demo_faults **out, unsigned nreaders);

/* Frees the registry and every set it holds. Call after all readers stopped. Accepts NULL. */
void tg_demo_faults_free(struct tg_demo_faults *r);

/* The current set (never NULL). Valid for the calling reader until its next call to
 * tg_demo_faults_quiescent. Any thread; one acquire load, no lock. */
const struct tg_demo_fault_set *tg_demo_faults_current(struct tg_demo_faults *r);

/* Declares that reader `reader` holds no set pointer, and frees retired sets every reader
 * has moved past. Called from the worker's wake-up callback (not the request path). */
void tg_demo_faults_quiescent(struct tg_demo_faults *r, unsigned reader);

/* Adds `f`, replacing an active fault with the same endpoint (whose capacity queue state
 * is then reset; every other fault keeps its queue and pattern clock). Returns 0,
 * -ENOMEM, or TG_ELIMIT when TG_DEMO_FAULTS_MAX faults are already active. Any thread. */
int tg_demo_faults_put(struct tg_demo_faults *r, const struct tg_demo_fault *f);

/* Removes the fault for `endpoint` (`len` bytes), or all faults if `endpoint` is NULL.
 * Returns the number removed (>= 0) or -ENOMEM. Any thread. */
int tg_demo_faults_delete(struct tg_demo_faults *r, const char *endpoint, size_t len);

/* JSON side (faults_json.c, jansson). Errors name the offending field. */
struct tg_demo_fault_err {
    char msg[160];
    char field[64]; /* "" when the error is not about one field (e.g. bad syntax) */
};

/* Parses a POST /_faults body into `f` (start_us = `now_us`). Returns 0 or TG_EPARSE with
 * `err` filled. Unknown fields, wrong types and out-of-range values are errors. */
int tg_demo_fault_parse(const char *body, size_t len, int64_t now_us, struct tg_demo_fault *f,
                        struct tg_demo_fault_err *err);

/* Renders {"faults":[...]} for `s` at `now_us` (with each fault's current strength).
 * Returns a malloc'd NUL-terminated string (caller frees) or NULL on OOM. */
char *tg_demo_faults_to_json(const struct tg_demo_fault_set *s, int64_t now_us);

#endif
