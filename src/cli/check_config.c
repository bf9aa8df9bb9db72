/* SPDX-License-Identifier: MIT */
/* `tailguard check-config FILE`: loads and validates a file the way `run` would, prints
 * "FILE: ok" or the first error as file:line:column: key: message, exit 0 or 1. The rule
 * files it lists are read too, as `run` reads them; their problems are printed with
 * promtool's messages. */
#include <stdio.h>

#include "cli/cmd.h"
#include "config/config.h"
#include "control/scrape.h"
#include "rules/manager.h"

/* 0 when every rule file of `cfg` loads; else prints what is wrong and returns 1. */
static int check_rule_files(const struct tg_config *cfg)
{
    char paths[TG_CFG_MAX_RULE_FILES][512];
    const char *ptrs[TG_CFG_MAX_RULE_FILES];
    for (uint32_t i = 0; i < cfg->rules.nfiles; i++) {
        if (tg_scrape_resolve_path(cfg->file, cfg->rules.files[i], paths[i], sizeof paths[i])) {
            fprintf(stderr, "%s: rules.files[%u]: path too long\n", cfg->file, i);
            return 1;
        }
        ptrs[i] = paths[i];
    }
    struct tg_rules_mgr *m = NULL;
    struct tg_rule_errors errs = {0};
    int rc = tg_rules_mgr_load(ptrs, cfg->rules.nfiles, 0, &m, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    tg_rule_errors_free(&errs);
    tg_rules_mgr_free(m);
    return rc ? 1 : 0;
}

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
    if (rc) {
        tg_config_free(cfg);
        char buf[512];
        fprintf(stderr, "%s\n", tg_config_format_error(&eb, buf, sizeof buf));
        return 1;
    }
    rc = check_rule_files(cfg);
    tg_config_free(cfg);
    if (rc)
        return 1;
    printf("%s: ok\n", argv[1]);
    return 0;
}
