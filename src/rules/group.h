/* SPDX-License-Identifier: MIT */
/* One rule group at run time, as Prometheus 2.42 evaluates it (prometheus-compat.md
 * §c.2): every rule of the group, in file order, evaluated as an instant query at the
 * same time `ts` over the embedded store.
 *
 * Recording rule: the result (a scalar becomes one sample without labels) gets
 * __name__ = the record name and the rule's labels (an empty value removes one); two
 * samples with the same resulting labels, or more than the group's `limit`, is an error;
 * otherwise every sample is appended at ts. Alerting rule: the result feeds the state
 * machine of alert.h; then ALERTS{<instance labels>, alertstate} 1 and
 * ALERTS_FOR_STATE{<instance labels>} <activeAt in whole seconds> are appended for every
 * pending and firing instance, the instances due for sending go to `env->send`, and each
 * instance that fired or resolved at ts goes to `env->transition` (the alert history).
 * For both kinds, a series the rule wrote at its previous successful evaluation and not
 * at this one gets a stale marker at ts, as Prometheus writes them. A failed evaluation
 * changes nothing but the rule's health: no sample, no stale marker, no notification.
 *
 * No clock is read here: ts comes from the caller, and durations come from
 * env->clock_us (none: reported as 0). Everything runs on the control thread, which
 * owns the store. */
#ifndef TG_RULES_GROUP_H
#define TG_RULES_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/alert.h"
#include "rules/notify.h"
#include "rules/rulefile.h"
#include "tsdb/query.h"

struct tg_tsdb;

/* An instance that fired or resolved, for the alert history. Valid during the call. */
struct tg_rules_transition {
    const char *rule;                     /* the alert name */
    const struct tg_alert_instance *inst; /* state FIRING (fired) or INACTIVE (resolved) */
};

/* What evaluations read and where their results go; the same for every group of a
 * manager (manager.h). Borrowed for the duration of each call. */
struct tg_rules_env {
    struct tg_tsdb *db;                 /* queried and written */
    const struct tg_labels *ext_labels; /* external labels; NULL: none */
    const char *ext_url;                /* $externalURL and generator URLs; NULL: "" */
    int64_t resend_delay_ms;            /* 0: Prometheus's 1 minute */
    int64_t (*clock_us)(void);          /* monotonic, for durations; NULL: durations 0 */
    void (*send)(void *ctx, const struct tg_notify_alert *a, size_t n); /* may be NULL */
    void (*transition)(void *ctx, const struct tg_rules_transition *t); /* may be NULL */
    void *ctx;
};

enum tg_rules_health { TG_RULES_UNKNOWN = 0, TG_RULES_OK, TG_RULES_ERR };

/* "unknown", "ok", "err", as the API spells them. */
const char *tg_rules_health_name(enum tg_rules_health h);

/* A rule's state, for the API and /metrics. Valid until the next call on the group. */
struct tg_rules_rule_info {
    const struct tg_rule *def;
    const struct tg_alert_rule *alert; /* alerting rules; NULL for recording rules */
    enum tg_rules_health health;
    const char *last_error; /* "" when the last evaluation succeeded */
    int64_t last_eval_ms;   /* 0 before the first evaluation */
    int64_t duration_us;    /* of the last evaluation */
    uint64_t evals_total, failures_total;
};

struct tg_rules_group;

/* A group of `file` (borrowed strings and rules: they must outlive it) whose interval is
 * its own, or `default_interval_ms` when it has none. Its schedule: evaluations at the
 * times t with t mod interval == offset, where offset is a hash of the file name and the
 * group name modulo the interval, so groups of one interval spread over it instead of
 * all running at once, and a group keeps its phase across restarts and reloads. 0 or
 * -ENOMEM. */
int tg_rules_group_new(const char *file, const struct tg_rule_group *def,
                       int64_t default_interval_ms, struct tg_rules_group **out);
void tg_rules_group_free(struct tg_rules_group *g); /* accepts NULL */

const char *tg_rules_group_name(const struct tg_rules_group *g);
const char *tg_rules_group_file(const struct tg_rules_group *g);
int64_t tg_rules_group_interval_ms(const struct tg_rules_group *g);
int64_t tg_rules_group_offset_ms(const struct tg_rules_group *g);
uint32_t tg_rules_group_limit(const struct tg_rules_group *g);
size_t tg_rules_group_nrules(const struct tg_rules_group *g);
void tg_rules_group_rule(const struct tg_rules_group *g, size_t i, struct tg_rules_rule_info *out);

/* The first scheduled time strictly after `after_ms`. */
int64_t tg_rules_group_next_after(const struct tg_rules_group *g, int64_t after_ms);

/* Group figures, named after prometheus_rule_group_*. */
struct tg_rules_group_stats {
    int64_t next_ms;          /* the next scheduled evaluation; 0 before the first run */
    int64_t last_eval_ms;     /* time of the last evaluation, 0 before it */
    int64_t last_duration_us; /* how long it took */
    uint64_t iterations_total;
    uint64_t missed_total; /* scheduled times skipped because the group ran late */
    uint64_t samples_last; /* samples the last evaluation appended */
};
void tg_rules_group_stats(const struct tg_rules_group *g, struct tg_rules_group_stats *out);

/* Runs the group if it is due at `now_ms` (or sets its first time when it has none):
 * at the latest scheduled time at or before now, counting the scheduled times before it
 * that were skipped. Returns true when it ran. */
bool tg_rules_group_run(struct tg_rules_group *g, const struct tg_rules_env *env, int64_t now_ms);

/* Evaluates every rule at `ts_ms` (see the file comment); whatever fails is in the
 * rules' health. */
void tg_rules_group_eval(struct tg_rules_group *g, const struct tg_rules_env *env, int64_t ts_ms);

/* Takes over the state of `old` (a group of the same file and name, from before a
 * reload): for each rule of `g` with the same kind, name and labels as one of `old`, its
 * alert instances, the series it wrote last, its health and figures; and the schedule
 * when the interval is the same. The series of `old`'s rules that found no match are
 * marked stale at the group's next evaluation. `old` is left empty (free it after). */
void tg_rules_group_adopt(struct tg_rules_group *g, struct tg_rules_group *old);

/* Marks every series the group wrote last as stale at `ts_ms` (the group is going
 * away). */
void tg_rules_group_stale_all(struct tg_rules_group *g, struct tg_tsdb *db, int64_t ts_ms);

#endif
