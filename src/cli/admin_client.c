/* SPDX-License-Identifier: MIT */
/* The subcommands' side of the admin API (see admin_client.h). The HTTP client refuses
 * host names so that it never resolves on a loop; a command line may name its gateway,
 * so the name is resolved here once, before any loop runs, and the URL is parsed again
 * with the address while the Host header keeps the name as written. */
#include "cli/admin_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"

/* Parses `url` again with its host name replaced by the address it resolves to. */
static int resolve_name(const char *url, struct tg_hclient_target *t, struct tg_errbuf *eb)
{
    const char *auth = url + strlen("http://");
    size_t alen = strcspn(auth, "/");
    char host[256], num[INET6_ADDRSTRLEN];
    if (alen == 0 || alen >= sizeof host || auth[0] == '[')
        return TG_EPARSE;
    memcpy(host, auth, alen);
    host[alen] = '\0';
    char *colon = strrchr(host, ':');
    const char *port = colon ? colon + 1 : "";
    if (colon)
        *colon = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &ai);
    if (gai != 0)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: cannot resolve %s: %s", url, host,
                             gai_strerror(gai));
    const void *a = ai->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
    bool v6 = ai->ai_family == AF_INET6;
    inet_ntop(ai->ai_family, a, num, sizeof num);
    freeaddrinfo(ai);
    char again[2048];
    int n = snprintf(again, sizeof again, "http://%s%s%s%s%s%s", v6 ? "[" : "", num, v6 ? "]" : "",
                     *port ? ":" : "", port, auth + alen);
    if (n < 0 || (size_t)n >= sizeof again)
        return tg_errbuf_set(eb, TG_EPARSE, "%s: too long", url);
    int rc = tg_hclient_target_parse(again, t, eb);
    if (rc == 0)
        snprintf(t->host, sizeof t->host, "%.*s", (int)alen, auth);
    return rc;
}

int tg_cli_admin_target(const char *admin, struct tg_hclient_target *t, struct tg_errbuf *eb)
{
    char url[2048];
    bool scheme = strstr(admin, "://") != NULL;
    int n = snprintf(url, sizeof url, "%s%s", scheme ? "" : "http://", admin);
    if (n < 0 || (size_t)n >= sizeof url)
        return tg_errbuf_set(eb, TG_EPARSE, "%.64s...: too long", admin);
    int rc = tg_hclient_target_parse(url, t, eb);
    if (rc != 0 && strncmp(url, "http://", 7) == 0) {
        struct tg_errbuf eb2 = {0};
        if (resolve_name(url, t, &eb2) == 0)
            rc = 0;
        else if (eb2.msg[0] && eb)
            *eb = eb2;
    }
    if (rc != 0)
        return rc;
    /* The path is a prefix the API's paths go under: "" for "/". */
    size_t pl = strlen(t->path);
    while (pl > 0 && t->path[pl - 1] == '/')
        t->path[--pl] = '\0';
    if (strchr(t->path, '?'))
        return tg_errbuf_set(eb, TG_EPARSE, "%s: a query string has no place here", admin);
    return 0;
}

int tg_cli_admin_path(const struct tg_hclient_target *base, const char *path,
                      struct tg_hclient_target *out)
{
    if (out != base)
        *out = *base;
    size_t bl = strlen(base->path), pl = strlen(path);
    if (bl + pl >= sizeof out->path)
        return TG_ELIMIT;
    memcpy(out->path + bl, path, pl + 1);
    return 0;
}

int tg_cli_form_add(char **buf, size_t *len, const char *name, const char *value)
{
    size_t need = *len + strlen(name) + 3 * strlen(value) + 3;
    char *b = realloc(*buf, need);
    if (!b)
        return -ENOMEM;
    *buf = b;
    size_t n = *len;
    n += (size_t)sprintf(b + n, "%s%s=", n ? "&" : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            b[n++] = (char)*p;
        else
            n += (size_t)sprintf(b + n, "%%%02X", *p);
    }
    b[n] = '\0';
    *len = n;
    return 0;
}

struct waiter {
    struct tg_loop *loop;
    int rc, status;
    char *body;
    struct tg_errbuf *eb;
};

static void on_done(void *ctx, const struct tg_hclient_resp *r)
{
    struct waiter *w = ctx;
    tg_loop_stop(w->loop);
    if (r->error != TG_HCLIENT_OK) {
        w->rc =
            tg_errbuf_set(w->eb, TG_ECLOSED, "%s: %s", tg_hclient_error_name(r->error), r->detail);
        return;
    }
    if (!(w->body = malloc(r->body_len + 1))) {
        w->rc = tg_errbuf_set(w->eb, -ENOMEM, "out of memory for the answer");
        return;
    }
    memcpy(w->body, r->body, r->body_len);
    w->body[r->body_len] = '\0';
    w->status = r->status;
    w->rc = 0;
}

int tg_cli_admin_call(const struct tg_hclient_target *t, const struct tg_hclient_req *rq,
                      int *status, char **body, struct tg_errbuf *eb)
{
    struct waiter w = {.rc = TG_ECLOSED, .eb = eb};
    struct tg_hclient *cl = NULL;
    int rc = tg_loop_new(&w.loop, NULL, NULL);
    if (rc == 0)
        rc = tg_hclient_new(w.loop, &cl);
    if (rc == 0)
        rc = tg_hclient_call(cl, t, rq, on_done, &w, NULL);
    if (rc == 0)
        rc = tg_loop_run(w.loop);
    if (rc != 0)
        tg_errbuf_set(eb, rc, "%s", tg_strerror(rc));
    else
        rc = w.rc;
    tg_hclient_free(cl);
    tg_loop_free(w.loop);
    if (rc != 0) {
        free(w.body);
        return rc;
    }
    *status = w.status;
    *body = w.body;
    return 0;
}
