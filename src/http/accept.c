/* SPDX-License-Identifier: MIT */
/* Accept-Encoding weights (http/accept.h). Grammar (RFC 9110 §12.5.3, §12.4.2):
 *   Accept-Encoding = #( codings [ OWS ";" OWS "q=" qvalue ] ), codings = token / "*"
 *   qvalue = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]
 * Empty list elements are allowed and skipped; names compare case-insensitively. */
#include "http/accept.h"

#include <stdbool.h>
#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct tg_str trim(struct tg_str s)
{
    while (s.len && is_ows(s.p[0]))
        s.p++, s.len--;
    while (s.len && is_ows(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* "q=0.5" (after the ';') → 500; -1 when it is not a qvalue. Other parameters are not
 * defined for Accept-Encoding, so anything else is malformed too. */
static int qvalue(struct tg_str s)
{
    s = trim(s);
    if (s.len < 3 || (s.p[0] != 'q' && s.p[0] != 'Q') || s.p[1] != '=')
        return -1;
    const char *p = s.p + 2, *end = s.p + s.len;
    if (*p != '0' && *p != '1')
        return -1;
    int whole = *p++ - '0', frac = 0, digits = 0;
    if (p < end && *p == '.')
        for (p++; p < end && digits < 3 && *p >= '0' && *p <= '9'; p++, digits++)
            frac = frac * 10 + (*p - '0');
    if (p != end)
        return -1;
    for (; digits < 3; digits++)
        frac *= 10;
    if (whole == 1 && frac != 0)
        return -1;
    return whole * 1000 + frac;
}

int tg_http_coding_weight(const struct tg_str *values, size_t n, const char *coding)
{
    int own = -1, star = -1;
    bool gzip = strcmp(coding, "gzip") == 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = values[i].p, *end = values[i].p + values[i].len;
        for (bool more = true; more;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            struct tg_str el = trim((struct tg_str){p, (uint32_t)(stop - p)});
            more = comma != NULL;
            p = more ? stop + 1 : end;
            if (!el.len)
                continue;
            const char *semi = memchr(el.p, ';', el.len);
            struct tg_str name =
                trim((struct tg_str){el.p, (uint32_t)(semi ? semi - el.p : el.len)});
            int w = 1000;
            if (semi) {
                w = qvalue((struct tg_str){semi + 1, (uint32_t)(el.p + el.len - semi - 1)});
                if (w < 0)
                    w = 0;
            }
            if (tg_str_ieq(name, coding) || (gzip && tg_str_ieq(name, "x-gzip")))
                own = own < 0 ? w : (w < own ? w : own);
            else if (name.len == 1 && name.p[0] == '*')
                star = star < 0 ? w : (w < star ? w : star);
        }
    }
    return own >= 0 ? own : star;
}
