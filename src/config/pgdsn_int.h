/* SPDX-License-Identifier: MIT */
/* Internal to src/config/: just enough of libpq's two connection-string forms (the
 * key=value list and the postgresql:// URI) to refuse one that carries a password and to
 * name the instance host:port/dbname. The config module may not link libpq (it knows
 * only core/), and this is all it needs: the collector hands the string to libpq, whose
 * PQconninfoParse remains the judge of everything else (an unknown keyword makes that
 * target down with libpq's message). Pure functions, no allocation. */
#ifndef TG_CONFIG_PGDSN_INT_H
#define TG_CONFIG_PGDSN_INT_H

#include <stddef.h>

/* Checks `dsn` and writes its default instance name into `name` (`cap` bytes; NULL:
 * none wanted): the first host (or hostaddr; "localhost" when neither is written) and
 * port (5432), then "/" and the dbname (else the user; left out when neither is
 * written), IPv6 hosts in brackets: "127.0.0.1:5432/app". Returns NULL, or why the
 * string is refused; the reason never quotes the string, which may hold a secret. */
const char *tg_config__pgdsn_check(const char *dsn, char *name, size_t cap);

#endif
