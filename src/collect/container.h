/* SPDX-License-Identifier: MIT */
/* The container collector (kinds.h's tg_ccontainer_make): one target per configured
 * container, read from its cgroup v2 directory with cAdvisor's family names, so the
 * runbooks' container_* expressions work unchanged. Which cgroup: the configured path,
 * or the cgroup of the configured pid, or of the first process (lowest pid) whose name
 * is the configured one, looked up again at every collection because the process may
 * have restarted into another cgroup. Everything here is a few small reads of /proc and
 * cgroupfs, done synchronously inside start() on the control loop.
 *
 * The two steps are exposed for tests, each with the roots it reads passed in, so a
 * fixture tree can stand in for /proc and /sys/fs/cgroup. */
#ifndef TG_COLLECT_CONTAINER_H
#define TG_COLLECT_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/err.h"

struct tg_csnap;

/* The cgroup v2 mount to read when `cgroup_root` is "" (the default). */
#define TG_CCONTAINER_ROOT "/sys/fs/cgroup"

/* Where cgroup v2 is under `root`: `root` itself, or `root`/unified on a host that mounts
 * both versions (systemd's "hybrid" layout). Writes it into out[0..cap). */
void tg_ccontainer_v2_root(const char *root, char *out, size_t cap);

/* The cgroup of `c` as a path relative to the v2 root ("/system.slice/app.service", "/"
 * for the root cgroup), into path[0..cap). `proc` is where /proc is. 0, or a negative
 * code with `eb` saying why (no such process, no cgroup v2 line). */
int tg_ccontainer_resolve(const char *proc, const struct tg_cfg_container *c, char *path,
                          size_t cap, struct tg_errbuf *eb);

/* Reads the cgroup `id` (as tg_ccontainer_resolve gives it) under the v2 root `root` into
 * `out`, every series labelled container=`name` and id=`id`; `wall_ms` is
 * container_last_seen. Files that are absent (a controller not enabled, an older kernel)
 * leave their families out; a directory without cpu.stat is no cgroup and fails, and so
 * does a value that does not parse. 0, or a negative code with `eb` saying why (then
 * `out` may hold part of the families: the caller resets it). */
int tg_ccontainer_read(const char *root, const char *id, const char *name, int64_t wall_ms,
                       struct tg_csnap *out, struct tg_errbuf *eb);

#endif
