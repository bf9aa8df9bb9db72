/* SPDX-License-Identifier: MIT */
/* The demo's light background load: one thread that sends a paced mix of requests
 * through the gateway on 127.0.0.1, so the monitoring endpoints have something to show.
 * Deliberately simple (blocking sockets, one request at a time); real load testing is
 * `tailguard bench`. */
#ifndef TG_CLI_DEMO_LOAD_H
#define TG_CLI_DEMO_LOAD_H

struct tg_cli_demo_load;

/* Polls 127.0.0.1:`port` until an HTTP answer arrives or `timeout_ms` passes. 0 or -1. */
int tg_cli_demo_load_wait_ready(int port, int timeout_ms);

/* Starts the load thread at about `rps` requests per second. NULL on failure. */
struct tg_cli_demo_load *tg_cli_demo_load_start(int port, int rps);

/* Stops and joins the thread; accepts NULL. */
void tg_cli_demo_load_stop(struct tg_cli_demo_load *l);

#endif
