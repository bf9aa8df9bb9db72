/* SPDX-License-Identifier: MIT */
/* Inside the report (report.h): the document writer both formats share, the latency
 * chart, and the small readers of the incident object. The sections (report.c) are
 * written once against the writer, which knows the format: the escaping rules live in
 * one place (report_out.c), so no section can forget them. */
#ifndef TG_DIAGNOSE_REPORT_INT_H
#define TG_DIAGNOSE_REPORT_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "diagnose/report.h"

/* A document being written to a memory stream (open_memstream: it grows as needed, and
 * a failed allocation sets the stream's error flag, checked once at the end). */
struct tg_report__out {
    FILE *f;
    bool html;
    bool block_start; /* Markdown: the next text opens a paragraph or a list item */
    bool failed; /* an allocation outside the stream failed: the render answers NULL */
};

/* Text from the incident, escaped for the format: HTML entities (& < > " '), or
 * Markdown's punctuation backslash-escaped with newlines as <br>. Control characters
 * and the two non-characters XML refuses become U+FFFD. NULL writes nothing. */
void tg_report__text(struct tg_report__out *o, const char *s);
/* printf into text, escaped the same way (numbers and times mixed with names). */
void tg_report__textf(struct tg_report__out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Markup of our own, written as it is (never user input). */
void tg_report__raw(struct tg_report__out *o, const char *s);
void tg_report__rawf(struct tg_report__out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tg_report__not_filled(struct tg_report__out *o);

void tg_report__heading(struct tg_report__out *o, int level, const char *title);
void tg_report__para_begin(struct tg_report__out *o);
void tg_report__para_end(struct tg_report__out *o);
/* A paragraph of `s`, or "not filled in" when it is NULL or empty. */
void tg_report__para(struct tg_report__out *o, const char *s);

void tg_report__table_begin(struct tg_report__out *o, const char *const *heads, int n);
void tg_report__row_begin(struct tg_report__out *o);
void tg_report__cell_begin(struct tg_report__out *o);
void tg_report__cell_end(struct tg_report__out *o);
/* A cell holding `s` escaped, or "not filled in" when NULL. */
void tg_report__cell(struct tg_report__out *o, const char *s);
void tg_report__row_end(struct tg_report__out *o);
void tg_report__table_end(struct tg_report__out *o);

void tg_report__list_begin(struct tg_report__out *o, bool ordered);
void tg_report__item_begin(struct tg_report__out *o, int n);
void tg_report__item_end(struct tg_report__out *o);
void tg_report__list_end(struct tg_report__out *o, bool ordered);

/* A JSON value as text: strings as they are, numbers in the shortest form, null as
 * nothing, objects and arrays compact. Written escaped; "not filled in" for NULL. */
void tg_report__json_text(struct tg_report__out *o, const json_t *v);

/* The string member `key` of `obj`, or NULL when absent, null, not a string or empty. */
const char *tg_report__str(const json_t *obj, const char *key);
/* The number member `key`, or NaN. */
double tg_report__num(const json_t *obj, const char *key);
/* The member's time in ms; false when absent or unreadable. */
bool tg_report__time(const json_t *obj, const char *key, int64_t *ms);
/* "1h 02m 05s", "3m 20s", "12.5 s". */
void tg_report__duration(int64_t ms, char *buf, size_t cap);
/* "2026-11-30 16:40:01Z" for the chart's and tables' short times. */
void tg_report__clock(int64_t ms, bool seconds, char *buf, size_t cap);

/* min, median and max of the finite values of one series of `in` (which 0: p95, 1:
 * p99); returns how many there are (the three are set only when some), or -ENOMEM. */
int tg_report__stats(const struct tg_report_input *in, int which, double *min, double *med,
                     double *max);

/* "2026-11-30T16:40:01.250Z". */
void tg_report__iso(int64_t ms, char *buf, size_t cap);

/* The sections required before closing (report_post.c). */
void tg_report__required(struct tg_report__out *o, const json_t *incident);

/* The latency chart as an inline <svg> element (HTML only). */
void tg_report__svg(struct tg_report__out *o, const struct tg_report_input *in);

#endif
