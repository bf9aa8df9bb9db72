/* SPDX-License-Identifier: MIT */
/* Unit tests for src/diagnose/report*.c (rendering): a full incident shows every section
 * and its values in both formats; an empty one shows the required sections unfilled
 * (five follow-ups, twenty checklist items); hostile strings (markup, quotes, &, pipes,
 * newlines, control characters, a non-character, very long text) come out escaped;
 * the chart copes with no series, one point, NaN gaps and an incident still open. The
 * HTML's well-formedness is checked by a parser in tests/integration/test_report_render.py. */
#include "diagnose/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tg_test.h"

#define T0 1796056800000LL /* 2026-11-30T16:40:00Z */

static const char FULL[] =
    "{\"id\": 7, \"title\": \"Products slow\", \"status\": \"resolved\", \"severity\": \"SEV-2\","
    " \"opened_at\": \"2026-11-30T16:40:00.000Z\", \"resolved_at\": \"2026-11-30T16:52:30.500Z\","
    " \"closed_at\": null, \"opened_by\": \"alert\", \"escalation_level\": \"L1\","
    " \"ack_deadline\": \"2026-11-30T16:55:00.000Z\","
    " \"alerts\": [{\"alertname\": \"APIHighLatency\", \"labels\": {\"severity\": \"warning\"},"
    "   \"state\": \"resolved\", \"fired_at\": \"2026-11-30T16:40:00.000Z\","
    "   \"resolved_at\": \"2026-11-30T16:52:00.000Z\"}],"
    " \"diagnosis\": {\"degraded\": true, \"severity\": \"SEV-2\", \"window_s\": 300,"
    "   \"scope\": \"targeted\", \"pattern\": \"sudden\", \"onset\": \"2026-11-30T16:39:10.000Z\","
    "   \"categories\": [], \"affected\": [{\"endpoint\": \"/api/products\", \"method\": \"GET\","
    "     \"p95_ms\": 1840.5, \"target_ms\": 1000, \"baseline_p95_ms\": 95, \"rps\": 12.5,"
    "     \"error_rate\": 0.002}],"
    "   \"causes\": [{\"cause\": \"database\", \"confidence\": 0.8,"
    "     \"evidence\": [\"slow statement mean 340 ms\", \"numbackends 62\"]}],"
    "   \"correlations\": [{\"kind\": \"deployment\", \"evidence\": \"deploy api 1.2.3\","
    "     \"event_id\": 12}],"
    "   \"checks\": [\"check slow queries\", \"check pool\"],"
    "   \"suggested_mitigations\": [{\"op\": \"TIMEOUTS\", \"method\": \"PUT\","
    "     \"path\": \"/api/v1/system/timeouts\", \"body\": {\"default_ms\": 10000},"
    "     \"why\": \"cut the slow calls\"}]},"
    " \"affected_endpoints\": [{\"endpoint\": \"/api/products\", \"method\": \"GET\"}],"
    " \"timeline\": [{\"ts\": \"2026-11-30T16:40:00.000Z\", \"kind\": \"alert\","
    "   \"text\": \"APIHighLatency firing\", \"data\": {\"value\": 1.84}},"
    "   {\"ts\": \"2026-11-30T16:41:00.000Z\", \"kind\": \"verdict\", \"text\": \"helped\","
    "    \"data\": null}],"
    " \"actions_taken\": [{\"ts\": \"2026-11-30T16:41:00.000Z\", \"op\": \"BREAKER\","
    "   \"method\": \"PUT\", \"path\": \"/api/v1/system/circuit-breaker\","
    "   \"body\": {\"enabled\": true}, \"by\": \"playbook\", \"verdict\": \"helped\","
    "   \"undone_at\": \"2026-11-30T16:58:00.000Z\"}],"
    " \"root_cause\": \"A missing index on products.category\","
    " \"lessons_learned\": \"Review query plans before deploys\","
    " \"prevention_measures\": [\"index review monthly\", \"slow-query alert\"],"
    " \"follow_up\": [{\"item\": \"monitoring improvements\", \"state\": \"done\"},"
    "   {\"item\": \"update runbooks\", \"state\": \"planned\"}],"
    " \"checklist\": {\"investigation\": [{\"item\": \"Initial metrics collected\","
    "   \"state\": \"checked\"}]},"
    " \"communications\": [{\"ts\": \"2026-11-30T16:40:30.000Z\", \"kind\": \"detected\","
    "   \"text\": \"internal notice\"}, {\"ts\": \"2026-11-30T16:53:00.000Z\","
    "   \"kind\": \"resolved\", \"text\": \"all clear\"}],"
    " \"impact\": {\"duration_s\": 750, \"requests\": 5, \"errors\": 1}}";

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (!v)
        fprintf(stderr, "fixture: %s at %d:%d\n", err.text, err.line, err.column);
    TG_EXPECT(v != NULL);
    return v;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Points every 10 s over [T0 - 60 s, T0 + 840 s]: 95 ms before the incident, 1800 ms in
 * it, 300 ms after; p99 twice p95. */
static struct tg_report_point *series(size_t *n)
{
    *n = 91;
    struct tg_report_point *p = malloc(*n * sizeof *p);
    for (size_t i = 0; i < *n; i++) {
        int64_t t = T0 - 60000 + (int64_t)i * 10000;
        double v = t < T0 ? 95 : t < T0 + 750000 ? 1800 : 300;
        p[i] = (struct tg_report_point){t, v, 2 * v};
    }
    return p;
}

static void test_full(void)
{
    json_t *inc = load(FULL);
    struct tg_report_input in = {.incident = inc, .target_ms = 1000, .requests = 9000,
                                 .errors = 45, .now_ms = T0 + 3600000};
    in.points = series(&in.npoints);
    char *md = tg_report_markdown(&in), *html = tg_report_html(&in);
    TG_EXPECT(md && html);
    const char *sections[] = {"Summary", "Impact", "Alerts", "Diagnosis", "Latency",
                              "Timeline", "Actions and verdicts", "Root cause",
                              "Lessons learned", "Prevention measures", "Follow-ups",
                              "Checklist", "Investigation", "Post-Resolution",
                              "Communications"};
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        char h[64];
        snprintf(h, sizeof h, "# %s\n", sections[i]);
        TG_EXPECT(strstr(md, h) != NULL);
        snprintf(h, sizeof h, ">%s</h", sections[i]);
        TG_EXPECT(strstr(html, h) != NULL);
    }
    TG_EXPECT(strstr(md, "# Incident 7: Products slow\n") != NULL);
    TG_EXPECT(strstr(md, "| Duration | 12m 30s |") != NULL);
    TG_EXPECT(strstr(md, "| Requests during the incident | 9000 |") != NULL);
    TG_EXPECT(strstr(md, "| Error rate | 0.50 % |") != NULL);
    TG_EXPECT(strstr(md, "| GET /api/products |") != NULL);
    TG_EXPECT(strstr(md, "| database | 0.80 | slow statement mean 340 ms; numbackends 62 |"));
    TG_EXPECT(strstr(md, "| deployment | deploy api 1.2.3 | {\"event\\_id\":12} |") != NULL);
    TG_EXPECT(strstr(md, "1. check slow queries\n2. check pool\n") != NULL);
    TG_EXPECT(strstr(md, "| playbook | BREAKER | PUT /api/v1/system/circuit-breaker | "
                         "{\"enabled\":true} | helped | 2026-11-30T16:58:00.000Z |") != NULL);
    TG_EXPECT(strstr(md, "A missing index on products.category\n") != NULL);
    TG_EXPECT(strstr(md, "- index review monthly\n- slow-query alert\n") != NULL);
    TG_EXPECT(strstr(md, "| monitoring improvements | done |") != NULL);
    TG_EXPECT(strstr(md, "| Initial metrics collected | checked |") != NULL);
    /* The other three phases are not filled yet: their seed items show, unfilled. */
    TG_EXPECT(strstr(md, "| Immediate fixes applied | _not filled in_ |") != NULL);
    TG_EXPECT(strstr(md, "| p95 | 95.0 ms | 1800.0 ms | 1800.0 ms | 91 |") != NULL);
    TG_EXPECT(strstr(md, "?format=html") != NULL);
    /* Chart: both lines, the target, the incident's span, three markers, a legend. */
    TG_EXPECT_EQ(count(html, "<svg"), 1);
    TG_EXPECT_EQ(count(html, "stroke=\"#1f6feb\" stroke-width=\"2.5\""), 1);
    TG_EXPECT_EQ(count(html, "stroke=\"#8250df\" stroke-width=\"2.5\""), 1);
    TG_EXPECT(strstr(html, "target 1000 ms") != NULL);
    TG_EXPECT_EQ(count(html, "stroke=\"#cf222e\" stroke-width=\"1.5\""), 1);
    TG_EXPECT_EQ(count(html, "stroke=\"#0a7f8f\" stroke-width=\"1.5\""), 1);
    TG_EXPECT_EQ(count(html, "stroke=\"#e36209\" stroke-width=\"1.5\""), 1);
    TG_EXPECT(strstr(html, "<title>16:41:00 BREAKER /api/v1/system/circuit-breaker</title>"));
    TG_EXPECT(strstr(html, ">alert firing</text>") && strstr(html, ">p99</text>"));
    TG_EXPECT(strstr(html, ">16:40</text>") != NULL); /* a time tick, every 2 minutes */
    TG_EXPECT(strstr(html, ">2000 ms</text>") != NULL);  /* an ms tick */
    TG_EXPECT(strstr(html, "<script") == NULL);
    TG_EXPECT(strstr(html, "not filled in") != NULL); /* three phases */
    /* closed_at, three follow-ups, four investigation items and three whole phases. */
    TG_EXPECT_EQ(count(md, "_not filled in_"), 1 + 3 + 4 + 15);
    TG_EXPECT(strstr(md, "| update runbooks | planned |\n| code improvements | _not filled in_ |"));
    TG_EXPECT(strstr(md, "| Initial metrics collected | checked |\n"
                         "| Performance issue identified and classified | _not filled in_ |"));
    TG_EXPECT(strstr(html, "Report made at 2026-11-30T17:40:00.000Z") != NULL);
    free(md);
    free(html);
    free(in.points);
    json_decref(inc);
}

static void test_empty(void)
{
    json_t *inc = load("{\"id\": 3}");
    struct tg_report_input in = {.incident = inc, .target_ms = NAN, .requests = NAN,
                                 .errors = NAN, .now_ms = T0};
    char *md = tg_report_markdown(&in), *html = tg_report_html(&in);
    TG_EXPECT(md && html);
    TG_EXPECT(strstr(md, "# Incident 3: untitled") != NULL);
    /* Summary 8 fields, impact 1, alerts, diagnosis, timeline, actions, root cause,
     * lessons, prevention, 5 follow-ups, 20 checklist items, communications. */
    TG_EXPECT_EQ(count(md, "_not filled in_"), 8 + 1 + 7 + 5 + 20 + 1);
    TG_EXPECT(strstr(md, "| team training updates | _not filled in_ |") != NULL);
    TG_EXPECT(strstr(md, "| Follow-up monitoring scheduled | _not filled in_ |") != NULL);
    TG_EXPECT(strstr(md, "the detection and the resolution notice") != NULL);
    TG_EXPECT(strstr(md, "| Requests during the incident | no data |") != NULL);
    TG_EXPECT(strstr(md, "| p95 | no data | no data | no data | 0 |") != NULL);
    TG_EXPECT(strstr(html, "no latency data for this window") != NULL);
    TG_EXPECT_EQ(count(html, "<path"), 0);
    free(md);
    free(html);
    /* No incident at all still renders (every section unfilled). */
    in.incident = NULL;
    md = tg_report_markdown(&in);
    html = tg_report_html(&in);
    TG_EXPECT(md && strstr(md, "# Incident: untitled") != NULL);
    TG_EXPECT(html && strstr(html, "</html>") != NULL);
    free(md);
    free(html);
    json_decref(inc);
}

static const char EVIL[] = "<script>alert(\"x\")</script> & 'q' | # *b* [l](u) `c`\n- item";

static void test_hostile(void)
{
    json_t *inc = json_object();
    size_t big = 100000;
    char *longs = malloc(big + 1);
    memset(longs, 'W', big);
    longs[big] = '\0';
    json_object_set_new(inc, "title", json_string(EVIL));
    json_object_set_new(inc, "opened_at", json_string("2026-11-30T16:40:00Z"));
    json_object_set_new(inc, "root_cause", json_string("1. not a list\r\n# not a heading"));
    json_object_set_new(inc, "lessons_learned", json_string(longs));
    json_t *tl = json_pack("[{s:s, s:s, s:s}]", "ts", "2026-11-30T16:41:00Z", "kind", "note",
                           "text", "a|b\nc\x01\xef\xbf\xbf d");
    json_object_set_new(inc, "timeline", tl);
    json_object_set_new(inc, "alerts",
                        json_pack("[{s:s, s:{s:s}, s:s}]", "alertname", "<img src=x onerror=a()>",
                                  "labels", "k\"", "v'<>", "fired_at", "2026-11-30T16:40:30Z"));
    json_object_set_new(inc, "actions_taken",
                        json_pack("[{s:s, s:s, s:s}]", "ts", "2026-11-30T16:42:00Z",
                                  "op", "</text><script>x</script>", "path", EVIL));
    struct tg_report_input in = {.incident = inc, .target_ms = NAN, .requests = NAN,
                                 .errors = NAN, .now_ms = T0 + 600000};
    char *md = tg_report_markdown(&in), *html = tg_report_html(&in);
    TG_EXPECT(md && html);
    TG_EXPECT(strstr(html, "<script") == NULL && strstr(html, "<img") == NULL);
    TG_EXPECT(strstr(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                           "&#39;q&#39;") != NULL);
    TG_EXPECT(strstr(html, "&lt;/text&gt;&lt;script&gt;") != NULL); /* in the SVG label */
    TG_EXPECT(strstr(html, "k&quot;=v&#39;&lt;&gt;") != NULL);
    TG_EXPECT(strstr(html, "\x01") == NULL && strstr(html, "\xef\xbf\xbf") == NULL);
    TG_EXPECT(strstr(html, longs) != NULL);
    /* Markdown: markup escaped, the table row on one line with its four cells only. */
    TG_EXPECT(strstr(md, "# Incident: \\<script\\>alert(\"x\")\\</script\\> \\& 'q' \\| \\# "
                         "\\*b\\* \\[l\\](u) \\`c\\`<br>- item\n") != NULL);
    TG_EXPECT_EQ(count(md, "<script"), count(md, "\\<script"));
    TG_EXPECT_EQ(count(md, "<img"), count(md, "\\<img"));
    TG_EXPECT_EQ(count(md, "\\<img src=x onerror=a()\\>"), 1);
    const char *row = strstr(md, "| 2026-11-30T16:41:00Z | note |");
    TG_EXPECT(row != NULL);
    if (row) {
        const char *end = strchr(row, '\n');
        int pipes = 0;
        for (const char *p = row; p < end; p++)
            pipes += *p == '|' && p[-1] != '\\';
        TG_EXPECT_EQ(pipes, 5);
        TG_EXPECT(strstr(row, "a\\|b<br>c\xef\xbf\xbd\xef\xbf\xbf d") == NULL);
        TG_EXPECT(memmem(row, (size_t)(end - row), "a\\|b<br>c\xef\xbf\xbd", 11) != NULL);
    }
    TG_EXPECT(strstr(md, "\n1\\. not a list<br>\\# not a heading\n") != NULL);
    free(md);
    free(html);
    free(longs);
    json_decref(inc);
}

static void test_points(void)
{
    json_t *inc = load("{\"opened_at\": \"2026-11-30T16:40:00Z\"}");
    /* One point: a dot, no line. */
    struct tg_report_point one = {T0, 250, NAN};
    struct tg_report_input in = {.incident = inc, .points = &one, .npoints = 1,
                                 .target_ms = NAN, .requests = NAN, .errors = NAN,
                                 .now_ms = T0 + 1000};
    char *html = tg_report_html(&in), *md = tg_report_markdown(&in);
    TG_EXPECT(html && md);
    TG_EXPECT_EQ(count(html, "<circle"), 1);
    TG_EXPECT_EQ(count(html, "<path"), 0);
    TG_EXPECT(strstr(md, "| p95 | 250.0 ms | 250.0 ms | 250.0 ms | 1 |") != NULL);
    TG_EXPECT(strstr(md, "| p99 | no data | no data | no data | 0 |") != NULL);
    free(html);
    free(md);
    /* NaN and infinite values are gaps: two p95 segments, no "nan" written anywhere. */
    struct tg_report_point pts[7];
    for (int i = 0; i < 7; i++)
        pts[i] = (struct tg_report_point){T0 + i * 10000, 100 + i, 200};
    pts[3].p95_ms = NAN;
    pts[5].p99_ms = INFINITY;
    in.points = pts;
    in.npoints = 7;
    in.from_ms = T0 - 10000;
    in.to_ms = T0 + 70000;
    html = tg_report_html(&in);
    md = tg_report_markdown(&in);
    TG_EXPECT(html && md);
    TG_EXPECT_EQ(count(html, "stroke=\"#1f6feb\" stroke-width=\"2.5\""), 2);
    TG_EXPECT_EQ(count(html, "stroke=\"#8250df\" stroke-width=\"2.5\""), 1);
    TG_EXPECT_EQ(count(html, "<circle"), 1); /* p99's last point, alone after the gap */
    const char *svg = strstr(html, "<svg"), *svg_end = strstr(html, "</svg>");
    TG_EXPECT(svg && svg_end);
    if (svg && svg_end) {
        TG_EXPECT(memmem(svg, (size_t)(svg_end - svg), "nan", 3) == NULL);
        TG_EXPECT(memmem(svg, (size_t)(svg_end - svg), "inf", 3) == NULL);
    }
    TG_EXPECT(strstr(md, "| p95 | 100.0 ms | 103.0 ms | 106.0 ms | 6 |") != NULL);
    free(html);
    free(md);
    json_decref(inc);
}

static void test_open(void)
{
    json_t *inc = load("{\"id\": 1, \"status\": \"open\", \"opened_at\": "
                       "\"2026-11-30T16:40:00.000Z\", \"resolved_at\": null}");
    struct tg_report_input in = {.incident = inc, .target_ms = NAN, .requests = NAN,
                                 .errors = NAN, .now_ms = T0 + 3723000};
    char *md = tg_report_markdown(&in), *html = tg_report_html(&in);
    TG_EXPECT(md && html);
    TG_EXPECT(strstr(md, "| Duration | 1h 02m 03s so far (still open) |") != NULL);
    TG_EXPECT(strstr(md, "| Resolved | _not filled in_ |") != NULL);
    /* The incident's span is shaded up to now, the right edge of the window. */
    TG_EXPECT(strstr(html, "<rect x=\"80.0\" y=\"60.0\" width=\"900.0\"") != NULL);
    free(md);
    free(html);
    json_decref(inc);
}

static void test_parse_time(void)
{
    int64_t ms = 0;
    TG_EXPECT(tg_report_parse_time("2026-11-30T16:40:01.250Z", &ms));
    TG_EXPECT_EQ(ms, T0 + 1250);
    TG_EXPECT(tg_report_parse_time("2026-11-30T16:40:01Z", &ms));
    TG_EXPECT_EQ(ms, T0 + 1000);
    TG_EXPECT(tg_report_parse_time("2026-11-30T18:40:01.5+02:00", &ms));
    TG_EXPECT_EQ(ms, T0 + 1500);
    TG_EXPECT(tg_report_parse_time("2026-11-30T16:40:01.123456789Z", &ms));
    TG_EXPECT_EQ(ms, T0 + 1123);
    TG_EXPECT(!tg_report_parse_time("2026-11-30T16:40:01", &ms));
    TG_EXPECT(!tg_report_parse_time("2026-11-30T16:40:01.Z", &ms));
    TG_EXPECT(!tg_report_parse_time("2026-11-30T16:40:01Zjunk", &ms));
    TG_EXPECT(!tg_report_parse_time("yesterday", &ms));
    TG_EXPECT(!tg_report_parse_time(NULL, &ms));
}

int main(void)
{
    test_full();
    test_empty();
    test_hostile();
    test_points();
    test_open();
    test_parse_time();
    return tg_test_report("diagnose/report");
}
