/* SPDX-License-Identifier: MIT */
/* `tailguard check-config FILE`: loads and validates a file the way `run` would, prints
 * "FILE: ok" or the first error as file:line:column: key: message, exit 0 or 1. */
#include <stdio.h>

#include "cli/cmd.h"
#include "config/config.h"

int tg_cli_check_config(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tailguard check-config FILE\n");
        return 2;
    }
    struct tg_errbuf eb = {0};
    struct tg_config *cfg = NULL;
    int rc = tg_config_load_file(argv[1], &cfg, &eb);
    if (rc == 0)
        rc = tg_config_validate(cfg, &eb);
    tg_config_free(cfg);
    if (rc) {
        char buf[512];
        fprintf(stderr, "%s\n", tg_config_format_error(&eb, buf, sizeof buf));
        return 1;
    }
    printf("%s: ok\n", argv[1]);
    return 0;
}
