// link: tg_diagnose
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the body of PUT /api/v1/incidents/<id> (diagnose/incident.h): the
 * input is the JSON body, applied to an incident with one alert resolved. Whatever the
 * input: the answer is 0, TG_EPARSE with the field named, or -EBUSY with at least one
 * missing item; a refused body leaves the incident's fields byte for byte as they were;
 * the incident's JSON form can be built afterwards. The corpus is
 * tests/fuzz/corpus/incident_put/. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/incident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    const int64_t t0 = 1800000000LL * 1000000;
    struct tg_incident inc;
    struct tg_incident_out out = {0};
    struct tg_incidents_opts o;
    tg_incidents_opts_default(&o);
    if (tg_incident_init(&inc, "fuzz", false, t0, &out) != 0)
        abort();
    const char *labels = "{\"alertname\":\"A\"}";
    if (tg_incident_alert_fired(&inc, "A", labels, t0, &out) != 0)
        abort();
    tg_incident_alert_resolved(&inc, "A", labels, t0 + 1, &out);
    inc.ntimeline = out.n;
    char *before = json_dumps(inc.fields, JSON_SORT_KEYS);
    json_t *actions = json_array(), *missing = json_array();
    struct tg_errbuf eb = {0};
    out.n = 0;
    int rc = tg_incident_put(&inc, body, t0 + 2, actions, missing, &out, &eb);
    if (rc != 0 && rc != TG_EPARSE && rc != -EBUSY && rc != -ENOMEM)
        abort();
    if (rc == -EBUSY && json_array_size(missing) == 0)
        abort();
    if (rc != 0) {
        char *after = json_dumps(inc.fields, JSON_SORT_KEYS);
        if (strcmp(before, after) != 0 || json_array_size(actions) != 0)
            abort();
        free(after);
    }
    json_t *j = tg_incident_json(&inc, &o, json_array(), json_array());
    if (!j)
        abort();
    json_decref(j);
    free(before);
    json_decref(actions);
    json_decref(missing);
    json_decref(body);
    tg_incident_deinit(&inc);
    return 0;
}
