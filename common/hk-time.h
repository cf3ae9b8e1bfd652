/* hk-time.h: wall-clock times as microseconds since the Unix epoch (UTC),
 * and their RFC 3339 text. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Now, in microseconds since the epoch: the real time plus the test offset
 * (hk_time_set_offset) and, in test-clock builds only, the offset read from
 * $HK_TEST_CLOCK_FILE. Every time-dependent rule of hikae (session idle and
 * maximum age, lockout window, tripwire window, indexer staleness) reads
 * its "now" from here, so a test moves time instead of sleeping. */
int64_t hk_time_now(void);

/* Shift hk_time_now() of this process by usec (0 = the real time). For
 * in-process tests; nothing in hikae's programs calls it. Thread-safe. */
void hk_time_set_offset(int64_t usec);
int64_t hk_time_get_offset(void);

/* True in a binary built with HK_TEST_CLOCK (hikae-server-testclock and
 * the like, never installed): hk_time_now() then also adds the decimal
 * microsecond offset held in the file named by $HK_TEST_CLOCK_FILE. */
bool hk_time_test_clock(void);

/* Parse an RFC 3339 date-time with an explicit offset ("Z" or "+09:00").
 * Returns 0 and sets *usec, or -HK_EINVAL. */
int hk_time_parse(const char *text, int64_t *usec);

/* Format as RFC 3339 UTC with milliseconds ("2026-11-20T05:03:00.000Z").
 * Returns a newly allocated string (g_free). */
char *hk_time_format(int64_t usec);

/* True if text is a calendar date "YYYY-MM-DD" that exists. */
bool hk_time_is_date(const char *text);
