/* SPDX-License-Identifier: MIT */
/* `tailguard top [--admin URL] [--interval S]`: a live terminal view of a running
 * gateway, what the runbooks' `curl | jq` pipelines show, refreshed in place (docs/top.md).
 *
 * One thread and one loop: the terminal's input is a descriptor on the same loop as the
 * admin API calls (cli/top_fetch.h), so a key is answered while a call waits on a hung
 * gateway, and nothing needs a lock. A round that fails marks the data stale and is
 * retried with a backoff capped at a couple of seconds; the first good answer brings the
 * screen back by itself. Signals only wake the loop: SIGINT and SIGTERM end it and the
 * terminal is restored on the way out; SIGWINCH is ncurses' own, passed on, and the
 * KEY_RESIZE it queues is read at once. */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/admin_client.h"
#include "cli/cmd.h"
#include "cli/top_int.h"
#include "core/clock.h"
#include "core/log.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000
#define INTERVAL_MIN_MS 200
#define TRACES_SHOWN 200 /* more than a screen; scrolled with j/k */

static const int interval_steps_ms[] = {500, 1000, 2000, 3000, 5000, 10000, 30000, 60000};

/* For the signal handlers: the loop to wake, and why. */
static struct tg_loop *sig_loop;
static volatile sig_atomic_t sig_quit;
static struct sigaction curses_winch;

static void usage(FILE *f)
{
    fputs("usage: tailguard top [--admin URL] [--interval S]\n"
          "URL: the gateway's admin listener, http://HOST:PORT (default "
          "http://127.0.0.1:9090)\n"
          "S: seconds between refreshes (default 2)\n"
          "keys: ? in the view lists them (docs/top.md)\n",
          f);
}

/* ------------------------------------------------------------------ rounds */

static void on_tick(struct tg_timer *timer);

static void schedule(struct tg_cli_top *t, int64_t due_us)
{
    tg_timer_start(t->loop, &t->tick, due_us, on_tick, t);
}

static void round_failed(struct tg_cli_top *t, const char *why)
{
    t->conn = TG_CLI_TOP_RECONNECTING;
    snprintf(t->conn_error, sizeof t->conn_error, "%s", why);
    t->stale = true;
    schedule(t, tg_loop_now_us(t->loop) + (int64_t)t->backoff_ms * 1000);
    t->backoff_ms = t->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : t->backoff_ms * 2;
}

static void start_round(struct tg_cli_top *t)
{
    /* Paused, nothing moves but a panel just opened, which needs its list once. */
    unsigned parts = t->paused ? 0 : TG_TOP_TABLE_PARTS;
    if (t->view == TG_CLI_TOP_TRACES && (!t->paused || t->traces_wanted))
        parts |= 1u << TG_TOP_PART_TRACES;
    if (!parts)
        return;
    int rc = tg_top_fetch_start(t->fetch, parts, tg_clock_wall_us() / 1000000);
    if (rc == 0) {
        t->traces_wanted = false;
        memcpy(t->round_ep, t->sel_ep, sizeof t->round_ep);
        memcpy(t->round_method, t->sel_method, sizeof t->round_method);
    } else if (rc == -EBUSY) {
        t->want_round = true;
    } else {
        round_failed(t, tg_strerror(rc));
    }
}

void tg_cli__top_round_now(struct tg_cli_top *t)
{
    tg_timer_stop(t->loop, &t->tick);
    if (tg_top_fetch_busy(t->fetch))
        t->want_round = true;
    else
        start_round(t);
}

static void on_tick(struct tg_timer *timer)
{
    struct tg_cli_top *t = timer->data;
    start_round(t);
}

void tg_cli__top_interval(struct tg_cli_top *t, int dir)
{
    /* The next step up or down from the interval, which --interval may have set between
     * two steps or past the last; at either end it stays. */
    size_t n = sizeof interval_steps_ms / sizeof interval_steps_ms[0];
    for (size_t i = 0; i < n; i++) {
        int s = interval_steps_ms[dir > 0 ? i : n - 1 - i];
        if (dir > 0 ? s > t->interval_ms : s < t->interval_ms) {
            t->interval_ms = s;
            break;
        }
    }
    /* The round due moves to one interval from now (a failed round keeps its backoff). */
    if (tg_timer_armed(&t->tick) && t->conn == TG_CLI_TOP_CONNECTED)
        schedule(t, tg_loop_now_us(t->loop) + (int64_t)t->interval_ms * 1000);
}

/* The body of an answer that is a 200, or NULL with why appended to the message. */
static const char *good_body(struct tg_cli_top *t, const struct tg_top_answer *a,
                             enum tg_top_part p)
{
    size_t n = strlen(t->message);
    const char *sep = n ? "; " : "";
    if (a->error != TG_HCLIENT_OK) {
        snprintf(t->message + n, sizeof t->message - n, "%s%s: %s: %s", sep, tg_top_part_name(p),
                 tg_hclient_error_name(a->error), a->detail);
        return NULL;
    }
    if (a->status == 200)
        return a->body;
    char excerpt[64];
    size_t k = 0;
    for (const char *s = a->body; s && *s && k + 1 < sizeof excerpt; s++)
        excerpt[k++] = *s >= 0x20 && *s < 0x7f ? *s : ' ';
    excerpt[k] = '\0';
    snprintf(t->message + n, sizeof t->message - n, "%s%s: HTTP %d %s", sep, tg_top_part_name(p),
             a->status, excerpt);
    return NULL;
}

/* Adds a parser's complaint to the message. */
static void parse_failed(struct tg_cli_top *t, const struct tg_errbuf *eb)
{
    size_t n = strlen(t->message);
    snprintf(t->message + n, sizeof t->message - n, "%s%s", n ? "; " : "", eb->msg);
}

static void apply_table(struct tg_cli_top *t, struct tg_top_round *r)
{
    struct tg_errbuf eb = {0};
    const struct tg_top_answer *p = r->part;
    const char *b = good_body(t, &p[TG_TOP_PART_STATS], TG_TOP_PART_STATS);
    if (b && tg_top_parse_stats(&t->table, b, p[TG_TOP_PART_STATS].len, &eb) != 0)
        parse_failed(t, &eb);
    else if (b) {
        t->updated_wall_us = tg_clock_wall_us();
        t->stale = false;
    }
    if ((b = good_body(t, &p[TG_TOP_PART_ACTIVE], TG_TOP_PART_ACTIVE)) &&
        tg_top_parse_active(&t->table, b, p[TG_TOP_PART_ACTIVE].len, &eb) != 0)
        parse_failed(t, &eb);
    if ((b = good_body(t, &p[TG_TOP_PART_SPARK], TG_TOP_PART_SPARK)) &&
        tg_top_parse_spark(&t->table, b, p[TG_TOP_PART_SPARK].len, &eb) != 0)
        parse_failed(t, &eb);
    tg_top_sort(&t->table, t->sort, t->desc);
    if ((b = good_body(t, &p[TG_TOP_PART_ALERTS], TG_TOP_PART_ALERTS)) &&
        tg_top_parse_alerts(&t->alerts, b, p[TG_TOP_PART_ALERTS].len, &eb) != 0)
        parse_failed(t, &eb);
    /* Incidents that are not over: open and mitigated, asked for separately. */
    struct tg_top_incidents inc = {0};
    bool ok = true;
    for (int k = TG_TOP_PART_INC_OPEN; k <= TG_TOP_PART_INC_MITIGATED; k++) {
        b = good_body(t, &p[k], (enum tg_top_part)k);
        if (!b || tg_top_parse_incidents(&inc, b, p[k].len, &eb) != 0) {
            if (b)
                parse_failed(t, &eb);
            ok = false;
        }
    }
    if (ok) {
        tg_top_incidents_sort(&inc);
        tg_top_incidents_deinit(&t->incidents);
        t->incidents = inc;
    } else {
        tg_top_incidents_deinit(&inc);
    }
}

static void apply_traces(struct tg_cli_top *t, struct tg_top_round *r)
{
    const struct tg_top_answer *a = &r->part[TG_TOP_PART_TRACES];
    /* The panel may have closed, or moved to another endpoint, meanwhile. */
    if (t->view != TG_CLI_TOP_TRACES || strcmp(t->round_ep, t->sel_ep) != 0 ||
        strcmp(t->round_method, t->sel_method) != 0)
        return;
    struct tg_errbuf eb = {0};
    const char *b = good_body(t, a, TG_TOP_PART_TRACES);
    if (b && tg_top_parse_traces(&t->traces, t->sel_ep, t->sel_method, TRACES_SHOWN, b, a->len,
                                 &eb) != 0)
        parse_failed(t, &eb);
}

static void on_round(void *ctx, struct tg_top_round *r)
{
    struct tg_cli_top *t = ctx;
    /* A round of the table that ends after the pause key: the screen froze when the key
     * was pressed, so what the round brought is dropped, errors included. */
    bool frozen = t->paused && !r->part[TG_TOP_PART_TRACES].asked;
    /* The connection is judged by the main call of the round (stats, or the traces of a
     * round that asked only for those): a slow query alone is an error line. */
    enum tg_top_part lead =
        r->part[TG_TOP_PART_STATS].asked ? TG_TOP_PART_STATS : TG_TOP_PART_TRACES;
    const struct tg_top_answer *a = &r->part[lead];
    if (frozen) {
        /* nothing: unpausing starts a round */
    } else if (a->error != TG_HCLIENT_OK) {
        char why[160];
        snprintf(why, sizeof why, "%s: %s", tg_hclient_error_name(a->error), a->detail);
        round_failed(t, why);
    } else {
        t->conn = TG_CLI_TOP_CONNECTED;
        t->conn_error[0] = '\0';
        t->backoff_ms = BACKOFF_MIN_MS;
        t->message[0] = '\0';
        if (r->part[TG_TOP_PART_STATS].asked && !t->paused)
            apply_table(t, r);
        if (r->part[TG_TOP_PART_TRACES].asked)
            apply_traces(t, r);
        schedule(t, r->started_us + (int64_t)t->interval_ms * 1000);
    }
    if (t->want_round) {
        t->want_round = false;
        tg_cli__top_round_now(t);
    }
    if (!frozen)
        tg_cli__top_draw(t);
}

/* ------------------------------------------------------------------ terminal */

/* Reads every key there is. ncurses reads the descriptor one byte at a time after a
 * poll, so "until ERR" drains it, which the edge-triggered loop needs. */
static void read_keys(struct tg_cli_top *t)
{
    bool any = false;
    int ch;
    while ((ch = getch()) != ERR) {
        any = true;
        if (!tg_cli__top_key(t, ch)) {
            tg_loop_stop(t->loop);
            return;
        }
    }
    if (any)
        tg_cli__top_draw(t);
}

static void on_input(struct tg_io *io, unsigned events)
{
    struct tg_cli_top *t = io->data;
    if (events & (TG_IO_HUP | TG_IO_ERR)) {
        tg_loop_stop(t->loop); /* the terminal went away */
        return;
    }
    if (events & TG_IO_READ)
        read_keys(t);
}

static void on_wake(struct tg_loop *loop, void *data)
{
    if (sig_quit)
        tg_loop_stop(loop);
    else
        read_keys(data); /* after SIGWINCH: getch() returns KEY_RESIZE */
}

static void on_quit_signal(int sig)
{
    (void)sig;
    sig_quit = 1;
    if (sig_loop)
        tg_loop_wake(sig_loop);
}

static void on_winch(int sig)
{
    if (curses_winch.sa_handler != SIG_DFL && curses_winch.sa_handler != SIG_IGN &&
        curses_winch.sa_handler)
        curses_winch.sa_handler(sig);
    if (sig_loop)
        tg_loop_wake(sig_loop);
}

/* Before curses starts: ncurses installs its own SIGINT and SIGTERM handlers only where
 * none is set, and ours end the loop so that endwin() runs. */
static void quit_signals(void)
{
    struct sigaction sa = {.sa_handler = on_quit_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int screen_start(struct tg_cli_top *t)
{
    setlocale(LC_ALL, "");
    t->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "tailguard top: needs a terminal\n");
        return 1;
    }
    SCREEN *s = newterm(NULL, stdout, stdin);
    if (!s) {
        fprintf(stderr, "tailguard top: cannot use terminal type '%s'\n",
                getenv("TERM") ? getenv("TERM") : "");
        return 1;
    }
    set_term(s);
    t->screen = s;
    cbreak(); /* not raw: Ctrl-C stays SIGINT, which ends the view cleanly */
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_RED, -1);
        init_pair(2, COLOR_YELLOW, -1);
        t->colors = true;
    }
    struct sigaction sa = {.sa_handler = on_winch, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGWINCH, &sa, &curses_winch);
    return 0;
}

/* ------------------------------------------------------------------ the command */

static int parse_args(int argc, char **argv, const char **admin, int *interval_ms)
{
    static const struct option lo[] = {{"admin", required_argument, NULL, 'a'},
                                       {"interval", required_argument, NULL, 'i'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        char *end;
        double s;
        switch (c) {
        case 'a':
            *admin = optarg;
            break;
        case 'i':
            s = strtod(optarg, &end);
            if (end == optarg || *end || !(s * 1000 >= INTERVAL_MIN_MS) || s > 3600) {
                fprintf(stderr, "tailguard top: --interval: seconds from 0.2 to 3600\n");
                return 2;
            }
            *interval_ms = (int)(s * 1000);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

static void top_deinit(struct tg_cli_top *t)
{
    if (t->input.active)
        tg_io_stop(t->loop, &t->input);
    if (t->loop)
        tg_timer_stop(t->loop, &t->tick);
    tg_top_fetch_free(t->fetch);
    tg_loop_free(t->loop);
    sig_loop = NULL;
    tg_top_table_deinit(&t->table);
    tg_top_alerts_deinit(&t->alerts);
    tg_top_incidents_deinit(&t->incidents);
    tg_top_traces_deinit(&t->traces);
    free(t->vis);
}

int tg_cli_top(int argc, char **argv)
{
    struct tg_cli_top t = {.admin_text = "http://127.0.0.1:9090",
                           .interval_ms = 2000,
                           .backoff_ms = BACKOFF_MIN_MS,
                           .sort = TG_TOP_COL_P95,
                           .desc = true};
    int rc = parse_args(argc, argv, &t.admin_text, &t.interval_ms);
    if (rc >= 0)
        return rc;
    struct tg_errbuf eb = {0};
    if (tg_cli_admin_target(t.admin_text, &t.admin, &eb) != 0) {
        fprintf(stderr, "tailguard top: --admin: %s\n", eb.msg);
        return 2;
    }
    /* Log lines on stderr would land in the middle of the screen. */
    tg_log_set_level(TG_LOG_ERROR);
    rc = tg_loop_new(&t.loop, on_wake, &t);
    if (rc == 0)
        rc = tg_top_fetch_new(t.loop, &t.admin, on_round, &t, &t.fetch);
    if (rc != 0) {
        fprintf(stderr, "tailguard top: %s\n", tg_strerror(rc));
        top_deinit(&t);
        return 1;
    }
    sig_loop = t.loop;
    quit_signals();
    if (screen_start(&t) != 0) {
        top_deinit(&t);
        return 1;
    }
    rc = tg_io_start(t.loop, &t.input, STDIN_FILENO, on_input, &t);
    if (rc == 0) {
        tg_cli__top_draw(&t);
        start_round(&t);
        rc = tg_loop_run(t.loop);
    }
    endwin();
    delscreen(t.screen);
    top_deinit(&t);
    if (rc != 0) {
        fprintf(stderr, "tailguard top: %s\n", tg_strerror(rc));
        return 1;
    }
    return 0;
}
