/* SPDX-License-Identifier: MIT */
/* The autoscaler's decision: the hysteresis of the runbook's autoscale script
 * (seed-inventory §c.5) as a pure function, with no clock and no I/O, so every rule is
 * unit-tested in simulated time. One call per check: a signal strictly above the
 * threshold is a high check (equal is low), `up_after` high checks in a row add one
 * instance, `down_after` low checks in a row remove one; a high check zeroes the low
 * counter and the other way round; both counters restart after every scaling step.
 * Additions of ours, each with a reason: a cooldown after any step (HPA's stabilisation
 * window: a new instance needs time to change the signal), a hold when the signal is
 * missing (no data is not "low": KEDA issue 965 scaled to zero on a dead metric source),
 * the min/max bounds enforced first (a bound changed at run time is met at the next
 * check), and a dry run that decides, counts and reports exactly as a real run would
 * but leaves the instances alone. Any thread; the state belongs to the caller. */
#ifndef TG_SCALE_DECIDE_H
#define TG_SCALE_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

struct tg_scale_params {
    double threshold_ms;  /* "high" is a signal strictly above it: 1000 */
    uint32_t up_after;    /* high checks in a row before one more instance: 3 */
    uint32_t down_after;  /* low checks in a row before one fewer: 10 */
    uint32_t min, max;    /* instances, min <= max: 1 and 5 */
    int64_t cooldown_us;  /* no step for this long after the last one: 0 = none */
    bool dry_run;         /* decide and report, never act */
};

/* The caller's memory of earlier checks; zero it (and set last_step_us to INT64_MIN)
 * before the first, or use tg_scale_state_init. */
struct tg_scale_state {
    uint32_t high_count, low_count;
    int64_t last_step_us; /* when the last step was decided, INT64_MIN = never */
};

enum tg_scale_verdict {
    TG_SCALE_HOLD = 0, /* no signal: nothing counted, nothing done */
    TG_SCALE_HIGH,
    TG_SCALE_LOW,
};

struct tg_scale_decision {
    enum tg_scale_verdict verdict;
    uint32_t target;   /* instances wanted after this check (== current when no step) */
    bool step;         /* target != current: a step was decided (also in a dry run) */
    bool act;          /* step and not a dry run: the caller should scale to target */
    const char *reason; /* a static phrase for the API and the log */
};

void tg_scale_state_init(struct tg_scale_state *s);

/* One check at `now_us` with `current` instances. `have_signal` false means the signal
 * could not be read (no requests in the window, a failed query): a hold. Updates `s`
 * and fills `out`. */
void tg_scale_decide(const struct tg_scale_params *p, struct tg_scale_state *s, bool have_signal,
                     double signal_ms, uint32_t current, int64_t now_us,
                     struct tg_scale_decision *out);

/* Cooldown left at `now_us` (0 when none). */
int64_t tg_scale_cooldown_left(const struct tg_scale_params *p, const struct tg_scale_state *s,
                               int64_t now_us);

const char *tg_scale_verdict_name(enum tg_scale_verdict v); /* "hold", "high", "low" */

#endif
