/* SPDX-License-Identifier: MIT */
/* Internal to src/scale/: the two providers behind the scaler (scaler.c) and the
 * server-list parser of the command provider. Control thread only. */
#ifndef TG_SCALE_SCALE_INT_H
#define TG_SCALE_SCALE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "core/err.h"

struct tg_gateway;

/* What a provider tells the scaler happened (logged, noted, counted): "ready",
 * "start-failed", "died", "drained", "stopped", "killed", "command-done",
 * "command-failed". `detail` may be "". */
typedef void tg_scale_event_fn(void *ctx, const char *event, const char *addr, int pid,
                               const char *detail);

/* ---- process provider (process.c) */

struct tg_scale_procs;

/* 0 or -ENOMEM. Events go to `ev`. */
int tg_scale__procs_new(tg_scale_event_fn *ev, void *ctx, struct tg_scale_procs **out);

/* Stops every instance: SIGTERM to its process group, SIGKILL to those still there
 * after `grace_us`, each reaped. Accepts NULL. */
void tg_scale__procs_free(struct tg_scale_procs *p, int64_t grace_us);

/* Instances started and not leaving (starting or in the pool). */
uint32_t tg_scale__procs_count(const struct tg_scale_procs *p);

/* Starts one more instance of a->command on the next free port of a->ports. 0, or a
 * negative code with `eb` filled (no free port, fork failed). */
int tg_scale__procs_start(struct tg_scale_procs *p, const struct tg_cfg_autoscale *a,
                          int64_t now_us, struct tg_errbuf *eb);

/* Takes one instance out: the newest still starting (killed at once), else the newest
 * in the pool (out of the pool at once, so publish; stopped once drained). False when
 * there is none. */
bool tg_scale__procs_stop_one(struct tg_scale_procs *p, int64_t now_us);

/* One turn (every 100 ms): reaps exits, probes starting instances, follows drains and
 * kills. Returns true when the set of instances in the pool changed (publish it). */
bool tg_scale__procs_tick(struct tg_scale_procs *p, const struct tg_cfg_autoscale *a,
                          struct tg_gateway *gw, const char *upstream, int64_t now_us);

/* The addresses of the instances in the pool into out[0..cap); returns how many. */
size_t tg_scale__procs_ready(const struct tg_scale_procs *p, struct tg_addr *out, size_t cap);

/* Unexpected exits since start. */
uint64_t tg_scale__procs_died(const struct tg_scale_procs *p);

/* ---- command provider (command.c) */

struct tg_scale_cmd;

int tg_scale__cmd_new(tg_scale_event_fn *ev, void *ctx, struct tg_scale_cmd **out);
/* Waits for a command or lookup under way (killing the command). Accepts NULL. */
void tg_scale__cmd_free(struct tg_scale_cmd *c);

/* Runs a->command with {n} = `n` through /bin/sh -c, then reads the servers back. 0, or
 * -EBUSY while a run is under way, or a negative code with `eb` filled. */
int tg_scale__cmd_run(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a, uint32_t n,
                      int64_t now_us, struct tg_errbuf *eb);

/* Reads the servers back without running the command (at start). */
int tg_scale__cmd_refresh(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a,
                          struct tg_errbuf *eb);

bool tg_scale__cmd_busy(const struct tg_scale_cmd *c);

/* One turn: follows the command (exit, timeout, output) and the lookup. Returns true
 * when a new server list is ready (tg_scale__cmd_servers); *failed is set when the run
 * ended in a failure. */
bool tg_scale__cmd_tick(struct tg_scale_cmd *c, const struct tg_cfg_autoscale *a, int64_t now_us,
                        bool *failed);

/* The last server list read. */
size_t tg_scale__cmd_servers(const struct tg_scale_cmd *c, const struct tg_addr **out);

/* The last run: exit status (-1 none yet, 128+signal when killed), output tail. */
void tg_scale__cmd_last(const struct tg_scale_cmd *c, int *status, const char **tail);

/* ---- server lists (servers.c) */

/* Parses `text` (`len` bytes): one host:port a line ("10.0.0.5:8080", "[::1]:8080",
 * "localhost:8080"), blank lines and "#" comments ignored, spaces around trimmed. At most
 * `cap` servers into out[]; *n their count. 0, or TG_EPARSE with `eb` naming the line. A
 * server listed twice counts once. */
int tg_scale__parse_servers(const char *text, size_t len, struct tg_addr *out, size_t cap,
                            size_t *n, struct tg_errbuf *eb);

#endif
