/* SPDX-License-Identifier: MIT */
/* Answers that come later: a handler whose answer needs a round trip to a peer (a
 * PostgreSQL query, a Redis command) holds the connection, returns, and answers from the
 * peer's callback. If the client goes away first, the hold's cancel function runs (the
 * handler drops its reference to the connection and cancels or ignores the reply), so no
 * callback ever writes to a closed connection. Control thread only. */
#ifndef TG_ADMIN_ASYNC_H
#define TG_ADMIN_ASYNC_H

#include "admin/resp.h"

struct tg_hconn;

typedef void tg_admin_async_cancel_fn(void *p);

/* In the request's handler: the answer will come later through tg_admin_async_respond.
 * `cancel(p)` runs if the connection closes before. */
void tg_admin_async_hold(struct tg_hconn *c, tg_admin_async_cancel_fn *cancel, void *p);

/* Sends `r` (its body is taken) on the held connection and releases the hold. */
void tg_admin_async_respond(struct tg_hconn *c, struct tg_admin_resp *r);

#endif
