/* SPDX-License-Identifier: MIT */
/* The rule engine on the control thread (the ruler): it loads the rule files the
 * configuration lists (rules/manager.h), evaluates each group on its schedule with one
 * timer on the control loop over the gateway's time-series store, sends alerts to the
 * configured Alertmanagers and webhooks (rules/notify.h), writes each fired and
 * resolved transition to the alert history (store/alerts.h) in one transaction after
 * the evaluation that made them, and describes itself in /metrics (tailguard_rule_*,
 * tailguard_notifications_*). A reload reads the files again: the new set replaces the
 * old one only if every file loads, and then unchanged rules keep their alert state;
 * otherwise the old rules keep running and the failure is logged and counted.
 * Evaluation times are wall-clock ms (the store's times). Control thread only. */
#ifndef TG_CONTROL_RULES_H
#define TG_CONTROL_RULES_H

#include "config/config.h"
#include "core/err.h"
#include "rules/rulefile.h"

struct tg_control;
struct tg_rules_mgr;
struct tg_store;
struct tg_tsdb;

struct tg_ruler;

/* Loads `cfg`'s rule files (relative paths from the directory of cfg->file) and starts
 * evaluating. `db` and `store` are borrowed and must outlive the ruler. 0, TG_ECONFIG
 * with every problem of the files in `errs` (promtool's messages: the caller prints
 * them and refuses to start), or another negative code with `eb` filled. */
int tg_ruler_new(struct tg_control *ctl, struct tg_tsdb *db, struct tg_store *store,
                 const struct tg_config *cfg, struct tg_ruler **out, struct tg_rule_errors *errs,
                 struct tg_errbuf *eb);

/* Stops the timer, removes the collector and frees. Accepts NULL. */
void tg_ruler_free(struct tg_ruler *r);

/* Reloads from `cfg` (see the file comment). Nothing is done when neither the settings
 * nor any file's content changed since the last attempt, so a reload asked for twice
 * (POST /-/reload, then the configuration reload it starts) counts once. 0, or
 * TG_ECONFIG with the first problem in `eb` (all of them are logged). */
int tg_ruler_reload(struct tg_ruler *r, const struct tg_config *cfg, struct tg_errbuf *eb);

/* POST /-/reload: tg_ruler_reload now, then a configuration reload as SIGHUP starts
 * (whose rules part finds nothing changed unless the configuration's rules: did). */
int tg_ruler_reload_all(struct tg_ruler *r, const struct tg_config *cfg, struct tg_errbuf *eb);

/* The rules in force, for the API. Valid until the next reload. */
const struct tg_rules_mgr *tg_ruler_mgr(const struct tg_ruler *r);

/* Called for each alert instance that fired or resolved, after the evaluation that made
 * it and after its history row (`row`: valid during the call): the incidents' feed. One
 * hook; NULL removes it. */
struct tg_store_alert;
typedef void tg_ruler_alert_fn(void *ctx, const struct tg_store_alert *row);
void tg_ruler_on_alert(struct tg_ruler *r, tg_ruler_alert_fn *fn, void *ctx);

/* Whether the rule engine holds alert `alertname` with the labels of `labels_json` (a
 * JSON object, alertname included) as pending or firing: 1 it does, 0 it does not, -1
 * not known yet: a group has not been evaluated since the start, or `since_start_ms` is
 * shorter than an alerting rule's `for` plus two of its group's intervals. For the
 * incidents' alerts that were firing before a restart. */
int tg_ruler_alert_active(const struct tg_ruler *r, const char *alertname,
                          const char *labels_json, int64_t since_start_ms);

/* The store holding the alert history. */
struct tg_store *tg_ruler_store(const struct tg_ruler *r);

#endif
