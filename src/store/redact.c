/* SPDX-License-Identifier: MIT */
/* Secret redaction and the JSON check for the store's JSON text (see redact.h). Values
 * are parsed with jansson; text with nothing secret in it is kept byte for byte, so the
 * audit log shows exactly what the caller wrote (jansson would print 0.1 as
 * 0.10000000000000001). */
#include "store/redact.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/redact_int.h"

static const char *const secret_words[] = {
    "token",   "password", "passwd",     "secret",      "authorization",
    "api_key", "apikey",   "credential", "private_key", "cookie",
};

bool tg_store_is_secret(const char *name)
{
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof secret_words / sizeof secret_words[0]; i++) {
        if (strcasestr(name, secret_words[i]))
            return true;
    }
    return false;
}

static json_t *parse(const char *json, const char *what, struct tg_errbuf *eb)
{
    json_error_t err;
    json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
    if (!v)
        tg_errbuf_set(eb, TG_EPARSE, "store: %s is not JSON: line %d column %d: %s", what, err.line,
                      err.column, err.text);
    return v;
}

int tg_store__json_check(const char *json, const char *what, struct tg_errbuf *eb)
{
    json_t *v = parse(json, what, eb);
    if (!v)
        return TG_EPARSE;
    json_decref(v);
    return 0;
}

/* Replaces secret members at any depth; returns how many it replaced. Depth is bounded
 * by jansson's parser (2048 levels). */
static size_t redact_value(json_t *v)
{
    size_t n = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        /* Replacing the value of an existing key does not disturb the iteration. */
        json_object_foreach(v, key, member)
        {
            if (tg_store_is_secret(key)) {
                json_object_set_new(v, key, json_string(TG_STORE_REDACTED));
                n++;
            } else {
                n += redact_value(member);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) n += redact_value(item);
    }
    return n;
}

int tg_store__redact(const char *json, const char *name, const char *what, char **out,
                     struct tg_errbuf *eb)
{
    *out = NULL;
    json_t *v = parse(json, what, eb);
    if (!v)
        return TG_EPARSE;
    char *text;
    if (tg_store_is_secret(name))
        text = strdup("\"" TG_STORE_REDACTED "\"");
    else if (redact_value(v) == 0)
        text = strdup(json);
    else
        text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!text)
        return tg_errbuf_set(eb, -ENOMEM, "store: out of memory");
    *out = text;
    return 0;
}

int tg_store_redact(const char *json, const char *name, char **out, struct tg_errbuf *eb)
{
    return tg_store__redact(json, name, "the value", out, eb);
}
