/* SPDX-License-Identifier: MIT */
/* `tailguard demo`: placeholder until the demo orchestration lands (see README). */
#include <stdio.h>

#include "admin/cmd.h"

int tg_admin_cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tailguard demo: not built yet\n");
    return 1;
}
