/* SPDX-License-Identifier: MIT */
/* The subcommands' side of a running gateway's admin API (`tailguard query`, `tailguard
 * top`): the `--admin` address turned into a target of the control plane's HTTP client
 * (http/client.h), paths under it, form bodies, and one blocking call for a command that
 * asks once. Calls themselves always go through tg_hclient: there is one HTTP client.
 * Used from the main thread of a subcommand only. */
#ifndef TG_CLI_ADMIN_CLIENT_H
#define TG_CLI_ADMIN_CLIENT_H

#include <stddef.h>

#include "core/err.h"
#include "http/client.h"

/* Parses `admin`, "http://HOST:PORT[/PREFIX]" or "HOST:PORT", into `t` (its path is the
 * prefix, "" for none). HOST may be a name: it is resolved here with getaddrinfo, which
 * blocks, so call it once at start-up. 0, or TG_EPARSE with `eb` saying why (https, a bad
 * port, a name that does not resolve). */
int tg_cli_admin_target(const char *admin, struct tg_hclient_target *t, struct tg_errbuf *eb);

/* `out` = `base` with `path` ("/api/v1/alerts?x=1") appended to its prefix. 0, or
 * TG_ELIMIT when the result does not fit the target's path. */
int tg_cli_admin_path(const struct tg_hclient_target *base, const char *path,
                      struct tg_hclient_target *out);

/* Appends `name=<value percent-encoded>` (after a '&' when the form is not empty) to the
 * malloc'd form body *buf of *len bytes (NULL, 0 to begin). 0 or -ENOMEM (*buf unchanged
 * and still owned by the caller). */
int tg_cli_form_add(char **buf, size_t *len, const char *name, const char *value);

/* Makes one call and waits for it on a private loop. On an answer returns 0 with its
 * status in *status and its body, NUL-terminated and malloc'd (the caller frees it), in
 * *body; otherwise a negative code with `eb` naming the client's error ("connect:
 * connection refused"). */
int tg_cli_admin_call(const struct tg_hclient_target *t, const struct tg_hclient_req *rq,
                      int *status, char **body, struct tg_errbuf *eb);

#endif
