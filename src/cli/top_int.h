/* SPDX-License-Identifier: MIT */
/* The state of `tailguard top` shared by its two files: top.c (the command: options,
 * terminal, loop, signals, rounds and what they change) and top_ui.c (keys and drawing).
 * Loop thread only; nothing here is reached from a signal handler. */
#ifndef TG_CLI_TOP_INT_H
#define TG_CLI_TOP_INT_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli/top_fetch.h"
#include "cli/top_model.h"
#include "core/err.h"
#include "core/loop.h"
#include "http/client.h"

enum tg_cli_top_conn {
    TG_CLI_TOP_CONNECTING = 0, /* no answer yet */
    TG_CLI_TOP_CONNECTED,
    TG_CLI_TOP_RECONNECTING, /* the last round failed; retrying with backoff */
};

enum tg_cli_top_view {
    TG_CLI_TOP_TABLE = 0,
    TG_CLI_TOP_TRACES, /* the selected endpoint's slow requests */
};

struct tg_cli_top {
    struct tg_loop *loop;
    struct tg_top_fetch *fetch;
    struct tg_hclient_target admin;
    const char *admin_text; /* as the user wrote it, for the header */
    struct tg_timer tick;   /* the next round */
    struct tg_io input;
    SCREEN *screen;
    bool utf8, colors;

    /* What the last good answers said. */
    struct tg_top_table table;
    struct tg_top_alerts alerts;
    struct tg_top_incidents incidents;
    struct tg_top_traces traces;
    int64_t updated_wall_us; /* when the table was last refreshed; 0: never */
    bool stale;              /* the table is older than the last round */

    /* The connection and the errors of the last round. */
    enum tg_cli_top_conn conn;
    char conn_error[160];
    char message[TG_ERRBUF_MSG];
    int backoff_ms;
    int interval_ms;
    bool want_round;    /* start one as soon as the round under way ends */
    bool traces_wanted; /* the panel opened: its list is due even while paused */
    char round_ep[TG_TOP_NAME_MAX], round_method[16]; /* whose traces the round asks */

    /* What the user chose. */
    bool paused, help, editing;
    enum tg_top_col sort;
    bool desc;
    char filter[64], edit[64];
    enum tg_cli_top_view view;
    bool sel_set; /* false: the selection follows the first row */
    char sel_ep[TG_TOP_NAME_MAX], sel_method[16];
    int sel_idx;
    int trace_top; /* the first trace shown (scrolling) */

    /* Rows passing the filter, in table order (indexes into table.rows). */
    size_t *vis;
    size_t nvis, vis_cap;
};

/* Starts a round now (or as soon as the one under way ends). */
void tg_cli__top_round_now(struct tg_cli_top *t);

/* Handles one key from getch(); false when the user quits. */
bool tg_cli__top_key(struct tg_cli_top *t, int ch);

/* Redraws the whole screen from the state. */
void tg_cli__top_draw(struct tg_cli_top *t);

/* Sets the interval to the next step up (`dir` > 0) or down and reschedules. */
void tg_cli__top_interval(struct tg_cli_top *t, int dir);

#endif
