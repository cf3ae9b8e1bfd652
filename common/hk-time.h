/* hk-time.h: wall-clock times as microseconds since the Unix epoch (UTC),
 * and their RFC 3339 text. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Now, in microseconds since the epoch. */
int64_t hk_time_now(void);

/* Parse an RFC 3339 date-time with an explicit offset ("Z" or "+09:00").
 * Returns 0 and sets *usec, or -HK_EINVAL. */
int hk_time_parse(const char *text, int64_t *usec);

/* Format as RFC 3339 UTC with milliseconds ("2026-11-20T05:03:00.000Z").
 * Returns a newly allocated string (g_free). */
char *hk_time_format(int64_t usec);

/* True if text is a calendar date "YYYY-MM-DD" that exists. */
bool hk_time_is_date(const char *text);
