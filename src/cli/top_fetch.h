/* SPDX-License-Identifier: MIT */
/* The fetch part of `tailguard top`: one refresh ("round") asks the admin API for the
 * parts the screen needs, all at once through the control plane's HTTP client on the
 * command's loop, each with a short deadline so that a hung gateway costs a round at most
 * that long and never blocks the keys. When every call of the round has ended, the
 * round's callback gets each part's outcome and body; parsing them is the model's job
 * (cli/top_model.h). Loop thread only. */
#ifndef TG_CLI_TOP_FETCH_H
#define TG_CLI_TOP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "http/client.h"

#define TG_TOP_CALL_TIMEOUT_US 2000000      /* a loopback answer takes milliseconds */
#define TG_TOP_BODY_MAX (16u * 1024 * 1024) /* more is an error line, not a screen */
#define TG_TOP_SPARK_STEP_S 10              /* with TG_TOP_SPARK_MAX points: about 5 minutes */

enum tg_top_part {
    TG_TOP_PART_STATS = 0,     /* monitoring/endpoints/stats?window=60s */
    TG_TOP_PART_ACTIVE,        /* monitoring/requests/active */
    TG_TOP_PART_ALERTS,        /* /api/v1/alerts */
    TG_TOP_PART_INC_OPEN,      /* /api/v1/incidents?status=open */
    TG_TOP_PART_INC_MITIGATED, /* ... and mitigated: not over either */
    TG_TOP_PART_SPARK,         /* query_range of the p95 per endpoint and method */
    TG_TOP_PART_TRACES,        /* monitoring/traces, for the slow-requests panel */
    TG_TOP_PARTS
};

#define TG_TOP_TABLE_PARTS                                                                         \
    ((1u << TG_TOP_PART_STATS) | (1u << TG_TOP_PART_ACTIVE) | (1u << TG_TOP_PART_ALERTS) |         \
     (1u << TG_TOP_PART_INC_OPEN) | (1u << TG_TOP_PART_INC_MITIGATED) | (1u << TG_TOP_PART_SPARK))

/* One part's outcome. */
struct tg_top_answer {
    bool asked;
    enum tg_hclient_error error; /* TG_HCLIENT_OK: an answer came (any status) */
    char detail[96];             /* the client's reason when it did not */
    int status;
    char *body; /* NUL-terminated, `len` bytes; NULL without an answer */
    size_t len;
};

struct tg_top_round {
    struct tg_top_answer part[TG_TOP_PARTS];
    int64_t started_us; /* on the loop's clock */
};

/* Called when the round's last call ends. `r` and its bodies are freed when it returns,
 * unless the callback takes a body (sets it to NULL). It may start the next round. */
typedef void tg_top_round_fn(void *ctx, struct tg_top_round *r);

struct tg_top_fetch;

/* `admin` is the base target (cli/admin_client.h); borrowed until _free. 0 or -ENOMEM. */
int tg_top_fetch_new(struct tg_loop *loop, const struct tg_hclient_target *admin,
                     tg_top_round_fn *done, void *ctx, struct tg_top_fetch **out);

/* Cancels a round under way (no callback) and frees. Accepts NULL. */
void tg_top_fetch_free(struct tg_top_fetch *f);

/* Starts a round asking for `parts` (a mask of 1 << enum tg_top_part); `wall_s` is now
 * in Unix seconds, the end of the sparklines' range. 0, -EBUSY while a round is under
 * way, or a negative code when no call could start (the callback is not called). */
int tg_top_fetch_start(struct tg_top_fetch *f, unsigned parts, int64_t wall_s);

bool tg_top_fetch_busy(const struct tg_top_fetch *f);

/* The path each part asks for, for messages ("alerts"). */
const char *tg_top_part_name(enum tg_top_part p);

#endif
