/* SPDX-License-Identifier: MIT */
/* The protection chain; see chain.h. */
#include "protect/chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protect/features.h"

struct tg_protect_chain {
    struct tg_features *features;
};

int tg_protect_chain_new(const struct tg_protect_params *p, struct tg_protect_chain **out)
{
    struct tg_protect_chain *ch = calloc(1, sizeof *ch);
    if (!ch)
        return -ENOMEM;
    if (tg_features_new(p->features_disabled, p->nfeatures_disabled, p->features_declared,
                        p->nfeatures_declared, &ch->features) != 0) {
        tg_protect_chain_free(ch);
        return -ENOMEM;
    }
    *out = ch;
    return 0;
}

void tg_protect_chain_free(struct tg_protect_chain *ch)
{
    if (!ch)
        return;
    tg_features_free(ch->features);
    free(ch);
}

static void reject(struct tg_protect_verdict *v, enum tg_protect_cause cause, int status)
{
    v->kind = TG_PROTECT_REJECT;
    v->cause = cause;
    v->status = status;
}

void tg_protect_admit(const struct tg_protect_chain *ch, const struct tg_protect_facts *f,
                      struct tg_protect_verdict *v)
{
    v->kind = TG_PROTECT_ALLOW;
    v->cause = TG_PCAUSE_NONE;
    v->headers[0] = '\0';
    v->body_len = 0;
    if (!tg_features_none(ch->features) && f->feature) {
        const char *off = tg_features_shed(ch->features, f->feature, f->path, f->path_len);
        if (off) {
            reject(v, TG_PCAUSE_FEATURE_DISABLED, 503);
            /* The switch stays off until someone turns it on: a client should come back
             * later, not hammer. */
            snprintf(v->headers, sizeof v->headers, "Retry-After: 60\r\n");
            int n = snprintf(v->body, sizeof v->body,
                             "{\"error\":\"feature disabled\",\"feature\":\"%s\",\"status\":503}"
                             "\n",
                             off);
            v->body_len = n < 0 ? 0 : (size_t)n;
            return;
        }
    }
}
