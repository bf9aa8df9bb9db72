/* SPDX-License-Identifier: MIT */
/* `tailguard demo-api`: a sample HTTP backend that behaves like the API in the runbooks
 * (products, analytics, LLM-like content generation, agents) with realistic simulated
 * latency and fault injection. It is the backend of the integration tests and of the
 * benchmarks, so it is built like the proxy: one event loop per worker thread, no
 * allocation per request. Called only from src/main.c. */
#ifndef TG_DEMO_DEMO_H
#define TG_DEMO_DEMO_H

/* Runs the demo API until SIGTERM/SIGINT. `argv[0]` is "demo-api". Returns the process
 * exit code: 0 on a clean stop, 1 on a start-up failure, 2 on a usage error. */
int tg_demo_cmd(int argc, char **argv);

#endif
