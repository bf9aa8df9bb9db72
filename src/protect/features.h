/* SPDX-License-Identifier: MIT */
/* Feature switches (the runbook's "disable non-critical features"): which disabled
 * feature, if any, sheds a request. A feature is declared by the routes that name it
 * (`feature:` in the config); a disabled feature that no route declares applies to every
 * path with a segment of that name, so `analytics` sheds /api/analytics/... with no
 * configuration at all. The set is immutable, built with each configuration snapshot;
 * deciding reads it only. */
#ifndef TG_PROTECT_FEATURES_H
#define TG_PROTECT_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

struct tg_features;

/* `disabled[0..n)` are the disabled feature names, `declared[0..nd)` the names routes
 * declare (duplicates allowed). Copies what it needs. Returns 0 or -ENOMEM. */
int tg_features_new(const char *const *disabled, size_t n, const char *const *declared,
                    size_t nd, struct tg_features **out);
void tg_features_free(struct tg_features *f); /* accepts NULL */

/* True when nothing is disabled (the proxy skips the check). */
bool tg_features_none(const struct tg_features *f);

/* The disabled feature that sheds a request, or NULL. `route_feature` is the feature of
 * the matched route ("" for none, NULL for no route); `path` is the request path
 * (`len` bytes, no query). */
const char *tg_features_shed(const struct tg_features *f, const char *route_feature,
                             const char *path, size_t len);

#endif
