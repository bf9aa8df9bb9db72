/* SPDX-License-Identifier: MIT */
/* libpq connection strings, read only as far as pgdsn_int.h says: which keywords they
 * set, with libpq's quoting (single quotes, backslash escapes) and the URI's percent
 * encoding, so that a password hidden in a quoted value or an escaped query parameter is
 * still found. The password keywords are "password" and "sslpassword" (the client key's
 * passphrase), in either form, and the URI's user:password@. */
#include "config/pgdsn_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The keywords the name is made of, as written (each value truncated to its buffer,
 * which only makes the name too long, never wrong in a way that matters). */
struct parts {
    char host[128], hostaddr[128], port[32], dbname[128], user[128];
    bool password;
};

static const char *const uri_prefixes[] = {"postgresql://", "postgres://"};

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void set(struct parts *p, const char *key, size_t klen, const char *v)
{
    static const struct {
        const char *key;
        size_t off, cap;
    } keys[] = {
        {"host", offsetof(struct parts, host), sizeof p->host},
        {"hostaddr", offsetof(struct parts, hostaddr), sizeof p->hostaddr},
        {"port", offsetof(struct parts, port), sizeof p->port},
        {"dbname", offsetof(struct parts, dbname), sizeof p->dbname},
        {"user", offsetof(struct parts, user), sizeof p->user},
    };
    if ((klen == 8 && memcmp(key, "password", 8) == 0) ||
        (klen == 11 && memcmp(key, "sslpassword", 11) == 0)) {
        p->password = true;
        return;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strlen(keys[i].key) == klen && memcmp(keys[i].key, key, klen) == 0)
            snprintf((char *)p + keys[i].off, keys[i].cap, "%s", v);
    }
}

/* "key = value key2='quoted \' value'", as libpq's conninfo_parse reads it. */
static const char *parse_kv(const char *s, struct parts *p)
{
    for (;;) {
        while (space(*s))
            s++;
        if (!*s)
            return NULL;
        const char *key = s;
        while (*s && *s != '=' && !space(*s))
            s++;
        size_t klen = (size_t)(s - key);
        while (space(*s))
            s++;
        if (klen == 0 || *s != '=')
            return "not a connection string: expected key=value pairs or a postgresql:// URI";
        for (s++; space(*s);)
            s++;
        char v[256];
        size_t n = 0;
        bool quoted = *s == '\'';
        s += quoted;
        for (;; s++) {
            if (!*s) {
                if (quoted)
                    return "a quoted value has no closing quote";
                break;
            }
            if (!quoted && space(*s))
                break;
            if (quoted && *s == '\'') {
                s++;
                break;
            }
            if (*s == '\\' && s[1])
                s++;
            if (n < sizeof v - 1)
                v[n++] = *s;
        }
        v[n] = '\0';
        set(p, key, klen, v);
    }
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into `out` (`cap` bytes, truncating). False on a bad escape. */
static bool decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex(s[i + 1]) : -1, lo = hi >= 0 ? hex(s[i + 2]) : -1;
            if (lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

#define BAD_ESCAPE "bad percent-encoding in the URI"

/* key=value&key2=value2 after the URI's "?". */
static const char *parse_query(const char *s, struct parts *p)
{
    while (*s) {
        size_t len = strcspn(s, "&");
        const char *eq = memchr(s, '=', len);
        char key[64], v[256];
        if (!eq)
            return "a URI parameter has no \"=\"";
        if (!decode(s, (size_t)(eq - s), key, sizeof key) ||
            !decode(eq + 1, len - (size_t)(eq + 1 - s), v, sizeof v))
            return BAD_ESCAPE;
        set(p, key, strlen(key), v);
        s += len + (s[len] == '&');
    }
    return NULL;
}

/* After the scheme: [user[:password]@][host][:port][,host2...][/dbname][?key=value&...]. */
static const char *parse_uri(const char *uri, struct parts *p)
{
    const char *end = uri + strcspn(uri, "?");
    const char *slash = memchr(uri, '/', (size_t)(end - uri));
    const char *auth_end = slash ? slash : end, *s = uri, *at = NULL;
    for (const char *c = s; c < auth_end; c++)
        at = *c == '@' ? c : at;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        p->password |= colon != NULL;
        if (!decode(s, (size_t)((colon ? colon : at) - s), p->user, sizeof p->user))
            return BAD_ESCAPE;
        s = at + 1;
    }
    /* The first of the hosts names the instance. */
    size_t alen = auth_end > s ? (size_t)(auth_end - s) : 0;
    const char *comma = memchr(s, ',', alen);
    const char *hend = comma ? comma : auth_end, *host_end = hend, *port = NULL;
    if (s < hend && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(hend - s));
        if (!close)
            return "an IPv6 host in the URI has no closing \"]\"";
        s++;
        host_end = close;
        if (close + 1 < hend && close[1] == ':')
            port = close + 2;
        else if (close + 1 != hend)
            return "unexpected text after an IPv6 host in the URI";
    } else {
        const char *colon = memchr(s, ':', (size_t)(hend - s));
        if (colon) {
            host_end = colon;
            port = colon + 1;
        }
    }
    if (!decode(s, (size_t)(host_end - s), p->host, sizeof p->host) ||
        (port && !decode(port, (size_t)(hend - port), p->port, sizeof p->port)) ||
        (slash && !decode(slash + 1, (size_t)(end - slash - 1), p->dbname, sizeof p->dbname)))
        return BAD_ESCAPE;
    return *end == '?' ? parse_query(end + 1, p) : NULL;
}

/* The first item of a comma-separated list ("host=a,b"), or `dflt` when empty. */
static const char *first_of(char *list, const char *dflt)
{
    list[strcspn(list, ",")] = '\0';
    return list[0] ? list : dflt;
}

const char *tg_config__pgdsn_check(const char *dsn, char *name, size_t cap)
{
    struct parts p = {0};
    const char *why = NULL;
    bool uri = false;
    for (size_t i = 0; i < sizeof uri_prefixes / sizeof uri_prefixes[0] && !uri; i++) {
        size_t n = strlen(uri_prefixes[i]);
        if (strncmp(dsn, uri_prefixes[i], n) == 0) {
            uri = true;
            why = parse_uri(dsn + n, &p);
        }
    }
    if (!uri)
        why = parse_kv(dsn, &p);
    if (why)
        return why;
    if (p.password)
        return "holds a password: put it in a file named by password_file, or in an "
               "environment variable named by password_env (a DSN is shown by the admin API)";
    if (!name)
        return NULL;
    const char *host = first_of(p.host, first_of(p.hostaddr, "localhost"));
    const char *port = first_of(p.port, "5432");
    const char *db = p.dbname[0] ? p.dbname : p.user;
    bool v6 = strchr(host, ':') != NULL;
    int n = snprintf(name, cap, "%s%s%s:%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "", port,
                     db[0] ? "/" : "", db);
    if (n < 0 || (size_t)n >= cap)
        return "too long to name the instance (host:port/dbname): set name";
    return NULL;
}
