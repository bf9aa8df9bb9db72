/* SPDX-License-Identifier: MIT */
/* Error messages for config input: position and file bookkeeping, safe quoting of user
 * text, and "did you mean" suggestions for misspelt keys and names. */
#include "config/diag_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int tg_config__errf(struct tg_errbuf *eb, int code, const char *file, int line, int column,
                    const char *fmt, ...)
{
    if (!eb)
        return code;
    memset(eb, 0, sizeof *eb);
    eb->code = code;
    eb->line = line;
    eb->column = column;
    if (file) {
        size_t n = strlen(file);
        if (n < sizeof eb->file)
            memcpy(eb->file, file, n + 1);
        else
            snprintf(eb->file, sizeof eb->file, "...%s", file + n - (sizeof eb->file - 4));
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *tg_config__quote(char *dst, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = len > 40 ? 40 : len, o = 0, i = 0;
    /* Worst case per byte is 4 output bytes; stop early rather than overflow `dst`. */
    if (cap < 8) {
        if (cap)
            dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (; i < shown && o + 9 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o++] = '"';
    if (i < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}

/* Classic two-row Levenshtein; words longer than 63 bytes are never suggested for. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t prev[64], cur[64];
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

const char *tg_config__suggest(const char *word, const char *const *cands, size_t n)
{
    size_t best = SIZE_MAX, len = strlen(word);
    const char *pick = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, cands[i]);
        if (d < best) {
            best = d;
            pick = cands[i];
        }
    }
    if (best > 2 || best >= len)
        return NULL;
    return pick;
}
