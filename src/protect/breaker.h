/* SPDX-License-Identifier: MIT */
/* Circuit breaker: one object per upstream (or per route), a pure decision over its own
 * state. The proxy asks it before picking a server (tg_breaker_admit) and reports every
 * admitted call back once (tg_breaker_observe or tg_breaker_cancel); the control thread
 * feeds it the route's recent p95 (tg_breaker_feed_latency), changes its parameters
 * (tg_breaker_set_params) and reads it (tg_breaker_read). No clock is read inside: every
 * call takes `now_us` (CLOCK_MONOTONIC µs).
 *
 * States, numbered as the `circuit_breaker_state` gauge shows them:
 * - CLOSED (0): every call is let through and its outcome goes into a sliding window,
 *   either the last `window_size` calls (count-based) or the last `window_us` split into
 *   `window_buckets` time buckets (time-based). A call is a failure when the caller says
 *   so or when it took `timeout_us` or longer (the proxy cuts it there), and slow when it
 *   took `slow_call_us` or longer. Once the window holds at least `min_calls` calls, the
 *   breaker opens when failures / calls >= `failure_threshold`, or slow / calls >=
 *   `slow_call_threshold` (0 turns that rule off).
 * - OPEN (1): every call is rejected, with the time left until half-open (the caller
 *   rounds it up to whole seconds for Retry-After). The first admit after `recovery_us`
 *   moves it to half-open and is the first probe.
 * - HALF_OPEN (2): at most `half_open_probes` calls are in flight at once; the others are
 *   rejected with a retry-after of one second, since nobody knows yet how long the probes
 *   take. After `half_open_successes` successful probes it closes with an empty window
 *   (the window is cleared when half-open begins); any failed probe opens it again. A
 *   bounded number of concurrent probes rather than a single one: one probe is a coin
 *   toss on an upstream that fails some of its calls, and one hung probe would hold every
 *   other request off for its whole timeout, while a small batch reaches a verdict fast
 *   and still caps the load on a recovering upstream.
 *
 * Recovery time grows on repeat: when the breaker opens again from half-open, or from
 * closed less than one recovery time after it closed, the open period doubles, up to
 * `recovery_max_us` (0 or <= `recovery_us`: it stays fixed). A stretch of closed that
 * lasts longer than one recovery time brings it back to `recovery_us`.
 *
 * Latency condition (neither Envoy nor HAProxy breaks on latency). The control thread
 * feeds the route's p95 over its last interval about once a second. While the breaker is
 * closed and the p95 is within `latency_factor` x baseline, the baseline learns it as an
 * exponentially weighted mean with time constant `latency_tau_us` (slow: minutes), so it
 * follows a gradual change of the upstream but not an incident. The first feed with
 * enough samples sets the baseline. After `latency_warmup` learning feeds, a feed whose
 * p95 exceeds baseline x `latency_factor` opens the breaker (reason LATENCY); that p95 is
 * not learned, nor is anything fed while open or half-open, so a long degradation cannot
 * become the new normal. Feeds with fewer than `latency_min_samples` samples are ignored.
 * `latency_factor` 0 turns the condition off. Consequence: if the upstream becomes slower
 * for good by more than the factor, the breaker keeps reopening after each recovery until
 * an operator raises the factor or sets it to 0 and back (which relearns the baseline).
 *
 * Concurrency: worker threads call admit, observe and cancel at the same time, with no
 * lock. The state machine is one 64-bit word (state, a 16-bit generation, the re-open
 * streak, and the open deadline or the half-open probe counts) changed only by
 * compare-and-swap; every transition bumps the generation. Admit returns a ticket naming
 * the generation and whether the call is a probe. An observe whose ticket is from an older
 * generation (the call was admitted while closed and ended after the breaker opened, or
 * was a probe of an earlier half-open) is counted as stale and otherwise ignored, so late
 * outcomes cannot corrupt the state machine. The window is written with atomic adds
 * (count-based: a ring of one byte per call and one word of totals; time-based: one word
 * per bucket); its counts are statistics, read without a lock. Cost: admit in closed is
 * one atomic load; observe is two or three atomic read-modify-writes (bench/protect_admit.c).
 *
 * Every admitted call (a ticket other than 0) must be passed to exactly one of
 * tg_breaker_observe and tg_breaker_cancel, or a half-open breaker keeps a probe slot
 * forever. */
#ifndef TG_PROTECT_BREAKER_H
#define TG_PROTECT_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

enum tg_breaker_state {
    TG_BREAKER_CLOSED = 0,
    TG_BREAKER_OPEN = 1,
    TG_BREAKER_HALF_OPEN = 2,
};

enum tg_breaker_window {
    TG_BREAKER_WINDOW_TIME = 0,  /* last `window_us`, in `window_buckets` buckets */
    TG_BREAKER_WINDOW_COUNT = 1, /* last `window_size` calls */
};

/* Why a transition happened (logs, audit, /metrics labels through tg_breaker_reason_name). */
enum tg_breaker_reason {
    TG_BREAKER_R_NONE = 0,
    TG_BREAKER_R_FAILURES = 1,     /* closed -> open: failure ratio */
    TG_BREAKER_R_SLOW_CALLS = 2,   /* closed -> open: slow-call ratio */
    TG_BREAKER_R_LATENCY = 3,      /* closed -> open: p95 over baseline x factor */
    TG_BREAKER_R_RECOVERY = 4,     /* open -> half-open: recovery time elapsed */
    TG_BREAKER_R_PROBE_FAILED = 5, /* half-open -> open */
    TG_BREAKER_R_PROBES_OK = 6,    /* half-open -> closed */
    TG_BREAKER_R_DISABLED = 7,     /* any -> closed: set_params with enabled = false */
};

#define TG_BREAKER_WINDOW_SIZE_MAX 65536u /* count-based window, calls */
#define TG_BREAKER_BUCKETS_MAX 60u        /* time-based window */
#define TG_BREAKER_PROBES_MAX 1024u

/* Parameters. Plain values; the proxy converts its configuration into them. */
struct tg_breaker_params {
    bool enabled;                  /* false: every call allowed, state held closed */
    enum tg_breaker_window window; /* window kind */
    uint32_t window_size;          /* count-based: calls, 1..TG_BREAKER_WINDOW_SIZE_MAX */
    int64_t window_us;             /* time-based: length, >= window_buckets ms */
    uint32_t window_buckets;       /* time-based: 1..TG_BREAKER_BUCKETS_MAX */
    uint32_t min_calls;            /* calls in the window before a ratio counts (>= 1) */
    double failure_threshold;      /* (0, 1]; opens at failures/calls >= this */
    int64_t timeout_us;            /* a call this slow is a failure; 0: none */
    int64_t slow_call_us;          /* a call this slow is slow; 0: none */
    double slow_call_threshold;    /* 0..1; opens at slow/calls >= this; 0: off */
    int64_t recovery_us;           /* open -> half-open delay, 1 ms .. 24 h */
    int64_t recovery_max_us;       /* cap of the growing recovery; <= recovery_us: fixed */
    uint32_t half_open_probes;     /* concurrent probes, 1..TG_BREAKER_PROBES_MAX */
    uint32_t half_open_successes;  /* successful probes that close it, >= 1 */
    double latency_factor;         /* p95 > baseline x this opens it; 0: off, else > 1 */
    uint32_t latency_min_samples;  /* a feed with fewer samples is ignored */
    uint32_t latency_warmup;       /* learning feeds before the condition applies */
    int64_t latency_tau_us;        /* baseline time constant, 1 s .. 24 h */
};

/* Fills `p` with the defaults: enabled, time window of 10 s in 10 buckets, min_calls 20,
 * failure_threshold 0.5, timeout 5 s, no slow-call rule, recovery 60 s (fixed), 3 probes
 * and 3 successes, latency condition off (factor 0; min 20 samples, warm-up 30 feeds,
 * tau 10 min once turned on): the runbooks' breaker (timeout, threshold, recovery)
 * with the proposed window and minimum. */
void tg_breaker_params_default(struct tg_breaker_params *p);

/* 0, or TG_ECONFIG with `eb` naming the field and its allowed range. */
int tg_breaker_check_params(const struct tg_breaker_params *p, struct tg_errbuf *eb);

struct tg_breaker;

/* A closed breaker. 0, TG_ECONFIG (bad parameters, `eb` says which) or -ENOMEM. Memory:
 * 512 bytes plus the window (one byte per call, or 8 bytes per bucket). */
int tg_breaker_new(const struct tg_breaker_params *p, struct tg_errbuf *eb,
                   struct tg_breaker **out);

/* No thread may use `b` any more. Accepts NULL. */
void tg_breaker_free(struct tg_breaker *b);

/* Any worker thread. True: the call may go ahead; `*ticket` is what to pass back to
 * observe or cancel (0 when the breaker is disabled: nothing to report). False: reject
 * it (503); `*retry_after_us` is the time until half-open (open) or one second
 * (half-open, probes busy). Never allocates. */
bool tg_breaker_admit(struct tg_breaker *b, int64_t now_us, uint32_t *ticket,
                      int64_t *retry_after_us);

/* Any worker thread, once per admitted call: its outcome. `failed`: the call failed as
 * the proxy sees it (connect error, 5xx as configured, cut at the timeout); `latency_us`:
 * its duration, which also decides slow calls and timeouts. A ticket of 0 is ignored. */
void tg_breaker_observe(struct tg_breaker *b, int64_t now_us, uint32_t ticket, bool failed,
                        int64_t latency_us);

/* Any worker thread: an admitted call that never reached the upstream (the client left,
 * a later protection refused it). Frees its probe slot without counting an outcome. */
void tg_breaker_cancel(struct tg_breaker *b, uint32_t ticket);

/* Control thread: the route's p95 (`p95_us`) over the last interval and how many
 * samples it came from. May open the breaker (reason LATENCY); see the file comment. */
void tg_breaker_feed_latency(struct tg_breaker *b, int64_t now_us, int64_t p95_us,
                             uint64_t samples);

/* Control thread: applies new parameters to the live breaker. Returns 0, or TG_ECONFIG
 * (nothing changed). What is kept: the state, an open breaker's deadline (the new
 * recovery time applies from the next opening), the counters and the latency baseline.
 * A change of the window's kind, size, length or buckets starts a new, empty window; the
 * old one is kept until tg_breaker_reclaim (workers may still be writing to it).
 * enabled = false moves the breaker to closed (a transition, reason DISABLED) and lets
 * everything through untracked; enabled again starts from closed with an empty window.
 * latency_factor set from 0 to a value relearns the baseline. Never blocks workers; may
 * allocate the new window (-ENOMEM: nothing changed). */
int tg_breaker_set_params(struct tg_breaker *b, int64_t now_us, const struct tg_breaker_params *p,
                          struct tg_errbuf *eb);

/* Control thread: frees the windows replaced by set_params. Call only once every worker
 * has passed a point where it holds no pointer into this breaker's old windows, i.e.
 * after every worker finished the loop turn that was running when set_params returned
 * (the snapshot layer's grace period). */
void tg_breaker_reclaim(struct tg_breaker *b);

/* The last transition, for the control thread to log and audit. `seq` counts every
 * transition since creation (it equals the sum of transitions_total), so a poller that
 * sees seq move by more than one knows it missed some (they are still counted). */
struct tg_breaker_transition {
    uint64_t seq;
    enum tg_breaker_state from, to;
    enum tg_breaker_reason reason;
    int64_t at_us; /* ms precision; 0 if none yet */
};

struct tg_breaker_stats {
    enum tg_breaker_state state;
    uint64_t transitions_total[3]; /* indexed by the target state */
    uint64_t rejected_total;       /* admits refused */
    uint64_t stale_total;          /* outcomes of an older generation, ignored */
    uint64_t window_calls, window_failures, window_slow;
    double failure_ratio, slow_ratio;           /* 0 when the window is empty */
    uint32_t probes_in_flight, probe_successes; /* half-open only */
    int64_t open_until_us;                      /* open only, else 0 */
    int64_t latency_baseline_us;                /* 0 until learned */
    struct tg_breaker_transition last;
};

/* The state alone (one atomic load). Any thread. */
enum tg_breaker_state tg_breaker_state(const struct tg_breaker *b);

/* Everything above. Control thread (reads the window the workers write; the numbers are
 * each exact but not one instant's snapshot). */
void tg_breaker_read(const struct tg_breaker *b, int64_t now_us, struct tg_breaker_stats *out);

/* The last transition alone (one atomic load and three counter loads). Any thread. */
void tg_breaker_last_transition(const struct tg_breaker *b, struct tg_breaker_transition *out);

/* "closed", "open", "half_open"; "failures", "slow_calls", "latency", "recovery",
 * "probe_failed", "probes_ok", "disabled", "none". Static strings. */
const char *tg_breaker_state_name(enum tg_breaker_state s);
const char *tg_breaker_reason_name(enum tg_breaker_reason r);

/* True if the admitted call with this ticket is a half-open probe. */
static inline bool tg_breaker_is_probe(uint32_t ticket)
{
    return (ticket & 0x80010000u) == 0x80010000u;
}

/* A retry-after in µs as Retry-After seconds: rounded up, at least 1. */
static inline int64_t tg_breaker_retry_after_s(int64_t us)
{
    return us <= 1000000 ? 1 : (us + 999999) / 1000000;
}

#endif
