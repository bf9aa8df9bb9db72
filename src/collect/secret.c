/* SPDX-License-Identifier: MIT */
/* Collectors' passwords; see secret.h. */
#include "collect/secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tg_csecret_read(const struct tg_cfg_secret *s, char *out, size_t cap, bool *has,
                    struct tg_errbuf *eb)
{
    *has = false;
    out[0] = '\0';
    if (s->file[0]) {
        FILE *f = fopen(s->file, "re");
        if (!f)
            return tg_errbuf_set(eb, -errno, "cannot read the password file %s: %s", s->file,
                                 strerror(errno));
        if (!fgets(out, (int)cap, f))
            out[0] = '\0';
        fclose(f);
        out[strcspn(out, "\r\n")] = '\0';
        *has = true;
    } else if (s->env[0]) {
        const char *v = getenv(s->env);
        if (!v)
            return tg_errbuf_set(eb, -ENOENT, "the password variable %s is not set", s->env);
        if (strlen(v) >= cap)
            return tg_errbuf_set(eb, TG_ELIMIT, "the password in %s is too long", s->env);
        memcpy(out, v, strlen(v) + 1);
        *has = true;
    }
    return 0;
}
