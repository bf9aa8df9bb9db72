/* SPDX-License-Identifier: MIT */
/* Admin responses: status, content type and a heap body the server sends and frees.
 * Handlers build JSON with jansson (admin is not the hot path; correctness and escaping
 * matter more than a few microseconds) and hand it over with tg_admin_resp_json. */
#ifndef TG_ADMIN_RESP_H
#define TG_ADMIN_RESP_H

#include <jansson.h>
#include <stddef.h>

struct tg_admin_resp {
    int status;
    const char *content_type; /* static string */
    char *body;               /* owned, malloc'd; NULL = empty */
    size_t body_len;
    const char *extra;        /* NULL, or static header lines each ending in CRLF */
};

/* Takes `v` (decref'd here), serialises it compactly with a trailing newline. Numbers are
 * written by jansson with "%.17g": callers round reals they want printed plainly (see
 * tg_admin_json_ms). */
void tg_admin_resp_json(struct tg_admin_resp *r, int status, json_t *v);

/* `{"error": msg, "field": field-or-null}` with `status`. */
void tg_admin_resp_error(struct tg_admin_resp *r, int status, const char *msg, const char *field);

void tg_admin_resp_free(struct tg_admin_resp *r);

#endif
