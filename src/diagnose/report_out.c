/* SPDX-License-Identifier: MIT */
/* The report's document writer (report_int.h): headings, paragraphs, tables and lists in
 * Markdown or HTML, and the escaping of every string that comes from the incident.
 *
 * HTML: the five characters that can end text or an attribute become entities, using
 * only the entities XML also knows, so the inline SVG stays valid XML. Markdown:
 * CommonMark lets any ASCII punctuation be backslash-escaped, so every character that
 * can open markup (emphasis, links, code, raw HTML, tables) is, and a newline becomes
 * <br>: each paragraph, list item and table row then stays on one line, where a
 * user's text cannot start a heading, nor a list once its first character is escaped
 * (numbers elsewhere keep their plain "0.5"). Both formats replace
 * control characters (which XML 1.0 refuses, and which a terminal may act on) with
 * U+FFFD. jansson has already refused invalid UTF-8. */
#include "diagnose/report_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */

static void put_html(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        case '\t': case '\n': fputc(*p, f); break;
        case '\r':
            if (p[1] != '\n')
                fputc('\n', f);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fputs(REPLACEMENT, f);
            else if (*p == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
                fputs(REPLACEMENT, f); /* U+FFFE, U+FFFF: not XML characters */
                p += 2;
            } else
                fputc(*p, f);
        }
    }
}

/* Whether `p`, text at the start of a Markdown paragraph or list item, would open a list item ("-", "+", "1.",
 * "1)"); returns the offset of the character to escape, or -1. */
static int md_list_start(const char *p)
{
    if (*p == '-' || *p == '+')
        return 0;
    int i = 0;
    while (p[i] >= '0' && p[i] <= '9')
        i++;
    return (i > 0 && (p[i] == '.' || p[i] == ')')) ? i : -1;
}

static void put_md(FILE *f, const char *s, bool block_start)
{
    int list_at = block_start ? md_list_start(s) : -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p - (const unsigned char *)s == list_at) {
            fputc('\\', f);
            fputc(*p, f);
        } else if (strchr("\\`*_[]<>|#&!~", *p)) {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p == '\n' || *p == '\r') {
            if (*p == '\r' && p[1] == '\n')
                p++;
            fputs("<br>", f);
        } else if (*p == '\t') {
            fputc(' ', f);
        } else if (*p < 0x20 || *p == 0x7f) {
            fputs(REPLACEMENT, f);
        } else if (*p == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
            fputs(REPLACEMENT, f);
            p += 2;
        } else {
            fputc(*p, f);
        }
    }
}

void tg_report__text(struct tg_report__out *o, const char *s)
{
    if (!s)
        return;
    if (o->html)
        put_html(o->f, s);
    else
        put_md(o->f, s, o->block_start);
    o->block_start = false;
}

void tg_report__textf(struct tg_report__out *o, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tg_report__text(o, buf);
}

void tg_report__raw(struct tg_report__out *o, const char *s)
{
    fputs(s, o->f);
}

void tg_report__rawf(struct tg_report__out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->f, fmt, ap);
    va_end(ap);
}

void tg_report__not_filled(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "<em class=\"nf\">not filled in</em>" : TG_REPORT_NOT_FILLED);
}

void tg_report__heading(struct tg_report__out *o, int level, const char *title)
{
    if (o->html) {
        tg_report__rawf(o, "<h%d>", level);
        tg_report__text(o, title);
        tg_report__rawf(o, "</h%d>\n", level);
    } else {
        tg_report__rawf(o, "\n%.*s ", level, "######");
        tg_report__text(o, title);
        tg_report__raw(o, "\n\n");
    }
}

void tg_report__para_begin(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "<p>" : "");
    o->block_start = true;
}

void tg_report__para_end(struct tg_report__out *o)
{
    o->block_start = false;
    tg_report__raw(o, o->html ? "</p>\n" : "\n\n");
}

void tg_report__para(struct tg_report__out *o, const char *s)
{
    tg_report__para_begin(o);
    if (s && *s)
        tg_report__text(o, s);
    else
        tg_report__not_filled(o);
    tg_report__para_end(o);
}

void tg_report__table_begin(struct tg_report__out *o, const char *const *heads, int n)
{
    if (o->html) {
        tg_report__raw(o, "<table><thead><tr>");
        for (int i = 0; i < n; i++) {
            tg_report__raw(o, "<th>");
            tg_report__text(o, heads[i]);
            tg_report__raw(o, "</th>");
        }
        tg_report__raw(o, "</tr></thead><tbody>\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        tg_report__raw(o, "| ");
        tg_report__text(o, heads[i]);
        tg_report__raw(o, " ");
    }
    tg_report__raw(o, "|\n");
    for (int i = 0; i < n; i++)
        tg_report__raw(o, "|---");
    tg_report__raw(o, "|\n");
}

void tg_report__row_begin(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "<tr>" : "");
}

void tg_report__cell_begin(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "<td>" : "| ");
}

void tg_report__cell_end(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "</td>" : " ");
}

void tg_report__cell(struct tg_report__out *o, const char *s)
{
    tg_report__cell_begin(o);
    if (s)
        tg_report__text(o, s);
    else
        tg_report__not_filled(o);
    tg_report__cell_end(o);
}

void tg_report__row_end(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "</tr>\n" : "|\n");
}

void tg_report__table_end(struct tg_report__out *o)
{
    tg_report__raw(o, o->html ? "</tbody></table>\n" : "\n");
}

void tg_report__list_begin(struct tg_report__out *o, bool ordered)
{
    if (o->html)
        tg_report__raw(o, ordered ? "<ol>\n" : "<ul>\n");
}

void tg_report__item_begin(struct tg_report__out *o, int n)
{
    if (o->html)
        tg_report__raw(o, "<li>");
    else if (n > 0)
        tg_report__rawf(o, "%d. ", n);
    else
        tg_report__raw(o, "- ");
    o->block_start = true;
}

void tg_report__item_end(struct tg_report__out *o)
{
    o->block_start = false;
    tg_report__raw(o, o->html ? "</li>\n" : "\n");
}

void tg_report__list_end(struct tg_report__out *o, bool ordered)
{
    /* Markdown needs the blank line, or the next paragraph would continue the list. */
    tg_report__raw(o, !o->html ? "\n" : ordered ? "</ol>\n" : "</ul>\n");
}

void tg_report__json_text(struct tg_report__out *o, const json_t *v)
{
    if (!v) {
        tg_report__not_filled(o);
        return;
    }
    if (json_is_string(v)) {
        tg_report__text(o, json_string_value(v));
    } else if (json_is_integer(v)) {
        tg_report__textf(o, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        tg_report__textf(o, "%.6g", json_real_value(v));
    } else if (json_is_null(v)) {
        return;
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
        tg_report__text(o, s ? s : "");
        free(s);
    }
}
