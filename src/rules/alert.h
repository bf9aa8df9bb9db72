/* SPDX-License-Identifier: MIT */
/* The alerting rule's state machine, as Prometheus 2.42 runs it (prometheus-compat.md
 * §c.2 and §c.3): a pure decision over the rule's instances, fed with the result of its
 * expression at each evaluation time. No clock, no PromQL, no I/O: the rule group (which
 * evaluates the expression, writes the series and hands notifications to the notifier)
 * calls it with `ts`.
 *
 * Per evaluation at ts, for each output sample (labels, value):
 *   instance labels = sample labels without __name__, then the rule's labels (templates
 *   expanded, overwriting), then alertname = the rule name; annotations expanded;
 *   a new instance (or one that was inactive) becomes PENDING with activeAt = ts; a known
 *   one gets its value and annotations refreshed. Two samples giving the same instance
 *   labels are an error ("vector contains metrics with the same labelset after applying
 *   alert labels") that leaves the state as it was; more active instances than `limit`
 *   is an error that clears them all ("exceeded limit of N with M alerts").
 * For each remembered instance absent from the result: PENDING is forgotten at once;
 *   FIRING with keep_firing_for stays firing until ts - keepFiringSince >= keep_firing_for
 *   (keepFiringSince set at the first absent evaluation, cleared when it is back); else
 *   FIRING becomes INACTIVE (resolved) with resolvedAt = ts, kept 15 minutes so it is
 *   sent as resolved, then forgotten.
 * PENDING becomes FIRING once ts - activeAt >= for (so `for: 0` fires at once), with
 *   firedAt = ts.
 * Sending (tg_alert_rule_due): an instance that is not pending is due when it resolved
 *   after its last send, or when lastSentAt + resend_delay < ts (strictly, as
 *   Prometheus); then lastSentAt = ts and validUntil = ts + 4 × max(resend_delay,
 *   interval); startsAt = firedAt; endsAt = validUntil while firing, resolvedAt once
 *   resolved. */
#ifndef TG_RULES_ALERT_H
#define TG_RULES_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "rules/notify.h"
#include "rules/template.h"
#include "tsdb/query.h"

enum tg_alert_state { TG_ALERT_INACTIVE = 0, TG_ALERT_PENDING, TG_ALERT_FIRING };

/* "inactive", "pending", "firing". */
const char *tg_alert_state_name(enum tg_alert_state s);

/* A label or annotation of the rule: its name and its parsed template. */
struct tg_alert_kv {
    const char *name;
    const struct tg_template *tmpl;
};

/* The rule as loaded (borrowed: it must outlive the rule's state). */
struct tg_alert_rule_def {
    const char *name;
    int64_t for_ms;
    int64_t keep_firing_for_ms;
    const struct tg_alert_kv *labels; /* sorted by name */
    size_t nlabels;
    const struct tg_alert_kv *annotations;
    size_t nannotations;
    uint32_t limit; /* most active instances, 0 = no limit */
};

/* One sample of the expression's result. */
struct tg_alert_sample {
    struct tg_labels labels;
    double value;
};

/* One instance, as the API and the series show it. Valid until the next call on the
 * rule. */
struct tg_alert_instance {
    struct tg_labels labels;      /* the instance labels (alertname included) */
    struct tg_labels annotations; /* expanded */
    enum tg_alert_state state;
    double value;
    int64_t active_at_ms, fired_at_ms, resolved_at_ms; /* 0 when not (yet) */
    int64_t keep_firing_since_ms;                      /* 0 when not absent */
    int64_t last_sent_ms, valid_until_ms;
};

struct tg_alert_rule;

int tg_alert_rule_new(const struct tg_alert_rule_def *def, struct tg_alert_rule **out);
void tg_alert_rule_free(struct tg_alert_rule *r);

/* One evaluation at `ts` with the expression's samples (`n` may be 0). `ext` gives the
 * templates' external labels and URL. 0, TG_EPARSE (duplicate instance labels: nothing
 * changed) or TG_ELIMIT (over the limit: every instance cleared), with `eb` set. */
int tg_alert_rule_eval(struct tg_alert_rule *r, int64_t ts_ms, const struct tg_alert_sample *s,
                       size_t n, const struct tg_labels *ext_labels, const char *ext_url,
                       struct tg_errbuf *eb);

/* Moves every instance of `src` into `dst`, which must have none (a reload keeping
 * the state of an unchanged rule). `src` is left without instances. */
void tg_alert_rule_move(struct tg_alert_rule *dst, struct tg_alert_rule *src);

/* The rule's state: the highest of its instances'. */
enum tg_alert_state tg_alert_rule_state(const struct tg_alert_rule *r);

/* Calls `fn` for each remembered instance, in label order. */
void tg_alert_rule_foreach(const struct tg_alert_rule *r,
                           void (*fn)(const struct tg_alert_instance *in, void *ctx), void *ctx);

/* The instances due to be sent at `ts` (see the header comment), marked as sent, in
 * the notifier's form; external labels are added where an alert lacks them. Returns how
 * many were written to `out` (at most `cap`; call again for more). Labels and
 * annotations point into the rule: valid until the next call on it. */
size_t tg_alert_rule_due(struct tg_alert_rule *r, int64_t ts_ms, int64_t resend_delay_ms,
                         int64_t interval_ms, const struct tg_labels *ext_labels,
                         const char *generator_url, struct tg_notify_alert *out, size_t cap);

#endif
