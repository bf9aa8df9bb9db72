/* SPDX-License-Identifier: MIT */
/* Internal to the diagnosis: the steps diagnosis.c shares with its other files. */
#ifndef TG_DIAGNOSE_DIAGNOSIS_INT_H
#define TG_DIAGNOSE_DIAGNOSIS_INT_H

#include "diagnose/diagnosis.h"

/* Adds evidence for cause `c` (created at `conf` the first time; see diagnosis.c). */
struct tg_diag_cause_out *tg_diag__cause(struct tg_diag_result *r, enum tg_diag_cause c,
                                         double conf, const char *target, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The pattern and onset of the affected endpoints' p95 series (diagnosis_pattern.c). */
void tg_diag__pattern(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                      struct tg_diag_result *r);

#endif
