// link: tg_http
/* SPDX-License-Identifier: MIT */
/* Fuzz target for src/http/accept.{h,c}. The input is Accept-Encoding field lines (one
 * per input line). The weight must be -1 or within 0..1000; reading the lines as one
 * joined by commas must give the same answer as reading them apart (the field's list
 * rule); and a weight must never come from bytes past a value's length (each value is
 * copied into a buffer of exactly its size, so ASan catches an over-read). The corpus is
 * tests/fuzz/corpus/accept/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/accept.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define MAX_LINES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    struct tg_str v[MAX_LINES];
    char *own[MAX_LINES];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < MAX_LINES; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t len = i - start;
        own[n] = malloc(len ? len : 1);
        CHECK(own[n]);
        memcpy(own[n], data + start, len);
        v[n] = (struct tg_str){own[n], (uint32_t)len};
        n++;
        start = i + 1;
    }
    char *joined = malloc(size + MAX_LINES + 1);
    CHECK(joined);
    size_t jlen = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            joined[jlen++] = ',';
        memcpy(joined + jlen, v[i].p, v[i].len);
        jlen += v[i].len;
    }
    struct tg_str j = {joined, (uint32_t)jlen};
    static const char *codings[] = {"gzip", "br", "identity", "deflate"};
    for (size_t c = 0; c < sizeof codings / sizeof codings[0]; c++) {
        int w = tg_http_coding_weight(v, n, codings[c]);
        CHECK(w == -1 || (w >= 0 && w <= 1000));
        CHECK(tg_http_coding_weight(&j, 1, codings[c]) == w);
    }
    free(joined);
    for (size_t i = 0; i < n; i++)
        free(own[i]);
    return 0;
}
