/* SPDX-License-Identifier: MIT */
/* The incidents: section of the schema (docs/config.md): whether alerts open incidents,
 * the quiet period before an incident whose alerts have all resolved is resolved, the
 * escalation thresholds by age (seed 001: L1 0-30 min, L2 30-60, L3 beyond) and the
 * acknowledgement deadline of serious incidents (seed 002: 15 min). The defaults are the
 * seeds'; tests set seconds. */
#include "config/schema_int.h"
#include "config/units.h"

#define MIN TG_US_PER_MIN

void tg_config__incidents_defaults(struct tg_config *cfg)
{
    cfg->incidents = (struct tg_cfg_incidents){
        .enabled = true,
        .quiet_period_us = 5 * MIN,
        .escalation_l2_us = 30 * MIN,
        .escalation_l3_us = 60 * MIN,
        .ack_deadline_us = 15 * MIN,
    };
}

int tg_config__read_incidents(struct tg_config_walk *w, yaml_node_t *node, void *arg)
{
    struct tg_cfg_incidents *c = arg;
    struct tg_config_field f[] = {
        {.key = "enabled", .kind = TG_CONFIG_K_BOOL, .out = &c->enabled},
        {.key = "quiet_period", .kind = TG_CONFIG_K_DURATION, .out = &c->quiet_period_us,
         .min = TG_US_PER_S, .max = 24 * TG_US_PER_H},
        {.key = "escalation_l2", .kind = TG_CONFIG_K_DURATION, .out = &c->escalation_l2_us,
         .min = TG_US_PER_S, .max = 7 * 24 * TG_US_PER_H},
        {.key = "escalation_l3", .kind = TG_CONFIG_K_DURATION, .out = &c->escalation_l3_us,
         .min = TG_US_PER_S, .max = 7 * 24 * TG_US_PER_H},
        {.key = "ack_deadline", .kind = TG_CONFIG_K_DURATION, .out = &c->ack_deadline_us,
         .min = TG_US_PER_S, .max = 7 * 24 * TG_US_PER_H},
    };
    int rc = tg_config__walk_map(w, node, f, sizeof f / sizeof f[0]);
    if (rc == 0 && c->escalation_l3_us <= c->escalation_l2_us)
        rc = tg_config__walk_err(w, node, "escalation_l3 must be later than escalation_l2");
    return rc;
}
