// link: tg_rules
/* SPDX-License-Identifier: MIT */
/* Fuzz target for alert templates (src/rules/template.c): any bytes are parsed; a
 * template that parses is expanded with labels and a value taken from the input, and
 * must give a string (the expansion or its error text); a refused one must say why with
 * a position. Run with the corpus in tests/fuzz/corpus/template/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct tg_template *t = NULL;
    struct tg_errbuf eb = {0};
    if (tg_template_parse(text, &t, &eb) == 0) {
        static const struct tg_label lv[] = {{"instance", "a:1"}, {"job", "x"}};
        struct tg_labels ls = {lv, 2};
        double value = size ? (double)data[0] - 100.5 : 0;
        struct tg_template_data d = {value, &ls, &ls, "http://x"};
        char *s = tg_template_expand(t, &d);
        if (!s)
            abort();
        free(s);
        tg_template_free(t);
    } else if (strncmp(eb.msg, "template: ", 10) != 0) {
        abort();
    }
    free(text);
    return 0;
}
