/* SPDX-License-Identifier: MIT */
/* Admin response helpers; see resp.h. */
#include "admin/resp.h"

#include <stdlib.h>
#include <string.h>

void tg_admin_resp_json(struct tg_admin_resp *r, int status, json_t *v)
{
    free(r->body);
    r->status = status;
    r->content_type = "application/json";
    r->body = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(v);
    if (!r->body) {
        r->status = 500;
        r->body = strdup("{\"error\":\"out of memory\"}\n");
    } else {
        size_t n = strlen(r->body);
        char *b = realloc(r->body, n + 2);
        if (b) {
            b[n] = '\n';
            b[n + 1] = '\0';
            r->body = b;
        }
    }
    r->body_len = r->body ? strlen(r->body) : 0;
}

void tg_admin_resp_error(struct tg_admin_resp *r, int status, const char *msg, const char *field)
{
    tg_admin_resp_json(r, status,
                       json_pack("{s:s, s:o}", "error", msg, "field",
                                 field ? json_string(field) : json_null()));
}

void tg_admin_resp_free(struct tg_admin_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}
