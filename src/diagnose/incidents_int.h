/* SPDX-License-Identifier: MIT */
/* Internal to src/diagnose/: the manager's state and the helpers incidents.c shares with
 * incidents_api.c (writing one step, reading an incident back from the store). */
#ifndef TG_DIAGNOSE_INCIDENTS_INT_H
#define TG_DIAGNOSE_INCIDENTS_INT_H

#include "diagnose/incident.h"
#include "diagnose/incidents.h"
#include "store/incidents.h"

struct tg_incidents {
    struct tg_store *store;
    struct tg_incidents_opts o;
    /* The incidents that are not closed, oldest first; owned. */
    struct tg_incident **v;
    size_t n, cap;
    tg_incidents_open_fn *on_open;
    void *on_open_ctx;
    uint64_t write_errors_total;
};

/* One step's extra rows: timeline entries with data, actions, an audit row. */
struct tg_incidents__step {
    const struct tg_incident_out *out;
    const char *data_json; /* the data of every entry of `out`, or NULL */
    const struct tg_store_incident_action *actions;
    size_t nactions;
    const struct tg_store_audit *audit;
};

/* Writes `inc` (its row, its changed alerts) with the step's rows in one transaction;
 * sets its id on the first write and its counts. A closed incident leaves `m`'s list
 * when it is in it. 0 or the store's error, with `eb` filled; logged and counted. */
int tg_incidents__save(struct tg_incidents *m, struct tg_incident *inc,
                       const struct tg_incidents__step *st, int64_t now_us,
                       struct tg_errbuf *eb);

/* The incident `id` in memory (not closed), or NULL. */
struct tg_incident *tg_incidents__find(const struct tg_incidents *m, int64_t id);

/* Builds `inc` from the store (row, alerts, counts). 0, TG_ENOTFOUND, TG_ESTORE,
 * -ENOMEM. */
int tg_incidents__load(struct tg_incidents *m, int64_t id, struct tg_incident *inc,
                       struct tg_errbuf *eb);

/* Adds `inc` (taken) to the list. 0 or -ENOMEM (then it is freed). */
int tg_incidents__adopt(struct tg_incidents *m, struct tg_incident *inc);

#endif
