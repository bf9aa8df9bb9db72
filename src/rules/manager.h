/* SPDX-License-Identifier: MIT */
/* The rule manager: the groups of every rule file the configuration lists, loaded
 * together (one bad file refuses the whole set, so a reload never half-applies), run on
 * their schedules (group.h), and carried across a reload: a group of the same file and
 * name keeps the state of its unchanged rules, and the series of a group that is gone
 * are marked stale. Pure: time comes in as now_ms, and the control thread (control/
 * rules.h) owns the timer and the outputs. */
#ifndef TG_RULES_MANAGER_H
#define TG_RULES_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "rules/group.h"
#include "rules/rulefile.h"

#define TG_RULES_INTERVAL_MS_DEFAULT 60000 /* Prometheus's evaluation_interval */

struct tg_rules_mgr;

/* Reads `files` (paths as given, each shown as given in the API), in order. 0 with
 * `*out` set; TG_ECONFIG with every problem of every file in `errs` (promtool's
 * messages), -ENOMEM. `default_interval_ms` 0: TG_RULES_INTERVAL_MS_DEFAULT. */
int tg_rules_mgr_load(const char *const *files, size_t nfiles, int64_t default_interval_ms,
                      struct tg_rules_mgr **out, struct tg_rule_errors *errs);
void tg_rules_mgr_free(struct tg_rules_mgr *m); /* accepts NULL */

/* Takes over `old`'s state (see the file comment); the series of `old`'s groups that
 * `m` lacks get stale markers at `now_ms` in env->db. `old` is left to be freed. */
void tg_rules_mgr_adopt(struct tg_rules_mgr *m, struct tg_rules_mgr *old,
                        const struct tg_rules_env *env, int64_t now_ms);

/* Runs every group due at `now_ms`; returns how many ran. */
size_t tg_rules_mgr_run(struct tg_rules_mgr *m, const struct tg_rules_env *env, int64_t now_ms);

/* The earliest time a group is due (after a first run has set the schedules), or
 * INT64_MAX without groups. */
int64_t tg_rules_mgr_next_ms(const struct tg_rules_mgr *m);

size_t tg_rules_mgr_ngroups(const struct tg_rules_mgr *m);
struct tg_rules_group *tg_rules_mgr_group(const struct tg_rules_mgr *m, size_t i);
size_t tg_rules_mgr_nrules(const struct tg_rules_mgr *m);

#endif
