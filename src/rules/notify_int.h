/* SPDX-License-Identifier: MIT */
/* Internal to src/rules/: shared by the notifier, the alert state and templates. */
#ifndef TG_RULES_NOTIFY_INT_H
#define TG_RULES_NOTIFY_INT_H

#include "rules/notify.h"

/* The value of label `name` in `ls`, "" when absent. */
const char *tg_notify__label(const struct tg_labels *ls, const char *name);

#endif
