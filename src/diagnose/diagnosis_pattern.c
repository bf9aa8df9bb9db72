/* SPDX-License-Identifier: MIT */
/* The pattern of the affected endpoints' p95 series (diagnosis_int.h). */
#include "diagnose/diagnosis_int.h"

void tg_diag__pattern(const struct tg_cfg_diagnosis *cfg, const struct tg_diag_input *in,
                      struct tg_diag_result *r)
{
    (void)cfg;
    (void)in;
    r->pattern = TG_DIAG_PAT_NONE;
}
