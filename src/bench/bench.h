/* SPDX-License-Identifier: MIT */
/* `tailguard bench`: the load generator. Closed model (connections, like ab and hey), open
 * model at a constant or staged rate with coordinated-omission correction (like wrk2 and
 * k6), capacity search against an SLO, thresholds for CI. Everything else in src/bench is
 * internal to it (tg_bench__* in the *_int.h headers). Called only from src/main.c. */
#ifndef TG_BENCH_BENCH_H
#define TG_BENCH_BENCH_H

/* Runs the command. `argv[0]` is "bench". Returns the process exit code: 0 when the run
 * finished and every threshold held, 1 when a threshold failed (or a capacity search found
 * no rate within the SLO), 2 on a usage error or an unreachable target. */
int tg_bench_cmd(int argc, char **argv);

#endif
