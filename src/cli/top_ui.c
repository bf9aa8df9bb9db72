/* SPDX-License-Identifier: MIT */
/* The keys and the drawing of `tailguard top` (see top_int.h). Every redraw starts from
 * an erased screen and the state, so a resize, a short terminal or a new answer all go
 * through the same path; ncurses sends the terminal only what changed. Lines come from
 * the model's formatters, already cut to the width. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/top_int.h"

#define KEY_ESC 27

/* ------------------------------------------------------------------ selection */

/* Fills t->vis with the rows passing the filter and finds the selection among them. */
static void visible_rows(struct tg_cli_top *t)
{
    if (t->vis_cap < t->table.n) {
        size_t *v = realloc(t->vis, t->table.n * sizeof *v);
        if (!v) {
            t->nvis = 0;
            return;
        }
        t->vis = v;
        t->vis_cap = t->table.n;
    }
    t->nvis = 0;
    int found = -1;
    for (size_t i = 0; i < t->table.n; i++) {
        const struct tg_top_row *r = &t->table.rows[i];
        if (!tg_top_match(r, t->filter))
            continue;
        if (t->sel_set && strcmp(r->endpoint, t->sel_ep) == 0 &&
            strcmp(r->method, t->sel_method) == 0)
            found = (int)t->nvis;
        t->vis[t->nvis++] = i;
    }
    /* A selected row that went away (filtered, aged out) leaves the cursor where it was. */
    if (!t->sel_set)
        t->sel_idx = 0;
    else if (found >= 0)
        t->sel_idx = found;
    if (t->sel_idx >= (int)t->nvis)
        t->sel_idx = t->nvis ? (int)t->nvis - 1 : 0;
}

static void select_idx(struct tg_cli_top *t, int idx)
{
    visible_rows(t);
    if (!t->nvis)
        return;
    idx = idx < 0 ? 0 : idx >= (int)t->nvis ? (int)t->nvis - 1 : idx;
    const struct tg_top_row *r = &t->table.rows[t->vis[idx]];
    t->sel_idx = idx;
    t->sel_set = true;
    snprintf(t->sel_ep, sizeof t->sel_ep, "%s", r->endpoint);
    snprintf(t->sel_method, sizeof t->sel_method, "%s", r->method);
}

/* ------------------------------------------------------------------ keys */

static void resort(struct tg_cli_top *t, enum tg_top_col c, bool desc)
{
    t->sort = c;
    t->desc = desc;
    tg_top_sort(&t->table, c, desc);
}

static void edit_key(struct tg_cli_top *t, int ch)
{
    size_t n = strlen(t->edit);
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        memcpy(t->filter, t->edit, sizeof t->filter);
        t->editing = false;
        t->sel_set = false;
    } else if (ch == KEY_ESC) {
        t->filter[0] = t->edit[0] = '\0';
        t->editing = false;
    } else if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n) {
        t->edit[n - 1] = '\0';
    } else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof t->edit) {
        t->edit[n] = (char)ch;
        t->edit[n + 1] = '\0';
    }
}

static void open_traces(struct tg_cli_top *t)
{
    visible_rows(t);
    if (!t->nvis)
        return;
    select_idx(t, t->sel_idx);
    tg_top_traces_deinit(&t->traces);
    t->view = TG_CLI_TOP_TRACES;
    t->trace_top = 0;
    t->traces_wanted = true;
    tg_cli__top_round_now(t);
}

/* Keys both views share; false when `ch` is not one of them. */
static bool common_key(struct tg_cli_top *t, int ch)
{
    switch (ch) {
    case 'p':
    case ' ':
        t->paused = !t->paused;
        if (!t->paused)
            tg_cli__top_round_now(t);
        return true;
    case '+':
    case '=':
        tg_cli__top_interval(t, 1);
        return true;
    case '-':
    case '_':
        tg_cli__top_interval(t, -1);
        return true;
    case '?':
    case 'h':
        t->help = true;
        return true;
    default:
        return false;
    }
}

static void traces_key(struct tg_cli_top *t, int ch)
{
    int last = (int)t->traces.n - 1;
    switch (ch) {
    case KEY_ESC:
    case 'q':
    case KEY_LEFT:
        t->view = TG_CLI_TOP_TABLE;
        break;
    case KEY_UP:
    case 'k':
        t->trace_top = t->trace_top > 0 ? t->trace_top - 1 : 0;
        break;
    case KEY_DOWN:
    case 'j':
        t->trace_top = t->trace_top < last ? t->trace_top + 1 : t->trace_top;
        break;
    default:
        break;
    }
}

static void table_key(struct tg_cli_top *t, int ch)
{
    int page = LINES > 8 ? LINES - 6 : 1;
    switch (ch) {
    case 's':
    case '>':
        resort(t, (enum tg_top_col)((t->sort + 1) % TG_TOP_COLS),
               tg_top_col_desc((enum tg_top_col)((t->sort + 1) % TG_TOP_COLS)));
        break;
    case 'S':
    case '<':
        resort(t, (enum tg_top_col)((t->sort + TG_TOP_COLS - 1) % TG_TOP_COLS),
               tg_top_col_desc((enum tg_top_col)((t->sort + TG_TOP_COLS - 1) % TG_TOP_COLS)));
        break;
    case 'r':
        resort(t, t->sort, !t->desc);
        break;
    case '/':
        t->editing = true;
        memcpy(t->edit, t->filter, sizeof t->edit);
        break;
    case KEY_ESC:
        t->filter[0] = '\0';
        break;
    case KEY_UP:
    case 'k':
        select_idx(t, t->sel_idx - 1);
        break;
    case KEY_DOWN:
    case 'j':
        select_idx(t, t->sel_idx + 1);
        break;
    case KEY_PPAGE:
        select_idx(t, t->sel_idx - page);
        break;
    case KEY_NPAGE:
        select_idx(t, t->sel_idx + page);
        break;
    case KEY_HOME:
    case 'g':
        select_idx(t, 0);
        break;
    case KEY_END:
    case 'G':
        select_idx(t, (int)t->table.n);
        break;
    case '\n':
    case '\r':
    case KEY_ENTER:
        open_traces(t);
        break;
    default:
        break;
    }
}

bool tg_cli__top_key(struct tg_cli_top *t, int ch)
{
    if (ch == KEY_RESIZE)
        return true; /* the redraw that follows lays the screen out again */
    if (t->editing) {
        edit_key(t, ch);
        return true;
    }
    if (t->help) {
        t->help = false; /* any key closes the help, q included */
        return true;
    }
    if (t->view == TG_CLI_TOP_TABLE && ch == 'q')
        return false;
    if (common_key(t, ch))
        return true;
    if (t->view == TG_CLI_TOP_TRACES)
        traces_key(t, ch);
    else
        table_key(t, ch);
    return true;
}

/* ------------------------------------------------------------------ drawing */

/* Writes `s` on line `y`, cut to the width minus the last column (writing the bottom
 * right corner would scroll some terminals), padded when `pad` (a highlighted bar).
 * Columns are counted as characters: the only text wider than a byte per column is a
 * sparkline, whose blocks are one column each. */
static void line(int y, const char *s, bool pad)
{
    int w = COLS - 1, cols = 0;
    if (y < 0 || y >= LINES || w <= 0)
        return;
    move(y, 0);
    for (const char *p = s; *p && cols < w; cols++) {
        unsigned char c = (unsigned char)*p;
        int n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        int k = 1;
        while (k < n && p[k])
            k++;
        addnstr(p, k);
        p += k;
    }
    while (pad && cols++ < w)
        addch(' ');
}

static void header(struct tg_cli_top *t)
{
    char up[16] = "never", every[16], counts[64], buf[512];
    if (t->updated_wall_us) {
        time_t s = (time_t)(t->updated_wall_us / 1000000);
        struct tm tm;
        localtime_r(&s, &tm);
        strftime(up, sizeof up, "%H:%M:%S", &tm);
    }
    if (t->interval_ms % 1000)
        snprintf(every, sizeof every, "%.1fs", t->interval_ms / 1000.0);
    else
        snprintf(every, sizeof every, "%ds", t->interval_ms / 1000);
    size_t firing = 0;
    for (size_t i = 0; i < t->alerts.n; i++)
        firing += strcmp(t->alerts.v[i].state, "firing") == 0;
    snprintf(counts, sizeof counts, "alerts %zu firing %zu pending  incidents %zu", firing,
             t->alerts.n - firing, t->incidents.n);
    static const char *const conn[] = {"connecting...", "connected", "reconnecting..."};
    /* Most needed first: a narrow terminal keeps the start of the line. */
    snprintf(buf, sizeof buf, "%s%s  updated %s%s  every %s  %s  %s  tailguard top", conn[t->conn],
             t->paused ? "  PAUSED" : "", up, t->stale && t->updated_wall_us ? " (stale)" : "",
             every, t->admin_text, counts);
    attron(A_REVERSE);
    line(0, buf, true);
    attroff(A_REVERSE);
}

static void message(struct tg_cli_top *t, int y)
{
    char buf[512];
    if (t->conn == TG_CLI_TOP_RECONNECTING)
        snprintf(buf, sizeof buf, "reconnecting: %s (retrying)", t->conn_error);
    else
        snprintf(buf, sizeof buf, "error: %s", t->message);
    if (t->colors)
        attron(COLOR_PAIR(1));
    line(y, buf, false);
    if (t->colors)
        attroff(COLOR_PAIR(1));
}

static void alerts_incidents(struct tg_cli_top *t, const struct tg_top_vlayout *v)
{
    char buf[512];
    for (int i = 0; i < v->alert_lines; i++) {
        const struct tg_top_alert *a = &t->alerts.v[i];
        bool firing = strcmp(a->state, "firing") == 0;
        tg_top_format_alert(a, COLS - 1, buf, sizeof buf);
        int attr = t->colors ? COLOR_PAIR(firing ? 1 : 2) : 0;
        attron(attr | (firing ? A_BOLD : 0));
        line(v->alerts_y + i, buf, false);
        attroff(attr | A_BOLD);
    }
    for (int i = 0; i < v->incident_lines; i++) {
        tg_top_format_incident(&t->incidents.v[i], COLS - 1, buf, sizeof buf);
        attron(A_BOLD);
        line(v->incidents_y + i, buf, false);
        attroff(A_BOLD);
    }
}

static void table(struct tg_cli_top *t, const struct tg_top_vlayout *v)
{
    struct tg_top_layout l;
    char buf[2048];
    tg_top_layout(COLS - 1, &t->table, t->sort, &l);
    tg_top_format_header(&l, t->sort, t->desc, buf, sizeof buf);
    attron(A_BOLD | A_UNDERLINE);
    line(v->table_y, buf, true);
    attroff(A_BOLD | A_UNDERLINE);
    if (!t->nvis) {
        line(v->table_y + 1,
             t->table.n           ? "(no endpoint matches the filter)"
             : t->updated_wall_us ? "(no requests in the last 60 s)"
                                  : "",
             false);
        return;
    }
    /* Scrolled so the selection is on screen. */
    int first = t->sel_idx >= v->rows ? t->sel_idx - v->rows + 1 : 0;
    for (int i = 0; i < v->rows && first + i < (int)t->nvis; i++) {
        int idx = first + i;
        tg_top_format_row(&l, &t->table.rows[t->vis[idx]], t->utf8, buf, sizeof buf);
        int attr = (idx == t->sel_idx ? A_REVERSE : 0) | (t->stale ? A_DIM : 0);
        attron(attr);
        line(v->table_y + 1 + i, buf, idx == t->sel_idx);
        attroff(attr);
    }
}

static void traces(struct tg_cli_top *t, int y, int bottom)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "Slow requests of %s %s, slowest first (%zu)", t->sel_method,
             t->sel_ep, t->traces.n);
    line(y++, buf, false);
    tg_top_format_trace_header(COLS - 1, buf, sizeof buf);
    attron(A_BOLD | A_UNDERLINE);
    line(y++, buf, true);
    attroff(A_BOLD | A_UNDERLINE);
    if (!t->traces.n)
        line(y, "(none kept: the gateway keeps a sample, those slower than the p99, and 5xx)",
             false);
    for (size_t i = (size_t)t->trace_top; i < t->traces.n && y < bottom; i++) {
        tg_top_format_trace(&t->traces.v[i], COLS - 1, buf, sizeof buf);
        line(y++, buf, false);
    }
}

static const char *const help_lines[] = {
    "Keys",
    "  s > / S <   sort by the next / previous column (default: P95, largest first)",
    "  r           reverse the order",
    "  /           filter: type a substring or a glob (*, ?, [..]); Enter applies, Esc clears",
    "  p, space    pause / resume the refresh",
    "  up/down j/k move the selection (PgUp, PgDn, g, G)",
    "  Enter       the selected endpoint's slow requests (Esc or q: back)",
    "  + / -       refresh less / more often",
    "  ? h         this help (any key closes it)",
    "  q           quit",
    "",
    "Columns: RPS requests/s, P50 P95 P99 latency, ERR% share of errors over the last 60 s;",
    "ACTIVE requests in flight now; the sparkline is the p95 over the last 5 minutes.",
};

static void footer(struct tg_cli_top *t, int y)
{
    char buf[512];
    if (t->editing)
        snprintf(buf, sizeof buf, "filter: %s_   (Enter: apply, Esc: clear)", t->edit);
    else if (t->view == TG_CLI_TOP_TRACES)
        snprintf(buf, sizeof buf, "Esc/q back  j/k scroll  p pause  +/- interval  ? help");
    else
        snprintf(buf, sizeof buf,
                 "sort %s %s%s%s  |  q quit  s/S sort  r reverse  / filter  p pause  "
                 "Enter slow requests  +/- interval  ? help",
                 tg_top_col_name(t->sort), t->desc ? "desc" : "asc",
                 t->filter[0] ? "  filter " : "", t->filter);
    attron(A_REVERSE);
    line(y, buf, true);
    attroff(A_REVERSE);
}

void tg_cli__top_draw(struct tg_cli_top *t)
{
    erase();
    visible_rows(t);
    bool msg = t->conn == TG_CLI_TOP_RECONNECTING || t->message[0];
    struct tg_top_vlayout v;
    tg_top_vlayout(LINES, t->alerts.n, t->incidents.n, msg, &v);
    header(t);
    if (v.message_y >= 0)
        message(t, v.message_y);
    alerts_incidents(t, &v);
    int bottom = v.footer_y >= 0 ? v.footer_y : LINES;
    if (t->help) {
        size_t n = sizeof help_lines / sizeof help_lines[0];
        for (size_t i = 0; i < n && v.table_y + (int)i < bottom; i++)
            line(v.table_y + (int)i, help_lines[i], false);
    } else if (t->view == TG_CLI_TOP_TRACES) {
        traces(t, v.table_y, bottom);
    } else {
        table(t, &v);
    }
    if (v.footer_y >= 0)
        footer(t, v.footer_y);
    refresh();
}
