/* SPDX-License-Identifier: MIT */
/* Monitoring views over request traces: /traces and /slow-queries. */
#ifndef TG_ADMIN_TRACES_H
#define TG_ADMIN_TRACES_H

#include "admin/resp.h"
#include "http/http1.h"

struct tg_gateway;

void tg_admin_traces(struct tg_gateway *gw, struct tg_str query, struct tg_admin_resp *r);
void tg_admin_slow_queries(struct tg_gateway *gw, struct tg_str query, struct tg_admin_resp *r);

#endif
