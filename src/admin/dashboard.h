/* SPDX-License-Identifier: MIT */
/* The live dashboard's files on the admin listener: `/` is web/index.html and
 * `/assets/<path>` every other file of web/ plus the charting library the build installs
 * from the npm registry (web/package-lock.json), all built into the binary, so the page
 * works offline and loads nothing from anywhere else. The page reads the same JSON and
 * Prometheus APIs as every other client; it has no endpoint of its own. */
#ifndef TG_ADMIN_DASHBOARD_H
#define TG_ADMIN_DASHBOARD_H

#include <stdbool.h>

#include "core/embed.h"
#include "http/server.h"

/* The generated table of web/ (dashboard_assets.c in the build folder). */
extern const struct tg_embedded_file tg_admin_web_assets[];

/* Answers `m` when it asks for a dashboard file (true), else leaves it (false). */
bool tg_admin_dashboard(struct tg_hconn *c, const struct tg_http_msg *m);

#endif
