/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: helpers that build the messages users read when their config
 * is refused. Every message goes into a struct tg_errbuf with the file and a 1-based
 * line and column when known (0 when not), and echoes user text only through
 * tg_config__quote so a hostile or binary value cannot garble a terminal or a log. */
#ifndef TG_CONFIG_DIAG_INT_H
#define TG_CONFIG_DIAG_INT_H

#include <stddef.h>

#include "core/err.h"

/* Room for a quoted value: 40 shown characters, escapes, quotes and "...". */
#define TG_CONFIG_QUOTE_CAP 200

/* Clears `eb` and fills code, file, line, column and the formatted message. A file name
 * longer than eb->file keeps its tail ("...gateway/tailguard.yaml"), the part users
 * recognise. `file` may be NULL. Returns `code`; `eb` may be NULL. */
int tg_config__errf(struct tg_errbuf *eb, int code, const char *file, int line, int column,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Writes `s` (`len` bytes) into `dst` as a double-quoted literal, with control and
 * non-ASCII bytes as \xNN, '"' and '\\' escaped, shortened to 40 source bytes plus
 * "...". Returns `dst`. `cap` should be TG_CONFIG_QUOTE_CAP. */
const char *tg_config__quote(char *dst, size_t cap, const char *s, size_t len);

/* The candidate in `cands[0..n)` most likely meant by the misspelt `word` (Levenshtein
 * distance at most 2 and less than the word's length), or NULL. O(n * len^2);
 * used only on the error path with short keys and names. */
const char *tg_config__suggest(const char *word, const char *const *cands, size_t n);

#endif
