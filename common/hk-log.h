/* hk-log.h: one line per event on stderr (journald adds the time under
 * systemd). Never pass a secret (password, token, TOTP seed) to these. */
#pragma once

#include <glib.h>

typedef enum { HK_LOG_DEBUG, HK_LOG_INFO, HK_LOG_WARN, HK_LOG_ERROR } HkLogLevel;

void hk_log_set_program(const char *name);
void hk_log_set_level(HkLogLevel min);
void hk_log(HkLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#define hk_debug(...) hk_log(HK_LOG_DEBUG, __VA_ARGS__)
#define hk_info(...) hk_log(HK_LOG_INFO, __VA_ARGS__)
#define hk_warn(...) hk_log(HK_LOG_WARN, __VA_ARGS__)
#define hk_error(...) hk_log(HK_LOG_ERROR, __VA_ARGS__)
