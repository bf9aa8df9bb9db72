/* SPDX-License-Identifier: MIT */
/* `tailguard check-rules FILE...`: reads Prometheus rule files with the verdicts of
 * `promtool check rules` and prints what promtool prints: "Checking FILE", then
 * "  SUCCESS: N rules found" or "  FAILED:" and every problem of the file. Exit 0 when
 * every file is fine, 1 otherwise, 2 on a usage error. */
#include <stdio.h>

#include "cli/cmd.h"
#include "rules/rulefile.h"

int tg_cli_check_rules(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tailguard check-rules FILE...\n");
        return 2;
    }
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        printf("Checking %s\n", argv[i]);
        fflush(stdout); /* before the errors on stderr, as a terminal shows them */
        struct tg_rule_file *f = NULL;
        struct tg_rule_errors errs = {0};
        int rc = tg_rulefile_load(argv[i], &f, &errs);
        if (rc == 0) {
            printf("  SUCCESS: %zu rules found\n\n", tg_rulefile_count(f));
        } else {
            bad = 1;
            fprintf(stderr, "  FAILED:\n");
            for (size_t k = 0; k < errs.n; k++)
                fprintf(stderr, "%s\n", errs.msgs[k]);
            if (errs.n == 0)
                fprintf(stderr, "%s: out of memory\n", argv[i]);
            fprintf(stderr, "\n");
        }
        tg_rule_errors_free(&errs);
        tg_rulefile_free(f);
    }
    return bad;
}
