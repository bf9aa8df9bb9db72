/* SPDX-License-Identifier: MIT */
/* The pattern and onset of a degradation (diagnosis_int.h): the affected endpoints' p95
 * series over the lookback, combined point by point as the worst of them (one slow
 * endpoint's shape is not diluted by the others'), classified by pattern.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "diagnose/diagnosis_int.h"
#include "diagnose/pattern.h"

void tg_diag__pattern(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                      struct tg_diag_result *r)
{
    r->pattern = TG_DIAG_PAT_NONE;
    if (!r->degraded || in->nseries == 0 || in->step_ms <= 0)
        return;
    size_t n = (size_t)(cfg->lookback_us / 1000 / in->step_ms) + 1;
    if (n > in->nseries)
        n = in->nseries;
    size_t off = in->nseries - n;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t k = 0; k < n; k++) {
        v[k] = NAN;
        for (size_t i = 0; i < r->naffected; i++) {
            const double *s = in->eps[r->affected[i]].series;
            double x = s ? s[off + k] * 1e3 : NAN;
            if (!isnan(x) && (isnan(v[k]) || x > v[k]))
                v[k] = x;
        }
    }
    int64_t t0 = in->now_ms - (int64_t)(n - 1) * in->step_ms;
    struct tg_pattern p;
    if (tg_pattern_classify(v, n, t0, in->step_ms, NULL, &p) == 0) {
        static const enum tg_diag_pattern map[] = {
            [TG_PATTERN_NONE] = TG_DIAG_PAT_NONE,
            [TG_PATTERN_SUDDEN] = TG_DIAG_PAT_SUDDEN,
            [TG_PATTERN_GRADUAL] = TG_DIAG_PAT_GRADUAL,
            [TG_PATTERN_PERIODIC] = TG_DIAG_PAT_PERIODIC,
        };
        r->pattern = map[p.kind];
        r->onset_ms = p.kind == TG_PATTERN_NONE ? 0 : p.onset_ms;
        r->period_ms = p.period_ms;
        snprintf(r->pattern_evidence, sizeof r->pattern_evidence, "%s", p.evidence);
    }
    free(v);
}
