/* SPDX-License-Identifier: MIT */
/* Shared by the Prometheus API's files: promapi.c (dispatch, query, query_range,
 * format_query) and promapi_meta.c (series, labels, metadata, targets, status). One
 * request's form values and its JSON answer. */
#ifndef TG_ADMIN_PROMAPI_INT_H
#define TG_ADMIN_PROMAPI_INT_H

#include "admin/promapi.h"
#include "admin/promapi_json.h"
#include "admin/promapi_params.h"
#include "core/err.h"
#include "tsdb/query.h"

struct tg_admin__preq {
    const struct tg_admin_promapi_ctx *c;
    const struct tg_http_msg *m;
    struct tg_admin_form form;
    struct tg_admin_jw w; /* the answer's "data" value */
    struct tg_admin_resp *resp;
};

/* Prometheus's error types, each with its HTTP status. */
#define TG_ADMIN__BAD_DATA "bad_data"       /* 400 */
#define TG_ADMIN__EXEC "execution"          /* 422 */
#define TG_ADMIN__TIMEOUT "timeout"         /* 503 */
#define TG_ADMIN__INTERNAL "internal"       /* 500 */
#define TG_ADMIN__UNAVAILABLE "unavailable" /* 503 */

/* Answers {"status":"error","errorType":type,"error":msg}. */
void tg_admin__papi_error(struct tg_admin__preq *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers {"status":"success","data":<r->w>}; an allocation failure answers 500. */
void tg_admin__papi_ok(struct tg_admin__preq *r);

/* The first form value of `name` ("" when absent) and its length. */
const char *tg_admin__papi_fv(const struct tg_admin__preq *r, const char *name, size_t *len);

/* Reads an optional time parameter (series, labels): `def` when absent or empty; false
 * after answering Prometheus's error. */
bool tg_admin__papi_time(struct tg_admin__preq *r, const char *name, struct tg_admin_ptime def,
                         struct tg_admin_ptime *out);

/* The store as a queryable; false after answering 503 when there is none. */
bool tg_admin__papi_store(struct tg_admin__preq *r, struct tg_queryable *q);

/* A label set as a JSON object. */
void tg_admin__papi_labels(struct tg_admin_jw *w, const struct tg_labels *ls);

void tg_admin__papi_series(struct tg_admin__preq *r);
void tg_admin__papi_labels_ep(struct tg_admin__preq *r);
void tg_admin__papi_label_values(struct tg_admin__preq *r, const char *name, size_t len);
void tg_admin__papi_metadata(struct tg_admin__preq *r);
void tg_admin__papi_targets(struct tg_admin__preq *r);
void tg_admin__papi_exemplars(struct tg_admin__preq *r);
void tg_admin__papi_status(struct tg_admin__preq *r, const char *what, size_t len);

#endif
