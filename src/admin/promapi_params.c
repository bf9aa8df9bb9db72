/* SPDX-License-Identifier: MIT */
/* The Prometheus API's parameter readers; see promapi_params.h. Each rule here was
 * checked against a running Prometheus 2.42 (built with Go 1.19): which float spellings
 * strconv.ParseFloat takes, what time.Parse takes for RFC3339Nano, and the wrapping
 * int64 arithmetic between a Go time and the engine's milliseconds. */
#include "admin/promapi_params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_json.h"
#include "promql/parse.h"

/* ------------------------------------------------------------------ Go arithmetic */

/* int64 arithmetic that wraps, as Go's does (signed overflow is undefined in C). */
static int64_t wadd(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int64_t wmul(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

/* Go's float64 -> int64 on amd64: NaN and out-of-range values give INT64_MIN. */
static int64_t go_int64(double v)
{
    if (isnan(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

/* Go's time.Unix: moves whole seconds out of nsec. */
static struct tg_admin_ptime go_unix(int64_t sec, int64_t nsec)
{
    if (nsec < 0 || nsec >= 1000000000) {
        int64_t n = nsec / 1000000000;
        sec = wadd(sec, n);
        nsec -= n * 1000000000;
        if (nsec < 0) {
            nsec += 1000000000;
            sec = wadd(sec, -1);
        }
    }
    return (struct tg_admin_ptime){sec, nsec};
}

int64_t tg_admin_ptime_engine_ms(struct tg_admin_ptime t)
{
    return wadd(wmul(t.sec, 1000000000), t.nsec) / 1000000;
}

int64_t tg_admin_ptime_ms(struct tg_admin_ptime t)
{
    return wadd(wmul(t.sec, 1000), t.nsec / 1000000);
}

int64_t tg_admin_ptime_sub_ns(struct tg_admin_ptime end, struct tg_admin_ptime start)
{
    __int128 d = ((__int128)end.sec - start.sec) * 1000000000 + (end.nsec - start.nsec);
    return d > INT64_MAX ? INT64_MAX : d < INT64_MIN ? INT64_MIN : (int64_t)d;
}

bool tg_admin_ptime_before(struct tg_admin_ptime end, struct tg_admin_ptime start)
{
    return end.sec < start.sec || (end.sec == start.sec && end.nsec < start.nsec);
}

/* time.Unix(math.MinInt64/1000+62135596801, 0) and time.Unix(math.MaxInt64/1000-
 * 62135596801, 999999999): the widest times Go can format. */
#define MIN_SEC (-9223372036854775LL + 62135596801LL)
#define MAX_SEC (9223372036854775LL - 62135596801LL)
static const char min_text[] = "-292273086-05-16T16:47:06Z";
static const char max_text[] = "292277025-08-18T07:12:54.999999999Z";

struct tg_admin_ptime tg_admin_ptime_min(void)
{
    return (struct tg_admin_ptime){MIN_SEC, 0};
}

struct tg_admin_ptime tg_admin_ptime_max(void)
{
    return (struct tg_admin_ptime){MAX_SEC, 999999999};
}

struct tg_admin_ptime tg_admin_ptime_from_wall_us(int64_t us)
{
    return go_unix(us / 1000000, us % 1000000 * 1000);
}

/* ------------------------------------------------------------------ Go floats */

static bool is_digit(char c, bool hex)
{
    return (c >= '0' && c <= '9') || (hex && ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'));
}

static bool ieq_prefix(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != word[i])
            return false;
    return true;
}

/* Go's underscoreOK: each '_' sits between two digits (a base prefix counts as one). */
static bool underscores_ok(const char *s, size_t len)
{
    size_t i = 0;
    char saw = '^';
    bool hex = false;
    if (len && (s[0] == '+' || s[0] == '-'))
        i++;
    if (len - i >= 2 && s[i] == '0' && (s[i + 1] | 0x20) == 'x') {
        i += 2;
        saw = '0';
        hex = true;
    }
    for (; i < len; i++) {
        if (is_digit(s[i], hex)) {
            saw = '0';
            continue;
        }
        if (s[i] == '_') {
            if (saw != '0')
                return false;
            saw = '_';
            continue;
        }
        if (saw == '_')
            return false;
        saw = '!';
    }
    return saw != '_';
}

/* Checks the syntax of a decimal or hex Go float (after the sign); copies it without
 * underscores into `out`. */
static bool float_syntax(const char *s, size_t len, char *out, size_t cap)
{
    size_t i = 0, o = 0, digits = 0;
    bool hex = false, underscores = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        out[o++] = s[i++];
    if (len - i >= 2 && s[i] == '0' && (s[i + 1] | 0x20) == 'x') {
        hex = true;
        out[o++] = '0';
        out[o++] = 'x';
        i += 2;
    }
    bool dot = false;
    for (; i < len && o < cap - 1; i++) {
        char c = s[i];
        if (c == '_') {
            underscores = true;
        } else if (c == '.' && !dot) {
            dot = true;
            out[o++] = c;
        } else if (is_digit(c, hex)) {
            digits++;
            out[o++] = c;
        } else {
            break;
        }
    }
    if (!digits)
        return false;
    if (i < len && (s[i] | 0x20) == (hex ? 'p' : 'e')) {
        out[o++] = s[i++];
        if (i < len && (s[i] == '+' || s[i] == '-'))
            out[o++] = s[i++];
        size_t ed = 0;
        for (; i < len && o < cap - 1; i++) {
            if (s[i] == '_') {
                underscores = true;
            } else if (s[i] >= '0' && s[i] <= '9') {
                out[o++] = s[i];
                ed++;
            } else {
                break;
            }
        }
        if (!ed)
            return false;
    } else if (hex) {
        return false; /* Go: a hex mantissa needs a 'p' exponent */
    }
    out[o] = '\0';
    return i == len && (!underscores || underscores_ok(s, len));
}

/* strconv.ParseFloat(s, 64): false on a syntax error or an overflow (Go's ErrRange). */
static bool go_parse_float(const char *s, size_t len, double *out)
{
    size_t i = len && (s[0] == '+' || s[0] == '-') ? 1 : 0;
    double sign = i && s[0] == '-' ? -1 : 1;
    if (ieq_prefix(s + i, len - i, "inf") || ieq_prefix(s + i, len - i, "infinity")) {
        *out = sign * INFINITY;
        return true;
    }
    if (ieq_prefix(s, len, "nan")) { /* no sign: Go reads "+nan" as a broken "+inf" */
        *out = NAN;
        return true;
    }
    char buf[128];
    if (len == 0 || len >= sizeof buf || !float_syntax(s, len, buf, sizeof buf))
        return false;
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end || (errno == ERANGE && isinf(v)))
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------ RFC3339 */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

/* `n` digits at *p into *v. */
static bool fixed_num(const char **p, const char *end, int n, int *v)
{
    if (end - *p < n)
        return false;
    *v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        *v = *v * 10 + (c - '0');
    }
    *p += n;
    return true;
}

/* Go's stdLongYear: four digits (the first must be one, and atoi takes no sign then). */
static bool year4(const char **p, const char *end, int *y)
{
    return fixed_num(p, end, 4, y);
}

/* time.Parse(time.RFC3339Nano, s) as Go 1.19 does it. */
static bool parse_rfc3339(const char *s, size_t len, struct tg_admin_ptime *out)
{
    const char *p = s, *end = s + len;
    int y, mo, d, h, mi, sec, nsec = 0;
    if (!year4(&p, end, &y) || p == end || *p++ != '-' || !fixed_num(&p, end, 2, &mo) || p == end ||
        *p++ != '-' || !fixed_num(&p, end, 2, &d) || p == end || *p++ != 'T')
        return false;
    /* The hour alone may have one digit (Go's getnum(value, false)). */
    if (p == end || !isdigit((unsigned char)*p))
        return false;
    h = *p++ - '0';
    if (p < end && isdigit((unsigned char)*p))
        h = h * 10 + (*p++ - '0');
    if (p == end || *p++ != ':' || !fixed_num(&p, end, 2, &mi) || p == end || *p++ != ':' ||
        !fixed_num(&p, end, 2, &sec))
        return false;
    if (end - p >= 2 && (*p == '.' || *p == ',') && isdigit((unsigned char)p[1])) {
        int n = 0;
        p++;
        for (; n < 9 && p < end && isdigit((unsigned char)*p); n++)
            nsec = nsec * 10 + (*p++ - '0');
        for (int i = n; i < 9; i++)
            nsec *= 10;
    }
    int64_t off = 0;
    if (p < end && *p == 'Z') {
        p++;
    } else {
        int oh, om;
        if (end - p < 6 || (*p != '+' && *p != '-') || p[3] != ':')
            return false;
        int sign = *p == '-' ? -1 : 1;
        const char *q = p + 1;
        if (!fixed_num(&q, end, 2, &oh) || !fixed_num(&(const char *){p + 4}, end, 2, &om) ||
            oh > 24 || om > 60)
            return false;
        off = sign * (oh * 3600 + om * 60);
        p += 6;
    }
    if (p != end || mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return false;
    int64_t days = days_from_civil(y, mo, d);
    *out = go_unix(days * 86400 + h * 3600 + mi * 60 + sec - off, nsec);
    return true;
}

bool tg_admin_ptime_parse(const char *s, size_t len, struct tg_admin_ptime *out)
{
    double f;
    if (go_parse_float(s, len, &f)) {
        /* Prometheus: whole seconds, and the fraction rounded to the millisecond, then
         * converted with Go's float-to-int rules. */
        double ip;
        double frac = isinf(f) ? NAN : modf(f, &ip); /* Go's Modf(±Inf) is (±Inf, NaN) */
        if (isinf(f))
            ip = f;
        frac = round(frac * 1000) / 1000;
        *out = go_unix(go_int64(ip), go_int64(frac * 1e9));
        return true;
    }
    if (parse_rfc3339(s, len, out))
        return true;
    if (len == sizeof min_text - 1 && memcmp(s, min_text, len) == 0) {
        *out = tg_admin_ptime_min();
        return true;
    }
    if (len == sizeof max_text - 1 && memcmp(s, max_text, len) == 0) {
        *out = tg_admin_ptime_max();
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ durations */

enum tg_admin_pdur_err tg_admin_pdur_parse(const char *s, size_t len, int64_t *ns)
{
    double f;
    if (go_parse_float(s, len, &f)) {
        double v = f * 1e9;
        if (v > 9223372036854775807.0 || v < -9223372036854775808.0)
            return TG_ADMIN_PDUR_OVERFLOW;
        *ns = go_int64(v);
        return TG_ADMIN_PDUR_OK;
    }
    int64_t ms;
    if (tg_promql_duration(s, len, &ms) != 0)
        return TG_ADMIN_PDUR_SYNTAX;
    *ns = ms * 1000000; /* cannot wrap: tg_promql_duration keeps ms below INT64_MAX / 1e6 */
    return TG_ADMIN_PDUR_OK;
}

/* ------------------------------------------------------------------ Go's %q */

size_t tg_admin_goquote(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)s;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(out + o, cap - o, __VA_ARGS__);                                          \
        if (w_ < 0 || (size_t)w_ >= cap - o)                                                       \
            return o;                                                                              \
        o += (size_t)w_;                                                                           \
    } while (0)
    PUT("\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        static const char esc[] = "\a\b\f\n\r\t\v";
        static const char name[] = "abfnrtv";
        const char *e = c ? strchr(esc, c) : NULL;
        size_t k;
        if (c == '"' || c == '\\')
            PUT("\\%c", c);
        else if (e)
            PUT("\\%c", name[e - esc]);
        else if (c >= 0x20 && c < 0x7f)
            PUT("%c", c);
        else if (c >= 0x80 && (k = tg_admin_utf8_len(u + i, len - i)) != 0) {
            PUT("%.*s", (int)k, s + i);
            i += k - 1;
        } else
            PUT("\\x%02x", c);
    }
    PUT("\"");
#undef PUT
    return o;
}

/* ------------------------------------------------------------------ forms */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Go's QueryUnescape into a new string; NULL with *bad_at set on a bad escape (or with
 * *bad_at NULL when out of memory). */
static char *unescape(const char *s, size_t len, size_t *out_len, const char **bad_at)
{
    *bad_at = NULL;
    char *r = malloc(len + 1);
    if (!r)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            r[o++] = s[i] == '+' ? ' ' : s[i];
            continue;
        }
        int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            *bad_at = s + i;
            free(r);
            return NULL;
        }
        r[o++] = (char)(hi << 4 | lo);
        i += 2;
    }
    r[o] = '\0';
    *out_len = o;
    return r;
}

static void note_bad(struct tg_admin_form *f, const char *msg, const char *at, size_t n)
{
    if (f->bad)
        return;
    f->bad = true;
    char q[32];
    if (at) {
        tg_admin_goquote(at, n, q, sizeof q);
        snprintf(f->err, sizeof f->err, "%s %s", msg, q);
    } else {
        snprintf(f->err, sizeof f->err, "%s", msg);
    }
}

/* One "name=value" pair. */
static int add_pair(struct tg_admin_form *f, const char *p, size_t n)
{
    if (memchr(p, ';', n)) {
        note_bad(f, "invalid semicolon separator in query", NULL, 0);
        return 0;
    }
    const char *eq = memchr(p, '=', n);
    size_t kl = eq ? (size_t)(eq - p) : n;
    const char *v = eq ? eq + 1 : p + n;
    size_t vl = eq ? n - kl - 1 : 0;
    struct tg_admin_pval pv = {0};
    const char *bad;
    pv.name = unescape(p, kl, &pv.name_len, &bad);
    if (pv.name)
        pv.value = unescape(v, vl, &pv.len, &bad);
    if (!pv.name || !pv.value) {
        free(pv.name);
        if (!bad)
            return -ENOMEM;
        const char *e = bad < v ? p + kl : p + n; /* the end of the part that failed */
        note_bad(f, "invalid URL escape", bad, (size_t)(e - bad) < 3 ? (size_t)(e - bad) : 3);
        return 0;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct tg_admin_pval *nv = realloc(f->v, cap * sizeof *nv);
        if (!nv) {
            free(pv.name);
            free(pv.value);
            return -ENOMEM;
        }
        f->v = nv;
        f->cap = cap;
    }
    f->v[f->n++] = pv;
    return 0;
}

int tg_admin_form_parse(struct tg_admin_form *f, const char *s, size_t len)
{
    while (len) {
        const char *amp = memchr(s, '&', len);
        size_t n = amp ? (size_t)(amp - s) : len;
        int rc = n ? add_pair(f, s, n) : 0;
        if (rc < 0)
            return rc;
        s += amp ? n + 1 : n;
        len -= amp ? n + 1 : n;
    }
    return 0;
}

const struct tg_admin_pval *tg_admin_form_get(const struct tg_admin_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].name_len == strlen(name) && memcmp(f->v[i].name, name, f->v[i].name_len) == 0)
            return &f->v[i];
    return NULL;
}

void tg_admin_form_deinit(struct tg_admin_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].value);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}
