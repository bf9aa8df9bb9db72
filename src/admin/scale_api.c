/* SPDX-License-Identifier: MIT */
/* The autoscaler's part of the control API (docs/scale.md): GET /api/v1/system/autoscale
 * (the settings in force and the live state) and POST /api/v1/system/scale {"instances":
 * n[, "upstream"]} (scale now, within min..max, audited). PUT /autoscale is an ordinary
 * settings change (control_api.c put_ops), so it is persisted and audited like the rest. */
#include <stdio.h>
#include <string.h>

#include "admin/control_api.h"
#include "config/settings.h"
#include "core/log.h"
#include "proxy/gateway.h"
#include "scale/scaler.h"

struct values_ctx {
    json_t *out;
};

static void add_value(const struct tg_config_setting *s, void *vctx)
{
    struct values_ctx *c = vctx;
    static const char prefix[] = "autoscale.";
    if (strncmp(s->key, prefix, sizeof prefix - 1) == 0)
        json_object_set(c->out, s->key + sizeof prefix - 1, s->value);
}

void tg_admin_autoscale_get(const struct tg_admin_control_ctx *c, struct tg_admin_resp *r)
{
    if (!c->scaler) {
        tg_admin_resp_error(r, 404, "no autoscaler", NULL);
        return;
    }
    struct values_ctx v = {json_object()};
    tg_config_foreach_setting(tg_gateway_config(c->gw), add_value, &v);
    tg_admin_resp_json(r, 200,
                       json_pack("{s:o,s:o}", "settings", v.out, "state",
                                 tg_scaler_state(c->scaler)));
}

void tg_admin_scale_post(const struct tg_admin_control_ctx *c, json_t *body, const char *actor,
                         struct tg_admin_resp *r)
{
    if (!c->scaler) {
        tg_admin_resp_error(r, 404, "no autoscaler", NULL);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        if (strcmp(k, "instances") != 0 && strcmp(k, "upstream") != 0) {
            char msg[128];
            snprintf(msg, sizeof msg, "unknown field \"%.60s\" (allowed: instances, upstream)", k);
            tg_admin_resp_error(r, 400, msg, k);
            return;
        }
    }
    json_t *n = json_object_get(body, "instances"), *u = json_object_get(body, "upstream");
    if (!json_is_integer(n) || json_integer_value(n) < 0 ||
        json_integer_value(n) > TG_CFG_MAX_SERVERS) {
        tg_admin_resp_error(r, 400, "instances must be an integer from 0 to 1000", "instances");
        return;
    }
    if (u && !json_is_string(u)) {
        tg_admin_resp_error(r, 400, "upstream must be the name of an upstream", "upstream");
        return;
    }
    uint32_t want = (uint32_t)json_integer_value(n);
    struct tg_errbuf eb = {0};
    int rc = tg_scaler_scale_to(c->scaler, want, u ? json_string_value(u) : NULL, actor, &eb);
    if (rc) {
        int status = rc == TG_ENOTFOUND || rc == TG_ELIMIT ? 400 : 409;
        const char *field = strncmp(eb.msg, "upstream", 8) == 0 ? "upstream" : "instances";
        tg_log(TG_LOG_WARN, "control", "change-refused action=\"POST /api/v1/system/scale\" "
               "actor=%s error=\"%s\"", actor, eb.msg);
        tg_admin_resp_error(r, status, eb.msg, field);
        return;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "{\"instances\":%u}", want);
    if (tg_admin_audit_action(c, actor, "POST /api/v1/system/scale", "autoscale", detail, r) != 0)
        return;
    tg_admin_resp_json(r, 200,
                       json_pack("{s:s,s:o}", "status", "ok", "state", tg_scaler_state(c->scaler)));
}
