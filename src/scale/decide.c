/* SPDX-License-Identifier: MIT */
/* The autoscaler's hysteresis; see decide.h. The counting follows the runbook's script
 * line by line: count, then compare the count with its limit and the instances with
 * their bound; only then do our additions (cooldown, dry run) say whether to act. The
 * counters keep growing at a bound or in a cooldown, as in the script, so a step
 * follows at once when the bound moves or the cooldown ends and the signal is still on
 * the same side. */
#include "scale/decide.h"

void tg_scale_state_init(struct tg_scale_state *s)
{
    s->high_count = 0;
    s->low_count = 0;
    s->last_step_us = INT64_MIN;
}

int64_t tg_scale_cooldown_left(const struct tg_scale_params *p, const struct tg_scale_state *s,
                               int64_t now_us)
{
    if (p->cooldown_us <= 0 || s->last_step_us == INT64_MIN)
        return 0;
    int64_t left = s->last_step_us + p->cooldown_us - now_us;
    return left > 0 ? left : 0;
}

const char *tg_scale_verdict_name(enum tg_scale_verdict v)
{
    return v == TG_SCALE_HIGH ? "high" : v == TG_SCALE_LOW ? "low" : "hold";
}

static void step_to(const struct tg_scale_params *p, struct tg_scale_state *s, uint32_t target,
                    int64_t now_us, const char *reason, struct tg_scale_decision *out)
{
    out->target = target;
    out->step = true;
    out->act = !p->dry_run;
    out->reason = reason;
    s->high_count = 0;
    s->low_count = 0;
    s->last_step_us = now_us;
}

void tg_scale_decide(const struct tg_scale_params *p, struct tg_scale_state *s, bool have_signal,
                     double signal_ms, uint32_t current, int64_t now_us,
                     struct tg_scale_decision *out)
{
    *out = (struct tg_scale_decision){.verdict = TG_SCALE_HOLD, .target = current};
    if (have_signal)
        out->verdict = signal_ms > p->threshold_ms ? TG_SCALE_HIGH : TG_SCALE_LOW;
    /* The bounds first: they are the operator's word, met whatever the signal says and
     * without waiting for a cooldown. */
    if (current < p->min) {
        step_to(p, s, p->min, now_us, "below min", out);
        return;
    }
    if (current > p->max) {
        step_to(p, s, p->max, now_us, "above max", out);
        return;
    }
    if (!have_signal) {
        out->reason = "no signal: hold";
        return;
    }
    bool high = out->verdict == TG_SCALE_HIGH;
    if (high) {
        s->high_count++;
        s->low_count = 0;
    } else {
        s->low_count++;
        s->high_count = 0;
    }
    uint32_t count = high ? s->high_count : s->low_count;
    uint32_t need = high ? p->up_after : p->down_after;
    if (count < need) {
        out->reason = high ? "high, counting" : "low, counting";
        return;
    }
    if (high ? current >= p->max : current <= p->min) {
        out->reason = high ? "high, at max" : "low, at min";
        return;
    }
    if (tg_scale_cooldown_left(p, s, now_us) > 0) {
        out->reason = "cooldown";
        return;
    }
    step_to(p, s, high ? current + 1 : current - 1, now_us, high ? "scale up" : "scale down",
            out);
}
