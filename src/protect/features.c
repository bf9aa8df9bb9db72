/* SPDX-License-Identifier: MIT */
/* Feature switches; see features.h. A handful of names at most (the config caps the
 * list at 64): linear scans over them beat any index. */
#include "protect/features.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct name {
    char *s;
    size_t len;
    bool declared; /* some route names it: only that route's requests are shed */
};

struct tg_features {
    struct name *v;
    size_t n;
};

int tg_features_new(const char *const *disabled, size_t n, const char *const *declared,
                    size_t nd, struct tg_features **out)
{
    struct tg_features *f = calloc(1, sizeof *f);
    if (!f || (n && !(f->v = calloc(n, sizeof *f->v)))) {
        free(f);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct name *e = &f->v[f->n];
        e->len = strlen(disabled[i]);
        if (!(e->s = strdup(disabled[i]))) {
            tg_features_free(f);
            return -ENOMEM;
        }
        f->n++;
        for (size_t j = 0; j < nd && !e->declared; j++)
            e->declared = strcmp(declared[j], disabled[i]) == 0;
    }
    *out = f;
    return 0;
}

void tg_features_free(struct tg_features *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].s);
    free(f->v);
    free(f);
}

bool tg_features_none(const struct tg_features *f)
{
    return !f || f->n == 0;
}

/* True when `path` has a segment exactly `name`. */
static bool has_segment(const char *path, size_t len, const char *name, size_t nlen)
{
    for (size_t i = 0; i < len;) {
        if (path[i] == '/') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (j - i == nlen && memcmp(path + i, name, nlen) == 0)
            return true;
        i = j;
    }
    return false;
}

const char *tg_features_shed(const struct tg_features *f, const char *route_feature,
                             const char *path, size_t len)
{
    if (tg_features_none(f))
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        const struct name *e = &f->v[i];
        if (e->declared ? route_feature && strcmp(route_feature, e->s) == 0
                        : has_segment(path, len, e->s, e->len))
            return e->s;
    }
    return NULL;
}
