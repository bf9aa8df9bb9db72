/* SPDX-License-Identifier: MIT */
/* The report's latency chart: an inline SVG drawn from the gathered points, with a time
 * axis (UTC) and a millisecond axis on round ticks, the p95 and p99 lines (a gap where
 * the window had no data, a dot for a lone point), the target as a dashed line, the
 * incident's span shaded, vertical markers where alerts fired and resolved and where each
 * action was taken, and a legend. Every label that comes from the incident is escaped
 * and shortened; its full text is in the marker's <title>, which a browser shows on
 * hover. The chart is plain SVG 1.1 without script or external reference, and valid XML
 * (the tests parse it so). */
#include "diagnose/report_int.h"

#include <math.h>
#include <string.h>

#define W 1000.0
#define H 400.0
#define LEFT 80.0
#define RIGHT 20.0
#define TOP 60.0
#define BOTTOM 50.0

/* Colours: the screenshot test looks for the p95 and p99 ones in the rendered page. */
#define C_P95 "#1f6feb"
#define C_P99 "#8250df"
#define C_TARGET "#1a7f37"
#define C_FIRED "#cf222e"
#define C_RESOLVED "#0a7f8f"
#define C_ACTION "#e36209"

struct chart {
    int64_t from, to;
    double ymax;
};

static double xpos(const struct chart *c, int64_t t)
{
    return LEFT + (W - LEFT - RIGHT) * (double)(t - c->from) / (double)(c->to - c->from);
}

static double ypos(const struct chart *c, double v)
{
    return H - BOTTOM - (H - TOP - BOTTOM) * v / c->ymax;
}

/* The smallest 1, 2 or 5 times a power of ten at or above `raw`. */
static double nice_step(double raw)
{
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void window_of(const struct tg_report_input *in, struct chart *c)
{
    c->from = in->from_ms;
    c->to = in->to_ms;
    if (c->from == 0 && c->to == 0 && in->npoints > 0) {
        c->from = in->points[0].t_ms;
        c->to = in->points[in->npoints - 1].t_ms;
    }
    int64_t opened;
    if (c->from == 0 && c->to == 0 && tg_report__time(in->incident, "opened_at", &opened)) {
        c->from = opened;
        c->to = in->now_ms > opened ? in->now_ms : opened;
    }
    if (c->to <= c->from)
        c->to = c->from + 60000; /* one point or none: a minute's width around it */
    double top = 0;
    for (size_t i = 0; i < in->npoints; i++) {
        if (isfinite(in->points[i].p95_ms) && in->points[i].p95_ms > top)
            top = in->points[i].p95_ms;
        if (isfinite(in->points[i].p99_ms) && in->points[i].p99_ms > top)
            top = in->points[i].p99_ms;
    }
    if (isfinite(in->target_ms) && in->target_ms > top)
        top = in->target_ms;
    if (!(top > 0))
        top = 1000;
    double step = nice_step(top * 1.08 / 5);
    c->ymax = ceil(top * 1.08 / step) * step;
}

static void axes(struct tg_report__out *o, const struct chart *c)
{
    double step = nice_step(c->ymax / 5);
    for (double v = 0; v <= c->ymax * 1.0001; v += step) {
        double y = ypos(c, v);
        tg_report__rawf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#d0d7de\" stroke-width=\"1\"/>\n", LEFT, y, W - RIGHT, y);
        tg_report__rawf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">"
                           "%.10g ms</text>\n", LEFT - 6, y + 4, v);
    }
    /* Round time ticks: the smallest interval that keeps at most eight of them. */
    static const int64_t steps_s[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
                                      3600, 7200, 10800, 21600, 43200, 86400};
    int64_t span = c->to - c->from, iv = 86400000;
    for (size_t i = 0; i < sizeof steps_s / sizeof steps_s[0]; i++)
        if (span / (steps_s[i] * 1000) <= 8) {
            iv = steps_s[i] * 1000;
            break;
        }
    for (int64_t t = (c->from + iv - 1) / iv * iv; t <= c->to; t += iv) {
        double x = xpos(c, t);
        char lab[16];
        tg_report__clock(t, iv < 60000, lab, sizeof lab);
        tg_report__rawf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#57606a\" stroke-width=\"1\"/>\n", x, H - BOTTOM, x,
                        H - BOTTOM + 5);
        tg_report__rawf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">"
                           "%s</text>\n", x, H - BOTTOM + 19, lab);
    }
    tg_report__rawf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n"
                       "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#57606a\"/>\n",
                    LEFT, TOP, LEFT, H - BOTTOM, LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
    tg_report__rawf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">"
                       "time (UTC)</text>\n", (LEFT + W - RIGHT) / 2, H - 8);
}

static void series(struct tg_report__out *o, const struct tg_report_input *in,
                   const struct chart *c, int which, const char *colour)
{
    bool open = false;
    for (size_t i = 0; i < in->npoints; i++) {
        const struct tg_report_point *p = &in->points[i];
        double v = which == 0 ? p->p95_ms : p->p99_ms;
        if (!isfinite(v) || p->t_ms < c->from || p->t_ms > c->to) {
            if (open)
                tg_report__raw(o, "\"/>\n");
            open = false;
            continue;
        }
        double x = xpos(c, p->t_ms), y = ypos(c, v < 0 ? 0 : v);
        double next = NAN;
        if (i + 1 < in->npoints)
            next = which == 0 ? in->points[i + 1].p95_ms : in->points[i + 1].p99_ms;
        if (!open && !isfinite(next)) {
            /* A point with no neighbour draws no line: a dot shows it. */
            tg_report__rawf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", x, y,
                            colour);
            continue;
        }
        if (!open)
            tg_report__rawf(o, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" "
                               "stroke-linejoin=\"round\" d=\"M%.1f %.1f", colour, x, y);
        else
            tg_report__rawf(o, " L%.1f %.1f", x, y);
        open = true;
    }
    if (open)
        tg_report__raw(o, "\"/>\n");
}

/* Copies `s` into `buf`, cut on a character boundary with an ellipsis when longer. */
static const char *shorten(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (n < cap) {
        memcpy(buf, s, n + 1);
        return buf;
    }
    n = cap - 4;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    memcpy(buf, s, n);
    memcpy(buf + n, "\xe2\x80\xa6", 4);
    return buf;
}

/* A vertical marker at `t` (skipped outside the window) with a short label, staggered by
 * `k` so that close markers do not print over each other, and the label and `detail`
 * (NULL: none) in full as its tooltip. */
static void marker(struct tg_report__out *o, const struct chart *c, int64_t t, int k,
                   const char *colour, const char *label, const char *detail)
{
    if (t < c->from || t > c->to)
        return;
    double x = xpos(c, t);
    char shortl[28], clock[16];
    tg_report__clock(t, true, clock, sizeof clock);
    tg_report__raw(o, "<g><title>");
    tg_report__textf(o, "%s ", clock);
    tg_report__text(o, label);
    if (detail) {
        tg_report__text(o, " ");
        tg_report__text(o, detail);
    }
    tg_report__rawf(o, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                       "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>"
                       "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"%s\">",
                    x, TOP, x, H - BOTTOM, colour, x + 3, TOP + 10 + (k % 4) * 11, colour);
    tg_report__text(o, shorten(label, shortl, sizeof shortl));
    tg_report__raw(o, "</text></g>\n");
}

static void markers(struct tg_report__out *o, const struct tg_report_input *in,
                    const struct chart *c)
{
    int k = 0;
    int64_t t;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(in->incident, "alerts"), i, a) {
        const char *name = tg_report__str(a, "alertname");
        name = name ? name : "alert";
        if (tg_report__time(a, "fired_at", &t))
            marker(o, c, t, k++, C_FIRED, name, NULL);
        if (tg_report__time(a, "resolved_at", &t))
            marker(o, c, t, k++, C_RESOLVED, name, NULL);
    }
    json_array_foreach(json_object_get(in->incident, "actions_taken"), i, a) {
        const char *op = tg_report__str(a, "op");
        if (tg_report__time(a, "ts", &t))
            marker(o, c, t, k++, C_ACTION, op ? op : "action", tg_report__str(a, "path"));
    }
}

static void legend_item(struct tg_report__out *o, double x, const char *colour, bool dashed,
                        const char *name)
{
    if (dashed)
        tg_report__rawf(o, "<line x1=\"%.1f\" y1=\"18\" x2=\"%.1f\" y2=\"18\" stroke=\"%s\" "
                           "stroke-width=\"2\" stroke-dasharray=\"5 3\"/>", x, x + 22, colour);
    else
        tg_report__rawf(o, "<rect x=\"%.1f\" y=\"14\" width=\"22\" height=\"8\" fill=\"%s\"/>",
                        x, colour);
    tg_report__rawf(o, "<text x=\"%.1f\" y=\"22\" font-size=\"12\">%s</text>\n", x + 27, name);
}

static void legend(struct tg_report__out *o)
{
    legend_item(o, LEFT, C_P95, false, "p95");
    legend_item(o, LEFT + 80, C_P99, false, "p99");
    legend_item(o, LEFT + 160, C_TARGET, true, "target");
    legend_item(o, LEFT + 260, C_FIRED, true, "alert firing");
    legend_item(o, LEFT + 390, C_RESOLVED, true, "alert resolved");
    legend_item(o, LEFT + 530, C_ACTION, true, "action");
    tg_report__rawf(o, "<rect x=\"%.1f\" y=\"12\" width=\"22\" height=\"12\" fill=\"#fbe3e4\"/>"
                       "<text x=\"%.1f\" y=\"22\" font-size=\"12\">incident</text>\n",
                    LEFT + 630, LEFT + 657);
}

static void incident_span(struct tg_report__out *o, const struct tg_report_input *in,
                          const struct chart *c)
{
    int64_t a, b;
    if (!tg_report__time(in->incident, "opened_at", &a))
        return;
    if (!tg_report__time(in->incident, "resolved_at", &b) &&
        !tg_report__time(in->incident, "closed_at", &b))
        b = in->now_ms;
    a = a < c->from ? c->from : a > c->to ? c->to : a;
    b = b < c->from ? c->from : b > c->to ? c->to : b;
    if (b > a)
        tg_report__rawf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                           "fill=\"#fbe3e4\"/>\n", xpos(c, a), TOP, xpos(c, b) - xpos(c, a),
                        H - TOP - BOTTOM);
}

void tg_report__svg(struct tg_report__out *o, const struct tg_report_input *in)
{
    struct chart c;
    window_of(in, &c);
    tg_report__rawf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
                       "width=\"%.0f\" height=\"%.0f\" role=\"img\" font-family=\"sans-serif\">\n"
                       "<title>Latency over the incident window</title>\n"
                       "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
                    W, H, W, H, W, H);
    incident_span(o, in, &c);
    axes(o, &c);
    if (isfinite(in->target_ms) && in->target_ms > 0) {
        double y = ypos(&c, in->target_ms);
        tg_report__rawf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                           "stroke-width=\"2\" stroke-dasharray=\"8 4\"/>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\" "
                           "fill=\"%s\">target %.10g ms</text>\n",
                        LEFT, y, W - RIGHT, y, C_TARGET, W - RIGHT - 4, y - 4, C_TARGET,
                        in->target_ms);
    }
    series(o, in, &c, 1, C_P99);
    series(o, in, &c, 0, C_P95);
    bool any = false;
    for (size_t i = 0; i < in->npoints && !any; i++)
        any = isfinite(in->points[i].p95_ms) || isfinite(in->points[i].p99_ms);
    if (!any)
        tg_report__rawf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"16\" "
                           "fill=\"#57606a\">no latency data for this window</text>\n",
                        (LEFT + W - RIGHT) / 2, (TOP + H - BOTTOM) / 2);
    markers(o, in, &c);
    legend(o);
    tg_report__raw(o, "</svg>\n");
}
