/* SPDX-License-Identifier: MIT */
/* Subcommands that assemble the whole process: `run` (gateway + admin listener on the
 * control thread), `demo` (demo API + gateway + light load), `check-config`,
 * `check-rules`, `query` (a PromQL query to a running gateway) and `top` (a live
 * terminal view of one, docs/top.md). Each
 * takes argv with argv[0] = the subcommand name and returns the process exit code. */
#ifndef TG_CLI_CMD_H
#define TG_CLI_CMD_H

int tg_cli_run(int argc, char **argv);
int tg_cli_demo(int argc, char **argv);
int tg_cli_check_config(int argc, char **argv);
int tg_cli_check_rules(int argc, char **argv);
int tg_cli_query(int argc, char **argv);
int tg_cli_top(int argc, char **argv);

#endif
