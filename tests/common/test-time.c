/* Unit tests of hk-time: RFC 3339 parsing (explicit offsets only), the UTC
 * text it writes back, and calendar-date validation for birth dates. */
#include "hk-error.h"
#include "hk-test.h"
#include "hk-time.h"

#include <string.h>

#define SEC ((int64_t)G_USEC_PER_SEC)
/* 2026-11-20T05:03:00Z */
#define T0 ((int64_t)1795150980 * SEC)

static int64_t
parse_ok(const char *text)
{
  int64_t usec = 0;

  ck_assert_msg(hk_time_parse(text, &usec) == 0, "\"%s\" refused", text);
  return usec;
}

START_TEST(test_parse_accepts)
{
  ck_assert_int_eq(parse_ok("2026-11-20T14:03:00+09:00"), T0);
  ck_assert_int_eq(parse_ok("2026-11-20T05:03:00Z"), T0);
  ck_assert_int_eq(parse_ok("2026-11-20T05:03:00z"), T0);
  ck_assert_int_eq(parse_ok("2026-11-20T05:03:00+00:00"), T0);
  ck_assert_int_eq(parse_ok("2026-11-19T23:03:00-06:00"), T0);
  ck_assert_int_eq(parse_ok("2026-11-20t14:03:00+09:00"), T0);
  /* Fractional seconds, any precision up to microseconds. */
  ck_assert_int_eq(parse_ok("2026-11-20T05:03:00.5Z"), T0 + 500000);
  ck_assert_int_eq(parse_ok("2026-11-20T05:03:00.123Z"), T0 + 123000);
  ck_assert_int_eq(parse_ok("2026-11-20T14:03:00.123456+09:00"), T0 + 123456);
  /* The epoch, a leap day, and a time before 1970. */
  ck_assert_int_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
  ck_assert_int_eq(parse_ok("2024-02-29T00:00:00Z"), (int64_t)1709164800 * SEC);
  ck_assert_int_eq(parse_ok("1969-12-31T23:59:59Z"), -SEC);
}
END_TEST

START_TEST(test_parse_rejects)
{
  static const char *const bad[] = {
      "",
      "2026-11-20",                 /* date only */
      "2026-11-20T14:03:00",        /* no offset */
      "2026-11-20T14:03:00.123456", /* no offset, fraction */
      "2026-11-20 14:03",
      "14:03:00+09:00", /* time only */
      "garbage",
      "not a time at all, not at all",
      "2026-13-20T14:03:00+09:00", /* month 13 */
      "2026-02-30T14:03:00+09:00", /* no such day */
      "2026-11-20T25:03:00+09:00",
      "2026-11-20T14:63:00+09:00",
      "2026-11-20T14:03:00+25:00",
      "2026-W47-5T14:03:00+09:00", /* ISO week date */
      "20261120T140300+0900",      /* basic format */
      "2026-11-20T14:03:00+0900",  /* offset without a colon */
      "2026-11-20T14:03:00+09",    /* offset without minutes */
      "2026-11-20T14:03+09:00",    /* no seconds */
      "2026-11-20X14:03:00+09:00",
      "2026-11-20T14:03:00+09:00 trailing",
  };
  int64_t usec = 12345;

  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    ck_assert_msg(hk_time_parse(bad[i], &usec) == -HK_EINVAL, "\"%s\" accepted", bad[i]);
  ck_assert_int_eq(hk_time_parse(NULL, &usec), -HK_EINVAL);
  ck_assert_int_eq(usec, 12345);
}
END_TEST

START_TEST(test_format)
{
  char *s = hk_time_format(T0);
  ck_assert_str_eq(s, "2026-11-20T05:03:00.000Z");
  g_free(s);
  s = hk_time_format(T0 + 123456);
  ck_assert_str_eq(s, "2026-11-20T05:03:00.123Z");
  g_free(s);
  s = hk_time_format(0);
  ck_assert_str_eq(s, "1970-01-01T00:00:00.000Z");
  g_free(s);
  /* Before 1970 (old scanned records): the fraction is still 0..999. */
  s = hk_time_format(-SEC / 2);
  ck_assert_str_eq(s, "1969-12-31T23:59:59.500Z");
  g_free(s);
  s = hk_time_format(-1000);
  ck_assert_str_eq(s, "1969-12-31T23:59:59.999Z");
  g_free(s);
}
END_TEST

START_TEST(test_format_roundtrip)
{
  /* Whole milliseconds survive format and parse, both sides of 1970. */
  static const int64_t times[] = {
      0, T0, T0 + 999000, (int64_t)253402300799 * SEC, -(int64_t)86400 * 365 * SEC + 250000,
  };

  for (size_t i = 0; i < G_N_ELEMENTS(times); i++) {
    char *s = hk_time_format(times[i]);
    int64_t back = 0;
    ck_assert_msg(hk_time_parse(s, &back) == 0, "\"%s\" refused", s);
    ck_assert_msg(back == times[i], "%" G_GINT64_FORMAT " -> %s -> %" G_GINT64_FORMAT, times[i], s,
                  back);
    g_free(s);
  }
  /* hk_time_now() is in the present and formats to something parseable. */
  int64_t now = hk_time_now(), back = 0;
  char *s = hk_time_format(now);
  ck_assert_int_gt(now, T0 - (int64_t)365 * 86400 * SEC);
  ck_assert_int_eq(hk_time_parse(s, &back), 0);
  ck_assert_int_eq(back, now - now % 1000);
  g_free(s);
}
END_TEST

/* The offset a test sets moves hk_time_now() by exactly that much, and
 * this (installed) build ignores HK_TEST_CLOCK_FILE. */
START_TEST(test_offset)
{
  int64_t off = (int64_t)3600 * 1000000, before, now, after;

  ck_assert(!hk_time_test_clock());
  g_setenv("HK_TEST_CLOCK_FILE", "/nonexistent/clock", TRUE);
  hk_time_set_offset(off);
  ck_assert_int_eq(hk_time_get_offset(), off);
  before = g_get_real_time();
  now = hk_time_now();
  after = g_get_real_time();
  ck_assert(now >= before + off && now <= after + off);
  hk_time_set_offset(0);
  before = g_get_real_time();
  now = hk_time_now();
  after = g_get_real_time();
  ck_assert(now >= before && now <= after);
  g_unsetenv("HK_TEST_CLOCK_FILE");
}
END_TEST

START_TEST(test_is_date)
{
  ck_assert(hk_time_is_date("1950-05-04"));
  ck_assert(hk_time_is_date("2024-02-29"));
  ck_assert(hk_time_is_date("2000-02-29"));
  ck_assert(hk_time_is_date("2026-12-31"));

  ck_assert(!hk_time_is_date("2026-02-30"));
  ck_assert(!hk_time_is_date("2026-02-29"));
  ck_assert(!hk_time_is_date("1900-02-29"));
  ck_assert(!hk_time_is_date("2026-13-01"));
  ck_assert(!hk_time_is_date("2026-00-10"));
  ck_assert(!hk_time_is_date("2026-04-31"));
  ck_assert(!hk_time_is_date("2026-04-00"));
  ck_assert(!hk_time_is_date("2026-4-01"));
  ck_assert(!hk_time_is_date("20260401"));
  ck_assert(!hk_time_is_date("2026/04/01"));
  ck_assert(!hk_time_is_date("2026-04-01T00:00:00Z"));
  ck_assert(!hk_time_is_date("+026-04-01"));
  ck_assert(!hk_time_is_date("2026-0a-01"));
  ck_assert(!hk_time_is_date("やまだ"));
  ck_assert(!hk_time_is_date(""));
  ck_assert(!hk_time_is_date(NULL));
}
END_TEST

static Suite *
time_suite(void)
{
  Suite *s = suite_create("time");
  TCase *tc = tcase_create("time");

  tcase_add_test(tc, test_parse_accepts);
  tcase_add_test(tc, test_parse_rejects);
  tcase_add_test(tc, test_format);
  tcase_add_test(tc, test_format_roundtrip);
  tcase_add_test(tc, test_is_date);
  tcase_add_test(tc, test_offset);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return hk_test_run(time_suite());
}
