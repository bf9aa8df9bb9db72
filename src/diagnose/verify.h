/* SPDX-License-Identifier: MIT */
/* The mitigation verdict (issue 11 part 4, respond.md "Did the mitigation help"): after a
 * playbook action, did the affected endpoints' p95 and error ratio move toward the
 * target? "helped", "no_effect", "worse" (the caller rolls the action back) or
 * "inconclusive". Pure: the caller passes the samples (one per TSDB step, NaN for a step
 * without data; p95 from histogram buckets over a rate window) and nothing here reads a
 * clock or does I/O.
 *
 * Inputs: the affected p95 (ms) and error ratio (0..1) over a window before the action,
 * and since the action; optionally a control (the p95 of unaffected endpoints over the
 * same two windows). The first `settle_samples` after-samples are dropped: an action
 * shows in a rate window only once the window has moved past it, so the caller should
 * set it to cover its rate window.
 *
 * Statistic: the Mann-Whitney U test, after against before, one-sided each way. Latency
 * samples are skewed and a few wild ones are common: a rank test needs no distribution
 * and is what Kayenta judges with. A significant move must also be large enough to
 * matter: the median p95 (or the mean error ratio: errors are sparse and their median is
 * often 0) must move by `min_change` of its before value, and the error ratio by at
 * least `min_error_change` (absolute).
 *
 * Looks: a sequential check with a bounded number of looks. The caller calls
 * tg_verify_judge as samples come in, at most `max_looks` times (look 1..max_looks), for
 * example once per scrape after the settle time, with every after-sample so far. Each
 * look tests at `alpha` / `max_looks` (Bonferroni): the chance of any false "worse" or
 * "helped" over all looks stays below `alpha` however the looks fall, it needs no
 * bookkeeping between calls, and with five looks it costs little power. It is
 * simpler than an anytime-valid test and enough for a window of a few minutes; a
 * fixed window would instead wait the whole window before rolling back a harmful action.
 * "worse" and "helped" are final as soon as a look finds them; until the last look
 * anything else is a provisional "inconclusive" (`final` false); at the last look
 * (the deadline) the verdict is final: "no_effect" with enough data, else
 * "inconclusive". No data is never a pass.
 *
 * Decisions, in order:
 *  1. fewer than `min_samples` usable p95 samples before, or after (so far): inconclusive;
 *  2. error ratio significantly and materially higher: "worse"; p95 so: "worse", unless
 *     the control rose as well (below);
 *  3. error ratio significantly and materially lower, or significantly lower and now
 *     within its target having been above it: "helped"; p95 so: "helped", unless the
 *     control fell as well;
 *  4. otherwise "no_effect" at the deadline.
 * Control: a p95 series, so it judges p95 moves only. When it moved significantly the
 * same way by at least `control_share` of the affected p95's relative move, the change is
 * not attributed to the action: the verdict is "inconclusive" (final), not "no_effect",
 * because the affected series did move; whether the action added to it cannot be told
 * apart from what moved everything (the fault ending by itself, a load change), and a
 * rise everywhere is no reason to roll this action back.
 * Errors count either way, even against a better p95: an action whose purpose is to
 * reject requests (a breaker, shedding) raises the error ratio by design, so for it the
 * caller passes no error series, or a ratio without the gateway's own rejections.
 * Cost: O(n log n) in the samples. */
#ifndef TG_DIAGNOSE_VERIFY_H
#define TG_DIAGNOSE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

enum tg_verdict {
    TG_VERDICT_INCONCLUSIVE = 0,
    TG_VERDICT_HELPED,
    TG_VERDICT_NO_EFFECT,
    TG_VERDICT_WORSE,
};

struct tg_verify_params {
    int min_samples;         /* usable samples needed on each side. 5 */
    int settle_samples;      /* after-samples dropped first. 0 */
    int max_looks;           /* looks at most; the last is the deadline. 5 */
    double alpha;            /* false-verdict rate over all looks. 0.05 */
    double min_change;       /* relative move that matters. 0.2 */
    double min_error_change; /* error-ratio move that matters (absolute). 0.01 */
    double control_share;    /* control moved this share of the affected move. 0.5 */
};

/* Fills `p` with the defaults written beside each field. */
void tg_verify_params_default(struct tg_verify_params *p);

/* A borrowed series: `v[0..n)`, NaN (or negative) for no data; n 0 for none. */
struct tg_verify_series {
    const double *v;
    size_t n;
};

struct tg_verify_input {
    struct tg_verify_series p95_before, p95_after;         /* affected p95, ms */
    struct tg_verify_series errors_before, errors_after;   /* affected error ratio; optional */
    struct tg_verify_series control_before, control_after; /* control p95, ms; optional */
    double target_p95_ms;                                  /* <= 0 or NaN: none */
    double target_error_ratio;                             /* <= 0 or NaN: none */
};

#define TG_VERIFY_REASON 192

struct tg_verify_result {
    enum tg_verdict verdict;
    bool final;                         /* no later look can change it */
    double p95_before_ms, p95_after_ms; /* medians; NaN without data */
    double errors_before, errors_after; /* means; NaN without data */
    double p_value;                     /* of the test that decided; NaN when none did */
    char reason[TG_VERIFY_REASON];      /* names the value that decided */
};

/* Judges `in` at look `look` (1..max_looks; a larger look counts as the last). `p` may
 * be NULL for the defaults. Fills `out` and returns 0; -EINVAL for NULL `in` or `out`,
 * a series with a NULL `v` and n > 0, or look < 1; -ENOMEM when its scratch cannot be
 * allocated. */
int tg_verify_judge(const struct tg_verify_params *p, const struct tg_verify_input *in, int look,
                    struct tg_verify_result *out);

/* "inconclusive", "helped", "no_effect", "worse" (the incident JSON's values). */
const char *tg_verdict_name(enum tg_verdict v);

#endif
