/* SPDX-License-Identifier: MIT */
/* Internal control-API calls (call.h). */
#include <stdlib.h>
#include <string.h>

#include "admin/call.h"
#include "admin/control_api.h"
#include "admin/server.h"
#include "control/runtime.h"
#include "proxy/gateway.h"
#include "store/audit.h"

static enum tg_http_method method_of(const char *m)
{
    static const struct {
        const char *name;
        enum tg_http_method m;
    } t[] = {{"GET", TG_HTTP_GET},
             {"POST", TG_HTTP_POST},
             {"PUT", TG_HTTP_PUT},
             {"DELETE", TG_HTTP_DELETE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, m) == 0)
            return t[i].m;
    return TG_HTTP_OTHER;
}

struct newest {
    const char *actor;
    int64_t id;
};

static int on_row(void *ctx, const struct tg_store_audit *row)
{
    struct newest *n = ctx;
    if (strcmp(row->actor, n->actor) == 0)
        n->id = row->id;
    return 1;
}

/* The audit row the call just wrote: the newest, if it is the actor's (the control
 * thread writes one row at a time, so no other can come between). */
static int64_t newest_audit(struct tg_admin *a, const char *actor)
{
    struct tg_store *s = tg_admin_runtime(a) ? tg_runtime_store(tg_admin_runtime(a)) : NULL;
    struct newest n = {actor, 0};
    struct tg_store_audit_filter f = {.limit = 1};
    struct tg_errbuf eb = {0};
    if (s)
        tg_store_audit_list(s, &f, on_row, &n, &eb);
    return n.id;
}

static json_t *answer_of(const struct tg_admin_resp *r)
{
    return r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
}

int tg_admin_call(struct tg_admin *a, const char *actor, const char *method, const char *path,
                  const json_t *body, json_t **answer, int64_t *audit_id)
{
    *answer = NULL;
    *audit_id = 0;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int64_t before = newest_audit(a, actor);
    struct tg_http_msg m;
    memset(&m, 0, sizeof m);
    m.method = method_of(method);
    m.method_str = (struct tg_str){method, strlen(method)};
    m.target = m.path = (struct tg_str){path, strlen(path)};
    m.query = (struct tg_str){"", 0};
    m.minor = 1;
    m.reqid_idx = m.host_idx = -1;
    /* The gateway's own call carries the configured token, so every handler's check
     * passes the same way an operator's would. */
    const struct tg_config *cfg = tg_gateway_config(tg_admin_gateway(a));
    char auth[300];
    if (cfg->admin_token[0]) {
        int n = snprintf(auth, sizeof auth, "Bearer %s", cfg->admin_token);
        m.headers[0].name = (struct tg_str){"Authorization", 13};
        m.headers[0].value = (struct tg_str){auth, (size_t)n < sizeof auth ? (size_t)n : 0};
        m.nheaders = 1;
    }
    struct tg_admin_resp r = {0};
    tg_admin_handle(a, &m, text, text ? strlen(text) : 0, actor, &r);
    free(text);
    *answer = answer_of(&r);
    free(r.body);
    int64_t after = newest_audit(a, actor);
    if (after != before)
        *audit_id = after;
    return r.status;
}

json_t *tg_admin_overrides_under(struct tg_admin *a, const char *prefix)
{
    json_t *all = tg_admin_runtime(a) ? tg_runtime_overrides(tg_admin_runtime(a)) : json_object();
    json_t *out = json_object();
    const char *k;
    json_t *v;
    size_t plen = strlen(prefix);
    json_object_foreach(all, k, v)
    {
        if (strncmp(k, prefix, plen) == 0)
            json_object_set(out, k, v);
    }
    json_decref(all);
    return out;
}

int tg_admin_restore(struct tg_admin *a, const char *actor, const char *prefix,
                     const json_t *before, json_t **answer, int64_t *audit_id)
{
    *answer = NULL;
    *audit_id = 0;
    if (!tg_admin_runtime(a))
        return 404;
    json_t *now = tg_admin_overrides_under(a, prefix);
    size_t n = json_object_size(now) + json_object_size(before);
    struct tg_runtime_set *sets = calloc(n ? n : 1, sizeof *sets);
    char **vals = calloc(n ? n : 1, sizeof *vals);
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(now, k, v)
    {
        if (!json_object_get(before, k))
            sets[i++] = (struct tg_runtime_set){k, NULL};
    }
    json_object_foreach((json_t *)before, k, v)
    {
        vals[i] = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        sets[i] = (struct tg_runtime_set){k, vals[i]};
        i++;
    }
    int status = 200;
    if (i > 0) {
        char action[160], target[128];
        snprintf(action, sizeof action, "undo %.*s", (int)(strlen(prefix) - 1), prefix);
        snprintf(target, sizeof target, "%.*s", (int)(strlen(prefix) - 1), prefix);
        struct tg_runtime_who who = {actor, action, target};
        struct tg_errbuf eb = {0};
        struct tg_config *cfg = NULL;
        int rc = tg_runtime_change(tg_admin_runtime(a), sets, i, &who,
                                   tg_gateway_config(tg_admin_gateway(a)), &cfg, &eb);
        if (rc == 0 && tg_gateway_reload(tg_admin_gateway(a), cfg, NULL, NULL, &eb) != 0)
            rc = -1;
        if (rc) {
            status = rc == TG_ENOTFOUND ? 404 : 409;
            *answer = json_pack("{s:s}", "error", eb.msg);
        } else {
            *answer = json_pack("{s:s,s:O}", "status", "ok", "restored", before);
            *audit_id = newest_audit(a, actor);
        }
    } else {
        *answer = json_pack("{s:s}", "status", "nothing to undo");
    }
    for (size_t j = 0; j < i; j++)
        free(vals[j]);
    free(vals);
    free(sets);
    json_decref(now);
    return status;
}
