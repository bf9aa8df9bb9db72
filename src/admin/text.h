/* SPDX-License-Identifier: MIT */
/* A growable text buffer for admin responses (Prometheus exposition, reports). Appends
 * never fail visibly: on allocation failure the buffer is marked `oom` and later appends
 * are ignored, so a writer checks once at the end. */
#ifndef TG_ADMIN_TEXT_H
#define TG_ADMIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct tg_text {
    char *p;
    size_t len, cap;
    bool oom;
};

void tg_text_printf(struct tg_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tg_text_put(struct tg_text *t, const char *s, size_t n);

/* Appends `s` escaped as a Prometheus label value (backslash, double quote, newline). */
void tg_text_label_value(struct tg_text *t, const char *s);

/* Appends a metric family's "# HELP" and "# TYPE" lines. */
void tg_text_family(struct tg_text *t, const char *name, const char *type, const char *help);

/* Gives the buffer away (the caller frees it); the struct is left empty. */
char *tg_text_take(struct tg_text *t, size_t *len);
void tg_text_free(struct tg_text *t);

#endif
