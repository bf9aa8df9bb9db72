/* SPDX-License-Identifier: MIT */
/* The report's sections that the runbooks require before an incident may close
 * (seed-inventory.md §d.3): root cause, lessons learned, prevention measures, the five
 * follow-ups of seed 001 with their states, seed 003's checklist of four phases of five
 * items, and the communications. The fixed items the incident has not filled yet show
 * unfilled, so the reader sees what is still to do. */
#include "diagnose/report_int.h"

#include <string.h>

static const char *const FOLLOW_UPS[] = {
    "monitoring improvements", "update runbooks", "code improvements",
    "infrastructure optimizations", "team training updates",
};

static const struct {
    const char *key, *title;
    const char *items[5];
} PHASES[] = {
    {"investigation", "Investigation",
     {"Performance issue identified and classified", "Initial metrics collected",
      "Root cause analysis initiated", "Impact assessment completed",
      "Resolution plan developed"}},
    {"resolution", "Resolution",
     {"Immediate fixes applied", "Performance optimizations implemented",
      "Resource limits adjusted", "Monitoring enhanced", "Performance testing completed"}},
    {"verification", "Verification",
     {"Performance benchmarks met", "Response times improved", "Resource usage optimized",
      "User experience verified", "Monitoring alerts configured"}},
    {"post_resolution", "Post-Resolution",
     {"Performance analysis completed", "Optimization recommendations documented",
      "Team debrief completed", "Documentation updated", "Follow-up monitoring scheduled"}},
};

static const char *const STATE_HEADS[] = {"item", "state"};

static void prevention(struct tg_report__out *o, const json_t *inc)
{
    const json_t *list = json_object_get(inc, "prevention_measures");
    tg_report__heading(o, 2, "Prevention measures");
    size_t i;
    json_t *m;
    bool any = false;
    json_array_foreach(list, i, m) {
        if (!json_is_string(m) || !*json_string_value(m))
            continue;
        if (!any)
            tg_report__list_begin(o, false);
        tg_report__item_begin(o, 0);
        tg_report__text(o, json_string_value(m));
        tg_report__item_end(o);
        any = true;
    }
    if (any)
        tg_report__list_end(o, false);
    else
        tg_report__para(o, NULL);
}

/* Whether `list` holds an item named like `name` (either contains the other, ignoring
 * case: "Implement monitoring improvements" is "monitoring improvements"). */
static bool listed(const json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *item = tg_report__str(e, "item");
        if (item && (strcasestr(item, name) || strcasestr(name, item)))
            return true;
    }
    return false;
}

/* A table of the {item, state} objects of `list`, then the `fixed` items it lacks,
 * unfilled. */
static void state_table(struct tg_report__out *o, const json_t *list, const char *const *fixed,
                        size_t nfixed)
{
    tg_report__table_begin(o, STATE_HEADS, 2);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        tg_report__row_begin(o);
        tg_report__cell(o, tg_report__str(e, "item"));
        tg_report__cell(o, tg_report__str(e, "state"));
        tg_report__row_end(o);
    }
    for (i = 0; i < nfixed; i++) {
        if (listed(list, fixed[i]))
            continue;
        tg_report__row_begin(o);
        tg_report__cell(o, fixed[i]);
        tg_report__cell(o, NULL);
        tg_report__row_end(o);
    }
    tg_report__table_end(o);
}

static void checklist(struct tg_report__out *o, const json_t *inc)
{
    const json_t *cl = json_object_get(inc, "checklist");
    tg_report__heading(o, 2, "Checklist");
    for (size_t p = 0; p < sizeof PHASES / sizeof PHASES[0]; p++) {
        tg_report__heading(o, 3, PHASES[p].title);
        state_table(o, json_object_get(cl, PHASES[p].key), PHASES[p].items, 5);
    }
}

static void communications(struct tg_report__out *o, const json_t *inc)
{
    static const char *const heads[] = {"time", "kind", "text"};
    const json_t *list = json_object_get(inc, "communications");
    tg_report__heading(o, 2, "Communications");
    bool detected = false, resolved = false;
    if (json_array_size(list) > 0) {
        tg_report__table_begin(o, heads, 3);
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c) {
            const char *kind = tg_report__str(c, "kind");
            detected |= kind && strcmp(kind, "detected") == 0;
            resolved |= kind && strcmp(kind, "resolved") == 0;
            tg_report__row_begin(o);
            tg_report__cell(o, tg_report__str(c, "ts"));
            tg_report__cell(o, kind);
            tg_report__cell(o, tg_report__str(c, "text"));
            tg_report__row_end(o);
        }
        tg_report__table_end(o);
    }
    if (detected && resolved)
        return;
    /* Closing needs at least these two notices (seed 003's procedure). */
    tg_report__para_begin(o);
    tg_report__not_filled(o);
    tg_report__textf(o, ": %s%s%s notice.", detected ? "" : "the detection",
                     !detected && !resolved ? " and " : "", resolved ? "" : "the resolution");
    tg_report__para_end(o);
}

void tg_report__required(struct tg_report__out *o, const json_t *inc)
{
    tg_report__heading(o, 2, "Root cause");
    tg_report__para(o, tg_report__str(inc, "root_cause"));
    tg_report__heading(o, 2, "Lessons learned");
    tg_report__para(o, tg_report__str(inc, "lessons_learned"));
    prevention(o, inc);
    tg_report__heading(o, 2, "Follow-ups");
    state_table(o, json_object_get(inc, "follow_up"), FOLLOW_UPS, 5);
    checklist(o, inc);
    communications(o, inc);
}
