/* SPDX-License-Identifier: MIT */
/* Passive outlier ejection for the servers of one upstream, shared by every worker: a
 * server is taken out of rotation when it fails several times in a row, or when its
 * latency stands far above its peers', for longer each time it happens again; at most a
 * share of the upstream is out at once, and a server that comes back gets its traffic
 * back gradually (slow start).
 *
 * - Consecutive errors (decided on the response, by the worker that saw it): connect
 *   failures, resets and timeouts, and 502, 503 and 504 answers ("gateway errors"); with
 *   count_5xx, every 5xx. By default an API's own 500 is not a sign that the server is
 *   unwell, so it does not count. Any other answer resets the run.
 * - Latency (decided by tg_outlier_sweep on the control thread, once a tick): a server's
 *   latency EWMA above latency_factor × the median EWMA of the upstream's servers and by
 *   at least latency_min_excess_us, once latency_min_peers servers have at least
 *   latency_min_samples responses each. The median includes the server judged: with
 *   three or more servers one slow server cannot move it far, and no per-server median
 *   has to be computed. The EWMA and the sample count are updated without a locked
 *   instruction (load, mix, store): two workers answering at once may lose one sample,
 *   which an average shrugs off, while a CAS on a server's hottest word is not free.
 * - Ejection time: base_eject × the number of times the server has been ejected, up to
 *   max_eject (Envoy's rule). Each max_eject a server then stays in forgives one earlier
 *   ejection, so a server that was flaky last week starts short again.
 * - The cap: at most max_ejection_pct of the servers at once, at least one (as Envoy:
 *   with 3 servers and 10 % nothing could ever be ejected otherwise), never all of them.
 *   It is exact across workers: ejections are counted in one shared word (a CAS reserves
 *   a place, then a CAS on the server claims it), and an ejection that has run out gives
 *   its place back the next time anyone ejects or sweeps.
 * - Slow start: after an ejection ends (or when the caller says a server returned, e.g.
 *   its health checks pass again, which also ends an ejection early, as the proxy's
 *   simple passive ejection does), its weight multiplier ramps from slow_start_min_pct
 *   to 100 % over slow_start: max(min, f^(1/aggression)) with f the elapsed share of the
 *   window (Envoy's formula: aggression 1 is linear, above 1 sends more traffic early).
 *
 * Parameters come from the caller's configuration snapshot on every call. State is per
 * server position; tg_outlier_carry moves a server's state into the object built for a
 * new snapshot, keyed by the caller (by server name), so ejections survive a reload.
 * Used by the proxy's balancer (tg_outlier_usable, tg_outlier_weight) and response path
 * (tg_outlier_observe); read by metrics and the admin API. */
#ifndef TG_PROTECT_OUTLIER_H
#define TG_PROTECT_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>

struct tg_outlier_params {
    uint32_t consecutive_errors;   /* errors in a row that eject; 0: off */
    bool count_5xx;                /* every 5xx is an error, not only 502/503/504 */
    double latency_factor;         /* × the median EWMA that ejects; 0: off */
    int64_t latency_min_excess_us; /* and at least this far above the median */
    uint32_t latency_min_samples;  /* responses before a server's EWMA is judged */
    uint32_t latency_min_peers;    /* servers with enough samples before any is judged */
    int64_t base_eject_us;         /* the first ejection's length */
    int64_t max_eject_us;          /* the longest ejection */
    uint32_t max_ejection_pct;     /* share of servers out at once (at least 1, never all) */
    int64_t slow_start_us;         /* ramp length after a return; 0: none */
    uint32_t slow_start_min_pct;   /* weight at the ramp's start, 1-100 */
    double slow_start_aggression;  /* > 0; 1: linear */
};

/* Defaults: 5 errors in a row, gateway errors only, latency 3× the median and 5 ms over
 * it with 20 samples and 3 peers, ejections 30 s growing to 5 min, 50 % of the servers,
 * slow start 30 s from 10 %, linear. */
void tg_outlier_params_init(struct tg_outlier_params *p);

/* How a try to a server ended. */
enum tg_outlier_kind {
    TG_OUTLIER_RESPONSE = 0, /* a response came back: its status decides */
    TG_OUTLIER_CONNECT,      /* connect refused, failed or timed out */
    TG_OUTLIER_RESET,        /* the connection closed or reset mid-exchange */
    TG_OUTLIER_TIMEOUT,      /* no response in time */
};

struct tg_outlier_result {
    enum tg_outlier_kind kind;
    int status;         /* TG_OUTLIER_RESPONSE: the status */
    int64_t latency_us; /* TG_OUTLIER_RESPONSE: time to the response head */
};

/* Why a server was ejected (the `reason` label). */
enum tg_outlier_reason {
    TG_OUTLIER_R_ERRORS = 0,
    TG_OUTLIER_R_LATENCY,
    TG_OUTLIER_R_OPERATOR, /* tg_outlier_eject_for: the control API or a playbook */
    TG_OUTLIER_R_COUNT,
};

/* "consecutive_errors", "latency", "operator"; NULL out of range. */
const char *tg_outlier_reason_name(enum tg_outlier_reason r);

struct tg_outlier;

/* State for an upstream of `nservers` servers, all in rotation. -ENOMEM or 0. */
int tg_outlier_new(uint32_t nservers, struct tg_outlier **out);
void tg_outlier_free(struct tg_outlier *o); /* accepts NULL; nothing may use it any more */

/* Copies server `si` of `src` into server `di` of `dst` (a new snapshot's object, not yet
 * used by workers): ejection, its count, the error run, the EWMA, the ramp. Updates
 * racing on `src` meanwhile may be lost. Control thread. */
void tg_outlier_carry(struct tg_outlier *dst, uint32_t di, const struct tg_outlier *src,
                      uint32_t si);

/* Adds the upstream-wide counters of `src` (ejections by reason, cap refusals) to those
 * of `dst`, a new snapshot's object for the same upstream, so the counters a user graphs
 * never go back at a reload. Control thread. */
void tg_outlier_carry_totals(struct tg_outlier *dst, const struct tg_outlier *src);

/* Records the outcome of a try to server `i`; true if it ejected the server (log it
 * once). Outcomes of a server already out are ignored: they were sent before it left.
 * Any worker; cost: a few relaxed loads and stores on the server's own cache line (a
 * locked add on an error), plus a scan of the upstream's servers when an ejection is
 * due. */
bool tg_outlier_observe(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i,
                        int64_t now_us, const struct tg_outlier_result *r);

/* The latency rule over all servers, and retires ejections that ran out. Returns the
 * number of servers it ejected. Control thread, once a tick; no allocation. */
uint32_t tg_outlier_sweep(struct tg_outlier *o, const struct tg_outlier_params *p, int64_t now_us);

/* Server `i` returns to service at `now_us` for a reason of the caller's (its health
 * checks pass again, it was just added): an ejection in force ends, and its slow start
 * begins. Any thread. */
void tg_outlier_returned(struct tg_outlier *o, uint32_t i, int64_t now_us);

/* Takes server `i` out for `len_us` at `now_us` by request (the control API's eject, a
 * playbook), under the same cap as the passive rules: never more than
 * max_ejection_pct of the servers, never all. It counts as an ejection (slow start on
 * return) but not toward the next passive ejection's length. 0, -EBUSY (the cap is
 * reached) or -EALREADY (it is out already). */
int tg_outlier_eject_for(struct tg_outlier *o, const struct tg_outlier_params *p, uint32_t i,
                         int64_t now_us, int64_t len_us);

/* False while server `i` is ejected. Any worker; one relaxed load. */
bool tg_outlier_usable(const struct tg_outlier *o, uint32_t i, int64_t now_us);

/* Server `i`'s weight multiplier in thousandths: 1000 outside slow start, ramping up
 * from slow_start_min_pct × 10 during it. Any worker; a pow() only during a ramp. */
uint32_t tg_outlier_weight(const struct tg_outlier *o, const struct tg_outlier_params *p,
                           uint32_t i, int64_t now_us);

struct tg_outlier_stats {
    uint32_t servers, ejected_now;
    uint64_t ejections_total[TG_OUTLIER_R_COUNT];
    uint64_t cap_refused_total; /* ejections due but refused by max_ejection_pct */
};

struct tg_outlier_server_stats {
    bool ejected;
    int64_t ejected_until_us; /* 0 if never ejected */
    uint32_t times_ejected;   /* ejections counted toward the length of the next */
    uint32_t consecutive_errors;
    int64_t ewma_us;
    uint32_t samples;
    uint32_t weight_permille;
};

/* Relaxed reads. Any thread. */
void tg_outlier_read(const struct tg_outlier *o, int64_t now_us, struct tg_outlier_stats *out);
void tg_outlier_read_server(const struct tg_outlier *o, const struct tg_outlier_params *p,
                            uint32_t i, int64_t now_us, struct tg_outlier_server_stats *out);

#endif
