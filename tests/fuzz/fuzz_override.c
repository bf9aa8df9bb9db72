// link: tg_config
/* SPDX-License-Identifier: MIT */
/* Fuzz target for control-API overrides (config/settings.h): the input is a setting name
 * and a JSON value separated by the first NUL ("circuit_breaker.timeout_ms\0" "5000"),
 * applied to a valid configuration as the runtime layer applies a PUT. Whatever the input:
 * the answer is 0 or a known code with a message; a refusal leaves a configuration that
 * still validates; an accepted value either validates or is refused by validation with a
 * message; the key can never write a setting other than the one it names (a value
 * smuggling a second key is refused or ignored, checked on an untouched neighbour); and
 * the effective values can be listed afterwards. The corpus is
 * tests/fuzz/corpus/override/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static const char base[] = "upstreams:\n"
                           "  - { name: api, servers: [\"127.0.0.1:9001\"] }\n"
                           "routes:\n"
                           "  - { name: search, path: /search }\n";

static void count(const struct tg_config_setting *s, void *ctx)
{
    CHECK(s->key && s->key[0] && s->value);
    (*(int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    size_t klen = (size_t)(nul - data);
    char *key = malloc(klen + 1), *json = malloc(size - klen);
    CHECK(key && json);
    memcpy(key, data, klen);
    key[klen] = '\0';
    memcpy(json, nul + 1, size - klen - 1);
    json[size - klen - 1] = '\0';
    struct tg_config *cfg = NULL;
    struct tg_errbuf eb = {0};
    CHECK(tg_config_load_string(base, sizeof base - 1, "base", &cfg, &eb) == 0);
    uint32_t hc_before = cfg->max_connections;
    int rc = tg_config_apply_override(cfg, key, json, &eb);
    CHECK(rc == 0 || rc == TG_ENOTFOUND || rc == TG_ECONFIG || rc == TG_ERESTART ||
          rc == -12 /* -ENOMEM */);
    if (rc)
        CHECK(eb.msg[0] != '\0');
    /* No override reaches a setting the control API does not change. */
    CHECK(cfg->max_connections == hc_before);
    memset(&eb, 0, sizeof eb);
    int vr = tg_config_validate(cfg, &eb);
    if (vr)
        CHECK(vr == TG_ECONFIG && eb.msg[0] != '\0');
    else {
        int n = 0;
        tg_config_foreach_setting(cfg, count, &n);
        CHECK(n > 0);
    }
    tg_config_free(cfg);
    free(key);
    free(json);
    return 0;
}
