/* SPDX-License-Identifier: MIT */
/* The constructors of each kind of collector target (set.h's struct tg_cset_kinds), one
 * per file: host.c ("node"), container.c, postgres.c, redis.c, probe.c. Each makes one
 * target (target.h) from its settings: `cfg` is the kind's struct in config.h
 * (tg_cfg_host, tg_cfg_container, tg_cfg_postgres, tg_cfg_redis, tg_cfg_probe) and
 * `extra` what the kind shares (containers: the struct tg_cfg_containers; else NULL).
 * 0, or a negative code with `eb` filled (then nothing is allocated). */
#ifndef TG_COLLECT_KINDS_H
#define TG_COLLECT_KINDS_H

#include "collect/target.h"
#include "core/err.h"
#include "core/loop.h"

int tg_chost_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                  struct tg_errbuf *eb);
int tg_ccontainer_make(struct tg_loop *loop, const void *cfg, const void *extra,
                       struct tg_ctarget *out, struct tg_errbuf *eb);
int tg_cpg_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                struct tg_errbuf *eb);
int tg_credis_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                   struct tg_errbuf *eb);
int tg_cprobe_make(struct tg_loop *loop, const void *cfg, const void *extra, struct tg_ctarget *out,
                   struct tg_errbuf *eb);

#endif
