/* SPDX-License-Identifier: MIT */
/* Health endpoints: /health, /api/v1/health, /health/detailed, /health/services. */
#ifndef TG_ADMIN_HEALTH_H
#define TG_ADMIN_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "admin/resp.h"

struct tg_cset;
struct tg_gateway;

struct tg_admin_health_ctx {
    struct tg_gateway *gw;
    bool draining;
    int64_t start_wall_us;
    const struct tg_cset *collectors; /* NULL: none */
};

void tg_admin_health(const struct tg_admin_health_ctx *h, bool versioned,
                     struct tg_admin_resp *r);
void tg_admin_health_detailed(const struct tg_admin_health_ctx *h, struct tg_admin_resp *r);
void tg_admin_health_services(const struct tg_admin_health_ctx *h, struct tg_admin_resp *r);

#endif
