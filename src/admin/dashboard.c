/* SPDX-License-Identifier: MIT */
/* Serves the dashboard's embedded files (admin/dashboard.h). Bodies are sent straight
 * from the binary's read-only data, never copied. Like every admin answer they are
 * "Cache-Control: no-store" (the listener's own header: a page of live numbers must not
 * come from a cache); each also carries its file's hash as ETag, and a conditional
 * request that names it gets a 304. A client that accepts gzip gets the compressed copy
 * the build made (about a third of the bytes for scripts). And the headers that keep the
 * page its own: a Content-Security-Policy allowing nothing but this origin (so a label or
 * a query string can never run as script), no framing (the control forms must not be
 * clickjacked), no MIME sniffing. */
#include "admin/dashboard.h"

#include <stdio.h>
#include <string.h>

#include "http/accept.h"
#include "http/http1.h"
#include "protect/cache_cond.h"

#define PREFIX "/assets/"

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".json", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Whether the client takes gzip (its Accept-Encoding lines weigh it above 0). */
static bool wants_gzip(const struct tg_http_msg *m)
{
    struct tg_str v[8];
    size_t n = 0;
    for (uint32_t i = 0; i < m->nheaders && n < 8; i++)
        if (tg_str_ieq(m->headers[i].name, "accept-encoding"))
            v[n++] = m->headers[i].value;
    return tg_http_coding_weight(v, n, "gzip") > 0;
}

static bool not_modified(const struct tg_http_msg *m, const char *etag_line, size_t len)
{
    struct tg_cache_field f[4];
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->nheaders && n < 4; i++)
        if (tg_str_ieq(m->headers[i].name, "if-none-match"))
            f[n++] = (struct tg_cache_field){m->headers[i].name.p, m->headers[i].value.p,
                                             (uint32_t)m->headers[i].name.len,
                                             (uint32_t)m->headers[i].value.len};
    return n && tg_cache_not_modified(f, n, 200, etag_line, len);
}

bool tg_admin_dashboard(struct tg_hconn *c, const struct tg_http_msg *m)
{
    struct tg_str p = m->path;
    const struct tg_embedded_file *f = NULL;
    if (p.len == 1 && p.p[0] == '/')
        f = tg_embedded_find(tg_admin_web_assets, "index.html", 10);
    else if (p.len > sizeof PREFIX - 1 && memcmp(p.p, PREFIX, sizeof PREFIX - 1) == 0)
        f = tg_embedded_find(tg_admin_web_assets, p.p + sizeof PREFIX - 1,
                             p.len - (sizeof PREFIX - 1));
    else
        return false;
    if (!f) {
        static const char nf[] = "{\"error\":\"not found\",\"field\":null}\n";
        tg_hconn_respond(c, 404, "application/json", NULL, nf, sizeof nf - 1);
        return true;
    }
    if (m->method != TG_HTTP_GET && m->method != TG_HTTP_HEAD) {
        static const char na[] = "{\"error\":\"method not allowed\",\"field\":null}\n";
        tg_hconn_respond(c, 405, "application/json", "Allow: GET, HEAD\r\n", na, sizeof na - 1);
        return true;
    }
    /* Each representation has its own ETag (RFC 9110 §8.8.3): the gzip one is the
     * file's hash with "-gz", so a cache holding one never revalidates as the other. */
    bool gz = f->gz && wants_gzip(m);
    char etag[48];
    int elen = snprintf(etag, sizeof etag, "ETag: \"%s%s\"\r\n", f->hash, gz ? "-gz" : "");
    char extra[600];
    snprintf(extra, sizeof extra,
             "%s%s%s"
             "Content-Security-Policy: default-src 'none'; script-src 'self'; "
             "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
             "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Referrer-Policy: no-referrer\r\n",
             etag, f->gz ? "Vary: Accept-Encoding\r\n" : "",
             gz ? "Content-Encoding: gzip\r\n" : "");
    const char *ctype = content_type(f->name);
    if (not_modified(m, etag, (size_t)elen))
        tg_hconn_respond_ref(c, 304, ctype, extra, NULL, 0, NULL, NULL);
    else if (gz)
        tg_hconn_respond_ref(c, 200, ctype, extra, f->gz, f->gz_len, NULL, NULL);
    else
        tg_hconn_respond_ref(c, 200, ctype, extra, f->data, f->len, NULL, NULL);
    return true;
}
