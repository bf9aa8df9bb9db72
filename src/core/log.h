/* SPDX-License-Identifier: MIT */
/* logfmt logging on stderr: `ts level module msg key=value...`. One write(2) per line so
 * lines from different threads never interleave. The level is a process-wide setting
 * read with a relaxed load; debug calls go through TG_LOG_DEBUG, which tests the level
 * before formatting anything. */
#ifndef TG_CORE_LOG_H
#define TG_CORE_LOG_H

enum tg_log_level { TG_LOG_ERROR = 0, TG_LOG_WARN, TG_LOG_INFO, TG_LOG_DEBUG };

void tg_log_set_level(enum tg_log_level level);
enum tg_log_level tg_log_get_level(void);

/* `fmt` continues the line after "msg", e.g. tg_log(TG_LOG_INFO, "proxy",
 * "listening addr=%s", a). */
void tg_log(enum tg_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TG_LOG_DEBUG(module, ...)                                                           \
    do {                                                                                    \
        if (tg_log_get_level() >= TG_LOG_DEBUG)                                             \
            tg_log(TG_LOG_DEBUG, module, __VA_ARGS__);                                      \
    } while (0)

#endif
