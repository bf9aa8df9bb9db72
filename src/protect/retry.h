/* SPDX-License-Identifier: MIT */
/* Retries: whether a failed try may be tried again, after how long, and whether the
 * retry budget allows it, for one upstream (or route), shared by every worker.
 *
 * What may be retried: a failed connect always (the server never saw the request); for
 * an idempotent request (RFC 9110 §9.2.2), or any request on a route that opts in, also
 * a connection reset or closed before any response byte, a per-try timeout, and the
 * configured statuses (502, 503, 504 by default). A per-try timeout is retried whatever
 * the statuses say: configuring one asks for it, and tying it to the list of what a
 * server answers would quietly make it a shorter total timeout. A request whose body is
 * no longer at hand to send again is never retried, and neither is a try answered by a
 * status not in the list: the server meant it. At most max_attempts tries in all (3).
 *
 * Backoff before retry n (n = 1 for the first retry): d = min(cap, base · factor^(n−1)),
 * then jitter with a random 64-bit value the caller passes in: "full" waits uniformly in
 * [0, d] (spreads a burst of retries the most); "decorrelated" waits uniformly in
 * [base, min(cap, 3 · previous wait)] (AWS's variant: grows like the exponential on
 * average but never synchronises callers); "none" waits d. A retry whose wait would
 * end past the request's deadline is refused rather than started only to time out.
 *
 * The budget (Envoy's retry budget, counted differently): retries in flight may not
 * exceed max(min_concurrent, budget_ratio × first tries in flight). Envoy counts the
 * retries themselves in its base, so 20 % lets retries reach 25 % of the first tries'
 * load; counting first tries only makes "20 %" mean at most 20 % extra load, whatever
 * fails. A retry holds its place from the decision (through the backoff) until its try
 * ends, so a burst of failures cannot schedule more retries than the budget. The only
 * shared state is the count of retries in flight, changed with one CAS when a retry is
 * granted and one subtraction when it ends: a request that never fails costs nothing
 * here. Tries in flight are the caller's count (it keeps one per server for balancing
 * anyway), so first tries are that count minus the retries (retries waiting out their
 * backoff are in ours but not in the caller's, which errs toward fewer retries); a count
 * of every request kept here would cost two shared atomic operations per request.
 *
 * Parameters come from the caller's configuration snapshot on every call; the state is
 * only the shared counters, so it carries over a configuration change unchanged. Used by
 * the proxy; counters read by metrics and the admin API through tg_retry_read. */
#ifndef TG_PROTECT_RETRY_H
#define TG_PROTECT_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define TG_RETRY_MAX_STATUSES 16

enum tg_retry_jitter {
    TG_RETRY_JITTER_FULL = 0,
    TG_RETRY_JITTER_DECORRELATED,
    TG_RETRY_JITTER_NONE,
};

struct tg_retry_params {
    uint32_t max_attempts; /* tries in all, first included; 1 disables retries */
    int64_t base_delay_us; /* backoff before the first retry */
    double factor;         /* growth per retry, >= 1 */
    int64_t max_delay_us;  /* cap on any backoff */
    enum tg_retry_jitter jitter;
    bool non_idempotent; /* the route opts in: retry any method like an idempotent one */
    uint16_t statuses[TG_RETRY_MAX_STATUSES]; /* statuses worth a retry */
    uint32_t nstatuses;
    uint32_t budget_ratio_pct; /* retries in flight per 100 first tries in flight */
    uint32_t min_concurrent;   /* retries always allowed in flight whatever the ratio */
};

/* Defaults (the runbook's): 3 attempts, 1 s base, factor 2, 10 s cap, full jitter,
 * idempotent only, 502 503 504, budget 20 % with at least 3. */
void tg_retry_params_init(struct tg_retry_params *p);

/* How a try ended. */
enum tg_retry_failure {
    TG_RETRY_OK = 0,       /* a response came back; its status decides */
    TG_RETRY_CONNECT,      /* connect refused, failed or timed out: nothing was sent */
    TG_RETRY_RESET,        /* closed or reset before any response byte */
    TG_RETRY_TIMEOUT,      /* the per-try timeout fired before any response byte */
    TG_RETRY_LATE_FAILURE, /* failed after response bytes reached the client: final */
};

/* The request's facts for one decision. */
struct tg_retry_try {
    uint32_t attempt; /* the try that just ended: 1 for the first */
    enum tg_retry_failure failure;
    int status;            /* the response status when failure is TG_RETRY_OK */
    bool idempotent;       /* the method is idempotent */
    bool replayable;       /* the request (its body) can be sent again */
    bool other_server;     /* a usable server other than this try's exists */
    uint32_t inflight;     /* tries in flight to the upstream now, all workers, retries
                            * included; counting this one or not makes no difference */
    int64_t prev_delay_us; /* the previous backoff (decorrelated jitter), 0 before any */
    int64_t deadline_us;   /* the request's overall deadline, 0 for none */
};

enum tg_retry_verdict {
    TG_RETRY_DONE = 0,  /* the try succeeded, or failed in a way not worth a retry */
    TG_RETRY_AGAIN,     /* retry after delay_us; the budget place is held */
    TG_RETRY_EXHAUSTED, /* worth a retry, but max_attempts were made */
    TG_RETRY_NO_BUDGET, /* worth a retry, but the budget is spent */
    TG_RETRY_NO_TIME,   /* worth a retry, but the backoff would pass the deadline */
};

struct tg_retry_decision {
    enum tg_retry_verdict verdict;
    int64_t delay_us;  /* AGAIN: wait this long, then try again */
    bool other_server; /* AGAIN: pick a server other than the one that failed */
};

struct tg_retry;

/* Zeroed counters. -ENOMEM or 0. Control thread. */
int tg_retry_new(struct tg_retry **out);
void tg_retry_free(struct tg_retry *r); /* accepts NULL; nothing may use it any more */

/* The try numbered t->attempt ended at `now_us`: a retry gives back its place, and a
 * failure is decided. Every retry that started must end here (or be cancelled); a first
 * try that succeeded may skip it. `rnd` is a uniformly random 64-bit value for the
 * jitter. On AGAIN the retry's budget place is taken: the caller starts the retry after
 * `delay_us` (its end comes back here with attempt + 1), or calls tg_retry_cancel if it
 * never does. Any worker; a success costs a few compares, a failure one CAS. */
void tg_retry_end(struct tg_retry *r, const struct tg_retry_params *p, const struct tg_retry_try *t,
                  int64_t now_us, uint64_t rnd, struct tg_retry_decision *out);

/* Gives back the place of a retry that will not be tried after all (the client left
 * during the backoff, no server could be picked). Any worker. */
void tg_retry_cancel(struct tg_retry *r);

/* Whether the try's outcome is worth a retry under `p`, budget and attempts aside. */
bool tg_retry_worth(const struct tg_retry_params *p, const struct tg_retry_try *t);

/* The backoff before retry number `n` (1-based) with jitter drawn from `rnd`. */
int64_t tg_retry_backoff(const struct tg_retry_params *p, uint32_t n, int64_t prev_delay_us,
                         uint64_t rnd);

struct tg_retry_stats {
    uint32_t retries_inflight; /* now, backoffs included */
    uint64_t retries_total;    /* retries granted (AGAIN) */
    /* The same, by how the try that led to each ended: indexed by TG_RETRY_OK (a listed
     * status), TG_RETRY_CONNECT, TG_RETRY_RESET, TG_RETRY_TIMEOUT. */
    uint64_t retries_by[TG_RETRY_LATE_FAILURE];
    uint64_t no_budget_total;  /* refused by the budget */
    uint64_t exhausted_total;  /* worth a retry, out of attempts */
    uint64_t no_time_total;    /* refused for the deadline */
};

/* Relaxed reads, not one consistent snapshot. Any thread. */
void tg_retry_read(const struct tg_retry *r, struct tg_retry_stats *out);

#endif
