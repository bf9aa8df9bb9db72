/* SPDX-License-Identifier: MIT */
/* The rule engine's part of the Prometheus HTTP API (prometheus-compat.md §b.6, §b.7):
 * GET /api/v1/rules (type=alert|record, rule_name[], rule_group[], file[]),
 * GET /api/v1/alerts, tailguard's GET /api/v1/alerts/history (alertname, since, limit),
 * and Prometheus's lifecycle call PUT|POST /-/reload, which reloads the rule files at
 * once (200, or 500 with the reason and the old rules still running) and starts a
 * configuration reload as SIGHUP does; it needs the admin token when one is set. */
#ifndef TG_ADMIN_PROMAPI_RULES_H
#define TG_ADMIN_PROMAPI_RULES_H

#include <stdbool.h>

#include "admin/resp.h"
#include "http/http1.h"

struct tg_config;
struct tg_ruler;

/* Answers `req` if it is one of the calls above and returns true; else false. */
bool tg_admin_promapi_rules(struct tg_ruler *ruler, const struct tg_config *cfg,
                            const struct tg_http_msg *req, struct tg_admin_resp *r);

#endif
