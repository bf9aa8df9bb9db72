/* SPDX-License-Identifier: MIT */
/* Adaptive concurrency limit, gradient style: it lowers a concurrency limit when the
 * upstream's latency rises over its baseline and raises it again on recovery, without
 * ever pinning the limit low to measure, and without letting a long incident push the
 * limit to its floor for good or the baseline up to the degraded latency.
 *
 * It is fed once a tick (the control thread's, about a second) with a summary of the
 * requests that finished in it: their count, a typical latency (the median, or the mean)
 * and the most requests that were in flight at once (tg_conclimit_take_peak). A summary
 * per tick costs the request path nothing, where a per-request feed would put a shared
 * write on every response; a second is short next to the time constants below. The
 * result goes to tg_conclimit_set_limit. Control thread only: plain fields, no atomics.
 *
 * The maths, per tick of length dt with latency x and peak concurrency c:
 *
 *   short    ← short + (1 − e^(−dt/τs)) · (x − short)      latency now, smoothed over τs
 *   gradient g = clamp(tolerance · base / short, 0.5, 1)
 *   g < 1:  limit ← u · (1 − smoothing · (1 − g)),  u = min(limit, c)
 *   g = 1:  limit ← limit + smoothing · √limit,  only if c ≥ limit / 2
 *   limit  is kept within [min_limit, max_limit]
 *
 * g is how far latency stands above what the upstream gives when it is not loaded: at 2×
 * the baseline with tolerance 1.5, g = 0.75 and a tick takes 5 % off (smoothing 0.2); g
 * never goes below 0.5, so one noisy tick cannot halve the limit. A decrease starts from
 * the concurrency actually in use (u), so an unused ceiling does not delay the first cut.
 * The increase, √limit per tick scaled by smoothing, probes upward quickly from a small
 * limit and gently near a large one, and only while the limit is in use (c ≥ limit / 2):
 * a limit nobody reaches says nothing about the upstream and must not grow unbounded.
 *
 * The baseline is what "not loaded" latency is believed to be. Three rules move it:
 *   1. a lower short latency is adopted at once (base ← short): this is the probe for a
 *      new minimum, and it needs no dropped traffic: whenever the limit has been cut or
 *      the load eases, the latency that follows is measured as it happens. Envoy's
 *      gradient controller instead pins the limit to its floor now and then to measure
 *      the minimum, refusing traffic to do it; here the floor is only a floor.
 *   2. under light load (c < limit / 2), a latency within tolerance of the baseline is
 *      the unloaded latency, so the baseline follows it up too, with time constant τb.
 *   3. under load it rises only on evidence that concurrency does not drive latency: in
 *      one squeeze (consecutive ticks with g < 1) the limit has been cut by a third from
 *      where the squeeze began while the short latency fell by less than a tenth from its
 *      highest in the squeeze (τs is about a tick, so the two move together). Then the
 *      limit holds and the baseline rises, base ← min(base · e^(dt/τb), short / √tolerance),
 *      until g reaches 1 and the limit grows back. Stopping at short / √tolerance rather
 *      than at short / tolerance, where g just reaches 1, leaves the accepted latency a
 *      margin (22 % at tolerance 1.5), so tick-to-tick noise does not restart the cut.
 * An upstream that is slow whatever its load (a slow dependency: latency doubles in a
 * long incident) thus costs a cut of about a third of the concurrency, then the new
 * latency is accepted and the limit recovers: it does not drift to the floor and stay
 * there, as it would with a fixed minimum. An upstream that is slow because it is loaded
 * (latency falls as concurrency is cut) never satisfies rule 3, so the baseline stays at
 * the unloaded latency and the limit keeps protecting for as long as the overload lasts,
 * where a long moving average of latency as the baseline (Netflix's Gradient2) drifts up
 * to the degraded latency and stops protecting. Rule 3 caps the baseline at
 * short / √tolerance, so even then it never reaches the latency it is accepting, and
 * rule 1 brings it straight back down when the incident ends. Known limits: an upstream
 * whose latency grows with load but less than a tenth for a third less concurrency is
 * treated as slow whatever its load; and the first tick sets the baseline, so a limiter
 * created in the middle of an overload takes the overloaded latency as the unloaded one
 * until a quieter moment (rule 1) corrects it. */
#ifndef TG_PROTECT_ADAPTIVE_H
#define TG_PROTECT_ADAPTIVE_H

#include <stdbool.h>
#include <stdint.h>

struct tg_adaptive_params {
    uint32_t min_limit;       /* floor, >= 1 */
    uint32_t max_limit;       /* ceiling (the configured hard limit), >= min_limit */
    uint32_t initial_limit;   /* where a new limiter starts; 0: max_limit */
    double tolerance;         /* latency may reach tolerance × baseline unpunished, > 1 */
    double smoothing;         /* share of each tick's change applied, (0, 1] */
    int64_t short_window_us;  /* τs, smoothing of the tick latencies */
    int64_t baseline_rise_us; /* τb, how fast the baseline may rise (rules 2 and 3) */
    uint32_t min_samples;     /* a tick with fewer requests changes nothing */
};

/* Defaults: limits 5..1000 starting at the top, tolerance 1.5, smoothing 0.2, τs 1 s,
 * τb 60 s, 20 samples a tick. */
void tg_adaptive_params_init(struct tg_adaptive_params *p);

/* One tick's summary. */
struct tg_adaptive_sample {
    uint64_t count;         /* requests that finished in the tick */
    int64_t latency_us;     /* their typical latency */
    uint32_t peak_inflight; /* most requests in flight at once during the tick */
};

struct tg_adaptive;

/* Allocates a controller at the parameters' initial limit. -ENOMEM or 0. */
int tg_adaptive_new(const struct tg_adaptive_params *p, struct tg_adaptive **out);
void tg_adaptive_free(struct tg_adaptive *a);

/* Feeds the tick ending at `now_us` and returns the new limit (also when unchanged).
 * New parameters apply at the next call: the limit is clamped into the new range and the
 * latencies carry over. */
uint32_t tg_adaptive_update(struct tg_adaptive *a, const struct tg_adaptive_params *p,
                            int64_t now_us, const struct tg_adaptive_sample *s);

struct tg_adaptive_stats {
    uint32_t limit;
    double short_us, baseline_us;  /* 0 before the first tick with enough samples */
    bool squeezing;                /* the last tick lowered (or held) the limit */
    uint64_t decreases, increases; /* ticks that lowered / raised the limit */
    uint64_t baseline_accepts;     /* ticks of rule 3: latency accepted as the new normal */
};

void tg_adaptive_read(const struct tg_adaptive *a, struct tg_adaptive_stats *out);

#endif
